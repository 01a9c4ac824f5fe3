"""The XP log (habit and goal completions included) as the append-only set `xp/<event id>`.

XP earned at the cabin counts at home, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from ...core.changes import XpEventAdded
from ...core.xp import XpEvent
from ...sync import Change, inbound
from ...sync.mirror import AppendOnlySet
from .base import Adapter, Link

XP_COLLECTION: Final = "xp"


class XpLog(Adapter):
    """Each event awarded here is added; other sites' events are merged into the log."""

    def __init__(self, link: Link) -> None:
        """Nothing received yet."""
        super().__init__(link)
        self.set = AppendOnlySet(XP_COLLECTION)
        self._remote: list[tuple[str, Any]] = []
        self._merging = False

    def start(self) -> None:
        """Follow the events the XP log adds, as the site's change hub announces them."""
        entry = self.link.entry
        entry.async_on_unload(entry.runtime_data.changes.subscribe(XpEventAdded, self._on_xp))

    @callback
    def _on_xp(self, change: XpEventAdded) -> None:
        if self._merging:
            return  # another site's, from the service: nothing to write back
        self.link.enqueue(self.set.add(change.event.id, change.event.as_dict()))

    async def reconcile(self) -> None:
        """Both ways: the service's events merged here, this log's events it lacks added."""
        link = self.link
        remote = await link.client.items(XP_COLLECTION)
        self._merge(remote.items())
        log = link.entry.runtime_data.gamification.log
        missing = self.set.missing(
            ((event.id, event.as_dict()) for event in log),
            remote,
            link.queue.pending_keys(XP_COLLECTION),
        )
        link.enqueue(*missing)

    def take(self, change: Change) -> bool:
        """Collect other sites' events; merged together in `taken`."""
        if change.collection != XP_COLLECTION or change.kind != "item":
            return False
        self._remote.append((change.key, change.value))
        return True

    def taken(self, writes_before: int) -> None:
        """Merge the events of one feed answer."""
        remote, self._remote = self._remote, []
        if remote:
            self._merge(remote)

    @callback
    def _merge(self, items: Iterable[tuple[Any, Any]]) -> None:
        """Merge other sites' XP events (key, value), each checked as input first."""
        events: list[XpEvent] = []
        now = dt_util.utcnow()
        for key, value in items:
            event, reason = inbound.xp_event(key, value, now=now)
            if event is None:
                self.link.refusals.refuse(XP_COLLECTION, str(key), str(reason))
            else:
                events.append(event)
        if events:
            self._merging = True
            try:
                self.link.entry.runtime_data.gamification.async_merge_synced(events)
            finally:
                self._merging = False
