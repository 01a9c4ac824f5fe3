"""LifeOps' long-term store over five years: bytes on disk per year and per table.

Starts its own real TimescaleDB with scripts/timescaledb.py (Debian's Apache-2 edition, no
compression: LifeOps keeps its own rollups and applies retention itself there), in a throw-away
data folder, and stops and deletes it afterwards. Five years of one person's data go in day by day
through LifeOps' writer (`Writer.add` + `flush`: binary COPY, rollup bookkeeping), with
`Writer.maintain` (LifeOps' rollup refresh and retention, which the integration runs hourly) after
every week, at that week's end as "now". LifeOps' default retention is used: raw health metrics
and device states 90 days, hourly and daily rollups 2 years (730 days), XP, sleep, work, screen
time and activity events forever. (The issue's seed says device states 30 days; LifeOps keeps
them as long as raw health data, so this measures the larger figure.)

Rates (no rates are written down in the repository; chosen from Oura's API and common Home
Assistant set-ups, on the generous side):
  health metrics, 12 metrics, about 1,827 rows a day:
    Oura heart rate every 5 minutes (288/day, Oura's own granularity);
    a phone's step count every minute over 16 waking hours (960/day);
    6 further sensors (HRV, SpO2, respiratory rate, skin temperature, stress, active calories)
    every 15 minutes (576/day);
    Oura's sleep, readiness and activity scores once a day (site `oura:<user>`);
  device states: 40 entities, 4,000 state changes a day (each entity every 14.4 minutes;
    half numeric such as temperatures and power, half on/off);
  screen time: 80 spans a day; work sessions: 4 on weekdays; XP events: 30 a day;
  activity events: wind-down started/ended and bedtime daily, a workout 3 times a week (with
    Oura's details JSON); sleep: one night a day.

At each year's end it runs a plain VACUUM ANALYZE (what autovacuum does in the hours a real
installation has between these steps; it never shrinks files) and prints, per table, rows and
bytes: heap, indexes, TOAST, total (`hypertable_detailed_size` for hypertables, which sums their
chunks; `pg_table_size` / `pg_indexes_size` otherwise), the database's size
(`pg_database_size`, catalogs included) and its empty-schema size. The last line compares the
five-year database size with the seed's estimate of 1.5 GB (which assumed TimescaleDB's
compression).

    .venv/bin/python benchmarks/bench_storage.py [--years 5] [--port 55461]
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
import sys
import tempfile
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import timescaledb  # noqa: E402

from custom_components.lifeops.timescale import rows as make  # noqa: E402
from custom_components.lifeops.timescale.migrate import StoreConfig, connect  # noqa: E402
from custom_components.lifeops.timescale.rollups import Retention  # noqa: E402
from custom_components.lifeops.timescale.schema import (  # noqa: E402
    ROLLUP_DAILY,
    ROLLUP_HOURLY,
    TABLES,
)
from custom_components.lifeops.timescale.writer import Writer  # noqa: E402

PASSWORD = "bench"
START = datetime(2021, 6, 1, tzinfo=UTC)
SITE = "home"
OURA_SITE = "oura:2f6c1a9e"
SEED_BYTES = 1.5e9

MINUTE = timedelta(minutes=1)
QUARTER_SENSORS = (
    "sensor.watch_hrv",
    "sensor.watch_spo2",
    "sensor.watch_respiratory_rate",
    "sensor.oura_ring_skin_temperature",
    "sensor.watch_stress",
    "sensor.phone_active_calories",
)
DEVICE_ENTITIES = tuple(
    f"sensor.room_{i}_temperature"
    if i % 4 == 0
    else f"sensor.plug_{i}_power"
    if i % 4 == 1
    else f"light.room_{i}"
    if i % 4 == 2
    else f"binary_sensor.motion_{i}"
    for i in range(40)
)
SCREEN_CATEGORIES = ("social", "productivity", "entertainment", "communication", "other")
XP_KINDS = (
    ("sleep", "bedtime_kept", 20),
    ("fitness", "workout", 30),
    ("work", "focus_block", 10),
    ("habits", "habit_done", 5),
    ("screen", "under_limit", 15),
)


def day_rows(day: int) -> dict[str, list[tuple[Any, ...]]]:
    """One day's rows of every table (deterministic)."""
    base = START + timedelta(days=day)
    out: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
    health = out["health_metric"]
    for i in range(288):
        value = 55.0 + (day * 31 + i * 7) % 40
        health.append(
            make.health_metric(
                SITE, "sensor.oura_ring_heart_rate", base + i * 5 * MINUTE, value, "oura"
            )
        )
    for i in range(960):
        at = base + timedelta(hours=7) + i * MINUTE
        health.append(
            make.health_metric(SITE, "sensor.phone_steps", at, float((day + i) * 13 % 120), "phone")
        )
    for metric in QUARTER_SENSORS:
        for i in range(96):
            value = 20.0 + (day * 17 + i * 3 + len(metric)) % 60 + 0.25
            health.append(make.health_metric(SITE, metric, base + i * 15 * MINUTE, value, "watch"))
    for k, metric in enumerate(("oura_sleep_score", "oura_readiness_score", "oura_activity_score")):
        health.append(
            make.health_metric(OURA_SITE, metric, base, float(60 + (day + k * 11) % 40), "oura")
        )
    devices = out["device_state"]
    step = timedelta(minutes=14.4)
    for k, entity in enumerate(DEVICE_ENTITIES):
        numeric = entity.startswith("sensor.")
        for i in range(100):
            at = base + i * step + timedelta(seconds=k * 7)
            if numeric:
                value = round(18.0 + (day + i * 3 + k) % 90 / 10, 1)
                devices.append(make.device_state(SITE, entity, at, str(value), value))
            else:
                devices.append(make.device_state(SITE, entity, at, "on" if i % 2 else "off"))
    for i in range(80):
        at = base + timedelta(hours=7, minutes=i * 12)
        out["screen_time"].append(
            make.screen_time(
                SITE,
                at,
                at + timedelta(minutes=2 + i % 9),
                source="phone",
                category=SCREEN_CATEGORIES[i % 5],
            )
        )
    if base.weekday() < 5:
        for i in range(4):
            at = base + timedelta(hours=8 + 2 * i)
            out["work_session"].append(
                make.work_session(
                    SITE, at, at + timedelta(minutes=95), source="calendar", id=f"w{day}-{i}"
                )
            )
    for i in range(30):
        agent, kind, amount = XP_KINDS[i % 5]
        out["xp_event"].append(
            make.xp_event(
                SITE,
                base + timedelta(hours=6, minutes=i * 30),
                f"xp-{day}-{i}",
                agent=agent,
                event_type=kind,
                amount=amount,
                description=f"{kind.replace('_', ' ')} ({agent})",
            )
        )
    activity = out["activity_event"]
    activity.append(make.activity_event(SITE, base + timedelta(hours=21), "wind_down_started", 45))
    activity.append(
        make.activity_event(SITE, base + timedelta(hours=21, minutes=45), "wind_down_ended")
    )
    activity.append(make.activity_event(SITE, base + timedelta(hours=22, minutes=30), "bedtime"))
    if day % 7 in (1, 3, 5):
        at = base + timedelta(hours=17)
        activity.append(
            make.workout(
                OURA_SITE,
                at,
                at + timedelta(minutes=50),
                f"wo-{day}",
                source="oura",
                activity="running",
                intensity="moderate",
                calories=412.5,
                distance_m=8150.0,
                detected_by="user",
            )
        )
    night = base - timedelta(hours=1, minutes=20)
    out["sleep_session"].append(
        make.sleep_session(
            OURA_SITE,
            night,
            night + timedelta(hours=8, minutes=5),
            score=float(70 + day % 25),
            source="oura",
            id=f"sleep-{day}",
            duration_s=7.2 * 3600,
        )
    )
    return out


