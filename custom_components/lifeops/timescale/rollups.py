"""Rollups and retention where the server does not do them itself, and its policies where it does.

Full edition: continuous aggregates (created by the migrations) and the server's retention
policies, set by `apply_policies`. Apache edition and plain PostgreSQL: LifeOps keeps the hourly
and daily rollup tables up to date from the hour ranges the writer records with every batch of
health metrics (`refresh`), and deletes old data itself (`enforce_retention`: `drop_chunks` on
hypertables, `DELETE` otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .migrate import Conn
from .schema import (
    DEVICE_STATE,
    HEALTH_METRIC,
    ROLLUP_DAILY,
    ROLLUP_HOURLY,
    SCHEMA,
    XP_EVENT,
    Edition,
    Table,
)
from .timezones import resolve

_MERGE_GAP = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long data is kept; None keeps it forever."""

    raw_days: int | None = 90  # health metrics and device states
    rollup_days: int | None = 730  # hourly and daily rollups
    xp_days: int | None = None  # XP events


RAW_TABLES: tuple[Table, ...] = (HEALTH_METRIC, DEVICE_STATE)


async def stored_timezone(conn: Conn) -> str:
    """The time zone whose days the daily rollups use (chosen when the schema was created).

    As a name this server knows: a schema made elsewhere may name a zone by a legacy alias.
    """
    value = await conn.fetchval(f"SELECT value FROM {SCHEMA}.settings WHERE key = 'timezone'")
    return await resolve(conn, str(value or "UTC"))


