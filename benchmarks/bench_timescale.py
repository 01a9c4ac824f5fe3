"""LifeOps' long-term store against a real TimescaleDB: ingest rate and trend-query time.

Starts its own server with scripts/timescaledb.py (Debian's Apache-2 edition; needs root the
first time to install it) with PostgreSQL's durable defaults (fsync, synchronous commits), in a
throw-away data folder, and stops it afterwards.

Ingest (1,000,000 health-metric rows, 5 metrics x 200,000 per-minute readings):
  * LifeOps' writer (`Writer.add` + `flush`: batched binary COPY, rollup bookkeeping included);
  * row-by-row INSERTs, one statement per row as a state-recording component does (on a sample);
  * a raw binary COPY of the same rows, in one call and in 50,000-row calls; the faster of the
    two is the baseline (the physical limit here).
Trend (2 years of per-5-minute heart rate and 2 other metrics): a 90-day daily average from the
rollups (`queries.query_trend`) against the same figures computed from the raw table.

    .venv/bin/python benchmarks/bench_timescale.py [--rows 1000000] [--sample 20000]
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
import statistics
import sys
import tempfile
import time

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import timescaledb  # noqa: E402

from custom_components.lifeops.timescale import rows as make  # noqa: E402
from custom_components.lifeops.timescale.migrate import StoreConfig, connect, migrate  # noqa: E402
from custom_components.lifeops.timescale.queries import query_trend  # noqa: E402
from custom_components.lifeops.timescale.rollups import refresh  # noqa: E402
from custom_components.lifeops.timescale.schema import HEALTH_METRIC  # noqa: E402
from custom_components.lifeops.timescale.writer import Writer  # noqa: E402

PASSWORD = "bench"
NAME = "bench"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
METRICS = ("heart_rate", "hrv", "steps", "respiratory_rate", "skin_temperature")


def health_rows(count: int, step: timedelta, metrics: tuple[str, ...]) -> list[tuple]:
    """Deterministic rows, `count` in all, spread evenly over the metrics, ending at NOW."""
    per_metric = count // len(metrics)
    start = NOW - per_metric * step
    return [
        make.health_metric("home", metric, start + i * step, 50.0 + (i * 7919 % 50), "oura")
        for metric in metrics
        for i in range(per_metric)
    ]


async def fresh_database(port: int, name: str) -> StoreConfig:
    """An empty database with LifeOps' schema."""
    admin = StoreConfig("127.0.0.1", port, "postgres", "postgres", PASSWORD)
    conn = await connect(admin)
    await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await conn.execute(f"CREATE DATABASE {name}")
    await conn.close()
    config = StoreConfig("127.0.0.1", port, name, "postgres", PASSWORD)
    conn = await connect(config)
    await migrate(conn)
    await conn.close()
    return config


async def ingest_writer(config: StoreConfig, data: list[tuple], buffer: Path) -> float:
    """Seconds LifeOps' writer takes to land the rows."""
    writer = Writer(config, buffer, batch_size=50_000)
    await writer.start(background=False)
    started = time.perf_counter()
    for offset in range(0, len(data), 10_000):  # rows arrive in pieces, as they would
        writer.add("health_metric", data[offset : offset + 10_000])
    await writer.flush()
    elapsed = time.perf_counter() - started
    assert writer.status.buffered_rows == 0
    assert writer.written_rows == len(data)
    await writer.close()
    return elapsed


async def ingest_copy(config: StoreConfig, data: list[tuple], batch: int) -> float:
    """Seconds raw binary COPY of the rows takes, `batch` rows per COPY call."""
    conn = await connect(config)
    started = time.perf_counter()
    for offset in range(0, len(data), batch):
        await conn.copy_records_to_table(
            "health_metric",
            schema_name="lifeops",
            records=data[offset : offset + batch],
            columns=HEALTH_METRIC.column_names,
        )
    elapsed = time.perf_counter() - started
    await conn.close()
    return elapsed


async def ingest_rows(config: StoreConfig, data: list[tuple]) -> float:
    """Seconds one INSERT per row (each its own transaction) takes."""
    conn = await connect(config)
    sql = (
        "INSERT INTO lifeops.health_metric (time, site, id, metric, value, source) "
        "VALUES ($1, $2, $3, $4, $5, $6)"
    )
    started = time.perf_counter()
    for row in data:
        await conn.execute(sql, *row)
    elapsed = time.perf_counter() - started
    await conn.close()
    return elapsed