def relations() -> list[str]:
    """Every LifeOps relation, raw tables first."""
    return [t.qualified for t in TABLES.values()] + [
        ROLLUP_HOURLY,
        ROLLUP_DAILY,
        "lifeops.rollup_pending",
        "lifeops.settings",
        "lifeops.migrations",
    ]


async def sizes(conn: Any) -> dict[str, tuple[int, int, int, int, int]]:
    """{relation: (rows, heap, indexes, toast, total)} in bytes."""
    result = {}
    for rel in relations():
        rows = int(await conn.fetchval(f"SELECT count(*) FROM {rel}"))
        hyper = await conn.fetchval(
            "SELECT count(*) FROM timescaledb_information.hypertables "
            "WHERE format('%I.%I', hypertable_schema, hypertable_name) = $1",
            rel,
        )
        if hyper:
            row = await conn.fetchrow("SELECT * FROM hypertable_detailed_size($1::regclass)", rel)
            heap, index, toast, total = (
                int(row["table_bytes"] or 0),
                int(row["index_bytes"] or 0),
                int(row["toast_bytes"] or 0),
                int(row["total_bytes"] or 0),
            )
        else:
            row = await conn.fetchrow(
                "SELECT pg_relation_size(c.oid) + pg_relation_size(c.oid, 'fsm') "
                "+ pg_relation_size(c.oid, 'vm') AS heap, pg_indexes_size(c.oid) AS index, "
                "coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) AS toast, "
                "pg_total_relation_size(c.oid) AS total FROM pg_class c WHERE c.oid = $1::regclass",
                rel,
            )
            heap, index, toast, total = (int(row[k]) for k in ("heap", "index", "toast", "total"))
        result[rel] = (rows, heap, index, toast, total)
    return result


