"""The long-term store through a test Home Assistant, against the real server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import ssl
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    get_system_health_info,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.long_term.options import CONF_STORE
from custom_components.lifeops.timescale import rows
from custom_components.lifeops.timescale.migrate import StoreConfig, connect, stored_edition
from custom_components.lifeops.timescale.rollups import refresh
from custom_components.lifeops.timescale.writer import Writer
from tests.test_oura import (  # the Oura account's recorded API answers and fixtures
    ACCOUNT_ID as OURA_ACCOUNT_ID,
    NOW as OURA_NOW,
    _mock_api as mock_oura_api,
    oura_entry,  # noqa: F401
    setup_credentials,  # noqa: F401
)

from .conftest import PASSWORD

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def own_config_dir(hass: HomeAssistant, tmp_path: Path) -> None:
    """A config folder per test: the store's buffer file lives in its .storage."""
    hass.config.config_dir = str(tmp_path)


def _store_options(config: StoreConfig, **changes: Any) -> dict[str, Any]:
    return {
        "host": config.host,
        "port": config.port,
        "database": config.database,
        "user": config.user,
        "password": config.password,
        "allow_postgresql": config.allow_postgresql,
        "health_entities": [],
        "state_entities": [],
        "raw_days": 90,
        "rollup_days": 730,
    } | changes


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _rows(config: StoreConfig, sql: str) -> list[Any]:
    conn = await connect(config)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def _open_store_step(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert "long_term_store" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "long_term_store"}
    )
    assert result["type"] is FlowResultType.FORM
    return result["flow_id"]


def _form(config: StoreConfig, **changes: Any) -> dict[str, Any]:
    values = {
        "host": config.host,
        "port": config.port,
        "database": config.database,
        "user": config.user,
        "password": config.password,
        "allow_postgresql": False,
    }
    return values | changes


