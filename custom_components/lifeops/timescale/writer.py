"""The writer: rows in, batched binary COPY out, and not one row lost while the database is away.

`add()` only appends to memory (cheap, callable from the event loop). A background task flushes
`flush_interval` seconds after the first of them, or as soon as `batch_size` rows wait, and
sleeps while nothing waits (no timer: it is woken by the rows; an hourly retention round aside,
and a reconnect on its back-off schedule while the database is away): each batch goes in one
transaction as a binary COPY straight into its table; when the batch was (partly) written before
(a replay after a crash), the COPY's unique violation rolls it back and the batch goes through a
temporary staging table with `INSERT ... ON CONFLICT DO NOTHING` instead, so replays never
duplicate. While the database is unreachable, batches go to the on-disk buffer; once it answers
again they are replayed from there, oldest first, before anything newer. The rollups LifeOps keeps
itself (editions without continuous aggregates) are refreshed right after a round that wrote
health metrics, once after each connect (ranges a crash left pending), and with the retention.
`close()` flushes, or keeps what is left in the buffer for the next start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
import logging
from pathlib import Path
import ssl
import time
from typing import Any

import asyncpg

from .buffer import DEFAULT_MAX_ROWS, DiskBuffer, Row
from .errors import StoreError, StoreUnreachable
from .migrate import (
    CONNECTION_ERRORS,
    Conn,
    MigrationResult,
    StoreConfig,
    map_error,
    migrate,
    resolve_tls,
)
from .rollups import Retention, apply_policies, enforce_retention, refresh, stored_timezone
from .schema import HEALTH_METRIC, SCHEMA, TABLES, Edition

_LOGGER = logging.getLogger(__name__)

RETRY_MIN = 5.0
STARTUP_WAIT = 3.0  # seconds start() waits for the first connection before going on
RETRY_MAX = 300.0
RETENTION_INTERVAL = 3600.0
# Errors that mean "the database is away" (keep the rows, try later), not "these rows are bad".
_AWAY = (*CONNECTION_ERRORS, asyncpg.PostgresConnectionError, asyncpg.ConnectionDoesNotExistError)


@dataclass(frozen=True, slots=True)
class WriterStatus:
    """What the writer can tell about itself."""

    connected: bool
    edition: Edition | None
    buffered_rows: int
    buffer_fill: float
    dropped_rows: int
    rejected_rows: int
    written_rows: int
    last_error: str | None


async def _keep_session(conn: asyncpg.Connection[Any]) -> None:
    """A connection going back to the pool keeps its session as it is.

    asyncpg's default sends a reset query (RESET ALL, CLOSE ALL, UNLISTEN *, advisory unlocks)
    on every release: one more round trip for each batch. This pool is LifeOps' own and
    leaves nothing behind it: no SET or LISTEN, cursors only inside transactions, advisory locks
    released in `finally`, transactions closed by their context managers (asyncpg rolls back any
    left open anyway).
    """


class Writer:
    """Writes LifeOps' rows to the long-term store through an asyncpg pool."""

    def __init__(
        self,
        config: StoreConfig,
        buffer_path: Path,
        *,
        timezone: str = "UTC",
        retention: Retention | None = None,
        batch_size: int = 10_000,
        flush_interval: float = 5.0,
        max_buffer_rows: int = DEFAULT_MAX_ROWS,
        on_status: Callable[[WriterStatus], None] | None = None,
    ) -> None:
        """Prepare; nothing connects before start()."""
        self.config = config
        self.timezone = timezone
        self.retention = retention or Retention()
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self._buffer_path = buffer_path
        self._max_buffer_rows = max_buffer_rows
        self.on_status = on_status
        self._buffer: DiskBuffer | None = None
        self._pool: asyncpg.Pool | None = None
        # Queries (trends, export, purge) take turns on a connection of their own: cheaper than
        # the pool's acquire and release for a query that itself takes a fraction of a millisecond.
        self._query_conn: asyncpg.Connection[Any] | None = None
        self._tls: ssl.SSLContext | bool = False  # found at each connect (resolve_tls)
        self._query_lock = asyncio.Lock()
        self._pending: dict[str, list[Row]] = {}
        self._pending_rows = 0
        # Set whenever the loop has to look again at what is due: rows queued to an empty queue,
        # a full batch, accepted rows, a (re)connect, the database going away, rollups to refresh.
        self._wake = asyncio.Event()
        self._queued_at = 0.0  # when the first of the pending rows was queued (monotonic)
        self._flush_now = False  # a full batch or accepted rows: flush without waiting
        self._rollups_due = False  # rows went in whose rollup ranges are not refreshed yet
        self._round_at = 0.0  # when the loop's last round began (monotonic)
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()  # one connection attempt at a time
        self._connecting: asyncio.Task[bool] | None = None
        self._retry_at = 0.0
        self._retry_delay = RETRY_MIN
        self._retention_at = 0.0
        self._closing = False
        self.edition: Edition | None = None
        self.migration: MigrationResult | None = None
        self.schema_timezone: str | None = None  # the days of the daily rollups
        self.last_error: str | None = None
        self.written_rows = 0
        self.rejected_rows = 0

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self, *, background: bool = True, wait: float = STARTUP_WAIT) -> None:
        """Open the buffer and try the database; a database that is away is no error here.

        In the background, the first attempt gets `wait` seconds before start() returns and
        carries on by itself: a server whose network drops packets (a cabin's VPN down) does
        not hold up Home Assistant's start for a connect timeout. Rows meanwhile are kept.
        """
        self._buffer = await asyncio.to_thread(DiskBuffer, self._buffer_path, self._max_buffer_rows)
        if background:
            connecting = asyncio.create_task(self._connect(), name="lifeops-timescale-connect")
            connecting.add_done_callback(self._connected_in_background)
            self._connecting = connecting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(connecting), wait)
            # The first retention round a flush interval after start, as a round before did.
            self._round_at = time.monotonic()
            self._retention_at = self._round_at + self.flush_interval
            self._task = asyncio.create_task(self._run(), name="lifeops-timescale-writer")
        else:
            await self._connect()
        self._report()

    async def close(self) -> None:
        """Flush what waits (into the buffer if the database is away), then let go of everything."""
        self._closing = True
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(StoreError):
            await self.flush()
        await self._spill()
        query_conn, self._query_conn = self._query_conn, None
        if query_conn is not None:
            with contextlib.suppress(*_AWAY):
                await asyncio.wait_for(query_conn.close(), 10)
        if self._pool is not None:
            pool, self._pool = self._pool, None
            with contextlib.suppress(*_AWAY):
                await asyncio.wait_for(pool.close(), 10)
        if self._buffer is not None:
            buffer, self._buffer = self._buffer, None
            await asyncio.to_thread(buffer.close)

    # -- input --------------------------------------------------------------------------------

    def add(self, table: str, rows: Sequence[Row]) -> None:
        """Queue rows of a table (tuples in the table's column order). Never blocks."""
        if table not in TABLES:
            raise KeyError(table)
        if not rows:
            return
        if not self._pending_rows:
            self._queued_at = time.monotonic()
            self._wake.set()  # the loop, asleep while nothing waits, times the flush from now
        self._pending.setdefault(table, []).extend(rows)
        self._pending_rows += len(rows)
        if self._pending_rows >= self.batch_size:
            self._flush_now = True
            self._wake.set()

    async def accept(self, batches: Mapping[str, Sequence[Row]]) -> None:
        """Take rows for good: into the on-disk buffer, written by the next flush.

        For rows another site made (through sync): once this returns they survive a restart
        and a database that is away, so the caller may move past them. Raises `StoreError`,
        keeping none of them, when the writer is not started or the buffer has no room.
        """
        for table in batches:
            if table not in TABLES:
                raise KeyError(table)
        total = sum(len(rows) for rows in batches.values())
        async with self._lock:
            buffer = self._buffer
            if buffer is None:
                raise StoreUnreachable("the writer is not started")
            if buffer.max_rows - buffer.rows < total:
                raise StoreError("the buffer has no room for the rows")
            for table, rows in batches.items():
                await self._keep(table, list(rows))
        self._flush_now = True
        self._wake.set()
        self._report()

    # -- status -------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the database answered last time."""
        return self._pool is not None and self.last_error is None

    @property
    def status(self) -> WriterStatus:
        """A snapshot of the writer's state."""
        buffer = self._buffer
        return WriterStatus(
            connected=self.connected,
            edition=self.edition,
            buffered_rows=buffer.rows if buffer else 0,
            buffer_fill=buffer.fill if buffer else 0.0,
            dropped_rows=buffer.dropped if buffer else 0,
            rejected_rows=self.rejected_rows,
            written_rows=self.written_rows,
            last_error=self.last_error,
        )

    def _connected_in_background(self, task: asyncio.Task[bool]) -> None:
        if not self._closing and not task.cancelled():
            self._report()

    def _report(self) -> None:
        if self.on_status is not None:
            self.on_status(self.status)

    # -- work ---------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write everything that waits now: the buffer's backlog first, then the new rows."""
        async with self._lock:
            await self._flush_locked()
        self._report()

    async def _flush_locked(self) -> None:
        if self._pool is None and not await self._connect():
            await self._spill()
            return
        if self._buffer is not None and self._buffer.rows:
            await self._spill()  # keep order: new rows queue behind the backlog
            await self._replay()
            return
        pending, self._pending, self._pending_rows = self._pending, {}, 0
        items = list(pending.items())
        for index, (table, rows) in enumerate(items):
            for start in range(0, len(rows), self.batch_size):
                end = start + self.batch_size
                try:
                    written = await self._write_or_keep(table, rows[start:end])
                except asyncio.CancelledError:
                    # close() stopped the loop mid-write: this batch (rolled back, or committed
                    # and then a replay the database tells apart) and the rest wait again.
                    self._requeue([(table, rows[start:]), *items[index + 1 :]])
                    raise
                if not written:
                    # Away: that batch is in the buffer now; queue everything else behind it.
                    self._requeue([(table, rows[end:]), *items[index + 1 :]])
                    await self._spill()
                    return

    def _requeue(self, items: list[tuple[str, list[Row]]]) -> None:
        """Queue rows again, ahead of whatever was queued since they were taken."""
        queued, self._pending = self._pending, {}
        for table, rows in [*items, *queued.items()]:
            if rows:
                self._pending.setdefault(table, []).extend(rows)
        self._pending_rows = sum(len(rows) for rows in self._pending.values())

    async def _write_or_keep(self, table: str, rows: list[Row]) -> bool:
        try:
            await self._write(table, rows)
        except _AWAY as err:
            self._went_away(err)
            await self._keep(table, rows)
            return False
        except asyncpg.PostgresError as err:
            self._reject(table, rows, err)
        return True

    async def _replay(self) -> None:
        buffer = self._buffer
        assert buffer is not None
        while buffer.rows:
            batches = await asyncio.to_thread(buffer.peek)
            for batch in batches:
                try:
                    await self._write(batch.table, batch.rows)
                except _AWAY as err:
                    self._went_away(err)
                    return
                except asyncpg.PostgresError as err:
                    self._reject(batch.table, batch.rows, err)
                await asyncio.to_thread(buffer.remove, batch.seq)

    async def _write(self, table_name: str, rows: list[Row]) -> None:
        """One batch in one transaction: straight COPY, or via staging when it was seen before."""
        assert self._pool is not None
        table = TABLES[table_name]
        columns = table.column_names
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                async with conn.transaction():
                    await conn.copy_records_to_table(
                        table.name, schema_name=SCHEMA, records=rows, columns=columns
                    )
            except asyncpg.UniqueViolationError:
                staging = f"lifeops_staging_{table.name}"
                await conn.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
                    f"(LIKE {table.qualified}) ON COMMIT DELETE ROWS"
                )
                await conn.copy_records_to_table(staging, records=rows, columns=columns)
                await conn.execute(
                    f"INSERT INTO {table.qualified} SELECT * FROM {staging} ON CONFLICT DO NOTHING"
                )
                await conn.execute(f"TRUNCATE {staging}")
            if (
                table is HEALTH_METRIC
                and self.edition is not None
                and not self.edition.has_continuous_aggregates
            ):
                times = [row[0] for row in rows]
                await conn.execute(
                    f"INSERT INTO {SCHEMA}.rollup_pending VALUES ($1, $2)", min(times), max(times)
                )
                self._rollups_due = True
        self.written_rows += len(rows)
        if self._rollups_due:
            self._wake.set()  # written outside the loop (flush(), close()): it refreshes soon

    async def _keep(self, table: str, rows: list[Row]) -> None:
        if self._buffer is not None and rows:
            kept = await asyncio.to_thread(self._buffer.append, table, rows)
            if kept < len(rows):
                _LOGGER.warning("Buffer full: %d rows of %s dropped", len(rows) - kept, table)

    async def _spill(self) -> None:
        pending, self._pending, self._pending_rows = self._pending, {}, 0
        items = list(pending.items())
        for index, (table, rows) in enumerate(items):
            try:
                await self._keep(table, rows)
            except asyncio.CancelledError:
                self._requeue(items[index:])  # close() spills them (a twice-kept row is one)
                raise

    def _reject(self, table: str, rows: list[Row], err: Exception) -> None:
        self.rejected_rows += len(rows)
        _LOGGER.error("%d rows of %s rejected by the database: %s", len(rows), table, err)

    def _went_away(self, err: BaseException) -> None:
        self.last_error = type(map_error(err)).__name__
        _LOGGER.warning("Long-term store unreachable (%s); buffering", self.last_error)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()
        self._drop_query_conn()
        self._retry_at = time.monotonic() + self._retry_delay
        self._retry_delay = min(RETRY_MAX, self._retry_delay * 2)
        self._wake.set()  # the loop, maybe asleep, reconnects on the back-off schedule

    async def _connect(self) -> bool:
        """Open the pool and apply migrations; False (and a retry later) if that fails."""
        if self._pool is not None:
            return True
        if self._connect_lock.locked():
            return False  # an attempt is under way: meanwhile the database counts as away
        async with self._connect_lock:
            return await self._connect_once()

    async def _connect_once(self) -> bool:
        if time.monotonic() < self._retry_at and not self._closing:
            return False
        pool: asyncpg.Pool | None = None
        try:
            self._tls = await resolve_tls(self.config)
            # Idle connections stay open (no timer closes them after five minutes of rest): a
            # database that restarted meanwhile fails the next call, and the writer reconnects.
            pool = await asyncpg.create_pool(
                min_size=1,
                max_size=2,
                max_inactive_connection_lifetime=0,
                reset=_keep_session,
                **self.config.connect_kwargs(self._tls),
            )
            async with pool.acquire() as conn:
                self.migration = await migrate(
                    conn,
                    timezone=self.timezone,
                    allow_postgresql=self.config.allow_postgresql,
                )
                self.edition = self.migration.edition
                self.schema_timezone = await stored_timezone(conn)
                await apply_policies(conn, self.edition, self.retention)
        except (*_AWAY, asyncpg.PostgresError, StoreError) as err:
            if pool is not None:
                pool.terminate()
            self.last_error = type(map_error(err)).__name__
            self._retry_at = time.monotonic() + self._retry_delay
            self._retry_delay = min(RETRY_MAX, self._retry_delay * 2)
            return False
        self._pool = pool
        self.last_error = None
        self._retry_delay = RETRY_MIN
        # Ranges left pending (a crash between a write and its refresh; another writer's), and
        # a backlog in the buffer to replay: the loop sees to both now.
        self._rollups_due = True
        self._wake.set()
        _LOGGER.info("Long-term store connected (%s)", self.edition)
        return True

    async def maintain(self, now: datetime | None = None) -> dict[str, int]:
        """Bring LifeOps' rollups up to date and apply retention (no-ops the server does itself)."""
        if self._pool is None or self.edition is None:
            return {}
        now = now or datetime.now(UTC)
        try:
            async with self._pool.acquire() as conn:
                await refresh(conn, self.edition, timezone=self.schema_timezone)
                return await enforce_retention(
                    conn, self.edition, self.retention, now, timezone=self.schema_timezone
                )
        except _AWAY as err:
            self._went_away(err)
            return {}

    async def refresh_rollups(self) -> None:
        """Bring LifeOps' rollups up to date with what was written."""
        if self._pool is None or self.edition is None:
            return
        self._rollups_due = False  # a write while this runs sets it again
        try:
            async with self._pool.acquire() as conn:
                await refresh(conn, self.edition, timezone=self.schema_timezone)
        except _AWAY as err:
            self._went_away(err)  # the reconnect brings the refresh round again
        except BaseException:
            self._rollups_due = True
            raise

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """The connection for queries, one caller at a time; StoreUnreachable while away."""
        if self._pool is None and not await self._connect():
            raise StoreUnreachable(self.last_error or "")
        async with self._query_lock:
            try:
                conn = self._query_conn
                if conn is None or conn.is_closed():
                    fresh: asyncpg.Connection[Any] = await asyncpg.connect(
                        **self.config.connect_kwargs(self._tls)
                    )
                    conn = self._query_conn = fresh
                yield conn
            except _AWAY as err:
                self._went_away(err)
                raise map_error(err) from err

    def _drop_query_conn(self) -> None:
        conn, self._query_conn = self._query_conn, None
        if conn is not None:
            conn.terminate()

    def _next_round(self) -> float:
        """When the loop's next round is due (monotonic).

        Connected: the pending rows' flush (`flush_interval` after the first of them, at once
        for a full batch or accepted rows), the refresh of rollups a write outside the loop left
        due, a backlog in the buffer; else the hourly retention, the one timer while nothing
        waits. Away: the pending rows' spill to the buffer, and a reconnect (every
        `flush_interval`, not before the back-off allows).
        """
        if self._flush_now:
            return 0.0
        due: list[float] = []
        if self._pending_rows:
            due.append(self._queued_at + self.flush_interval)
        if self._pool is None:
            due.append(max(self._retry_at, self._round_at + self.flush_interval))
            return min(due)
        if self._rollups_due:
            due.append(0.0)
        if self._buffer is not None and self._buffer.rows:
            due.append(self._round_at + self.flush_interval)
        due.append(self._retention_at)
        return min(due)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            due = self._next_round()
            # The event loop may run a timer a little early (its clock resolution).
            if due > time.monotonic() + 0.01:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), due - time.monotonic())
                continue
            self._round_at = time.monotonic()
            self._flush_now = False
            try:
                await self.flush()
                if self._rollups_due:
                    await self.refresh_rollups()
                if time.monotonic() >= self._retention_at and self._pool is not None:
                    self._retention_at = time.monotonic() + RETENTION_INTERVAL
                    await self.maintain()
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("Long-term store writer failed; retrying")
                await asyncio.sleep(self.flush_interval)  # not again at once
            self._report()
