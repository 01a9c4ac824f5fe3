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
| `workout` | minutes | activity events of kind `workout` (Oura's workouts) |

Days, weeks and months are those of the time zone the schema was created with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import InvalidQuery
from .migrate import Conn
from .rollups import stored_timezone
from .schema import (
    ACTIVITY_EVENT,
    ROLLUP_DAILY,
    ROLLUP_HOURLY,
    SCREEN_TIME,
    SLEEP_SESSION,
    WORK_SESSION,
    XP_EVENT,
)

BUCKETS = ("hour", "day", "week", "month")
AGGREGATIONS = ("avg", "min", "max", "sum", "count")
MAX_POINTS = {"hour": 24 * 93, "day": 3660, "week": 1000, "month": 240}

# metric -> (table, value expression, condition on the rows)
AGENT_METRICS = {
    "sleep_duration": (SLEEP_SESSION.qualified, "duration_s / 3600.0", "TRUE"),
    "sleep_score": (SLEEP_SESSION.qualified, "score", "TRUE"),
    "screen_time": (SCREEN_TIME.qualified, "seconds / 60.0", "TRUE"),
    "work": (WORK_SESSION.qualified, "seconds / 3600.0", "TRUE"),
    "xp": (XP_EVENT.qualified, "amount::double precision", "TRUE"),
    "workout": (ACTIVITY_EVENT.qualified, "value", "kind = 'workout'"),
}

# aggregation -> SQL over rollup columns (n, total, min_value, max_value)
_ROLLUP_AGG = {
    "avg": "sum(total) / nullif(sum(n), 0)",
    "min": "min(min_value)",
    "max": "max(max_value)",
    "sum": "sum(total)",
    "count": "sum(n)::double precision",
}


@dataclass(slots=True)
class TrendPoint:
    """One bucket of a trend.

    Not frozen: a frozen dataclass's __init__ costs twice as much, and a trend makes hundreds.
    """

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
    timezone: str | None = None,
) -> list[TrendPoint]:
    """The metric's whole buckets from the one `start` falls in to the last starting before `end`.

    Oldest first; empty buckets are left out. `timezone` is the schema's (`stored_timezone`;
    it never changes, so callers may keep it); read from the database when not given.
    """
    validate(metric, start, end, bucket, aggregation)
    if timezone is None:
        timezone = await stored_timezone(conn)
    aligned = "(date_trunc($1, $2::timestamptz AT TIME ZONE $3) AT TIME ZONE $3)"
    if metric in AGENT_METRICS:
        table, value, condition = AGENT_METRICS[metric]
        agg = {
            "avg": f"avg({value})",
            "min": f"min({value})",
            "max": f"max({value})",
            "sum": f"sum({value})",
            "count": "count(*)::double precision",
        }[aggregation]
        rows = await conn.fetch(
            "SELECT date_trunc($1, time AT TIME ZONE $3) AT TIME ZONE $3 AS b, "
            f"{agg} AS v, count(*) AS n FROM {table} "
            f"WHERE {condition} AND time >= {aligned} AND time < $4 "
            "AND ($5::text IS NULL OR site = $5) "
            "GROUP BY 1 ORDER BY 1",
            bucket,
            start,
            timezone,
            end,
            site,
        )
    else:
        source = ROLLUP_HOURLY if bucket == "hour" else ROLLUP_DAILY
        # Hours and days are the rollups' own buckets; weeks and months group days.
        key = (
            "bucket"
            if bucket in ("hour", "day")
            else "date_trunc($1, bucket AT TIME ZONE $3) AT TIME ZONE $3"
        )
        rows = await conn.fetch(
            f"SELECT {key} AS b, {_ROLLUP_AGG[aggregation]} AS v, sum(n)::bigint AS n "
            f"FROM {source} WHERE metric = $6 AND bucket >= {aligned} AND bucket < $4 "
            "AND ($5::text IS NULL OR site = $5) GROUP BY 1 ORDER BY 1",
            bucket,
            start,
            timezone,
            end,
            site,
            metric,
        )
        if not rows and not await conn.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {ROLLUP_DAILY} WHERE metric = $1)", metric
        ):
            raise InvalidQuery("unknown_metric", metric=metric)
    # Columns (bucket, value, count) arrive as (datetime, float | None, int): every value
    # expression above is double precision and every count a bigint.
    return [TrendPoint(*row) for row in rows]


async def metrics(conn: Conn) -> list[str]:
    """The metric names a trend can be asked for."""
    rows = await conn.fetch(f"SELECT DISTINCT metric FROM {ROLLUP_DAILY} ORDER BY 1")
    return sorted({*AGENT_METRICS, *(row[0] for row in rows)})
