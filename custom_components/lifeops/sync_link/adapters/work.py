"""The work log: each session of this site as the record `work_sessions/<id>`.

Start, end, source, scheduled and site; last writer wins per field, so an end that moves
follows. Other sites' sessions are merged into the work log by id and counted once ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from ...sync import Change, inbound
from ...sync.mirror import RecordsMirror
from .base import Adapter, Link

WORK_COLLECTION: Final = "work_sessions"
WORK_FIELDS: Final = ("start", "end", "source", "scheduled", "site")


class WorkLog(Adapter):
    """Sessions of this site written as they start, end or move; the others' merged here."""

    def __init__(self, link: Link) -> None:
        """Nothing known to be held yet; read on the first connect."""
        super().__init__(link)
        # Pruned here (old): forgotten, the service keeps the record.
        self.mirror = RecordsMirror(WORK_COLLECTION, {}, whole=False, deletes=False)
        self._version = -1
        self._reread = True

    def load(self, stored: Mapping[str, Any]) -> None:
        """The sessions of this site as the service was known to hold them."""
        self.mirror.known = dict(stored.get("work") or {})

    def dump(self) -> dict[str, Any]:
        """What the service is known to hold."""
        return {"work": dict(self.mirror.known or {})}

    def start(self) -> None:
        """Follow the work log; queue what changed while sync was off."""
        work = self.link.entry.runtime_data.work
        self.link.entry.async_on_unload(work.async_add_listener(self._on_work))
        self._on_work()

    def forget(self) -> None:
        """A new service: this site's sessions are written again (it holds none of them)."""
        self.mirror.forget()
        self._version = -1
        self._reread = True
        self._on_work()

    @callback
    def _on_work(self) -> None:
        """Queue this site's sessions that started, ended or moved since last written."""
        runtime = self.link.entry.runtime_data
        tracker = runtime.work.tracker
        if tracker.version == self._version:
            return
        self._version = tracker.version
        own: dict[str, dict[str, Any]] = {}
        for session in tracker.sessions():
            if session.site is not None:
                continue  # another site's: its own site writes it
            stored = session.as_dict()
            own[session.id] = {key: stored.get(key) for key in WORK_FIELDS} | {"site": runtime.site}
        self.link.enqueue(*self.mirror.local(own))

    def take(self, change: Change) -> bool:
        """A session changed elsewhere: read the collection whole."""
        if change.collection != WORK_COLLECTION:
            return False
        self._reread = True
        return True

    async def reread(self) -> None:
        """Read the sessions whole when asked to."""
        if self._reread:
            self._reread = False
            self._merge(await self.link.client.records(WORK_COLLECTION))

    async def skipped(self, collections: set[Any]) -> None:
        """Read the sessions again: an edit made elsewhere won."""
        if WORK_COLLECTION in collections:
            self._reread = True

    @callback
    def _merge(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        """Take other sites' work sessions (an end that moved there moves here)."""
        runtime = self.link.entry.runtime_data
        changed = False
        now = dt_util.utcnow()
        for session_id, fields in records.items():
            site = fields.get("site")
            if site == runtime.site or site is None:
                continue  # this site's own (or none's: nothing to count)
            session, reason = inbound.work_session(session_id, fields, now=now)
            if session is None:
                self.link.refusals.refuse(WORK_COLLECTION, session_id, str(reason))
                continue
            changed = runtime.work.tracker.merge_synced(session) or changed
        if changed:
            runtime.work.async_changed()
