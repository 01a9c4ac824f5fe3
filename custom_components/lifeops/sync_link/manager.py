"""A site's link to its sync service: the write queue, the change feed, the status.

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
What is synced, and how each collection maps to the agents, is the adapters' (`adapters/`):
this module knows no collection by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
import logging
from pathlib import Path
import sqlite3
from typing import Any, Final

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..const import DOMAIN
from ..data import LifeOpsConfigEntry
from ..long_term.store import LongTermStore
from ..sync import (
    Change,
    ChangeFeed,
    SyncAuthError,
    SyncClient,
    SyncError,
    SyncRequestError,
    inbound,
)
from ..sync.queue import (
    DEFAULT_MAX_OPS,
    WARN_FILL,
    OpQueue,
    QueueFile,
    fingerprint,
    open_queue_file,
)
from ..timescale.buffer import Row
from ..timescale.errors import StoreError
from . import retry
from .adapters import make_adapters
from .adapters.long_term import LongTermRows
from .options import SYNC_SECRET, SYNC_URL
from .status import STATUS_AFTER_FEED, SyncStatusCoordinator

_LOGGER = logging.getLogger(__name__)

STORE_KEY: Final = "sync"
FEED_WAIT: Final = 25.0  # seconds a change-feed request waits for news
WRITE_BATCH: Final = 1000  # operations per write request
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


@dataclass(frozen=True, slots=True)
class PeerResult:
    """What `lifeops.sync_now` did with one peer."""

    peer: str
    error: str | None


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
        # The synced collections, each with what the service is known to hold of it.
        self.adapters = make_adapters(self)
        self.long_term = LongTermRows(self)
        for adapter in (*self.adapters, self.long_term):
            adapter.load(stored)
        # The service the cursor belongs to: another one (a new address) starts from scratch.
        self._node_id: str | None = stored.get("node_id")
        self.connected: bool | None = None  # None until the first attempt
        self.last_error: str | None = None
        self._dirty = asyncio.Event()
        self.connected_event = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._writes = 0  # bumped by each acknowledged write
        self._issue = False

    @property
    def writes(self) -> int:
        """How many writes the service acknowledged since start."""
        return self._writes

    @property
    def backfill_status(self) -> str | None:
        """The long-term backfill: waiting, running, done (None: no store)."""
        return self.long_term.status

    # -- lifecycle ----------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Follow local changes and start the write and feed loops (in the background)."""
        entry = self.entry
        entry.runtime_data.store.register(STORE_KEY, self.as_dict)
        await self._async_open_queue()
        entry.async_on_unload(self._clear_issue)
        # What changed here while sync was not running (a first sync compares instead).
        for adapter in self.adapters:
            adapter.start()
        entry.async_create_background_task(self.hass, self._write_loop(), "lifeops sync writes")
        entry.async_create_background_task(self.hass, self._feed_loop(), "lifeops sync feed")
        self.long_term.start()

    def as_dict(self) -> dict[str, Any]:
        """What is kept in the entry's store: the cursor, what the service holds (not the queue)."""
        stored: dict[str, Any] = {"node_id": self._node_id, "cursor": dict(self.cursor)}
        for adapter in (*self.adapters, self.long_term):
            stored.update(adapter.dump())
        return stored

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

    @callback
    def queue_long_term_rows(self, table: str, rows: list[Row]) -> None:
        """Hand rows this site wrote to its long-term store to the other sites."""
        self.long_term.queue_rows(table, rows)

    @callback
    def start_long_term_backfill(self, store: LongTermStore) -> None:
        """Fetch other sites' long-term rows for a store that just started (background)."""
        self.long_term.start_backfill(store)

    @callback
    def enqueue(self, *ops: dict[str, Any]) -> None:
        """Queue local changes; a set or delete says when it was made and what was seen.

        `at` (the service's clock as last learnt) and `seen` (the change-feed cursor) let the
        service tell a remote edit made after this one, which wins, from one this edit followed.
        Long-term rows are refused (and counted) when the queue is full.
        """
        if not ops:
            return
        for op in ops:
            if op["op"] in ("set", "delete"):
                seen = dict(self.cursor)
                self.queue.add({**op, "at": self.client.service_time_ms(), "seen": seen})
            else:
                self.queue.add(op)
        self._queued()

    @callback
    def save(self) -> None:
        """Keep the cursor and what the service holds in the entry's store (soon)."""
        self.entry.runtime_data.store.async_schedule_save()

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
                    for adapter in self.adapters:
                        adapter.acknowledged(op, self._writes)
                await self._take_skipped(answer.get("skipped"))

    async def _take_skipped(self, skipped: Any) -> None:
        """Edits the service left out (a remote edit made after them won): show its values."""
        if not isinstance(skipped, list) or not skipped:
            return
        collections = {item.get("collection") for item in skipped if isinstance(item, dict)}
        _LOGGER.debug("Sync kept later edits made elsewhere over %s", sorted(map(str, collections)))
        for adapter in self.adapters:
            await adapter.skipped(collections)

    async def _write_loop(self) -> None:
        failures = 0
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            writes = self._writes
            try:
                await self.async_flush()
            except Exception as err:
                if not isinstance(err, SyncError):
                    _LOGGER.exception("Writing to the sync service for %s failed", self.entry.title)
                    err = SyncError("internal error")
                failures += 1
                self._set_connected(False, err)
                self.connected_event.clear()
                # Wait for the feed loop to reach the service again, or the back-off.
                try:
                    async with asyncio.timeout(retry.backoff(failures)):
                        await self.connected_event.wait()
                except TimeoutError:
                    pass
                self._dirty.set()
            else:
                failures = 0
                if self._writes != writes:
                    # What the peers lack has changed.
                    await self.coordinator.async_refresh_unless_fresh()

    # -- remote changes -----------------------------------------------------------------------

    async def _feed_loop(self) -> None:
        failures = 0
        fresh = True
        while True:
            try:
                if fresh:
                    node_id = await self.client.connect()
                    if node_id != self._node_id:
                        self._node_id, self.cursor = node_id, {}
                        for adapter in self.adapters:
                            adapter.forget()
                    for adapter in self.adapters:
                        await adapter.reconcile()
                    self.save()
                    self._set_connected(True, None)
                    self.connected_event.set()
                    self._dirty.set()
                    await self.coordinator.async_refresh_unless_fresh()
                    fresh = False
                    failures = 0
                for adapter in self.adapters:
                    await adapter.reread()
                writes_before = self._writes
                feed = await self.client.changes(self.cursor, wait=FEED_WAIT)
                self._set_connected(True, None)
                self.connected_event.set()
                await self._take(feed, writes_before)
                failures = 0
                await self.coordinator.async_refresh_unless_fresh(STATUS_AFTER_FEED)
            except SyncError as err:
                failures += 1
                fresh = True
                self._set_connected(False, err)
                await asyncio.sleep(retry.backoff(failures))
            except StoreError as err:
                # The service is fine; the long-term store's writer could not keep the rows.
                failures += 1
                _LOGGER.warning(
                    "Synced long-term rows for %s wait (%s); the change feed is retried",
                    self.entry.title,
                    err,
                )
                await asyncio.sleep(retry.backoff(failures))
            except Exception:
                failures += 1
                fresh = True
                _LOGGER.exception("Sync for %s failed", self.entry.title)
                await asyncio.sleep(retry.backoff(failures))

    async def _take(self, feed: ChangeFeed, writes_before: int) -> None:
        """Apply a change-feed answer, then move the cursor past it."""
        # The cursor moves only once the writer holds the rows (StoreError: asked again).
        own = feed.origin or self.client.node_id
        await self.long_term.accept(feed.changes, own)
        for change in feed.changes:
            if change.origin == own:
                continue  # written from here: already applied
            if not inbound.readable_change(change.collection, change.key):
                self.refusals.refuse(change.collection, change.key, inbound.REASON_KEY)
                continue
            for adapter in self.adapters:
                if adapter.take(change):
                    break
        for adapter in self.adapters:
            adapter.taken(writes_before)
        if self._unaccounted(feed.cursor, feed.changes, own):
            # Superseded entries, or a delete whose tombstone the service collected before
            # this reader got to it (it waits for the reader, but not after 30 days away):
            # the feed cannot say which.
            for adapter in self.adapters:
                adapter.unaccounted()
        if feed.cursor != self.cursor:
            self.cursor = feed.cursor
            self.save()

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
            # The peer sensors go unavailable now rather than at the next status read.
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
        await self.coordinator.async_refresh_unless_fresh()
        return [PeerResult(peer, error) for peer, error in sorted(results.items())]
