"""Trends: a metric per hour, day, week or month, from the rollups (never a scan of raw rows).

Health metrics (whatever names were written, e.g. `heart_rate`, `steps`) come from the hourly or
daily rollups; the agents' own figures come from their small tables:

| metric | unit | from |
|---|---|---|
| `sleep_duration` | hours | sleep sessions |
| `sleep_score` | score | sleep sessions |
| `screen_time` | minutes | screen-time spans |
| `work` | hours | work sessions |
| `xp` | XP | XP events |

Days, weeks and months are those of the time zone the schema was created with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import InvalidQuery
from .migrate import Conn
from .schema import (
    ROLLUP_DAILY,
    ROLLUP_HOURLY,
    SCHEMA,
    SCREEN_TIME,
    SLEEP_SESSION,
    WORK_SESSION,
    XP_EVENT,
)

BUCKETS = ("hour", "day", "week", "month")
AGGREGATIONS = ("avg", "min", "max", "sum", "count")
MAX_POINTS = {"hour": 24 * 93, "day": 3660, "week": 1000, "month": 240}

# metric -> (table, value expression)
AGENT_METRICS = {
    "sleep_duration": (SLEEP_SESSION.qualified, "duration_s / 3600.0"),
    "sleep_score": (SLEEP_SESSION.qualified, "score"),
    "screen_time": (SCREEN_TIME.qualified, "seconds / 60.0"),
    "work": (WORK_SESSION.qualified, "seconds / 3600.0"),
    "xp": (XP_EVENT.qualified, "amount::double precision"),
}

# The time zone of the schema's days, in the same round trip as the query.
_TZ = (
    f"WITH tz AS (SELECT coalesce((SELECT value FROM {SCHEMA}.settings "
    "WHERE key = 'timezone'), 'UTC') AS name)"
)

# The start of the bucket `start` falls in: trends cover whole buckets.
_ALIGNED = "(date_trunc($1, {start}::timestamptz AT TIME ZONE tz.name) AT TIME ZONE tz.name)"

# aggregation -> SQL over rollup columns (n, total, min_value, max_value)
_ROLLUP_AGG = {
    "avg": "sum(total) / nullif(sum(n), 0)",
    "min": "min(min_value)",
    "max": "max(max_value)",
    "sum": "sum(total)",
    "count": "sum(n)::double precision",
}


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One bucket of a trend."""

    start: datetime
    value: float | None
    count: int


def validate(metric: str, start: datetime, end: datetime, bucket: str, aggregation: str) -> None:
    """Raise InvalidQuery for a request that cannot be answered; changes nothing."""
    if bucket not in BUCKETS:
        raise InvalidQuery("invalid_bucket", bucket=bucket)
    if aggregation not in AGGREGATIONS:
        raise InvalidQuery("invalid_aggregation", aggregation=aggregation)
    if not metric or len(metric) > 100:
        raise InvalidQuery("unknown_metric", metric=metric)
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise InvalidQuery("invalid_period")
    width = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 31 * 86400}[bucket]
    if (end - start) / timedelta(seconds=width) > MAX_POINTS[bucket]:
        raise InvalidQuery("too_many_points", limit=str(MAX_POINTS[bucket]))


async def query_trend(
    conn: Conn,
    metric: str,
    start: datetime,
    end: datetime,
    *,
    bucket: str = "day",
    aggregation: str = "avg",
    site: str | None = None,
) -> list[TrendPoint]:
    """The metric's whole buckets from the one `start` falls in to the last starting before `end`.

    Oldest first; empty buckets are left out.
    """
    validate(metric, start, end, bucket, aggregation)
    if metric in AGENT_METRICS:
        table, value = AGENT_METRICS[metric]
        agg = {
            "avg": f"avg({value})",
            "min": f"min({value})",
            "max": f"max({value})",
            "sum": f"sum({value})",
            "count": "count(*)::double precision",
        }[aggregation]
        rows = await conn.fetch(
            f"{_TZ} SELECT date_trunc($1, time AT TIME ZONE tz.name) AT TIME ZONE tz.name AS b, "
            f"{agg} AS v, count(*) AS n FROM {table}, tz "
            f"WHERE time >= {_ALIGNED.format(start='$2')} AND time < $3 "
            "AND ($4::text IS NULL OR site = $4) "
            "GROUP BY 1 ORDER BY 1",
            bucket,
            start,
            end,
            site,
        )
    else:
        source = ROLLUP_HOURLY if bucket == "hour" else ROLLUP_DAILY
        rows = await conn.fetch(
            f"{_TZ} SELECT date_trunc($1, bucket AT TIME ZONE tz.name) AT TIME ZONE tz.name AS b, "
            f"{_ROLLUP_AGG[aggregation]} AS v, sum(n)::bigint AS n FROM {source}, tz "
            f"WHERE metric = $2 AND bucket >= {_ALIGNED.format(start='$3')} AND bucket < $4 "
            "AND ($5::text IS NULL OR site = $5) GROUP BY 1 ORDER BY 1",
            bucket,
            metric,
            start,
            end,
            site,
        )
        if not rows and not await conn.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {ROLLUP_DAILY} WHERE metric = $1)", metric
        ):
            raise InvalidQuery("unknown_metric", metric=metric)
    return [
        TrendPoint(
            start=row["b"], value=None if row["v"] is None else float(row["v"]), count=int(row["n"])
        )
        for row in rows
    ]


async def metrics(conn: Conn) -> list[str]:
    """The metric names a trend can be asked for."""
    rows = await conn.fetch(f"SELECT DISTINCT metric FROM {ROLLUP_DAILY} ORDER BY 1")
    return sorted({*AGENT_METRICS, *(row[0] for row in rows)})
