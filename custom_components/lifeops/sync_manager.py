"""Sync in Home Assistant: local changes written through the sync service, others' applied here.

This site's data goes to its local sync service, and the merged changes of the other sites come
back as they arrive. Thin: the client and the change feed's format live in `sync/` (no Home
Assistant imports); the merging is the service's. What is synced so far:

* the person's targets (`SYNCED_SETTINGS`): bedtime, wake time, wind-down minutes, quiet hours,
  weekly work target, work cut-off and screen-time limit, as last-writer-wins fields of the record
  `settings/person`. Entity, area and notify-target choices are per site and not synced;
* the XP log (habit and goal completions included) as an append-only set `xp/<event id>`: XP
  earned at the cabin counts at home, once;
* the person's own habits as records `habits/<habit id>` (last writer wins per field; removing
  one deletes the record everywhere);
* the work log: each session as the record `work_sessions/<id>` (start, end, source, scheduled,
  site; last writer wins per field, so an end that moves follows); other sites' sessions are
  merged into the work log by id and counted once they have ended;
* notification dismissals as records `notification_dismissals/<dedupe key>` (dismissed_at,
  site): the same notification at another site, made before then, is dismissed there too;
* the notification queue: each site's own notifications as records `notifications/<id>`
  (`core.notifications.SYNCED_FIELDS`: text, priority, times, status, count, dedupe key and
  site; last writer wins per field), written when made and on each change, deleted when their
  site prunes them. Other sites' show in the queue here marked with their site, are never
  delivered here and count for the dedupe: what another site has pending (or made within the
  dedupe window) is not sent to the person again from here;
* the agents' on/off switches as last-writer-wins fields of the record `settings/agents` (a
  field per agent), handled as the person's targets are;
* with a long-term store, the rows this site writes there, as items `longterm.<table>`
  (`sync/long_term_rows.py`); other sites' rows from the change feed go to this site's writer,
  which keeps them on disk before the cursor moves past them, and are never sent back. A store
  set up after the feed moved past other sites' rows (they are skipped without one) gets them by
  a backfill in the background: the `longterm.*` sets read from the service page by page, once
  per service node and database, its progress kept with the cursor so a restart goes on;
* screen time only as long-term rows: a site without a long-term store does not sync it.

Local changes go into the write queue (`sync/queue.py`), an SQLite file of its own next to the
entry's store, and are written as soon as the service answers: each reaches the file before it
is sent, and a batch leaves it only once the service acknowledged it (a crash in between sends it
again, which the service's writes take harmlessly). A queue older versions kept in the entry's
store is moved into the file at start. The queue is bounded (`MAX_QUEUED`): when it is full,
long-term row items are refused and counted (this site's long-term store keeps those rows), with
a repair issue from 80%; every other change is small and always kept. A service that is away
raises a repair issue, makes the peer sensors unavailable and is retried with back-off.

Each queued set or delete says when it was made (`at`, in the service's clock) and what had been
seen (`seen`, the change-feed cursor then). The service leaves out a field that a remote change
this site had not seen, made after the edit, holds (the later edit wins); anything it left out is
read back here, so this site shows the value that won. An edit made after seeing another site's
change still wins over it, whatever that site's clock says.

Remote changes come through the change feed (a long poll), from the cursor kept in the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import logging
from pathlib import Path
import random
import sqlite3
from typing import Any, Final
from urllib.parse import urlsplit

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import Event, HomeAssistant, ServiceResponse, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType

from .agents.gamification import EVENT_XP_AWARDED
from .const import DOMAIN
from .core import settings as s
from .core.agents import Agent
from .core.habits import BUILTIN_IDS, MAX_HABITS, Habit
from .core.notifications import MAX_MIRRORED, Status
from .core.xp import XpEvent
from .data import LifeOpsConfigEntry
from .long_term.store import LongTermStore, store_config, store_options
from .sync import (
    Change,
    ChangeFeed,
    SyncAuthError,
    SyncClient,
    SyncError,
    SyncRequestError,
    inbound,
)
from .sync.long_term_rows import backfill, backfill_done, received_rows, sync_ops
from .sync.queue import (
    DEFAULT_MAX_OPS,
    WARN_FILL,
    OpQueue,
    QueueFile,
    fingerprint,
    open_queue_file,
)
from .timescale.buffer import Row
from .timescale.errors import StoreError, StoreUnreachable

_LOGGER = logging.getLogger(__name__)

# Options: one nested dict, so its "secret" is redacted wherever options are shown.
CONF_SYNC: Final = "sync"
SYNC_URL: Final = "url"
SYNC_SECRET: Final = "secret"

STORE_KEY: Final = "sync"
SETTINGS_COLLECTION: Final = "settings"
PERSON_KEY: Final = "person"
XP_COLLECTION: Final = "xp"
HABITS_COLLECTION: Final = "habits"
WORK_COLLECTION: Final = "work_sessions"
WORK_FIELDS: Final = ("start", "end", "source", "scheduled", "site")
DISMISSALS_COLLECTION: Final = "notification_dismissals"
NOTIFICATIONS_COLLECTION: Final = "notifications"
AGENTS_KEY: Final = "agents"
# More notification records changed than this: the collection is read whole.
NOTIFICATION_READS: Final = 20
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

FEED_WAIT: Final = 25.0  # seconds a change-feed request waits for news
WRITE_BATCH: Final = 1000  # operations per write request
RETRY_MIN: Final = 1.0
RETRY_MAX: Final = 300.0
STATUS_INTERVAL: Final = timedelta(seconds=30)
ISSUE_UNREACHABLE: Final = "sync_unreachable"
ISSUE_QUEUE_FILLING: Final = "sync_queue_filling"
MAX_QUEUED: Final = DEFAULT_MAX_OPS  # operations the write queue holds before refusing rows


def queue_path(hass: HomeAssistant, entry_id: str) -> Path:
    """Where a site keeps the changes waiting for its sync service."""
    return Path(hass.config.path(".storage", f"{DOMAIN}.{entry_id}.sync_queue.sqlite"))


def remove_queue(path: Path) -> None:
    """Delete a removed site's queue file (SQLite's side files, a set-aside copy); blocking."""
    for suffix in ("", "-wal", "-shm", "-journal", ".broken"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def sync_options(options: Mapping[str, Any]) -> dict[str, str]:
    """The sync options (URL and secret), empty strings when not set."""
    values = options.get(CONF_SYNC) or {}
    return {
        SYNC_URL: str(values.get(SYNC_URL) or ""),
        SYNC_SECRET: str(values.get(SYNC_SECRET) or ""),
    }


def valid_url(url: str) -> bool:
    """Whether a URL is http(s)://host[:port] with nothing else (no credentials, no path)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.username
        and not parts.password
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
        and (port is None or 0 < port < 65536)
    )


