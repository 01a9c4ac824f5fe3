"""LifeOps' long-term tables, their columns, and the versioned migrations that create them.

Every table has `time` (when it happened; the hypertable's partitioning column), `site` (the
origin site's id) and `id` (a UUID stable for the same fact, so merging rows from several sites or
replaying a batch never duplicates: the primary key is `(site, id, time)`). The SQL lives here, in
the integration, because the integration applies it at start-up; `timescale/README.md` at the
repository's top describes the design.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SCHEMA = "lifeops"


class Edition(StrEnum):
    """What the server offers LifeOps' long-term store."""

    FULL = "timescaledb"  # TimescaleDB with the Timescale License: continuous aggregates, policies
    APACHE = "timescaledb_apache"  # Apache-2 edition (Debian's): hypertables, drop_chunks
    POSTGRESQL = "postgresql"  # no TimescaleDB: plain tables and deletes

    @property
    def has_hypertables(self) -> bool:
        """Whether tables are hypertables."""
        return self is not Edition.POSTGRESQL

    @property
    def has_continuous_aggregates(self) -> bool:
        """Whether rollups and retention are the server's own (aggregates and policies)."""
        return self is Edition.FULL


@dataclass(frozen=True, slots=True)
class Table:
    """A long-term table: its name and (column, SQL type) pairs in COPY order."""

    name: str
    columns: tuple[tuple[str, str], ...]
    chunk: str = "7 days"

    @property
    def column_names(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(name for name, _ in self.columns)

    @property
    def qualified(self) -> str:
        """schema.name."""
        return f"{SCHEMA}.{self.name}"


_KEY = (("time", "timestamptz"), ("site", "text"), ("id", "uuid"))

HEALTH_METRIC = Table(
    "health_metric",
    (*_KEY, ("metric", "text"), ("value", "double precision"), ("source", "text")),
    chunk="1 day",
)
SLEEP_SESSION = Table(
    "sleep_session",
    (
        *_KEY,
        ("end_time", "timestamptz"),
        ("duration_s", "double precision"),
        ("score", "double precision"),
        ("source", "text"),
    ),
    chunk="90 days",
)
ACTIVITY_EVENT = Table(
    "activity_event",
    (
        *_KEY,
        ("kind", "text"),
        ("value", "double precision"),
        ("source", "text"),
        ("details", "text"),
    ),
    chunk="30 days",
)
SCREEN_TIME = Table(
    "screen_time",
    (
        *_KEY,
        ("end_time", "timestamptz"),
        ("seconds", "double precision"),
        ("source", "text"),
        ("category", "text"),
    ),
    chunk="30 days",
)
WORK_SESSION = Table(
    "work_session",
    (*_KEY, ("end_time", "timestamptz"), ("seconds", "double precision"), ("source", "text")),
    chunk="90 days",
)
DEVICE_STATE = Table(
    "device_state",
    (
        *_KEY,
        ("entity_id", "text"),
        ("state", "text"),
        ("value", "double precision"),
    ),
    chunk="1 day",
)
XP_EVENT = Table(
    "xp_event",
    (
        *_KEY,
        ("agent", "text"),
        ("event_type", "text"),
        ("amount", "integer"),
        ("description", "text"),
    ),
    chunk="365 days",
)

TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        HEALTH_METRIC,
        SLEEP_SESSION,
        ACTIVITY_EVENT,
        SCREEN_TIME,
        WORK_SESSION,
        DEVICE_STATE,
        XP_EVENT,
    )
}

# Rollups of health metrics: same columns whether they are continuous aggregates (full edition)
# or tables LifeOps maintains (Apache edition, plain PostgreSQL).
ROLLUP_HOURLY = f"{SCHEMA}.health_metric_hourly"
ROLLUP_DAILY = f"{SCHEMA}.health_metric_daily"
ROLLUP_COLUMNS = "bucket, site, metric, n, total, min_value, max_value"


def _create_table(table: Table) -> str:
    columns = ",\n    ".join(
        f"{name} {kind} NOT NULL" if name in ("time", "site", "id") else f"{name} {kind}"
        for name, kind in table.columns
    )
    return (
        f"CREATE TABLE IF NOT EXISTS {table.qualified} (\n    {columns},\n"
        f"    PRIMARY KEY (site, id, time)\n)"
    )


