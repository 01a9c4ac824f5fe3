"""The person's targets and the agents' switches: last-writer-wins fields of `settings/...`.

`settings/person` holds the synced targets (`SYNCED_SETTINGS`; entity, area and notify-target
choices are per site and not synced); `settings/agents` a field per agent, on or off.
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback

from ...core import settings as s
from ...core.agents import Agent
from ...sync import Change, inbound
from ...sync.mirror import FieldsMirror
from ..options import sync_options
from .base import Adapter, Link

_LOGGER = logging.getLogger(__name__)

SETTINGS_COLLECTION: Final = "settings"
PERSON_KEY: Final = "person"
AGENTS_KEY: Final = "agents"
SYNCED_SETTINGS: Final = (
    s.BEDTIME,
    s.WAKE_TIME,
    s.WIND_DOWN_MINUTES,
    s.QUIET_HOURS_START,
    s.QUIET_HOURS_END,
    s.WEEKLY_WORK_TARGET_HOURS,
    s.WORK_CUTOFF,
    s.SCREEN_TIME_LIMIT_MINUTES,
)


def synced_values(options: Mapping[str, Any]) -> dict[str, Any]:
    """The synced settings as stored in options (defaults filled in)."""
    stored = s.Settings.from_options(options).as_options()
    return {key: stored[key] for key in SYNCED_SETTINGS}


class _Fields(Adapter):
    """One record of `settings`; subclasses say which and how its fields are applied."""

    key: str
    store_key: str

    def __init__(self, link: Link) -> None:
        """Nothing known to be held yet."""
        super().__init__(link)
        self.mirror = FieldsMirror(SETTINGS_COLLECTION, self.key)
        self._remote: dict[str, Any] = {}

    def load(self, stored: Mapping[str, Any]) -> None:
        """What the service was known to hold (empty: never synced)."""
        self.mirror.known = dict(stored.get(self.store_key) or {})

    def dump(self) -> dict[str, Any]:
        """What the service is known to hold."""
        return {self.store_key: dict(self.mirror.known)}

    def forget(self) -> None:
        """A new service: the first sync compares again."""
        self.mirror.forget()

    def values(self) -> dict[str, Any]:
        """The fields as they are here."""
        raise NotImplementedError

    def apply(self, remote: Mapping[str, Any], writes_before: int) -> None:
        """Take other sites' fields, unless a local edit is on its way."""
        raise NotImplementedError

    @callback
    def queue_changes(self) -> None:
        """Queue the fields changed here since the service was known to hold them."""
        if (op := self.mirror.local(self.values())) is not None:
            self.link.enqueue(op)

    async def reconcile(self) -> None:
        """On the first sync, take the other sites' values, then write those only here."""
        if self.mirror.synced:
            return
        remote = await self.read()
        self.apply(remote, self.link.writes)
        self.queue_changes()

    async def read(self) -> dict[str, Any]:
        """The record as the service holds it."""
        record = await self.link.client.records(SETTINGS_COLLECTION, self.key)
        return dict(record.get(self.key) or {})

    def take(self, change: Change) -> bool:
        """Collect this record's fields; applied together in `taken`."""
        if not (
            change.kind == "field"
            and change.collection == SETTINGS_COLLECTION
            and change.key == self.key
            and change.field is not None
        ):
            return False
        if self.key != PERSON_KEY or change.field in SYNCED_SETTINGS:
            self._remote[change.field] = change.value
        return True

    def taken(self, writes_before: int) -> None:
        """Apply the fields of one feed answer."""
        remote, self._remote = self._remote, {}
        if remote:
            self.apply(remote, writes_before)

    def acknowledged(self, op: Mapping[str, Any], write: int) -> None:
        """Note which fields the write carried."""
        self.mirror.acknowledged(op, write)