def synced_values(options: Mapping[str, Any]) -> dict[str, Any]:
    """The synced settings as stored in options (defaults filled in)."""
    stored = s.Settings.from_options(options).as_options()
    return {key: stored[key] for key in SYNCED_SETTINGS}


def _backoff(failures: int) -> float:
    return min(RETRY_MAX, RETRY_MIN * 2.0 ** min(failures - 1, 20)) * random.uniform(0.8, 1.2)


@dataclass(frozen=True, slots=True)
class PeerResult:
    """What `lifeops.sync_now` did with one peer."""

    peer: str
    error: str | None


class SyncStatusCoordinator(DataUpdateCoordinator[dict[str, dict[str, Any]]]):
    """The service's status per peer (`GET /v1/status`), for the peer sensors."""

    config_entry: LifeOpsConfigEntry

    def __init__(self, hass: HomeAssistant, entry: LifeOpsConfigEntry, client: SyncClient) -> None:
        """Poll the status every half minute."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"lifeops sync status {entry.title}",
            update_interval=STATUS_INTERVAL,
        )
        self.client = client

    async def _async_update_data(self) -> dict[str, dict[str, Any]]:
        try:
            status = await self.client.status()
        except SyncError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN, translation_key="sync_status_failed"
            ) from err
        peers = status.get("peers")
        if not isinstance(peers, list):
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="sync_status_failed")
        return {
            str(peer["node_id"]): peer
            for peer in peers
            if isinstance(peer, dict) and isinstance(peer.get("node_id"), str)
        }


class SyncManager:
    """One site's link to its sync service: the write queue, the change feed, the status."""

    def __init__(self, hass: HomeAssistant, entry: LifeOpsConfigEntry, url: str, secret: str):
        """Set up (nothing runs before `async_start`)."""
        self.hass = hass
        self.entry = entry
        self.options = {SYNC_URL: url, SYNC_SECRET: secret}
        self.client = SyncClient(async_get_clientsession(hass), url, secret)
        self.coordinator = SyncStatusCoordinator(hass, entry, self.client)
        # Other sites' records and items refused as input (`sync/inbound.py`), per collection.
        self.refusals = inbound.Refusals(_LOGGER, entry.title)
        stored: dict[str, Any] = entry.runtime_data.store.data.get(STORE_KEY) or {}
        self.cursor: dict[str, int] = dict(stored.get("cursor") or {})
        # The write queue lives in its own file (`sync/queue.py`), opened by `async_start`; a
        # queue the entry's store still holds (older versions kept it there) is moved into it.
        self.queue = OpQueue(max_ops=MAX_QUEUED)
        self._file: QueueFile | None = None
        self._old_queue: list[Any] = list(stored.get("queue") or [])
        self._disk_lock = asyncio.Lock()
        self._persisting = False
        self._queue_issue = False
        # The synced settings as the service is known to hold them (empty: never synced).
        self._known: dict[str, Any] = dict(stored.get("settings") or {})
        # The person's own habits as the service is known to hold them (None: never synced).
        known_habits = stored.get("habits")
        self._known_habits: dict[str, dict[str, Any]] | None = (
            dict(known_habits) if isinstance(known_habits, dict) else None
        )
        self._reread_habits = True
        self._habits_written = 0
        # This site's work sessions as the service is known to hold them (by id).
        self._known_work: dict[str, dict[str, Any]] = dict(stored.get("work") or {})
        self._work_version = -1
        self._reread_work = True
        # Ids of notifications whose dismissal is written (or came from another site); None
        # until the first start with sync, which takes the dismissals already made as written.
        dismissed = stored.get("dismissed")
        self._dismissed: set[str] | None = set(dismissed) if isinstance(dismissed, list) else None
        # This site's notifications as the service is known to hold them (by id); missing in
        # a store from before they were synced, so the first start writes the queue once.
        self._known_notifications: dict[str, dict[str, Any]] = dict(
            stored.get("notifications") or {}
        )
        # Other sites' notification records to read (None: the whole collection).
        self._notification_reads: set[str] | None = None
        # The agents' switches as the service is known to hold them (empty: never synced).
        self._known_agents: dict[str, bool] = dict(stored.get("agents") or {})
        self._reread_agents = False
        # The service the cursor belongs to: another one (a new address) starts from scratch.
        self._node_id: str | None = stored.get("node_id")
        # Other sites' long-term rows fetched for a store set up later: for which service node
        # and database, and how far per table (`sync/long_term_rows.py`, `backfill`).
        self._backfill: dict[str, Any] = dict(stored.get("long_term_backfill") or {})
        self._backfill_task: asyncio.Task[None] | None = None
        self.backfill_status: str | None = None  # waiting, running, done (None: no store)
        self.connected: bool | None = None  # None until the first attempt
        self.last_error: str | None = None
        self._dirty = asyncio.Event()
        self._connected_event = asyncio.Event()
        self._write_lock = asyncio.Lock()
        # Bumped by each acknowledged write; per setting, the write that last carried it.
        self._writes = 0
        self._written: dict[str, int] = {}
        self._reread = False
        self._issue = False

    # -- lifecycle ----------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Follow local changes and start the write and feed loops (in the background)."""
        entry = self.entry
        entry.runtime_data.store.register(STORE_KEY, self.as_dict)
        await self._async_open_queue()
        entry.async_on_unload(entry.add_update_listener(self._async_options_updated))
        entry.async_on_unload(self.hass.bus.async_listen(EVENT_XP_AWARDED, self._on_xp))
        entry.async_on_unload(
            entry.runtime_data.gamification.async_add_habits_listener(self._on_habits)
        )
        entry.async_on_unload(self._clear_issue)
        # What changed here while sync was not running (the first sync compares instead).
        if self._known:
            self._queue_settings(synced_values(entry.options))
        self._on_habits()
        entry.async_on_unload(entry.runtime_data.work.async_add_listener(self._on_work))
        self._on_work()
        notifications = entry.runtime_data.notifications
        entry.async_on_unload(notifications.async_add_listener(self._on_notifications))
        if self._dismissed is None:
            self._dismissed = {
                n.id for n in notifications.queue.all() if n.status is Status.DISMISSED
            }
        self._on_notifications()
        entry.async_on_unload(notifications.async_add_listener(self._on_notification_records))
        self._on_notification_records()
        entry.async_on_unload(entry.runtime_data.async_add_enabled_listener(self._on_enabled))
        if self._known_agents:
            self._queue_agents(self._enabled_values())
        entry.async_create_background_task(self.hass, self._write_loop(), "lifeops sync writes")
        entry.async_create_background_task(self.hass, self._feed_loop(), "lifeops sync feed")
        if entry.runtime_data.long_term_store is not None:
            self.start_long_term_backfill(entry.runtime_data.long_term_store)

    def as_dict(self) -> dict[str, Any]:
        """What is kept in the entry's store: the cursor, the known settings (not the queue)."""
        return {
            "node_id": self._node_id,
            "cursor": dict(self.cursor),
            "settings": dict(self._known),
            "habits": self._known_habits,
            "work": dict(self._known_work),
            "dismissed": sorted(self._dismissed or ()),
            "long_term_backfill": {
                **self._backfill,
                "tables": dict(self._backfill.get("tables") or {}),
            },
            "notifications": dict(self._known_notifications),
            "agents": dict(self._known_agents),
        }

    def info(self) -> dict[str, Any]:
        """Status for diagnostics and system health (never the secret)."""
        return {
            "connected": self.connected,
            "node_id": self.client.node_id,
            "queued_operations": len(self.queue),
            "queue_limit": self.queue.max_ops,
            "dropped_rows": self.queue.dropped,
            "refused_records": self.refusals.as_dict(),
            "cursor": dict(self.cursor),
            "last_error": self.last_error,
            "long_term_backfill": (
                self.backfill_status if self.entry.runtime_data.long_term_store else None
            ),
        }

    # -- local changes ------------------------------------------------------------------------

    async def _async_options_updated(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        if sync_options(entry.options) != self.options:
            return  # the entry reloads for new sync options
        self._queue_settings(synced_values(entry.options))

    @callback
    def _queue_settings(self, values: Mapping[str, Any]) -> None:
        changed = {key: value for key, value in values.items() if self._known.get(key) != value}
        if not changed:
            return
        self._known.update(changed)
        self._enqueue(
            {
                "op": "set",
                "collection": SETTINGS_COLLECTION,
                "key": PERSON_KEY,
                "fields": changed,
            }
        )

    @callback
    def _on_xp(self, event: Event[dict[str, Any]]) -> None:
        if event.data.get("config_entry_id") != self.entry.entry_id:
            return
        logged = self.entry.runtime_data.gamification.log.get(str(event.data.get("id")))
        if logged is not None:
            self._enqueue(_xp_op(logged))

    @callback
    def _on_habits(self) -> None:
        """Queue the person's habits created, changed or removed here since the last sync."""
        known = self._known_habits
        if known is None:
            return  # the first sync compares them
        current = {
            habit.id: habit.as_dict()
            for habit in self.entry.runtime_data.gamification.habits.values()
        }
        for habit_id, fields in current.items():
            if known.get(habit_id) != fields:
                known[habit_id] = fields
                op = {"op": "set", "collection": HABITS_COLLECTION, "key": habit_id}
                self._enqueue({**op, "fields": fields})
        for habit_id in [habit_id for habit_id in known if habit_id not in current]:
            del known[habit_id]
            self._enqueue({"op": "delete", "collection": HABITS_COLLECTION, "key": habit_id})

    @callback
    def _on_work(self) -> None:
        """Queue this site's work sessions that started, ended or moved since last written."""
        tracker = self.entry.runtime_data.work.tracker
        if tracker.version == self._work_version:
            return
        self._work_version = tracker.version
        site = self.entry.runtime_data.site
        sessions = tracker.sessions()
        kept = {session.id for session in sessions}
        for gone in [key for key in self._known_work if key not in kept]:
            del self._known_work[gone]  # pruned here (old); the service keeps the record
        for session in sessions:
            if session.site is not None:
                continue  # another site's: its own site writes it
            stored = session.as_dict()
            fields = {key: stored.get(key) for key in WORK_FIELDS} | {"site": site}
            known = self._known_work.get(session.id)
            changed = {k: v for k, v in fields.items() if known is None or known.get(k) != v}
            if changed:
                self._known_work[session.id] = fields
                self._enqueue(
                    {
                        "op": "set",
                        "collection": WORK_COLLECTION,
                        "key": session.id,
                        "fields": changed,
                    }
                )

    @callback
    def _on_notifications(self) -> None:
        """Write the dismissals made here since last written, by the notification's dedupe key.

        The same notification at another site has the same key (agent, title and message, or
        the key its caller gave), so dismissing it here dismisses it there.
        """
        if self._dismissed is None:
            return
        queue = self.entry.runtime_data.notifications.queue
        items = queue.all()
        current = {n.id for n in items}
        self._dismissed &= current  # forgotten by the queue (pruned): nothing to remember
        now = dt_util.utcnow().isoformat()
        for notification in items:
            if notification.status is Status.DISMISSED and notification.id not in self._dismissed:
                self._dismissed.add(notification.id)
                fields = {"dismissed_at": now, "site": self.entry.runtime_data.site}
                self._enqueue(
                    {
                        "op": "set",
                        "collection": DISMISSALS_COLLECTION,
                        "key": notification.dedupe_key,
                        "fields": fields,
                    }
                )

    @callback
    def _apply_dismissal(self, dedupe_key: str, value: Any) -> None:
        """Dismiss here what another site dismissed: the same notification, made before then."""
        when, reason = inbound.dismissal(dedupe_key, value, now=dt_util.utcnow())
        if when is None:
            self.refusals.refuse(DISMISSALS_COLLECTION, dedupe_key, str(reason))
            return
        controller = self.entry.runtime_data.notifications
        for notification in controller.queue.all():
            if (
                notification.dedupe_key == dedupe_key
                and notification.status is not Status.DISMISSED
                and notification.created <= when
            ):
                if self._dismissed is not None:
                    self._dismissed.add(notification.id)  # not written back as this site's
                controller.async_dismiss(notification.id)

    @callback
    def _on_notification_records(self) -> None:
        """Queue this site's notifications made, changed or pruned since last written."""
        queue = self.entry.runtime_data.notifications.queue
        site = self.entry.runtime_data.site
        own = {item.id: item for item in queue.all() if not item.mirrored}
        for gone in [key for key in self._known_notifications if key not in own]:
            del self._known_notifications[gone]  # pruned here: gone everywhere
            self._enqueue({"op": "delete", "collection": NOTIFICATIONS_COLLECTION, "key": gone})
        for notification_id, item in own.items():
            fields = item.synced_fields(site)
            known = self._known_notifications.get(notification_id)
            changed = {k: v for k, v in fields.items() if known is None or known.get(k) != v}
            if changed:
                self._known_notifications[notification_id] = fields
                self._enqueue(
                    {
                        "op": "set",
                        "collection": NOTIFICATIONS_COLLECTION,
                        "key": notification_id,
                        "fields": changed,
                    }
                )

    async def _read_notifications(self) -> None:
        """Read the other sites' notification records that changed, and mirror them here."""
        keys = self._notification_reads
        if keys is not None and not keys:
            return
        self._notification_reads = set()
        try:
            if keys is None or len(keys) > NOTIFICATION_READS:
                records = await self.client.records(NOTIFICATIONS_COLLECTION)
                self._merge_notifications(records, None)
            else:
                for key in sorted(keys):
                    records = await self.client.records(NOTIFICATIONS_COLLECTION, key)
                    self._merge_notifications(records, {key})
        except BaseException:
            self._notification_reads = None  # read them all next time
            raise

    @callback
    def _merge_notifications(
        self, records: Mapping[str, Mapping[str, Any]], keys: set[str] | None
    ) -> None:
        """Mirror other sites' notifications; those of `keys` (None: all) without a record go."""
        runtime = self.entry.runtime_data
        controller = runtime.notifications
        changed = False
        now = dt_util.utcnow()
        room = MAX_MIRRORED - sum(1 for item in controller.queue.all() if item.mirrored)
        for notification_id, fields in records.items():
            if fields.get("site") == runtime.site:
                continue  # this site's own, written from here
            item, reason = inbound.notification(notification_id, fields, now=now)
            was = controller.queue.get(notification_id)
            if item is not None and was is None:
                room -= 1
                reason = inbound.REASON_TOO_MANY if room < 0 else None
            if item is None or reason is not None:
                self.refusals.refuse(NOTIFICATIONS_COLLECTION, notification_id, str(reason))
                continue
            if controller.queue.merge_synced(item):
                changed = True
                dismissed_there = item.status is Status.DISMISSED
                newly = was is None or was.status is not Status.DISMISSED
                if dismissed_there and newly and self._dismissed is not None:
                    self._dismissed.add(notification_id)  # not written back as this site's
        gone = [
            item.id
            for item in controller.queue.all()
            if item.mirrored and item.id not in records and (keys is None or item.id in keys)
        ]
        for notification_id in gone:
            changed = controller.queue.forget_synced(notification_id) or changed
        if changed:
            controller.async_changed()

    @callback
    def _forget_notification(self, notification_id: str) -> None:
        """Another site pruned its notification: it goes here too."""
        controller = self.entry.runtime_data.notifications
        if controller.queue.forget_synced(notification_id):
            controller.async_changed()

    def _enabled_values(self) -> dict[str, bool]:
        runtime = self.entry.runtime_data
        return {agent.value: runtime.is_enabled(agent) for agent in Agent}

    @callback
    def _on_enabled(self) -> None:
        self._queue_agents(self._enabled_values())

    @callback
    def _queue_agents(self, values: Mapping[str, bool]) -> None:
        known = self._known_agents
        changed = {key: value for key, value in values.items() if known.get(key) != value}
        if not changed:
            return
        known.update(changed)
        self._enqueue(
            {"op": "set", "collection": SETTINGS_COLLECTION, "key": AGENTS_KEY, "fields": changed}
        )

    @callback
    def _apply_agents(self, remote: Mapping[str, Any], writes_before: int) -> None:
        """Turn agents on or off as another site did, unless a local flip is on its way."""
        switches, refused = inbound.agent_switches(remote)
        for field, reason in refused.items():
            self.refusals.refuse(SETTINGS_COLLECTION, f"{AGENTS_KEY}.{field}", reason)
        take, again = self._remote_fields(AGENTS_KEY, switches, writes_before)
        self._reread_agents = self._reread_agents or again
        if not take:
            return
        self._known_agents.update(take)
        self.entry.runtime_data.store.async_schedule_save()
        self.entry.runtime_data.async_set_enabled(take)

    async def _reconcile_agents(self) -> None:
        """On the first sync, take the other sites' switches, then write those only here."""
        if self._known_agents:
            return
        remote = (await self.client.records(SETTINGS_COLLECTION, AGENTS_KEY)).get(AGENTS_KEY)
        self._apply_agents(remote or {}, self._writes)
        self._queue_agents(self._enabled_values())

    @callback
    def _merge_work(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        """Take other sites' work sessions (an end that moved there moves here)."""
        runtime = self.entry.runtime_data
        changed = False
        now = dt_util.utcnow()
        for session_id, fields in records.items():
            site = fields.get("site")
            if site == runtime.site or site is None:
                continue  # this site's own (or none's: nothing to count)
            session, reason = inbound.work_session(session_id, fields, now=now)
            if session is None:
                self.refusals.refuse(WORK_COLLECTION, session_id, str(reason))
                continue
            changed = runtime.work.tracker.merge_synced(session) or changed
        if changed:
            runtime.work.async_changed()

    @callback
    def queue_long_term_rows(self, table: str, rows: list[Row]) -> None:
        """Hand rows this site wrote to its long-term store to the other sites.

        As items (`sync/long_term_rows.py`); tables not carried by sync are left out.
        """
        ops = sync_ops(table, rows)
        if ops:
            for op in ops:
                self.queue.add(op)  # refused (and counted) when the queue is full
            self._queued()

    async def _accept_long_term_rows(self, changes: list[Change], own: str | None) -> None:
        """Give other sites' long-term rows to this site's writer before the cursor moves.

        Without a long-term store here they are not kept.
        """
        received = received_rows(changes, own, self.refusals.refuse)
        if not received:
            return
        store = self.entry.runtime_data.long_term_store
        if store is not None:
            await store.async_accept_synced(received)
        elif store_config(store_options(self.entry.options)) is not None:
            # Set up but not started yet (entry set-up, an options change): ask again soon.
            raise StoreUnreachable("the long-term store is starting")

    @callback
    def start_long_term_backfill(self, store: LongTermStore) -> None:
        """Fetch other sites' long-term rows for a store that just started, in the background.

        Once per sync service node and database (a new service or a new database fetches
        again); a backfill cut short (Home Assistant stopped, the service away) goes on from
        the last page the writer kept. Rows the feed brings meanwhile may come twice: the
        writer keeps each once.
        """
        if self._backfill_task is not None:
            self._backfill_task.cancel()
        self.backfill_status = "waiting"
        self._backfill_task = self.entry.async_create_background_task(
            self.hass, self._backfill_long_term_rows(store), "lifeops sync long-term backfill"
        )

    async def _backfill_long_term_rows(self, store: LongTermStore) -> None:
        target = "{host}:{port}/{database}".format(**store.values)
        failures = 0
        while self.entry.runtime_data.long_term_store is store:
            await self._connected_event.wait()
            node = self.client.node_id
            if self._backfill.get("node") != node or self._backfill.get("store") != target:
                self._backfill = {"node": node, "store": target, "tables": {}}
            tables: dict[str, str] = self._backfill.setdefault("tables", {})
            if backfill_done(tables):
                self.backfill_status = "done"
                return
            self.backfill_status = "running"
            try:
                handed = await backfill(
                    self.client,
                    tables,
                    store.async_accept_synced,
                    self.entry.runtime_data.store.async_schedule_save,
                )
            except (SyncError, StoreError) as err:
                failures += 1
                self.backfill_status = "waiting"
                _LOGGER.debug("Long-term backfill for %s waits: %s", self.entry.title, err)
                await asyncio.sleep(_backoff(failures))
                continue
            except Exception:
                failures += 1
                self.backfill_status = "waiting"
                _LOGGER.exception("Long-term backfill for %s failed", self.entry.title)
                await asyncio.sleep(_backoff(failures))
                continue
            self.backfill_status = "done"
            self.entry.runtime_data.store.async_schedule_save()
            _LOGGER.info(
                "LifeOps fetched %d long-term rows of other sites for %s", handed, self.entry.title
            )
            return

    @callback
    def _enqueue(self, op: dict[str, Any]) -> None:
        """Queue a local change; a set or delete says when it was made and what was seen.

        `at` (the service's clock as last learnt) and `seen` (the change-feed cursor) let the
        service tell a remote edit made after this one, which wins, from one this edit followed.
        """
        if op["op"] in ("set", "delete"):
            op = {**op, "at": self.client.service_time_ms(), "seen": dict(self.cursor)}
        self.queue.add(op)
        self._queued()

    @callback
    def _queued(self) -> None:
        """Something was queued: to the file soon, then to the service."""
        self._update_queue_issue()
        self._dirty.set()
        if not self._persisting and self._file is not None:
            self._persisting = True
            self.entry.async_create_background_task(
                self.hass, self._persist_soon(), "lifeops sync queue"
            )

    async def _persist_soon(self) -> None:
        try:
            await self._async_persist()
        except (OSError, sqlite3.Error):
            _LOGGER.exception("Cannot write the sync queue of %s", self.entry.title)
        finally:
            self._persisting = False

    async def _async_persist(self) -> None:
        """Bring the queue's file up to date (blocking I/O in the executor)."""
        async with self._disk_lock:
            while self._file is not None and (changes := self.queue.changes()) is not None:
                await self.hass.async_add_executor_job(
                    self._file.apply, changes, self.queue.last_id
                )
                self.queue.saved(changes)

    async def _async_open_queue(self) -> None:
        """Open the queue's file; move a queue the entry's store held into it (once)."""
        path = queue_path(self.hass, self.entry.entry_id)
        self._file, loaded, set_aside = await self.hass.async_add_executor_job(
            open_queue_file, path
        )
        if set_aside:
            _LOGGER.error(
                "The sync queue file %s could not be read; it was set aside (.broken) and a new "
                "one started: the changes it held are not sent",
                path,
            )
        self.queue = OpQueue(loaded, MAX_QUEUED)
        self.entry.async_on_unload(self._async_close_queue)
        # Home Assistant stopping does not unload entries: what was queued last (the long-term
        # store's final rows come at its stop) goes to the file at the final write.
        self.entry.async_on_unload(
            self.hass.bus.async_listen(EVENT_HOMEASSISTANT_FINAL_WRITE, self._on_final_write)
        )
        old, self._old_queue = self._old_queue, []
        if old:
            digest = fingerprint(old)
            if digest != self.queue.migrated:  # not moved in yet (or not completely)
                for op in old:
                    if isinstance(op, dict):
                        self.queue.add(op, force=True)
                self.queue.note_migrated(digest)
                await self._async_persist()
            _LOGGER.debug("Moved %d queued sync changes into %s", len(old), path)
            # Dropped from the store now that the file has them.
            await self.entry.runtime_data.store.async_save()
        self._update_queue_issue()

    async def _on_final_write(self, event: Event) -> None:
        await self._async_persist()

    def _open_file(self) -> QueueFile | None:
        return self._file

    async def _async_close_queue(self) -> None:
        try:
            await self._async_persist()
        finally:
            file, self._file = self._file, None
            if file is not None:
                await self.hass.async_add_executor_job(file.close)
            self._clear_queue_issue()

    @callback
    def _update_queue_issue(self) -> None:
        """Warn while the queue is nearly full (long-term rows are then dropped)."""
        if self.queue.fill < WARN_FILL:
            self._clear_queue_issue()
            return
        self._queue_issue = True
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{ISSUE_QUEUE_FILLING}_{self.entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_QUEUE_FILLING,
            translation_placeholders={
                "site": self.entry.title,
                "percent": str(min(100, round(self.queue.fill * 100))),
                "queued": str(len(self.queue)),
                "dropped": str(self.queue.dropped),
            },
        )

    @callback
    def _clear_queue_issue(self) -> None:
        if self._queue_issue:
            ir.async_delete_issue(self.hass, DOMAIN, f"{ISSUE_QUEUE_FILLING}_{self.entry.entry_id}")
            self._queue_issue = False

    async def async_flush(self) -> None:
        """Write everything queued now; raises `SyncError` when the service does not take it.

        A batch is read from the queue's file (so everything sent is on disk first) and leaves
        it only once the service acknowledged it.
        """
        async with self._write_lock:
            while self.queue and self._file is not None:
                upto = self.queue.freeze()
                try:
                    await self._async_persist()
                    async with self._disk_lock:
                        file = self._open_file()
                        if file is None:
                            return  # closed meanwhile (the entry unloads)
                        batch = await self.hass.async_add_executor_job(
                            file.oldest, WRITE_BATCH, upto
                        )
                    if not batch:
                        return
                    ids = [op_id for op_id, _ in batch]
                    try:
                        answer = await self.client.write([op for _, op in batch])
                    except SyncRequestError as err:
                        # Never taken, however often it is sent: drop it rather than block.
                        _LOGGER.error(
                            "The sync service refused %d queued changes: %s", len(batch), err
                        )
                        self.queue.acknowledged(ids)
                        self._update_queue_issue()
                        continue
                    done = self.queue.acknowledged(ids)
                    self._update_queue_issue()
                finally:
                    self.queue.thaw()
                await self._async_persist()  # gone from the file too
                self._writes += 1
                for op in done:
                    if op.get("collection") == HABITS_COLLECTION:
                        self._habits_written = self._writes
                    if op.get("collection") == SETTINGS_COLLECTION:
                        for key in op.get("fields") or {}:
                            self._written[key] = self._writes
                await self._take_skipped(answer.get("skipped"))

    async def _take_skipped(self, skipped: Any) -> None:
        """Edits the service left out (a remote edit made after them won): show its values."""
        if not isinstance(skipped, list) or not skipped:
            return
        collections = {item.get("collection") for item in skipped if isinstance(item, dict)}
        _LOGGER.debug("Sync kept later edits made elsewhere over %s", sorted(map(str, collections)))
        if HABITS_COLLECTION in collections:
            self._reread_habits = True
            self._apply_habits(await self.client.records(HABITS_COLLECTION), self._writes)
        if WORK_COLLECTION in collections:
            self._reread_work = True
        if SETTINGS_COLLECTION in collections:
            self._reread = True  # the feed loop reads again should this read fail
            record = await self.client.records(SETTINGS_COLLECTION, PERSON_KEY)
            self._reread = False
            self._apply_settings(record.get(PERSON_KEY) or {}, self._writes)

    async def _write_loop(self) -> None:
        failures = 0
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self.async_flush()
            except Exception as err:
                if not isinstance(err, SyncError):
                    _LOGGER.exception("Writing to the sync service for %s failed", self.entry.title)
                    err = SyncError("internal error")
                failures += 1
                self._set_connected(False, err)
                self._connected_event.clear()
                # Wait for the feed loop to reach the service again, or the back-off.
                try:
                    async with asyncio.timeout(_backoff(failures)):
                        await self._connected_event.wait()
                except TimeoutError:
                    pass
                self._dirty.set()
            else:
                failures = 0

    # -- remote changes -----------------------------------------------------------------------

    async def _feed_loop(self) -> None:
        failures = 0
        fresh = True
        while True:
            try:
                if fresh:
                    node_id = await self.client.connect()
                    if node_id != self._node_id:
                        self._node_id, self.cursor, self._known = node_id, {}, {}
                        self._known_agents = {}
                        self._known_notifications = {}  # a new service: write them again
                        self._on_notification_records()
                    await self._reconcile()
                    await self._reconcile_agents()
                    self._reread_habits = True
                    self._notification_reads = None
                    self._set_connected(True, None)
                    self._connected_event.set()
                    self._dirty.set()
                    await self.coordinator.async_refresh()
                    fresh = False
                    failures = 0
                if self._reread:
                    self._reread = False
                    record = await self.client.records(SETTINGS_COLLECTION, PERSON_KEY)
                    self._apply_settings(record.get(PERSON_KEY) or {}, self._writes)
                await self._reread_records()
                writes_before = self._writes
                feed = await self.client.changes(self.cursor, wait=FEED_WAIT)
                self._set_connected(True, None)
                self._connected_event.set()
                await self._take(feed, writes_before)
                failures = 0
            except SyncError as err:
                failures += 1
                fresh = True
                self._set_connected(False, err)
                await asyncio.sleep(_backoff(failures))
            except StoreError as err:
                # The service is fine; the long-term store's writer could not keep the rows.
                failures += 1
                _LOGGER.warning(
                    "Synced long-term rows for %s wait (%s); the change feed is retried",
                    self.entry.title,
                    err,
                )
                await asyncio.sleep(_backoff(failures))
            except Exception:
                failures += 1
                fresh = True
                _LOGGER.exception("Sync for %s failed", self.entry.title)
                await asyncio.sleep(_backoff(failures))

    async def _reread_records(self) -> None:
        """Read whole the collections whose records changed (fields may come apart)."""
        if self._reread_habits:
            self._reread_habits = False
            writes_before = self._writes
            remote = await self.client.records(HABITS_COLLECTION)
            self._apply_habits(remote, writes_before)
        if self._reread_work:
            self._reread_work = False
            self._merge_work(await self.client.records(WORK_COLLECTION))
        if self._reread_agents:
            self._reread_agents = False
            writes_before = self._writes
            record = await self.client.records(SETTINGS_COLLECTION, AGENTS_KEY)
            self._apply_agents(record.get(AGENTS_KEY) or {}, writes_before)
        await self._read_notifications()

    async def _take(self, feed: ChangeFeed, writes_before: int) -> None:
        """Apply a change-feed answer, then move the cursor past it."""
        # The cursor moves only once the writer holds the rows (StoreError: asked again).
        own = feed.origin or self.client.node_id
        await self._accept_long_term_rows(feed.changes, own)
        self._apply(feed.changes, writes_before, own)
        if self._unaccounted(feed.cursor, feed.changes, own):
            # Superseded entries, or a delete whose tombstone the service collected before
            # this reader got to it (it waits for the reader, but not after 30 days away):
            # the feed cannot say which.
            self._reread_habits = True
            self._notification_reads = None
        if feed.cursor != self.cursor:
            self.cursor = feed.cursor
            self.entry.runtime_data.store.async_schedule_save()

    async def _reconcile(self) -> None:
        """After (re)connecting: the settings on the first sync, and the XP log both ways."""
        if not self._known:
            remote = (await self.client.records(SETTINGS_COLLECTION, PERSON_KEY)).get(PERSON_KEY)
            self._apply_settings(remote or {}, self._writes)
            self._queue_settings(synced_values(self.entry.options))
        remote_xp = await self.client.items(XP_COLLECTION)
        gamification = self.entry.runtime_data.gamification
        self._merge_xp(remote_xp.items())
        queued = self.queue.pending_keys(XP_COLLECTION)
        missing = [e for e in gamification.log if e.id not in remote_xp and e.id not in queued]
        for event in missing:
            self.queue.add(_xp_op(event))
        if missing:
            self._queued()
        self.entry.runtime_data.store.async_schedule_save()

    @callback
    def _apply(self, changes: list[Change], writes_before: int, own: str | None) -> None:
        """Take other sites' changes; `own` is the origin this site writes under now."""
        fields: dict[str, Any] = {}
        agents: dict[str, Any] = {}
        events: list[tuple[str, Any]] = []
        for change in changes:
            if change.origin == own:
                continue  # written from here: already applied
            if not inbound.readable_change(change.collection, change.key):
                self.refusals.refuse(change.collection, change.key, inbound.REASON_KEY)
                continue
            if (
                change.kind == "field"
                and change.collection == SETTINGS_COLLECTION
                and change.key == PERSON_KEY
                and change.field in SYNCED_SETTINGS
            ):
                fields[change.field] = change.value
            elif (
                change.kind == "field"
                and change.collection == SETTINGS_COLLECTION
                and change.key == AGENTS_KEY
                and change.field is not None
            ):
                agents[change.field] = change.value
            elif change.kind == "item" and change.collection == XP_COLLECTION:
                events.append((change.key, change.value))
            elif change.collection == HABITS_COLLECTION:
                self._reread_habits = True  # read the records whole: fields may come apart
            elif change.collection == WORK_COLLECTION:
                self._reread_work = True
            elif (
                change.kind == "field"
                and change.collection == DISMISSALS_COLLECTION
                and change.field == "dismissed_at"
            ):
                self._apply_dismissal(change.key, change.value)
            elif change.collection == NOTIFICATIONS_COLLECTION:
                if change.kind == "delete":
                    self._forget_notification(change.key)
                    if self._notification_reads is not None:
                        self._notification_reads.discard(change.key)
                elif self._notification_reads is not None:
                    self._notification_reads.add(change.key)
        if fields:
            self._apply_settings(fields, writes_before)
        if agents:
            self._apply_agents(agents, writes_before)
        if events:
            self._merge_xp(events)

    def _unaccounted(
        self, cursor: Mapping[str, int], changes: list[Change], own: str | None
    ) -> bool:
        """Whether the cursor moved past entries of other nodes that the answer does not show."""
        shown: dict[str, int] = {}
        for change in changes:
            shown[change.origin] = shown.get(change.origin, 0) + 1
        return any(
            seq - self.cursor.get(origin, 0) > shown.get(origin, 0)
            for origin, seq in cursor.items()
            if origin != own
        )

    def _remote_fields(
        self, record: str, remote: Mapping[str, Any], writes_before: int
    ) -> tuple[dict[str, Any], bool]:
        """The fields of another site's `settings/<record>` to take here; whether to read again.

        A field that a local edit on its way carries, or one written after the read began, is
        left for a later read, once our write is in.
        """
        pending = self.queue.pending_fields(SETTINGS_COLLECTION, record)
        take: dict[str, Any] = {}
        again = False
        for key, value in remote.items():
            if key in pending or self._written.get(key, 0) > writes_before:
                again = True
            else:
                take[key] = value
        return take, again

    @callback
    def _apply_settings(self, remote: Mapping[str, Any], writes_before: int) -> None:
        """Take other sites' settings into the options, unless a local edit is on its way."""
        take, again = self._remote_fields(
            PERSON_KEY,
            {k: v for k, v in remote.items() if k in SYNCED_SETTINGS},
            writes_before,
        )
        self._reread = self._reread or again
        if not take:
            return
        current = s.Settings.from_options(self.entry.options).as_options()
        take, refused = inbound.settings_fields(take, current)
        for field, reason in refused.items():
            self.refusals.refuse(SETTINGS_COLLECTION, f"{PERSON_KEY}.{field}", reason)
            self.last_error = "invalid_synced_settings"
        if not take:
            return
        settings, errors = s.validate({**current, **take})
        if settings is None:
            _LOGGER.warning(
                "Synced settings for %s were not applied: %s", self.entry.title, sorted(errors)
            )
            self.last_error = "invalid_synced_settings"
            return
        merged = s.merge_targets(self.entry.options, settings)
        self._known.update({key: merged[key] for key in SYNCED_SETTINGS if key in take})
        self.entry.runtime_data.store.async_schedule_save()
        if merged != dict(self.entry.options):
            self.hass.config_entries.async_update_entry(self.entry, options=merged)

    @callback
    def _apply_habits(self, remote: Mapping[str, Mapping[str, Any]], writes_before: int) -> None:
        """Make the person's habits here what the service holds, but for local changes on the way.

        The first sync takes the service's habits and then queues the ones only this site has.
        """
        if self._habits_written > writes_before:
            self._reread_habits = True  # read before our write landed: read again
            return
        pending = self.queue.pending_keys(HABITS_COLLECTION)
        first = self._known_habits is None
        known: dict[str, dict[str, Any]] = {} if self._known_habits is None else self._known_habits
        controller = self.entry.runtime_data.gamification
        add: list[Habit] = []
        room = MAX_HABITS - len(controller.habits)
        for habit_id, fields in remote.items():
            if habit_id in pending or habit_id in BUILTIN_IDS:
                continue
            habit, reason = inbound.habit(habit_id, fields)
            if habit is not None and habit_id not in controller.habits:
                room -= 1
                reason = inbound.REASON_TOO_MANY if room < 0 else None
            if habit is None or reason is not None:
                self.refusals.refuse(HABITS_COLLECTION, habit_id, str(reason))
                continue
            known[habit_id] = habit.as_dict()
            if controller.habits.get(habit_id) != habit:
                add.append(habit)
        # Deleted elsewhere: known to the service before, gone from it now.
        gone = [key for key in known if key not in remote and key not in pending]
        for key in gone:
            del known[key]
        self._known_habits = known
        remove = [key for key in gone if key in controller.habits]
        if remove:
            controller.async_remove_habits(remove)
        for habit in add:
            controller.async_add_habit(habit)
        if first:
            self._on_habits()  # the habits only this site has go to the others
        self.entry.runtime_data.store.async_schedule_save()

    @callback
    def _merge_xp(self, items: Any) -> None:
        """Merge other sites' XP events (key, value), each checked as input first."""
        events: list[XpEvent] = []
        now = dt_util.utcnow()
        for key, value in items:
            event, reason = inbound.xp_event(key, value, now=now)
            if event is None:
                self.refusals.refuse(XP_COLLECTION, str(key), str(reason))
            else:
                events.append(event)
        if events:
            self.entry.runtime_data.gamification.async_merge_synced(events)

    # -- status -------------------------------------------------------------------------------

    @callback
    def _set_connected(self, connected: bool, err: SyncError | None) -> None:
        if err is not None:
            self.last_error = (
                "invalid_auth" if isinstance(err, SyncAuthError) else type(err).__name__
            )
        was = self.connected
        self.connected = connected
        if connected and was is not True:
            self.last_error = None
            if was is False:
                _LOGGER.info("LifeOps sync service for %s is back", self.entry.title)
            self._clear_issue()
        if not connected and isinstance(err, SyncAuthError):
            # The secret was changed at the service: Home Assistant asks for the new one (once;
            # a reauth flow already open is not started again).
            self.entry.async_start_reauth(self.hass)
        if not connected and was is not False:
            _LOGGER.warning(
                "LifeOps cannot reach its sync service for %s (%s); changes wait in a queue "
                "and are retried",
                self.entry.title,
                self.last_error,
            )
            self._issue = True
            # The peer sensors go unavailable now rather than at the next status poll.
            self.coordinator.async_set_update_error(err or SyncError("unreachable"))
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self._issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_UNREACHABLE,
                translation_placeholders={
                    "site": self.entry.title,
                    "queued": str(len(self.queue)),
                },
            )

    @property
    def _issue_id(self) -> str:
        return f"{ISSUE_UNREACHABLE}_{self.entry.entry_id}"

    @callback
    def _clear_issue(self) -> None:
        if self._issue:
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id)
            self._issue = False

    # -- sync now -----------------------------------------------------------------------------

    async def async_sync_now(self) -> list[PeerResult]:
        """Write what waits, sync with every peer, refresh the status; raises `SyncError`."""
        await self.async_flush()
        results = await self.client.sync_now()
        await self.coordinator.async_refresh()
        return [PeerResult(peer, error) for peer, error in sorted(results.items())]