def mb(value: float) -> str:
    """Bytes as MB (10^6)."""
    return f"{value / 1e6:9.2f}"


def report(
    year: int, table: dict[str, tuple[int, int, int, int, int]], db: int, empty: int
) -> None:
    """One year-end's figures."""
    print(f"\nEnd of year {year}: database {db / 1e6:.1f} MB (empty schema {empty / 1e6:.1f} MB)")
    print(
        f"  {'relation':<34}{'rows':>11}{'heap MB':>10}{'index MB':>10}{'toast MB':>10}"
        f"{'total MB':>10}{'B/row':>7}"
    )
    for rel, (rows, heap, index, toast, total) in table.items():
        per_row = f"{total / rows:7.0f}" if rows else "      -"
        name = rel.removeprefix("lifeops.")
        print(
            f"  {name:<34}{rows:>11,}{mb(heap):>10}{mb(index):>10}{mb(toast):>10}{mb(total):>10}"
            f"{per_row}"
        )
    tables_total = sum(v[4] for v in table.values())
    print(
        f"  {'all LifeOps relations':<34}{sum(v[0] for v in table.values()):>11,}"
        f"{mb(sum(v[1] for v in table.values())):>10}{mb(sum(v[2] for v in table.values())):>10}"
        f"{mb(sum(v[3] for v in table.values())):>10}{mb(tables_total):>10}"
    )


async def run(port: int, years: int, folder: Path, *, drop_time_indexes: bool = False) -> int:
    """Load `years` of data and report; the five-year database size in bytes."""
    config = StoreConfig("127.0.0.1", port, "postgres", "postgres", PASSWORD)
    admin = await connect(config)
    await admin.execute("DROP DATABASE IF EXISTS lifeops_storage WITH (FORCE)")
    await admin.execute("CREATE DATABASE lifeops_storage")
    await admin.close()
    config = StoreConfig("127.0.0.1", port, "lifeops_storage", "postgres", PASSWORD)
    writer = Writer(
        config,
        folder / "buffer.sqlite",
        timezone="Europe/Stockholm",
        retention=Retention(),
        batch_size=1_000_000,
    )
    await writer.start(background=False)
    assert writer.edition is not None
    assert writer.edition.value == "timescaledb_apache", writer.edition
    conn = await connect(config)
    if drop_time_indexes:
        # Experiment, not LifeOps' schema: the (time DESC) index create_hypertable adds by
        # default, on the two big raw tables ((metric | entity_id, time DESC) and the primary key
        # stay).
        for name in ("health_metric", "device_state"):
            await conn.execute(f"DROP INDEX lifeops.{name}_time_idx")
    empty = int(await conn.fetchval("SELECT pg_database_size(current_database())"))
    days = 365 * years
    started = time.perf_counter()
    final = 0
    for day in range(days):
        for table, batch in day_rows(day).items():
            if batch:
                writer.add(table, batch)
        year_end = (day + 1) % 365 == 0
        if (day + 1) % 7 == 0 or year_end:
            await writer.flush()
            assert writer.status.buffered_rows == 0
            await writer.maintain(now=START + timedelta(days=day + 1))
        if year_end:
            await conn.execute("VACUUM ANALYZE")
            table = await sizes(conn)
            final = int(await conn.fetchval("SELECT pg_database_size(current_database())"))
            report((day + 1) // 365, table, final, empty)
            print(
                f"  ({time.perf_counter() - started:.0f} s so far, "
                f"{writer.written_rows:,} rows written)"
            )
    await conn.close()
    await writer.close()
    return final


async def main_async(args: argparse.Namespace) -> int:
    """Start a server of its own, run, stop it."""
    name = f"bench_storage_{args.port}"
    await asyncio.to_thread(timescaledb.start, name, args.port, PASSWORD, False, True, True)
    try:
        with tempfile.TemporaryDirectory() as folder:
            total = await run(
                args.port, args.years, Path(folder), drop_time_indexes=args.drop_time_indexes
            )
    finally:
        await asyncio.to_thread(timescaledb.remove, name)
    print(
        f"\n{args.years}-year total: {total / 1e6:.1f} MB on disk against the seed's 1,500 MB: "
        f"{total / SEED_BYTES:.3f}x ({SEED_BYTES / total:.1f} times smaller)"
    )
    return 0 if total <= SEED_BYTES else 1


def main() -> int:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--port", type=int, default=55461)
    parser.add_argument(
        "--drop-time-indexes",
        action="store_true",
        help="experiment: without the default (time DESC) index on health_metric, device_state",
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