class PersonSettings(_Fields):
    """The person's targets, kept in the entry's options."""

    key = PERSON_KEY
    store_key = "settings"

    def start(self) -> None:
        """Follow option changes; queue what changed while sync was off (not before a sync)."""
        entry = self.link.entry
        entry.async_on_unload(entry.add_update_listener(self._options_updated))
        if self.mirror.synced:
            self.queue_changes()

    async def _options_updated(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        if sync_options(entry.options) != self.link.options:
            return  # the entry reloads for new sync options
        self.queue_changes()

    def values(self) -> dict[str, Any]:
        """The synced targets in the options."""
        return synced_values(self.link.entry.options)

    async def reread(self) -> None:
        """Read the record again when a remote value was left for a local edit."""
        if self.mirror.reread:
            self.mirror.reread = False
            remote = await self.read()
            self.apply(remote, self.link.writes)

    async def skipped(self, collections: set[Any]) -> None:
        """Show the values that won over edits made here."""
        if SETTINGS_COLLECTION in collections:
            self.mirror.reread = True  # the feed loop reads again should this read fail
            remote = await self.read()
            self.mirror.reread = False
            self.apply(remote, self.link.writes)

    @callback
    def apply(self, remote: Mapping[str, Any], writes_before: int) -> None:
        """Take other sites' targets into the options, each checked as input first."""
        link, entry = self.link, self.link.entry
        take = self.mirror.remote(
            {k: v for k, v in remote.items() if k in SYNCED_SETTINGS},
            link.queue.pending_fields(SETTINGS_COLLECTION, PERSON_KEY),
            writes_before,
        )
        if not take:
            return
        current = s.Settings.from_options(entry.options).as_options()
        take, refused = inbound.settings_fields(take, current)
        for field, reason in refused.items():
            link.refusals.refuse(SETTINGS_COLLECTION, f"{PERSON_KEY}.{field}", reason)
            link.last_error = "invalid_synced_settings"
        if not take:
            return
        settings, errors = s.validate({**current, **take})
        if settings is None:
            _LOGGER.warning(
                "Synced settings for %s were not applied: %s", entry.title, sorted(errors)
            )
            link.last_error = "invalid_synced_settings"
            return
        merged = s.merge_targets(entry.options, settings)
        self.mirror.held({key: merged[key] for key in SYNCED_SETTINGS if key in take})
        link.save()
        if merged != dict(entry.options):
            link.hass.config_entries.async_update_entry(entry, options=merged)


class AgentSwitches(_Fields):
    """The agents' on/off switches."""

    key = AGENTS_KEY
    store_key = "agents"

    def start(self) -> None:
        """Follow the switches; queue what changed while sync was off (not before a sync)."""
        entry = self.link.entry
        entry.async_on_unload(entry.runtime_data.async_add_enabled_listener(self.queue_changes))
        if self.mirror.synced:
            self.queue_changes()

    def values(self) -> dict[str, Any]:
        """Each agent's switch here."""
        runtime = self.link.entry.runtime_data
        return {agent.value: runtime.is_enabled(agent) for agent in Agent}

    async def reread(self) -> None:
        """Read the record again when a remote switch was left for a local flip.

        At once again when a write was acknowledged during the read: what was left for it may
        be readable now (else it would wait for the next change, up to a long poll). What is
        left for a flip still queued waits for its write.
        """
        while self.mirror.reread:
            self.mirror.reread = False
            writes_before = self.link.writes
            self.apply(await self.read(), writes_before)
            pending = self.link.queue.pending_fields(SETTINGS_COLLECTION, AGENTS_KEY)
            if self.link.writes == writes_before or pending:
                break

    @callback
    def apply(self, remote: Mapping[str, Any], writes_before: int) -> None:
        """Turn agents on or off as another site did, unless a local flip is on its way."""
        link = self.link
        switches, refused = inbound.agent_switches(remote)
        for field, reason in refused.items():
            link.refusals.refuse(SETTINGS_COLLECTION, f"{AGENTS_KEY}.{field}", reason)
        take = self.mirror.remote(
            switches, link.queue.pending_fields(SETTINGS_COLLECTION, AGENTS_KEY), writes_before
        )
        if not take:
            return
        self.mirror.held(take)
        link.save()
        link.entry.runtime_data.async_set_enabled(take)