def _xp_op(event: XpEvent) -> dict[str, Any]:
    return {"op": "add", "collection": XP_COLLECTION, "key": event.id, "value": event.as_dict()}


async def async_setup_sync(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> None:
    """Start syncing when the entry has sync options; reload the entry when they change."""
    options = sync_options(entry.options)
    if options[SYNC_URL] and options[SYNC_SECRET]:
        manager = SyncManager(hass, entry, options[SYNC_URL], options[SYNC_SECRET])
        entry.runtime_data.sync = manager
        await manager.async_start()

    async def _options_updated(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> None:
        manager = entry.runtime_data.sync
        running = manager.options if manager is not None else None
        new = sync_options(entry.options)
        if (new if new[SYNC_URL] and new[SYNC_SECRET] else None) != running:
            hass.config_entries.async_schedule_reload(entry.entry_id)

    entry.async_on_unload(entry.add_update_listener(_options_updated))


async def async_sync_now(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    """lifeops.sync_now: write what waits and sync with every peer; per-peer results."""
    manager = entry.runtime_data.sync
    if manager is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="sync_not_configured",
            translation_placeholders={"site": entry.title},
        )
    try:
        results = await manager.async_sync_now()
    except SyncError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="sync_unavailable",
            translation_placeholders={"site": entry.title},
        ) from err
    peers: list[JsonValueType] = [
        {"peer": result.peer, "success": result.error is None, "error": result.error}
        for result in results
    ]
    # Peers that call this site (the cabins, at home) are synced by their own loops: listed
    # with when they last did, not as synced now.
    called = {result.peer for result in results}
    for peer, status in sorted((manager.coordinator.data or {}).items()):
        if peer in called or not status.get("calls_us"):
            continue
        success = status.get("last_success")
        peers.append(
            {
                "peer": peer,
                "success": None,
                "error": None,
                "calls_this_site": True,
                "last_success": datetime.fromtimestamp(success / 1000, UTC).isoformat()
                if isinstance(success, int) and not isinstance(success, bool)
                else None,
            }
        )
    return {"peers": peers, "queued": len(manager.queue)}