def _hypertable(table: Table) -> str:
    return (
        f"SELECT create_hypertable('{table.qualified}', 'time', "
        f"chunk_time_interval => INTERVAL '{table.chunk}', if_not_exists => TRUE, "
        "migrate_data => TRUE)"
    )


def migration_1(edition: Edition, timezone: str) -> list[str]:
    """The raw tables (hypertables where TimescaleDB is there), with time indexes."""
    statements = [f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"]
    for table in TABLES.values():
        statements.append(_create_table(table))
        if edition.has_hypertables:
            statements.append(_hypertable(table))
        else:
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {table.name}_time_idx ON {table.qualified} (time DESC)"
            )
    for table in (HEALTH_METRIC, DEVICE_STATE):
        column = "metric" if table is HEALTH_METRIC else "entity_id"
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {table.name}_{column}_time_idx "
            f"ON {table.qualified} ({column}, time DESC)"
        )
    return statements


def migration_2(edition: Edition, timezone: str) -> list[str]:
    """Hourly and daily rollups of health metrics, in `timezone`'s days, and LifeOps' settings."""
    statements = [
        f"CREATE TABLE IF NOT EXISTS {SCHEMA}.settings (key text PRIMARY KEY, value text NOT NULL)",
        f"INSERT INTO {SCHEMA}.settings VALUES ('timezone', {_literal(timezone)}) "
        "ON CONFLICT (key) DO NOTHING",
    ]
    if edition.has_continuous_aggregates:
        statements += [
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {ROLLUP_HOURLY} "
            "WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS "
            "SELECT time_bucket(INTERVAL '1 hour', time) AS bucket, site, metric, "
            "count(*) AS n, sum(value) AS total, min(value) AS min_value, "
            f"max(value) AS max_value FROM {HEALTH_METRIC.qualified} "
            "GROUP BY 1, site, metric WITH NO DATA",
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {ROLLUP_DAILY} "
            "WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS "
            f"SELECT time_bucket(INTERVAL '1 day', bucket, {_literal(timezone)}) AS bucket, "
            "site, metric, sum(n)::bigint AS n, sum(total) AS total, "
            "min(min_value) AS min_value, max(max_value) AS max_value "
            f"FROM {ROLLUP_HOURLY} GROUP BY 1, site, metric WITH NO DATA",
            f"SELECT add_continuous_aggregate_policy('{ROLLUP_HOURLY}', "
            "start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', "
            "schedule_interval => INTERVAL '30 minutes', if_not_exists => TRUE)",
            f"SELECT add_continuous_aggregate_policy('{ROLLUP_DAILY}', "
            "start_offset => INTERVAL '4 days', end_offset => INTERVAL '1 hour', "
            "schedule_interval => INTERVAL '1 hour', if_not_exists => TRUE)",
            f"ALTER TABLE {HEALTH_METRIC.qualified} SET (timescaledb.compress, "
            "timescaledb.compress_segmentby = 'site, metric', "
            "timescaledb.compress_orderby = 'time DESC')",
            f"SELECT add_compression_policy('{HEALTH_METRIC.qualified}', "
            "INTERVAL '7 days', if_not_exists => TRUE)",
        ]
        return statements
    for name in (ROLLUP_HOURLY, ROLLUP_DAILY):
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {name} (bucket timestamptz NOT NULL, site text NOT NULL, "
            "metric text NOT NULL, n bigint NOT NULL, total double precision, "
            "min_value double precision, max_value double precision, "
            "PRIMARY KEY (metric, bucket, site))"
        )
    # Hour ranges written since the rollups were last brought up to date, recorded in the same
    # transaction as the rows, so a crash never leaves rows out of the rollups.
    statements.append(
        f"CREATE TABLE IF NOT EXISTS {SCHEMA}.rollup_pending ("
        "lo timestamptz NOT NULL, hi timestamptz NOT NULL)"
    )
    return statements


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Version -> (name, statements for an edition and timezone). Append only; never edit a released one.
MIGRATIONS = {
    1: ("raw tables", migration_1),
    2: ("rollups", migration_2),
}
LATEST = max(MIGRATIONS)
