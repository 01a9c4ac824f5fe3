"""The writer's own loop against a real server: asleep while nothing waits, prompt once rows do.

These tests never call `flush()`: what they check is what the background loop does by itself
(started by `start()`), with a short flush interval. Database calls are counted at asyncpg's
connection methods, rounds by the status reports the loop makes after each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
import functools
from pathlib import Path
import time
from typing import Any

import asyncpg
import pytest

from custom_components.lifeops.timescale import rows, writer as writer_module
from custom_components.lifeops.timescale.migrate import StoreConfig, connect
from custom_components.lifeops.timescale.writer import Writer, WriterStatus

from .conftest import Server

SITE = "home"
# Yesterday, on the hour: within the retention (rows older than 90 days go in the hourly round).
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
INTERVAL = 0.1  # the flush interval in these tests (5 s in Home Assistant)


@pytest.fixture
def db_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every asyncpg call made from now on, by method name."""
    calls: list[str] = []

    def counting(name: str) -> None:
        method = getattr(asyncpg.connection.Connection, name)

        async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return await method(self, *args, **kwargs)

        monkeypatch.setattr(asyncpg.connection.Connection, name, counted)

    for name in (
        "execute",
        "executemany",
        "fetch",
        "fetchrow",
        "fetchval",
        "copy_records_to_table",
    ):
        counting(name)
    return calls


async def _query(config: StoreConfig, sql: str, *args: Any) -> Any:
    conn = await connect(config)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def _until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.05)


def _heart_rates(start: datetime, count: int, value: float = 60.0) -> list[Any]:
    step = timedelta(minutes=10)
    return [
        rows.health_metric(SITE, "heart_rate", start + i * step, value, "oura")
        for i in range(count)
    ]


async def test_an_idle_writer_does_not_wake_the_database(
    database: StoreConfig, tmp_path: Path, db_calls: list[str]
) -> None:
    statuses: list[WriterStatus] = []
    writer = Writer(
        database, tmp_path / "buffer.sqlite", flush_interval=INTERVAL, on_status=statuses.append
    )
    await writer.start()
    try:
        assert writer.connected
        await asyncio.sleep(10 * INTERVAL)  # start-up: the rollups refreshed once, the retention

        # Idle: thirty flush intervals without a database call or a round (it used to be a
        # round every interval, with a rollup refresh of three statements each).
        db_calls.clear()
        statuses.clear()
        await asyncio.sleep(30 * INTERVAL)
        assert db_calls == []
        assert statuses == []

        # Rows arrive: batched (two adds, one COPY), flushed by the loop a flush interval after
        # the first of them, and the hourly rollup refreshed with them (this server's edition
        # has no continuous aggregates: LifeOps keeps the rollups itself).
        writer.add("health_metric", _heart_rates(START, 3, 60.0))
        await asyncio.sleep(INTERVAL / 4)
        writer.add("health_metric", _heart_rates(START + timedelta(minutes=30), 3, 66.0))
        assert db_calls == []  # not yet: the flush waits for more rows

        async def rolled_up() -> bool:
            average = await _query(
                database,
                "SELECT total / n FROM lifeops.health_metric_hourly "
                "WHERE bucket = $1 AND metric = 'heart_rate'",
                START,
            )
            return average == 63.0

        await _until(rolled_up, 10, "the rows in the hourly rollup")
        assert db_calls.count("copy_records_to_table") == 1
        assert writer.status.written_rows == 6

        # And asleep again.
        await asyncio.sleep(5 * INTERVAL)
        db_calls.clear()
        statuses.clear()
        await asyncio.sleep(30 * INTERVAL)
        assert db_calls == []
        assert statuses == []
    finally:
        await writer.close()


async def test_a_full_batch_is_written_at_once_and_close_flushes_the_rest(
    database: StoreConfig, tmp_path: Path
) -> None:
    writer = Writer(database, tmp_path / "buffer.sqlite", batch_size=50, flush_interval=3600)
    await writer.start()
    try:
        writer.add("health_metric", _heart_rates(START, 50))

        async def written() -> bool:
            return writer.status.written_rows == 50

        await _until(written, 10, "the full batch written without waiting an hour")
        writer.add("health_metric", _heart_rates(START + timedelta(days=1), 7))
    finally:
        await writer.close()  # Home Assistant stops: what waits is written
    assert await _query(database, "SELECT count(*) FROM lifeops.health_metric") == 57


async def test_rows_queued_while_the_database_is_away_reach_it_through_the_loop(
    outage_server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writer_module, "RETRY_MIN", 0.2)  # the back-off, short for a test
    config = outage_server.config("postgres")
    writer = Writer(config, tmp_path / "buffer.sqlite", flush_interval=INTERVAL)
    await writer.start()
    try:
        assert writer.connected
        await asyncio.to_thread(outage_server.stop)
        writer.add("health_metric", _heart_rates(START, 20))

        async def kept() -> bool:  # found away by the flush, kept on disk
            return writer.status.buffered_rows == 20 and not writer.connected

        await _until(kept, 15, "the rows in the on-disk buffer")
        await asyncio.to_thread(outage_server.start)

        async def replayed() -> bool:  # the loop reconnects by itself and replays them
            return writer.connected and writer.status.buffered_rows == 0

        await _until(replayed, 30, "the rows replayed")
    finally:
        await writer.close()
    assert await _query(config, "SELECT count(*) FROM lifeops.health_metric") == 20


def _module(callback: Any) -> str:
    while isinstance(callback, functools.partial):
        callback = callback.func
    return str(getattr(callback, "__module__", "") or "")


async def test_an_idle_writer_leaves_no_asyncpg_timer(
    database: StoreConfig, tmp_path: Path
) -> None:
    # asyncpg's defaults set a timer per prepared statement (forgotten after 5 minutes) and per
    # idle pool connection (closed after 5 minutes): wake-ups of an idle Home Assistant. The
    # writer turns both off; its own loop waits for the hourly retention only.
    writer = Writer(database, tmp_path / "buffer.sqlite", flush_interval=INTERVAL)
    await writer.start()
    try:
        writer.add("health_metric", _heart_rates(START, 3))

        async def written() -> bool:
            return writer.status.written_rows == 3

        await _until(written, 10, "the rows written")
        await asyncio.sleep(5 * INTERVAL)
        async with writer.connection() as conn:  # the query connection (trends) too
            await conn.fetchval("SELECT count(*) FROM lifeops.health_metric")
        loop = asyncio.get_running_loop()
        waiting = [
            _module(handle._callback)
            for handle in loop._scheduled  # type: ignore[attr-defined]
            if not handle.cancelled()
        ]
        assert [module for module in waiting if module.startswith("asyncpg")] == []
    finally:
        await writer.close()