async def count(config: StoreConfig) -> int:
    """Rows in the health table."""
    conn = await connect(config)
    value = int(await conn.fetchval("SELECT count(*) FROM lifeops.health_metric"))
    await conn.close()
    return value


async def timed(repeats: int, call: object) -> list[float]:
    """Milliseconds of each call of an async function."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        await call()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return times


async def bench_ingest(port: int, total: int, sample: int, tmp: Path) -> bool:
    """Writer against row-by-row INSERTs and raw COPY; True when the targets are met."""
    print(f"Ingest: {total:,} health-metric rows ({len(METRICS)} metrics, one per minute each)")
    data = health_rows(total, timedelta(minutes=1), METRICS)
    copy_one_db = await fresh_database(port, "bench_copy_one")
    copy_one_s = await ingest_copy(copy_one_db, data, len(data))
    copy_db = await fresh_database(port, "bench_copy")
    copy_batched_s = await ingest_copy(copy_db, data, 50_000)
    writer_db = await fresh_database(port, "bench_writer")
    writer_s = await ingest_writer(writer_db, data, tmp / "buffer.sqlite")
    rows_db = await fresh_database(port, "bench_rows")
    rows_s = await ingest_rows(rows_db, data[:sample])
    for db in (copy_one_db, copy_db, writer_db):
        assert await count(db) == len(data)
    assert await count(rows_db) == sample
    copy_s = min(copy_one_s, copy_batched_s)  # the faster raw COPY is the baseline
    copy_rate, writer_rate, row_rate = len(data) / copy_s, len(data) / writer_s, sample / rows_s
    for label, seconds in (
        ("raw COPY, one call", copy_one_s),
        ("raw COPY, 50,000-row calls", copy_batched_s),
    ):
        print(f"  {label:<28} {seconds:7.2f} s  {len(data) / seconds:>10,.0f} rows/s")
    print(f"  {'LifeOps writer':<28} {writer_s:7.2f} s  {writer_rate:>10,.0f} rows/s")
    print(f"  row-by-row INSERT ({sample:,})  {rows_s:7.2f} s  {row_rate:>10,.0f} rows/s")
    vs_rows, vs_copy = writer_rate / row_rate, writer_rate / copy_rate
    ok = vs_rows >= 20 and vs_copy >= 0.7
    print(f"  writer / row-by-row: {vs_rows:6.1f}x  (target >= 20x)")
    print(f"  writer / faster raw COPY: {vs_copy:6.2f}x  (target >= 0.7x)")
    return ok


def summary(times: list[float]) -> str:
    """Best, tenth percentile and median of some milliseconds."""
    p10 = statistics.quantiles(times, n=10)[0]
    return f"best {min(times):7.3f}  p10 {p10:7.3f}  median {statistics.median(times):7.3f} ms"


async def bench_trend(port: int, tmp: Path, rounds: int) -> bool:
    """Trend from the rollups against the raw table; True when the targets are met."""
    metrics = METRICS[:3]
    per_metric = 2 * 365 * 288
    print(
        f"\nTrend: 2 years of per-5-minute data, {len(metrics)} metrics, {per_metric:,} rows each"
    )
    config = await fresh_database(port, "bench_trend")
    writer = Writer(config, tmp / "trend.sqlite", batch_size=50_000)
    await writer.start(background=False)
    writer.add(
        "health_metric", health_rows(per_metric * len(metrics), timedelta(minutes=5), metrics)
    )
    await writer.flush()
    conn = await connect(config)
    started = time.perf_counter()
    await refresh(conn, writer.edition)  # type: ignore[arg-type]
    print(
        f"  rollup refresh of all {per_metric * len(metrics):,} rows: "
        f"{time.perf_counter() - started:.2f} s (once; later only the new hours)"
    )
    await conn.execute("ANALYZE")
    start = NOW - timedelta(days=90)
    timezone = writer.schema_timezone  # resolved once when the writer connected

    async def real_path() -> list[object]:
        # What lifeops.query_trend does: a connection from the writer's pool, one query.
        async with writer.connection() as pooled:
            return await query_trend(
                pooled, "heart_rate", start, NOW, bucket="day", timezone=timezone
            )

    async def from_rollups() -> list[object]:
        return await query_trend(conn, "heart_rate", start, NOW, bucket="day", timezone=timezone)

    # The statement query_trend sends, alone (no Python around it).
    rollup_sql = (
        "SELECT bucket AS b, sum(total) / nullif(sum(n), 0) AS v, sum(n)::bigint AS n "
        "FROM lifeops.health_metric_daily WHERE metric = $6 AND bucket >= "
        "(date_trunc($1, $2::timestamptz AT TIME ZONE $3) AT TIME ZONE $3) AND bucket < $4 "
        "AND ($5::text IS NULL OR site = $5) GROUP BY 1 ORDER BY 1"
    )

    async def statement() -> list[asyncpg.Record]:
        return await conn.fetch(rollup_sql, "day", start, timezone, NOW, None, "heart_rate")

    # The honest baseline: the same question answered from every raw row of the 90 days, on a
    # bare connection (no pool), the (metric, time) index limiting the scan to those days.
    async def from_raw() -> list[asyncpg.Record]:
        return await conn.fetch(
            "SELECT date_trunc('day', time AT TIME ZONE $4) AT TIME ZONE $4 AS day, avg(value), "
            "count(*) FROM lifeops.health_metric WHERE metric = $1 AND time >= $2 "
            "AND time < $3 GROUP BY 1 ORDER BY 1",
            "heart_rate",
            start,
            NOW,
            timezone,
        )

    async def round_trip() -> object:
        return await conn.fetchval("SELECT 1")

    rollup_points, raw_points = await real_path(), await from_raw()
    assert len(rollup_points) == len(raw_points) == 90
    assert all(
        a.start == b[0] and abs(a.value - float(b[1])) < 1e-9 and a.count == b[2]  # type: ignore[attr-defined]
        for a, b in zip(rollup_points, raw_points, strict=True)
    )
    assert await from_rollups() == rollup_points

    times: dict[str, list[float]] = {
        "path": [],
        "query": [],
        "statement": [],
        "raw": [],
        "floor": [],
    }
    for _ in range(rounds):  # alternate so a busy machine slows each alike
        times["path"] += await timed(10, real_path)
        times["raw"] += await timed(2, from_raw)
        times["query"] += await timed(10, from_rollups)
        times["statement"] += await timed(10, statement)
        times["floor"] += await timed(10, round_trip)
    await conn.close()
    await writer.close()
    path, raw = times["path"], times["raw"]
    print(f"  90-day daily trend, lifeops.query_trend's path:  {summary(path)}")
    print(f"  the same from the raw table (a scan):            {summary(raw)}")
    print("  where the trend's time goes:")
    print(f"    query_trend on a held connection (no pool):   {summary(times['query'])}")
    print(f"    its one SQL statement alone (no Python):       {summary(times['statement'])}")
    print(f"    a bare SELECT 1 round trip:                    {summary(times['floor'])}")
    best = min(raw) / min(path)
    median = statistics.median(raw) / statistics.median(path)
    print(f"  raw / trend: {best:6.1f}x (bests), {median:6.1f}x (medians)")
    print("  targets: trend under 20 ms and >= 50x the scan, on the bests and on the medians")
    return statistics.median(path) < 20 and best >= 50 and median >= 50


async def main_async(args: argparse.Namespace) -> int:
    """Run both on a server of its own."""
    port = args.port
    # Durable, as a real installation runs (the tests' server skips fsync for speed).
    await asyncio.to_thread(timescaledb.start, NAME, port, PASSWORD, False, True, True)
    try:
        with tempfile.TemporaryDirectory() as folder:
            ok_ingest = (
                await bench_ingest(port, args.rows, args.sample, Path(folder))
                if not args.trend_only
                else True
            )
            ok_trend = await bench_trend(port, Path(folder), args.rounds)
    finally:
        await asyncio.to_thread(timescaledb.remove, NAME)
    ok = ok_ingest and ok_trend
    print("\nPASS" if ok else "\nFAIL")
    return 0 if ok else 1


def main() -> int:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="rows for row-by-row INSERTs")
    parser.add_argument("--port", type=int, default=55439)
    parser.add_argument("--rounds", type=int, default=20, help="alternating rounds of the trend")
    parser.add_argument("--trend-only", action="store_true", help="skip the ingest part")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
