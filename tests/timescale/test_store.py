"""The long-term store's library against a real server: migrations, writer, rollups, trends."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
import os
from pathlib import Path
import subprocess
import sys
from typing import Any

import asyncpg
import pytest

from custom_components.lifeops.timescale import rows
from custom_components.lifeops.timescale.errors import (
    ExtensionMissing,
    InvalidQuery,
    StoreError,
    TlsUnavailable,
    TlsUntrusted,
)
from custom_components.lifeops.timescale.migrate import (
    StoreConfig,
    check,
    connect,
    migrate,
    offers_tls,
)
from custom_components.lifeops.timescale.queries import query_trend
from custom_components.lifeops.timescale.rollups import Retention, enforce_retention, refresh
from custom_components.lifeops.timescale.schema import TABLES, Edition
from custom_components.lifeops.timescale.writer import Writer

from .conftest import PASSWORD, Server

SITE = "home"
T0 = datetime(2026, 1, 5, tzinfo=UTC)


async def _fetchval(config: StoreConfig, sql: str, *args: Any) -> Any:
    conn = await connect(config)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def _heart_rates(start: datetime, count: int, step: timedelta, value: float = 60.0) -> list:
    return [
        rows.health_metric(SITE, "heart_rate", start + i * step, value + i % 8, "oura")
        for i in range(count)
    ]


async def _writer(config: StoreConfig, tmp_path: Path, **kwargs: Any) -> Writer:
    writer = Writer(config, tmp_path / "buffer.sqlite", **kwargs)
    await writer.start(background=False)
    return writer


async def test_tls_modes_against_servers_with_and_without_tls(
    database: StoreConfig, plain_database: StoreConfig
) -> None:
    uses_tls = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    assert await offers_tls(database.host, database.port)
    assert not await offers_tls(plain_database.host, plain_database.port)
    # prefer (the default): TLS where offered, plain where not.
    assert await _fetchval(database, uses_tls) is True
    assert await _fetchval(plain_database, uses_tls) is False
    # require: TLS or nothing; disable: never TLS.
    assert await _fetchval(replace(database, tls="require"), uses_tls) is True
    with pytest.raises(TlsUnavailable):
        await connect(replace(plain_database, tls="require"))
    assert await _fetchval(replace(database, tls="disable"), uses_tls) is False
    # verify-full: the test server's certificate is self-signed, so it is refused.
    with pytest.raises(TlsUntrusted):
        await connect(replace(database, tls="verify-full"))


async def test_a_silent_server_does_not_hold_up_start(
    database: StoreConfig, tmp_path: Path
) -> None:
    """A host that takes the connection and never answers (a VPN that drops packets)."""
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    writer = Writer(replace(database, port=port), tmp_path / "buffer.sqlite")
    try:
        await writer.start(wait=0.2)
        # start() came back while the first attempt still waits on the server...
        assert writer._connecting is not None and not writer._connecting.done()
        assert not writer.connected
        # ... and rows given meanwhile are kept, on disk, like during any outage.
        writer.add("health_metric", _heart_rates(T0, 10, timedelta(minutes=5)))
        await writer.flush()
        assert writer.status.buffered_rows == 10
    finally:
        await writer.close()  # cancels the attempt; nothing hangs
        server.close()
        for held_writer in held:
            held_writer.close()
    assert writer._connecting.cancelled()
    # The real server, with the same buffer file: every row arrives.
    writer = await _writer(database, tmp_path)
    try:
        await writer.flush()
        assert writer.status.buffered_rows == 0
    finally:
        await writer.close()
    assert await _fetchval(database, "SELECT count(*) FROM lifeops.health_metric") == 10


async def test_migrations_fresh_then_again(database: StoreConfig) -> None:
    conn = await connect(database)
    try:
        first = await migrate(conn, timezone="Europe/Stockholm")
        assert first.applied == (1, 2)
        assert first.edition in (Edition.APACHE, Edition.FULL)
        hypertables = await conn.fetch(
            "SELECT hypertable_name FROM timescaledb_information.hypertables "
            "WHERE hypertable_schema = 'lifeops'"
        )
        assert {row[0] for row in hypertables} == set(TABLES)
        again = await migrate(conn, timezone="Europe/Stockholm")
        assert again.applied == ()
        assert again.edition == first.edition
    finally:
        await conn.close()

    # Two sites' Home Assistants starting at once against a new database: one applies, one waits.
    assert await check(database) == first.edition


async def test_concurrent_migrations_apply_once(database: StoreConfig) -> None:
    conns = [await connect(database) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(conn) for conn in conns))
    finally:
        for conn in conns:
            await conn.close()
    assert sorted(len(result.applied) for result in results) == [0, 0, 2]
    assert await _fetchval(database, "SELECT count(*) FROM lifeops.migrations") == 2


async def test_migrate_command_line(database: StoreConfig) -> None:
    command = [
        sys.executable,
        "-m",
        "custom_components.lifeops.timescale.migrate",
        "--port",
        str(database.port),
        "--database",
        database.database,
        "--user",
        database.user,
    ]
    env = {**os.environ, "LIFEOPS_DB_PASSWORD": PASSWORD}

    def run(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, env={**env, **extra_env}, capture_output=True, text=True, check=False
        )

    first = await asyncio.to_thread(run, {})
    assert first.returncode == 0, first.stderr
    assert "schema version 2; applied: 1, 2" in first.stdout
    conn = await connect(database)
    try:
        assert (await migrate(conn)).applied == ()  # the tool left the schema complete
    finally:
        await conn.close()


async def test_writer_lands_every_row_once(database: StoreConfig, tmp_path: Path) -> None:
    writer = await _writer(database, tmp_path, batch_size=1000)
    try:
        assert writer.connected
        batch = _heart_rates(T0, 2500, timedelta(minutes=5))
        writer.add("health_metric", batch)
        writer.add("health_metric", batch[:10])  # the same facts again, in the same flush
        writer.add(
            "xp_event",
            [
                rows.xp_event(SITE, T0, "xp-1", agent="sleep", event_type="bedtime", amount=10),
                rows.xp_event("cabin", T0, "xp-1", agent="sleep", event_type="bedtime", amount=10),
            ],
        )
        await writer.flush()
        # A replay of rows already written (a crash after commit, before the buffer forgot them).
        writer.add("health_metric", batch[500:1700])
        await writer.flush()
        status = writer.status
    finally:
        await writer.close()
    assert await _fetchval(database, "SELECT count(*) FROM lifeops.health_metric") == 2500
    assert await _fetchval(database, "SELECT count(DISTINCT id) FROM lifeops.health_metric") == 2500
    # The same XP event merged from two sites' logs is one fact per site it was awarded at.
    assert await _fetchval(database, "SELECT count(*) FROM lifeops.xp_event") == 1 + 1
    assert status.connected
    assert status.buffered_rows == 0
    assert status.rejected_rows == 0


async def test_outage_buffers_and_replays_every_row_once(
    outage_server: Server, tmp_path: Path
) -> None:
    config = outage_server.config("postgres")
    batch = _heart_rates(T0, 9000, timedelta(minutes=1))
    statuses = []
    writer = await _writer(config, tmp_path, batch_size=1000, on_status=statuses.append)
    writer.add("health_metric", batch[:3000])
    await writer.flush()
    assert writer.status.buffered_rows == 0

    # The database goes away mid-ingest.
    await asyncio.to_thread(outage_server.stop)
    writer.add("health_metric", batch[3000:6000])
    await writer.flush()
    assert not writer.status.connected
    assert writer.status.buffered_rows == 3000
    assert statuses[-1].last_error == "StoreUnreachable"
    writer.add("health_metric", batch[6000:8000])
    await writer.close()  # Home Assistant stops: what waits in memory goes to the buffer too

    # Home Assistant starts again while the database is still away: nothing is lost.
    writer = await _writer(config, tmp_path, batch_size=1000)
    assert writer.status.buffered_rows == 5000
    writer.add("health_metric", batch[8000:])
    await writer.flush()
    assert writer.status.buffered_rows == 6000

    # The database returns: the buffer is replayed in order, then new rows.
    await asyncio.to_thread(outage_server.start)
    writer._retry_at = 0  # do not wait for the back-off in a test
    await writer.flush()
    await writer.flush()
    try:
        assert writer.status.connected
        assert writer.status.buffered_rows == 0
    finally:
        await writer.close()
    assert await _fetchval(config, "SELECT count(*) FROM lifeops.health_metric") == 9000
    assert await _fetchval(config, "SELECT count(DISTINCT id) FROM lifeops.health_metric") == 9000


async def test_buffer_is_bounded(database: StoreConfig, tmp_path: Path) -> None:
    away = replace(database, port=1)  # nothing listens there
    writer = await _writer(away, tmp_path, max_buffer_rows=1000)
    writer.add("health_metric", _heart_rates(T0, 1200, timedelta(minutes=1)))
    await writer.flush()
    status = writer.status
    await writer.close()
    assert status.buffered_rows == 1000
    assert status.buffer_fill == 1.0
    assert status.dropped_rows == 200
    assert status.last_error == "StoreUnreachable"


async def test_rollups_retention_and_trends(database: StoreConfig, tmp_path: Path) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    writer = await _writer(database, tmp_path, timezone="UTC")
    # 120 days of heart rate every 30 minutes: each day averages 63.5 (60..67 repeating).
    start = now - timedelta(days=120)
    writer.add("health_metric", _heart_rates(start, 120 * 48, timedelta(minutes=30)))
    writer.add(
        "work_session",
        [
            rows.work_session(
                SITE,
                now - timedelta(days=2, hours=9),
                now - timedelta(days=2, hours=1),
                source="laptop",
            ),
            rows.work_session(
                SITE,
                now - timedelta(days=1, hours=9),
                now - timedelta(days=1, hours=5),
                source="laptop",
            ),
        ],
    )
    writer.add(
        "xp_event",
        [
            rows.xp_event(
                SITE,
                start + timedelta(days=i),
                f"xp-{i}",
                agent="habits",
                event_type="habit",
                amount=5,
            )
            for i in range(120)
        ],
    )
    await writer.flush()
    assert writer.edition is not None
    edition = writer.edition
    try:
        async with writer.connection() as conn:
            await refresh(conn, edition)
            daily = await query_trend(conn, "heart_rate", start, now, bucket="day")
            assert len(daily) == 120
            assert {point.value for point in daily} == {63.5}
            assert {point.count for point in daily} == {48}
            assert all(type(point.value) is float and type(point.count) is int for point in daily)
            monthly_max = await query_trend(
                conn, "heart_rate", start, now, bucket="month", aggregation="max"
            )
            assert [point.value for point in monthly_max] == [67.0] * len(monthly_max)
            hourly = await query_trend(
                conn, "heart_rate", now - timedelta(days=1), now, bucket="hour", aggregation="count"
            )
            assert [point.value for point in hourly] == [2.0] * 24
            work = await query_trend(
                conn, "work", now - timedelta(days=7), now, bucket="day", aggregation="sum"
            )
            assert [point.value for point in work] == [8.0, 4.0]
            assert all(type(point.value) is float for point in work)
            xp = await query_trend(conn, "xp", start, now, bucket="month", aggregation="sum")
            assert sum(point.value or 0 for point in xp) == 600

            if edition.has_continuous_aggregates:
                pytest.skip("full edition: retention is the server's policy (tested apart)")
            removed = await enforce_retention(
                conn, edition, Retention(raw_days=90, rollup_days=100), now
            )
            oldest_raw = await conn.fetchval("SELECT min(time) FROM lifeops.health_metric")
            assert oldest_raw >= now - timedelta(days=90)
            assert removed["health_metric"] > 0
            # Rollups outlive the raw rows (kept 100 days here); XP is kept forever.
            after = await query_trend(conn, "heart_rate", start, now, bucket="day")
            assert len(after) == 100
            assert {point.value for point in after} == {63.5}
            assert await conn.fetchval("SELECT count(*) FROM lifeops.xp_event") == 120
            # A late row for an hour whose raw rows are gone does not wipe its rollup.
            writer.add(
                "health_metric",
                [rows.health_metric(SITE, "heart_rate", now - timedelta(days=95), 100.0)],
            )
            await writer.flush()
            await refresh(conn, edition, raw_after=now - timedelta(days=90))
            again = await query_trend(conn, "heart_rate", start, now, bucket="day")
            assert len(again) == 100
    finally:
        await writer.close()


async def test_trend_validation(database: StoreConfig, tmp_path: Path) -> None:
    writer = await _writer(database, tmp_path)
    try:
        async with writer.connection() as conn:
            cases = [
                ({"metric": "no_such_metric"}, "unknown_metric"),
                ({"bucket": "fortnight"}, "invalid_bucket"),
                ({"aggregation": "median"}, "invalid_aggregation"),
                ({"start": T0, "end": T0}, "invalid_period"),
                ({"start": T0 - timedelta(days=400), "bucket": "hour"}, "too_many_points"),
            ]
            for changes, key in cases:
                query: dict[str, Any] = {
                    "metric": "heart_rate",
                    "start": T0 - timedelta(days=7),
                    "end": T0,
                    "bucket": "day",
                    "aggregation": "avg",
                } | changes
                with pytest.raises(InvalidQuery) as err:
                    await query_trend(
                        conn,
                        query.pop("metric"),
                        query.pop("start"),
                        query.pop("end"),
                        **query,
                    )
                assert err.value.key == key
    finally:
        await writer.close()


async def test_plain_postgresql_fallback(plain_database: StoreConfig, tmp_path: Path) -> None:
    strict = replace(plain_database, allow_postgresql=False)
    with pytest.raises(ExtensionMissing):
        await check(strict)
    conn = await connect(strict)
    try:
        with pytest.raises(ExtensionMissing):
            await migrate(conn)
    finally:
        await conn.close()
    assert await check(plain_database) == Edition.POSTGRESQL

    now = datetime(2026, 6, 1, tzinfo=UTC)
    writer = await _writer(plain_database, tmp_path)
    try:
        assert writer.edition == Edition.POSTGRESQL
        batch = _heart_rates(now - timedelta(days=100), 100 * 24, timedelta(hours=1))
        writer.add("health_metric", batch)
        await writer.flush()
        writer.add("health_metric", batch[:100])  # replayed: no duplicates
        await writer.flush()
        async with writer.connection() as conn:
            assert await conn.fetchval("SELECT count(*) FROM lifeops.health_metric") == 2400
            await refresh(conn, Edition.POSTGRESQL)
            daily = await query_trend(conn, "heart_rate", now - timedelta(days=100), now)
            assert len(daily) == 100
            assert {point.count for point in daily} == {24}
            await enforce_retention(conn, Edition.POSTGRESQL, Retention(raw_days=30), now)
            assert await conn.fetchval("SELECT count(*) FROM lifeops.health_metric") == 30 * 24
            assert len(await query_trend(conn, "heart_rate", now - timedelta(days=100), now)) == 100
    finally:
        await writer.close()


async def test_full_edition_policies(database: StoreConfig, tmp_path: Path) -> None:
    writer = await _writer(database, tmp_path)
    try:
        if writer.edition is not Edition.FULL:
            pytest.skip(
                f"the server has the {writer.edition} edition; continuous aggregates and "
                "retention/compression policies need TimescaleDB's full (Timescale License) edition"
            )
        async with writer.connection() as conn:
            jobs = await conn.fetch("SELECT proc_name FROM timescaledb_information.jobs")
            names = [row[0] for row in jobs]
            assert names.count("policy_refresh_continuous_aggregate") == 2
            assert names.count("policy_retention") == 4
            assert "policy_compression" in names
            writer.add("health_metric", _heart_rates(T0, 48, timedelta(minutes=30)))
            await writer.flush()
            daily = await query_trend(conn, "heart_rate", T0, T0 + timedelta(days=1))
            assert [point.count for point in daily] == [48]
    finally:
        await writer.close()


async def test_wrong_password_is_told_apart(database: StoreConfig) -> None:
    from custom_components.lifeops.timescale.errors import StoreAuthFailed, StoreUnreachable

    with pytest.raises(StoreAuthFailed):
        await check(replace(database, password="wrong"))
    with pytest.raises(StoreUnreachable):
        await check(replace(database, port=1))
    with pytest.raises(asyncpg.PostgresError):
        await _fetchval(database, "SELECT 1/0")


async def test_legacy_time_zone_name(database: StoreConfig, tmp_path: Path) -> None:
    """`US/Pacific` (Home Assistant's test default) on a server that only knows canonical names."""
    from zoneinfo import ZoneInfo

    from custom_components.lifeops.timescale.rollups import stored_timezone
    from custom_components.lifeops.timescale.timezones import candidates, resolve

    conn = await connect(database)
    try:
        knows_alias = True
        try:
            await conn.fetchval("SELECT now() AT TIME ZONE 'US/Pacific'")
        except asyncpg.InvalidParameterValueError:
            knows_alias = False
        assert await resolve(conn, "Europe/Stockholm") == "Europe/Stockholm"
        assert await resolve(conn, "US/Pacific") == (
            "US/Pacific" if knows_alias else "America/Los_Angeles"
        )
        assert candidates("US/Pacific")[:2] == ("US/Pacific", "America/Los_Angeles")
        assert candidates("US/Pacific")[-1] == "PST8PDT,M3.2.0,M11.1.0"
        assert await resolve(conn, "No/Such_Zone") == "UTC"
        # The last resort before UTC, a POSIX rule, is understood by the server too.
        summer = await conn.fetchval(
            "SELECT $1::timestamptz AT TIME ZONE $2",
            datetime(2026, 7, 1, 12, tzinfo=UTC),
            candidates("US/Pacific")[-1],
        )
        assert summer == datetime(2026, 7, 1, 5)  # noqa: DTZ001 (a local time, as PostgreSQL says)
    finally:
        await conn.close()

    # A site whose Home Assistant says US/Pacific: rollups and trends in Pacific days.
    writer = await _writer(database, tmp_path, timezone="US/Pacific")
    try:
        assert writer.schema_timezone in ("US/Pacific", "America/Los_Angeles")
        pacific = ZoneInfo("America/Los_Angeles")
        day = datetime(2026, 3, 7, tzinfo=pacific)  # the day before daylight saving starts
        # Hourly for 73 real hours (in UTC: Python adds wall-clock hours to a zoned time).
        writer.add("health_metric", _heart_rates(day.astimezone(UTC), 73, timedelta(hours=1)))
        await writer.flush()
        await writer.refresh_rollups()
        async with writer.connection() as conn:
            assert await stored_timezone(conn) == writer.schema_timezone
            daily = await query_trend(
                conn, "heart_rate", day, day + timedelta(days=3), timezone=writer.schema_timezone
            )
            # Local midnights; the third day is cut short by the clock change (23 hours).
            assert [point.start for point in daily] == [
                datetime(2026, 3, 7, tzinfo=pacific),
                datetime(2026, 3, 8, tzinfo=pacific),
                datetime(2026, 3, 9, tzinfo=pacific),
            ]
            assert [point.count for point in daily] == [24, 23, 24]
            # Without the kept zone the query finds the same one.
            again = await query_trend(conn, "heart_rate", day, day + timedelta(days=3))
            assert again == daily
    finally:
        await writer.close()


async def test_workouts_are_activity_events_once(database: StoreConfig, tmp_path: Path) -> None:
    def walk(day: int, minutes: int) -> tuple[Any, ...]:
        start = T0 + timedelta(days=day, hours=17)
        return rows.workout(
            "oura:account",
            start,
            start + timedelta(minutes=minutes),
            f"workout-{day}",
            source="oura",
            activity="walking",
            calories=None,
        )

    writer = await _writer(database, tmp_path)
    try:
        writer.add("activity_event", [walk(0, 30), walk(1, 45), walk(8, 20)])
        await writer.flush()
        # The same workouts again (another site with the same ring, or a replay): no new rows.
        writer.add("activity_event", [walk(0, 30), walk(1, 45)])
        await writer.flush()
        async with writer.connection() as conn:
            assert await conn.fetchval("SELECT count(*) FROM lifeops.activity_event") == 3
            details = await conn.fetchval(
                "SELECT details FROM lifeops.activity_event ORDER BY time LIMIT 1"
            )
            assert details == '{"activity":"walking","end":"2026-01-05T17:30:00+00:00"}'
            weekly = await query_trend(
                conn, "workout", T0, T0 + timedelta(days=14), bucket="week", aggregation="sum"
            )
            assert [(point.value, point.count) for point in weekly] == [(75.0, 2), (20.0, 1)]
    finally:
        await writer.close()


async def test_full_edition_sql_is_understood_by_any_edition(database: StoreConfig) -> None:
    """Without the full edition, its SQL still goes through the server's parser and lookups.

    The Apache edition refuses continuous aggregates, compression and policies only after parsing
    the statement and resolving its functions and argument names: each of the full edition's
    statements must fail with exactly that refusal (or, for policies on the continuous aggregates
    it could not create, with their absence), never with a syntax or lookup error.
    """
    from custom_components.lifeops.timescale.migrate import detect_edition
    from custom_components.lifeops.timescale.rollups import policy_statements
    from custom_components.lifeops.timescale.schema import (
        ROLLUP_DAILY,
        ROLLUP_HOURLY,
        migration_1,
        migration_2,
    )

    conn = await connect(database)
    try:
        edition = await detect_edition(conn)
        if edition is Edition.FULL:
            pytest.skip("the server has the full edition: test_full_edition_policies runs it all")
        for statement in migration_1(Edition.FULL, "UTC"):
            await conn.execute(statement)
        full: list[tuple[str, tuple[Any, ...]]] = [
            (sql, ()) for sql in migration_2(Edition.FULL, "America/Los_Angeles")
        ]
        full += policy_statements(Retention(xp_days=3650))
        outcomes: list[tuple[str, str, str]] = []
        for sql, args in full:
            try:
                await conn.execute(sql, *args)
            except asyncpg.PostgresError as err:
                outcomes.append((sql, type(err).__name__, str(err)))
            else:
                outcomes.append((sql, "ok", ""))
        views = [view.split(".")[1] for view in (ROLLUP_HOURLY, ROLLUP_DAILY)]
        refused = 0
        for sql, outcome, message in outcomes:
            if outcome == "ok":  # plain SQL (the settings table)
                continue
            if outcome == "FeatureNotSupportedError":
                assert "license" in message, (sql, message)
                refused += 1
            else:
                # The daily aggregate over the hourly one, or a policy on an aggregate, that the
                # Apache edition could not create.
                assert outcome == "UndefinedTableError", (sql, outcome, message)
                assert any(view in message for view in views), (sql, message)
        assert refused >= 6  # aggregates, their policies, compression, retention on tables
    finally:
        await conn.close()


async def test_accepted_rows_are_kept_on_disk_until_written_and_a_full_buffer_takes_none(
    database: StoreConfig, tmp_path: Path
) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    writer = await _writer(database, tmp_path, max_buffer_rows=5)
    with pytest.raises(StoreError):
        await writer.accept({"health_metric": _heart_rates(start, 6, timedelta(minutes=1))})
    assert writer.status.buffered_rows == 0
    await writer.accept({"health_metric": _heart_rates(start, 4, timedelta(minutes=1))})
    assert writer.status.buffered_rows == 4  # on disk: a restart keeps them
    await writer.close()

    writer = await _writer(database, tmp_path, max_buffer_rows=5)
    await writer.flush()
    assert writer.status.buffered_rows == 0
    await writer.accept({"health_metric": _heart_rates(start, 4, timedelta(minutes=1))})
    await writer.flush()
    await writer.close()
    assert await _fetchval(database, "SELECT count(*) FROM lifeops.health_metric") == 4