async def test_options_step_tests_the_database_before_saving(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    database: StoreConfig,
    plain_database: StoreConfig,
) -> None:
    entry = await _setup(hass, mock_config_entry)
    before = dict(entry.options)
    cases = [
        (_form(database, password="wrong"), {"base": "store_invalid_auth"}),
        (_form(database, port=1), {"base": "store_cannot_connect"}),
        (_form(plain_database), {"base": "store_extension_missing"}),
        # The plain server offers no TLS; the other's certificate is self-signed.
        (
            _form(plain_database, allow_postgresql=True, tls="require"),
            {"base": "store_tls_unavailable"},
        ),
        (_form(database, tls="verify-full"), {"base": "store_tls_untrusted"}),
        (_form(database, health_entities=["sensor.nope"]), {"health_entities": "unknown_entity"}),
    ]
    for form, errors in cases:
        flow_id = await _open_store_step(hass, entry)
        result = await hass.config_entries.options.async_configure(flow_id, form)
        assert result["type"] is FlowResultType.FORM, form
        assert result["errors"] == errors, form
        assert entry.options == before
    # Out of range numbers are refused by the form itself.
    for form in (_form(database, port=70000), _form(database, raw_days=0)):
        flow_id = await _open_store_step(hass, entry)
        with pytest.raises(InvalidData):
            await hass.config_entries.options.async_configure(flow_id, form)
        assert entry.options == before

    # Plain PostgreSQL is accepted when allowed.
    flow_id = await _open_store_step(hass, entry)
    result = await hass.config_entries.options.async_configure(
        flow_id, _form(plain_database, allow_postgresql=True)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.long_term_store is not None
    assert entry.runtime_data.long_term_store.edition.value == "postgresql"

    # Then TimescaleDB; an empty password keeps the saved one... which belongs to this server too.
    flow_id = await _open_store_step(hass, entry)
    hass.states.async_set("sensor.heart_rate", "61")
    result = await hass.config_entries.options.async_configure(
        flow_id, _form(database, password="", health_entities=["sensor.heart_rate"])
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    saved = entry.options[CONF_STORE]
    assert saved["password"] == PASSWORD
    assert saved["health_entities"] == ["sensor.heart_rate"]
    # The other options stayed as they were.
    assert {k: v for k, v in entry.options.items() if k != CONF_STORE} == before
    store = entry.runtime_data.long_term_store
    assert store is not None
    assert store.edition.value in ("timescaledb_apache", "timescaledb")

    # Off again: an empty host.
    flow_id = await _open_store_step(hass, entry)
    result = await hass.config_entries.options.async_configure(flow_id, _form(database, host=""))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.long_term_store is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_agents_and_chosen_entities_land_in_the_store(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    database: StoreConfig,
    options: dict[str, Any],
) -> None:
    hass.states.async_set("sensor.heart_rate", "58")
    hass.states.async_set("light.desk", "off")
    mock_config_entry = replace_options(
        mock_config_entry,
        {
            **options,
            CONF_STORE: _store_options(
                database, health_entities=["sensor.heart_rate"], state_entities=["light.desk"]
            ),
        },
    )
    entry = await _setup(hass, mock_config_entry)
    for value in ("60", "62", "unavailable", "not a number", "64"):
        hass.states.async_set("sensor.heart_rate", value)
    hass.states.async_set("light.desk", "on", {"brightness": 120})
    await hass.services.async_call(DOMAIN, "start_work", {"source": "laptop"}, blocking=True)
    await hass.services.async_call(DOMAIN, "stop_work", {"source": "laptop"}, blocking=True)
    await hass.services.async_call(
        DOMAIN,
        "award_xp",
        {"agent": "fitness", "event_type": "workout", "amount": 25, "id": "xp-workout-1"},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)  # flushes

    metrics = await _rows(
        database, "SELECT metric, value, site FROM lifeops.health_metric ORDER BY time"
    )
    assert [(r["metric"], r["value"], r["site"]) for r in metrics] == [
        ("sensor.heart_rate", value, "home") for value in (60.0, 62.0, 64.0)
    ]
    states = await _rows(database, "SELECT entity_id, state FROM lifeops.device_state")
    assert [(r["entity_id"], r["state"]) for r in states] == [("light.desk", "on")]
    work = await _rows(database, "SELECT source FROM lifeops.work_session")
    assert [r["source"] for r in work] == ["laptop"]
    xp = await _rows(database, "SELECT amount, event_type FROM lifeops.xp_event")
    assert [(r["amount"], r["event_type"]) for r in xp] == [(25, "workout")]

    # Set up again (a restart): the same work session and XP event are not written twice.
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert len(await _rows(database, "SELECT 1 FROM lifeops.work_session")) == 1
    assert len(await _rows(database, "SELECT 1 FROM lifeops.xp_event")) == 1


async def test_connection_uses_tls_when_offered_and_reads_no_certificate_on_the_loop(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    database: StoreConfig,
    options: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # asyncpg left to itself builds a TLS context on the loop and reads ~/.postgresql's
    # certificate files there (Home Assistant logs it as a blocking call). LifeOps hands it
    # Home Assistant's contexts, made at start: no certificate file is opened during setup.
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a certificate file was read on the event loop")

    for method in ("load_cert_chain", "load_verify_locations", "set_default_verify_paths"):
        monkeypatch.setattr(ssl.SSLContext, method, refuse)
    entry = await _setup(
        hass,
        replace_options(mock_config_entry, {**options, CONF_STORE: _store_options(database)}),
    )
    assert entry.runtime_data.long_term_store.writer.connected
    monkeypatch.undo()  # the test's own connection below may build a context
    sessions = await _rows(
        database,
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
        "WHERE a.application_name = 'lifeops' AND a.datname = current_database() "
        "AND s.pid <> pg_backend_pid()",
    )
    assert sessions and all(row["ssl"] for row in sessions)  # the server offers TLS: used
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_agent_announcements_land_as_activity_events(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    database: StoreConfig,
    options: dict[str, Any],
) -> None:
    entry = await _setup(
        hass,
        replace_options(mock_config_entry, {**options, CONF_STORE: _store_options(database)}),
    )
    await hass.services.async_call(
        DOMAIN, "start_wind_down", {"duration": 30, "scene": False}, blocking=True
    )
    await hass.services.async_call(DOMAIN, "end_wind_down", {"restore": False}, blocking=True)
    await hass.services.async_call(
        DOMAIN,
        "award_xp",
        {"agent": "fitness", "event_type": "workout", "amount": 150, "id": "xp-big"},
        blocking=True,
    )
    await hass.async_block_till_done()
    # The same level announced again (say, after XP from another site was merged): one row.
    hass.bus.async_fire(
        "lifeops_level_up", {"config_entry_id": entry.entry_id, "level": 2, "total_xp": 150}
    )
    # Another site's announcement is not this site's.
    hass.bus.async_fire("lifeops_level_up", {"config_entry_id": "other", "level": 3})
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)  # flushes

    found = await _rows(
        database,
        "SELECT kind, value, source, details, site FROM lifeops.activity_event ORDER BY time",
    )
    kinds = [row["kind"] for row in found]
    assert kinds[:2] == ["wind_down_started", "wind_down_ended"]
    assert kinds.count("level_up") == 1
    assert {row["site"] for row in found} == {"home"}
    assert {row["source"] for row in found} == {DOMAIN}
    started = found[0]
    assert started["value"] == 30.0
    assert json.loads(started["details"])["origin"] == "manual"
    ended = found[1]
    assert json.loads(ended["details"]) == {"early": True, "restored": False}
    level = next(row for row in found if row["kind"] == "level_up")
    assert level["value"] == 2.0


def replace_options(entry: MockConfigEntry, options: dict[str, Any]) -> MockConfigEntry:
    """The same mock entry with other options."""
    return MockConfigEntry(
        domain=entry.domain,
        title=entry.title,
        unique_id=entry.unique_id,
        data=dict(entry.data),
        options=options,
        entry_id=entry.entry_id,
    )


async def test_query_trend_action(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    database: StoreConfig,
    options: dict[str, Any],
    tmp_path: Path,
) -> None:
    # Ten days of heart rate written by a writer (this site's, earlier), rolled up.
    writer = Writer(database, tmp_path / "buffer.sqlite")
    await writer.start(background=False)
    writer.add(
        "health_metric",
        [
            rows.health_metric("home", "sensor.heart_rate", NOW - timedelta(hours=h), 50.0 + h % 2)
            for h in range(1, 241)
        ],
    )
    await writer.flush()
    async with writer.connection() as conn:
        await refresh(conn, writer.edition)  # type: ignore[arg-type]
    await writer.close()

    entry = await _setup(
        hass,
        replace_options(mock_config_entry, {**options, CONF_STORE: _store_options(database)}),
    )
    response = await hass.services.async_call(
        DOMAIN,
        "query_trend",
        {
            "metric": "sensor.heart_rate",
            "end": NOW.isoformat(),
            "days": 10,
            "bucket": "day",
            "aggregation": "max",
        },
        blocking=True,
        return_response=True,
    )
    assert response["metric"] == "sensor.heart_rate"
    assert response["edition"] in ("timescaledb_apache", "timescaledb")
    points = response["points"]
    assert sum(point["count"] for point in points) == 240
    assert {point["value"] for point in points} == {51.0}

    async def call(data: dict[str, Any]) -> None:
        await hass.services.async_call(
            DOMAIN, "query_trend", data, blocking=True, return_response=True
        )

    for data, key in [
        ({"metric": "sensor.nothing"}, "trend_unknown_metric"),
        ({"metric": "sensor.heart_rate", "bucket": "fortnight"}, "invalid_field_bucket"),
        ({"metric": "sensor.heart_rate", "aggregation": "median"}, "invalid_field_aggregation"),
        ({"metric": "sensor.heart_rate", "days": 0}, "invalid_field_days"),
        ({"metric": ""}, "invalid_field_metric"),
        (
            {"metric": "xp", "start": NOW.isoformat(), "end": NOW.isoformat()},
            "trend_invalid_period",
        ),
        ({"metric": "xp", "days": 400, "bucket": "hour"}, "trend_too_many_points"),
    ]:
        with pytest.raises(ServiceValidationError) as err:
            await call(data)
        assert err.value.translation_key == key, data
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_store_down_raises_a_repair_and_health_says_so(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    database: StoreConfig,
    options: dict[str, Any],
    hass_client: ClientSessionGenerator,
) -> None:
    assert await async_setup_component(hass, "system_health", {})
    hass.states.async_set("sensor.heart_rate", "58")
    away = replace(database, port=1)
    entry = await _setup(
        hass,
        replace_options(
            mock_config_entry,
            {
                **options,
                CONF_STORE: _store_options(away, health_entities=["sensor.heart_rate"]),
            },
        ),
    )
    issue_id = f"store_unreachable_{entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "store_unreachable"
    info = await get_system_health_info(hass, DOMAIN)
    assert info == {"long_term_store": "unknown", "connected": "false", "buffered_rows": "0"}

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "query_trend", {"metric": "xp"}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "store_unavailable"

    # Diagnostics carry the store's settings but never its password.
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert PASSWORD not in json.dumps(diagnostics)
    assert diagnostics["entry"]["options"][CONF_STORE]["password"] == "**REDACTED**"

    hass.states.async_set("sensor.heart_rate", "59")
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None

    # Started again with the database there: the buffered reading arrives, health says so.
    entry2 = replace_options(
        mock_config_entry,
        {**options, CONF_STORE: _store_options(database, health_entities=["sensor.heart_rate"])},
    )
    hass.config_entries.async_update_entry(entry, options=entry2.options)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await entry.runtime_data.long_term_store.writer.flush()
    info = await get_system_health_info(hass, DOMAIN)
    assert info["connected"] == "true"
    assert info["long_term_store"] in ("timescaledb_apache", "timescaledb")
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert await hass.config_entries.async_unload(entry.entry_id)
    values = await _rows(database, "SELECT value FROM lifeops.health_metric")
    assert [r["value"] for r in values] == [59.0]


async def test_query_trend_without_a_store(hass: HomeAssistant, init_integration: Any) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "query_trend", {"metric": "xp"}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "store_not_configured"


@pytest.mark.freeze_time(OURA_NOW)
async def test_oura_nights_and_scores_land_once(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    setup_credentials: None,  # noqa: F811 (the fixture imported above)
    oura_entry: MockConfigEntry,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    database: StoreConfig,
    options: dict[str, Any],
) -> None:
    mock_oura_api(aioclient_mock)
    await _setup(hass, oura_entry)
    site = replace_options(mock_config_entry, {**options, CONF_STORE: _store_options(database)})
    await _setup(hass, site)
    assert await hass.config_entries.async_unload(site.entry_id)
    # Again (a restart): the same night and scores are not written twice.
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(site.entry_id)

    account = f"oura:{OURA_ACCOUNT_ID}"
    nights = await _rows(
        database, "SELECT site, time, end_time, duration_s, score FROM lifeops.sleep_session"
    )
    assert [tuple(night) for night in nights] == [
        (
            account,
            datetime(2025, 3, 13, 23, 6, 51, tzinfo=UTC),
            datetime(2025, 3, 14, 5, 31, 27, tzinfo=UTC),
            21000.0,
            67.0,
        )
    ]
    scores = await _rows(
        database, "SELECT site, metric, value FROM lifeops.health_metric ORDER BY metric"
    )
    assert [tuple(score) for score in scores] == [
        (account, "oura_activity_score", 77.0),
        (account, "oura_readiness_score", 70.0),
        (account, "oura_sleep_score", 67.0),
    ]
    # The recorded workouts (workout.json), each once, as minutes with their details.
    workouts = await _rows(
        database,
        "SELECT site, time, kind, value, source, details FROM lifeops.activity_event ORDER BY time",
    )
    assert [(w["site"], w["kind"], w["source"], w["value"]) for w in workouts] == [
        (account, "workout", "oura", 42.0),
        (account, "workout", "oura", 61.0),
        (account, "workout", "oura", 45.0),
    ]
    assert workouts[0]["time"] == datetime(2025, 3, 10, 17, 5, tzinfo=UTC)
    assert json.loads(workouts[2]["details"]) == {
        "activity": "strength_training",
        "calories": 318.5,
        "detected_by": "manual",
        "end": "2025-03-13T07:55:00+01:00",
        "intensity": "hard",
        "label": "Morning gym",
    }


async def test_a_nearly_full_buffer_raises_a_repair(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    database: StoreConfig,
    options: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("custom_components.lifeops.long_term.store.BUFFER_MAX_ROWS", 10)
    hass.states.async_set("sensor.heart_rate", "50")
    away = replace(database, port=1)
    entry = await _setup(
        hass,
        replace_options(
            mock_config_entry,
            {**options, CONF_STORE: _store_options(away, health_entities=["sensor.heart_rate"])},
        ),
    )
    issue_id = f"store_buffer_filling_{entry.entry_id}"
    store = entry.runtime_data.long_term_store
    assert store is not None
    for value in range(51, 58):  # 7 of 10
        hass.states.async_set("sensor.heart_rate", str(value))
    await hass.async_block_till_done()
    await store.writer.flush()
    assert store.writer.status.buffered_rows == 7
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    for value in range(58, 62):  # 11 of 10: one dropped
        hass.states.async_set("sensor.heart_rate", str(value))
    await hass.async_block_till_done()
    await store.writer.flush()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {"site": "Home", "percent": "100", "dropped": "1"}
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_export_and_purge_reach_the_long_term_store(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    database: StoreConfig,
    options: dict[str, Any],
) -> None:
    # The harness's zone, US/Pacific, is a legacy name trixie's PostgreSQL does not know:
    # the schema keeps America/Los_Angeles instead.
    assert hass.config.time_zone == "US/Pacific"
    hass.states.async_set("sensor.heart_rate", "58")
    entry = await _setup(
        hass,
        replace_options(
            mock_config_entry,
            {
                **options,
                CONF_STORE: _store_options(database, health_entities=["sensor.heart_rate"]),
            },
        ),
    )
    for value in ("60", "62"):
        hass.states.async_set("sensor.heart_rate", value)
    await hass.services.async_call(
        DOMAIN,
        "award_xp",
        {"agent": "fitness", "event_type": "workout", "amount": 5, "id": "xp-1"},
        blocking=True,
    )
    await hass.async_block_till_done()
    # Another site's row in the same database, and rollups of both.
    conn = await connect(database)
    try:
        await conn.execute(
            "INSERT INTO lifeops.health_metric (time, site, id, metric, value) "
            "VALUES (now(), 'summer_cabin', gen_random_uuid(), 'sensor.cabin', 1)"
        )
    finally:
        await conn.close()

    response = await hass.services.async_call(
        DOMAIN, "export_data", {}, blocking=True, return_response=True
    )
    assert response is not None
    document = json.loads(Path(response["path"]).read_text())
    stored = document["long_term_store"]
    assert [row["value"] for row in stored["health_metric"]] == [60.0, 62.0]
    assert {row["site"] for row in stored["health_metric"]} == {"home"}
    assert [row["amount"] for row in stored["xp_event"]] == [5]
    assert response["counts"]["long_term_store_health_metric"] == 2
    assert "password" not in json.dumps(document)

    conn = await connect(database)
    try:
        edition = await stored_edition(conn)
        assert edition is not None
        await refresh(conn, edition)
    finally:
        await conn.close()
    assert await _rows(database, "SELECT 1 FROM lifeops.health_metric_hourly WHERE site = 'home'")
    zone = await _rows(database, "SELECT value FROM lifeops.settings WHERE key = 'timezone'")
    assert [row["value"] for row in zone] == ["America/Los_Angeles"]

    response = await hass.services.async_call(
        DOMAIN,
        "purge_data",
        {"confirm": True, "history": False},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["deleted"]["long_term_store"]["health_metric"] == 2
    assert response["deleted"]["long_term_store"]["xp_event"] == 1
    sites = await _rows(database, "SELECT site FROM lifeops.health_metric")
    assert [row["site"] for row in sites] == ["summer_cabin"]
    assert await _rows(database, "SELECT 1 FROM lifeops.xp_event") == []
    assert (
        await _rows(database, "SELECT 1 FROM lifeops.health_metric_hourly WHERE site = 'home'")
        == []
    )
    assert not (
        Path(hass.config.config_dir) / ".storage" / f"lifeops.{entry.entry_id}.buffer.sqlite"
    ).exists()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_purge_with_the_store_away_changes_nothing(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    database: StoreConfig,
    options: dict[str, Any],
) -> None:
    away = replace(database, port=1)  # nothing listens there
    entry = await _setup(
        hass, replace_options(mock_config_entry, {**options, CONF_STORE: _store_options(away)})
    )
    await hass.services.async_call(
        DOMAIN,
        "award_xp",
        {"agent": "fitness", "event_type": "workout", "amount": 5, "id": "xp-1"},
        blocking=True,
    )
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "purge_data", {"confirm": True}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "long_term_store_unreachable"
    assert entry.options[CONF_STORE]["port"] == 1  # the settings were not reset
    state = hass.states.get("sensor.lifeops_gamification_total_xp")
    assert state is not None
    assert state.state == "5"
    assert await hass.config_entries.async_unload(entry.entry_id)
