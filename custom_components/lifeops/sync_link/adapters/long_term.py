"""With a long-term store, the rows this site writes there as items `longterm.<table>`.

The rows and their checks are `sync/long_term_rows.py`. Other sites' rows from the change feed
go to this site's writer, which keeps them on disk before the cursor moves past them, and are
never sent back. A store set up after the feed moved past other sites' rows (they are skipped
without one) gets them by a backfill in the background: the `longterm.*` sets read from the
service page by page, once per service node and database, its progress kept with the cursor so
a restart goes on. Screen time is synced only this way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.core import callback

from ...long_term.options import store_config, store_options
from ...long_term.store import LongTermStore
from ...sync import Change, SyncError
from ...sync.long_term_rows import backfill, backfill_done, received_rows, sync_ops
from ...timescale.buffer import Row
from ...timescale.errors import StoreError, StoreUnreachable
from .. import retry
from .base import Adapter, Link

_LOGGER = logging.getLogger(__name__)


class LongTermRows(Adapter):
    """Rows written here handed to the others; theirs handed to this site's writer."""

    def __init__(self, link: Link) -> None:
        """No backfill yet."""
        super().__init__(link)
        # For which service node and database, and how far per table.
        self._backfill: dict[str, Any] = {}
        self._task: asyncio.Task[None] | None = None
        self.status: str | None = None  # waiting, running, done (None: no store)

    def load(self, stored: Mapping[str, Any]) -> None:
        """How far a backfill went."""
        self._backfill = dict(stored.get("long_term_backfill") or {})

    def dump(self) -> dict[str, Any]:
        """How far the backfill went."""
        tables = dict(self._backfill.get("tables") or {})
        return {"long_term_backfill": {**self._backfill, "tables": tables}}

    def start(self) -> None:
        """Backfill a store that is running already."""
        store = self.link.entry.runtime_data.long_term_store
        if store is not None:
            self.start_backfill(store)

    @callback
    def queue_rows(self, table: str, rows: list[Row]) -> None:
        """Queue rows this site wrote (tables not carried by sync are left out).

        Refused (and counted) when the queue is full.
        """
        ops = sync_ops(table, rows)
        if ops:
            self.link.enqueue(*ops)

    async def accept(self, changes: list[Change], own: str | None) -> None:
        """Give other sites' rows to this site's writer before the cursor moves past them.

        Without a long-term store here they are not kept; raises `StoreError` when the store
        cannot take them yet (the feed answer is asked for again).
        """
        link = self.link
        received = received_rows(changes, own, link.refusals.refuse)
        if not received:
            return
        store = link.entry.runtime_data.long_term_store
        if store is not None:
            await store.async_accept_synced(received)
        elif store_config(store_options(link.entry.options)) is not None:
            # Set up but not started yet (entry set-up, an options change): ask again soon.
            raise StoreUnreachable("the long-term store is starting")

    @callback
    def start_backfill(self, store: LongTermStore) -> None:
        """Fetch other sites' rows for a store that just started, in the background.

        Once per sync service node and database (a new service or a new database fetches
        again); a backfill cut short (Home Assistant stopped, the service away) goes on from
        the last page the writer kept. Rows the feed brings meanwhile may come twice: the
        writer keeps each once.
        """
        if self._task is not None:
            self._task.cancel()
        self.status = "waiting"
        link = self.link
        self._task = link.entry.async_create_background_task(
            link.hass, self._run(store), "lifeops sync long-term backfill"
        )

    async def _run(self, store: LongTermStore) -> None:
        link = self.link
        target = "{host}:{port}/{database}".format(**store.values)
        failures = 0
        while link.entry.runtime_data.long_term_store is store:
            await link.connected_event.wait()
            node = link.client.node_id
            if self._backfill.get("node") != node or self._backfill.get("store") != target:
                self._backfill = {"node": node, "store": target, "tables": {}}
            tables: dict[str, str] = self._backfill.setdefault("tables", {})
            if backfill_done(tables):
                self.status = "done"
                return
            self.status = "running"
            try:
                handed = await backfill(link.client, tables, store.async_accept_synced, link.save)
            except (SyncError, StoreError) as err:
                failures += 1
                self.status = "waiting"
                _LOGGER.debug("Long-term backfill for %s waits: %s", link.entry.title, err)
                await asyncio.sleep(retry.backoff(failures))
                continue
            except Exception:
                failures += 1
                self.status = "waiting"
                _LOGGER.exception("Long-term backfill for %s failed", link.entry.title)
                await asyncio.sleep(retry.backoff(failures))
                continue
            self.status = "done"
            link.save()
            _LOGGER.info(
                "LifeOps fetched %d long-term rows of other sites for %s", handed, link.entry.title
            )
            return