def _merge(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + _MERGE_GAP:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


async def refresh(
    conn: Conn,
    edition: Edition,
    *,
    raw_after: datetime | None = None,
    timezone: str | None = None,
) -> int:
    """Bring the rollup tables up to date with what was written; returns the ranges refreshed.

    Recomputes exactly the hours (and their days) that got rows since the last refresh, from the
    raw rows, in one transaction with taking the pending ranges, so it is exact and crash-safe.
    Hours older than `raw_after` (raw rows already deleted by retention) are left as they are.
    No-op on the full edition, whose continuous aggregates refresh themselves. `timezone` is
    `stored_timezone`'s answer, which callers may keep; read from the database when not given.
    """
    if edition.has_continuous_aggregates:
        return 0
    if timezone is None:
        timezone = await stored_timezone(conn)
    async with conn.transaction():
        pending = await conn.fetch(f"DELETE FROM {SCHEMA}.rollup_pending RETURNING lo, hi")
        ranges = _merge([(row["lo"], row["hi"]) for row in pending])
        for first, last in ranges:
            lo = first if raw_after is None else max(first, raw_after)
            if lo <= last:
                await _refresh_range(conn, lo, last, timezone)
    return len(ranges)


async def _refresh_range(conn: Conn, lo: datetime, hi: datetime, timezone: str) -> None:
    hours = (
        "date_trunc('hour', $1::timestamptz)",
        "date_trunc('hour', $2::timestamptz) + INTERVAL '1 hour'",
    )
    await conn.execute(
        f"DELETE FROM {ROLLUP_HOURLY} WHERE bucket >= {hours[0]} AND bucket < {hours[1]}",
        lo,
        hi,
    )
    await conn.execute(
        f"INSERT INTO {ROLLUP_HOURLY} SELECT date_trunc('hour', time), site, metric, count(*), "
        f"sum(value), min(value), max(value) FROM {HEALTH_METRIC.qualified} "
        f"WHERE time >= {hours[0]} AND time < {hours[1]} GROUP BY 1, 2, 3",
        lo,
        hi,
    )
    days = (
        "(date_trunc('day', $1::timestamptz AT TIME ZONE $3) AT TIME ZONE $3)",
        "((date_trunc('day', $2::timestamptz AT TIME ZONE $3) + INTERVAL '1 day') AT TIME ZONE $3)",
    )
    await conn.execute(
        f"DELETE FROM {ROLLUP_DAILY} WHERE bucket >= {days[0]} AND bucket < {days[1]}",
        lo,
        hi,
        timezone,
    )
    await conn.execute(
        f"INSERT INTO {ROLLUP_DAILY} SELECT date_trunc('day', bucket AT TIME ZONE $3) "
        "AT TIME ZONE $3, site, metric, sum(n), sum(total), min(min_value), max(max_value) "
        f"FROM {ROLLUP_HOURLY} WHERE bucket >= {days[0]} AND bucket < {days[1]} "
        "GROUP BY 1, 2, 3",
        lo,
        hi,
        timezone,
    )


async def rebuild(conn: Conn, edition: Edition) -> None:
    """Recompute the rollups from every raw row there is (after a restore, for example)."""
    if edition.has_continuous_aggregates:
        for view in (ROLLUP_HOURLY, ROLLUP_DAILY):
            await conn.execute(f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)")
        return
    await conn.execute(
        f"INSERT INTO {SCHEMA}.rollup_pending SELECT min(time), max(time) "
        f"FROM {HEALTH_METRIC.qualified} HAVING count(*) > 0"
    )
    await refresh(conn, edition)


async def enforce_retention(
    conn: Conn,
    edition: Edition,
    retention: Retention,
    now: datetime,
    *,
    timezone: str | None = None,
) -> dict[str, int]:
    """Delete what is older than the retention allows; returns rows (or chunks) removed by table.

    On the full edition the server's own policies do this (see `apply_policies`); nothing here.
    Raw health rows are only dropped after their hours made it into the rollups.
    """
    if edition.has_continuous_aggregates:
        return {}
    removed: dict[str, int] = {}
    if retention.raw_days is not None:
        await refresh(conn, edition, timezone=timezone)
        cutoff = now - timedelta(days=retention.raw_days)
        for table in RAW_TABLES:
            removed[table.name] = await _drop_older(conn, edition, table.qualified, cutoff)
    if retention.rollup_days is not None:
        cutoff = now - timedelta(days=retention.rollup_days)
        for name in (ROLLUP_HOURLY, ROLLUP_DAILY):
            status = await conn.execute(f"DELETE FROM {name} WHERE bucket < $1", cutoff)
            removed[name.split(".")[1]] = int(status.split()[-1])
    if retention.xp_days is not None:
        cutoff = now - timedelta(days=retention.xp_days)
        removed[XP_EVENT.name] = await _drop_older(conn, edition, XP_EVENT.qualified, cutoff)
    return removed


async def _drop_older(conn: Conn, edition: Edition, table: str, cutoff: datetime) -> int:
    if edition.has_hypertables:
        # Whole chunks entirely older than the cutoff; then the rows of the chunk it falls in.
        dropped = await conn.fetch(
            "SELECT drop_chunks($1::regclass, older_than => $2::timestamptz)", table, cutoff
        )
        status = await conn.execute(f"DELETE FROM {table} WHERE time < $1", cutoff)
        return len(dropped) + int(status.split()[-1])
    status = await conn.execute(f"DELETE FROM {table} WHERE time < $1", cutoff)
    return int(status.split()[-1])


def policy_statements(retention: Retention) -> list[tuple[str, tuple[Any, ...]]]:
    """The full edition's retention policies for `retention`, as (SQL, arguments) in order."""
    targets: list[tuple[str, int | None]] = [
        (HEALTH_METRIC.qualified, retention.raw_days),
        (DEVICE_STATE.qualified, retention.raw_days),
        (ROLLUP_HOURLY, retention.rollup_days),
        (ROLLUP_DAILY, retention.rollup_days),
        (XP_EVENT.qualified, retention.xp_days),
    ]
    statements: list[tuple[str, tuple[Any, ...]]] = []
    for relation, days in targets:
        statements.append(
            ("SELECT remove_retention_policy($1::regclass, if_exists => TRUE)", (relation,))
        )
        if days is not None:
            statements.append(
                (
                    "SELECT add_retention_policy($1::regclass, drop_after => $2::interval)",
                    (relation, timedelta(days=days)),
                )
            )
    return statements


async def apply_policies(conn: Conn, edition: Edition, retention: Retention) -> None:
    """Full edition: set the server's retention policies to `retention` (replacing old ones)."""
    if not edition.has_continuous_aggregates:
        return
    for sql, args in policy_statements(retention):
        await conn.execute(sql, *args)
