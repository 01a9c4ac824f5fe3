"""Long-term rows across sites: two real sync services (home and cabin), home's Home Assistant
with sync and the long-term store on the real TimescaleDB.

The cabin's Home Assistant is played by the cabin service's local API, written to with the very
operations the integration makes (`sync_ops`), so no second harness entry is needed: what
crosses the sites is the items, and their shape is the integration's own code.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.long_term.options import CONF_STORE
from custom_components.lifeops.sync.long_term_rows import decode_row, sync_ops
from custom_components.lifeops.timescale import rows
from custom_components.lifeops.timescale.buffer import Row
from custom_components.lifeops.timescale.migrate import StoreConfig, connect
from tests.sync_sites import (  # the two real services and their proxies
    Sites,
    _client,
    _sync_options,
    _until,
    fast_retries,  # noqa: F401
    session,  # noqa: F401
    sites,  # noqa: F401
)

HOME_METRIC = "sensor.home_heart_rate"
CABIN_METRIC = "sensor.cabin_heart_rate"
# A time with microseconds in a zone an hour east: ids derived from it must survive the trip.
CET = timezone(timedelta(hours=1))


@pytest.fixture(autouse=True)
def own_config_dir(hass: HomeAssistant, tmp_path: Path) -> None:
    """A config folder per test: the store's buffer file lives in its .storage."""
    hass.config.config_dir = str(tmp_path)


def _options(options: dict[str, Any], pair: Sites, database: StoreConfig) -> dict[str, Any]:
    store = {
        "host": database.host,
        "port": database.port,
        "database": database.database,
        "user": database.user,
        "password": database.password,
        "allow_postgresql": database.allow_postgresql,
        "health_entities": [HOME_METRIC],
        "state_entities": [],
        "raw_days": 90,
        "rollup_days": 730,
    }
    return {**options, **_sync_options(pair.home.url), CONF_STORE: store}


def _cabin_rows(now: datetime) -> dict[str, list[Row]]:
    start = now.astimezone(CET).replace(microsecond=123_456) - timedelta(hours=30)
    return {
        "health_metric": [
            rows.health_metric("cabin", CABIN_METRIC, start + timedelta(hours=h), 60.0 + h % 3)
            for h in range(24)
        ],
        "sleep_session": [
            rows.sleep_session("cabin", start, start + timedelta(hours=7), score=81, source="oura")
        ],
        "activity_event": [
            rows.workout(
                "cabin", start, start + timedelta(minutes=45), "w-1", source="oura", activity="hike"
            )
        ],
        "screen_time": [
            rows.screen_time("cabin", start, start + timedelta(minutes=20), source="tv")
        ],
        "work_session": [
            rows.work_session("cabin", start, start + timedelta(hours=2), source="laptop", id="s1")
        ],
        "device_state": [rows.device_state("cabin", "light.porch", start, "on")],
    }


async def _fetch(config: StoreConfig, sql: str) -> list[Any]:
    conn = await connect(config)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def _counts(config: StoreConfig) -> dict[str, int]:
    tables = (
        "health_metric",
        "sleep_session",
        "activity_event",
        "screen_time",
        "work_session",
        "device_state",
    )
    sql = " UNION ALL ".join(
        f"SELECT '{t}|' || site AS k, count(*) AS n FROM lifeops.{t} GROUP BY site" for t in tables
    )
    return {row["k"]: row["n"] for row in await _fetch(config, sql)}


async def _caught_up(hass: HomeAssistant, entry: MockConfigEntry, pair: Sites) -> None:
    """Wait until home's feed has read all the home service holds and the writer wrote it."""
    manager = entry.runtime_data.sync
    store = entry.runtime_data.long_term_store
    assert manager is not None
    assert store is not None
    vector = (await _client(pair.session, pair.home).status())["vector"]
    await _until(
        lambda: manager.cursor == vector
        and not manager.queue
        and store.writer.status.buffered_rows == 0,
        timeout=20,
    )
    await store.writer.flush()


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    manager = entry.runtime_data.sync
    assert manager is not None
    await _until(lambda: manager.connected is True)
    return entry


def _entry(
    template: MockConfigEntry, options: dict[str, Any], pair: Sites, database: StoreConfig
) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=template.title,
        unique_id=template.unique_id,
        data=dict(template.data),
        options=_options(options, pair, database),
    )


async def _landed(
    entry: MockConfigEntry, database: StoreConfig, made: dict[str, list[Row]]
) -> dict[str, int]:
    """Wait until the cabin's rows (and home's own metric) are in home's database."""
    expected = {f"{table}|cabin": len(batch) for table, batch in made.items()}
    writer = entry.runtime_data.long_term_store.writer
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        await writer.flush()
        counts = await _counts(database)
        if all(counts.get(k) == n for k, n in expected.items()) and "health_metric|home" in counts:
            break
        assert asyncio.get_running_loop().time() < deadline, counts
        await asyncio.sleep(0.2)
    assert {k: v for k, v in counts.items() if k.endswith("|cabin")} == expected
    assert counts["health_metric|home"] == 1
    return counts


async def _make_rows(hass: HomeAssistant, pair: Sites, now: datetime) -> dict[str, list[Row]]:
    """The cabin's integration hands its rows to its service, exactly as this one does; home's
    own health metric goes to home's store and, through sync, to the cabin."""
    made = _cabin_rows(now)
    cabin = _client(pair.session, pair.cabin)
    await cabin.write([op for table, batch in made.items() for op in sync_ops(table, batch)])
    hass.states.async_set(HOME_METRIC, "55")
    await hass.async_block_till_done()
    return made


async def test_cabin_rows_reach_home_once_and_home_rows_are_not_echoed(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811 (the fixture imported above)
    database: StoreConfig,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    entry = await _setup(hass, _entry(mock_config_entry, options, sites, database))
    made = await _make_rows(hass, sites, now)
    await _landed(entry, database, made)

    # The identical rows: ids, times (to the microsecond) and columns.
    for table, batch in made.items():
        stored = await _fetch(database, f"SELECT * FROM lifeops.{table} WHERE site = 'cabin'")
        assert {tuple(r.values()) for r in stored} == set(batch), table

    # Home's row reached the cabin, once, and nothing of home's came back to home as new.
    cabin = _client(sites.session, sites.cabin)
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        items = await cabin.items("longterm.health_metric")
        home_items = [v for k, v in items.items() if k.startswith("home|")]
        if home_items:
            break
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.2)
    assert len(home_items) == 1
    assert decode_row("health_metric", home_items[0])[4] == 55.0
    await _caught_up(hass, entry, sites)
    assert (await _counts(database))["health_metric|home"] == 1
    # What home's node wrote of long-term rows: its one metric, none of the cabin's rows.
    home_api = _client(sites.session, sites.home)
    cursor: dict[str, int] = {}
    written_at_home: list[str] = []
    while True:
        feed = await home_api.changes(cursor, limit=25)
        written_at_home += [
            c.key
            for c in feed.changes
            if c.origin == "home" and c.collection.startswith("longterm.")
        ]
        if feed.cursor == cursor:
            break
        cursor = feed.cursor
    assert len(written_at_home) == 1
    assert written_at_home[0].startswith("home|")

    # Rollups and trends at home include the cabin's rows.
    await entry.runtime_data.long_term_store.writer.refresh_rollups()
    response = await hass.services.async_call(
        DOMAIN,
        "query_trend",
        {
            "metric": CABIN_METRIC,
            "end": (now + timedelta(hours=1)).isoformat(),
            "days": 2,
            "bucket": "day",
            "aggregation": "max",
        },
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    assert sum(point["count"] for point in response["points"]) == 24
    assert max(point["value"] for point in response["points"]) == 62.0
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_restart_or_a_redelivery_adds_no_duplicate(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811 (the fixture imported above)
    database: StoreConfig,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    entry = await _setup(hass, _entry(mock_config_entry, options, sites, database))
    made = await _make_rows(hass, sites, now)
    before = await _landed(entry, database, made)

    # Home's Home Assistant restarts: its cursor was kept, and nothing is written twice.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await _caught_up(hass, entry, sites)
    assert await _counts(database) == before

    # A new entry for the site (its cursor empty): everything is delivered again, by the feed
    # and by the backfill of a store that starts (both into the same database), kept once.
    assert await hass.config_entries.async_remove(entry.entry_id)
    again = await _setup(hass, _entry(mock_config_entry, options, sites, database))
    assert again.entry_id != entry.entry_id
    manager = again.runtime_data.sync
    assert manager is not None
    await _until(lambda: manager.info()["long_term_backfill"] == "done", timeout=20)
    await _caught_up(hass, again, sites)
    assert await _counts(database) == before

    # The cabin hands the same rows over again (a duplicate delivery): nothing changes.
    cabin = _client(sites.session, sites.cabin)
    await cabin.write([op for table, batch in made.items() for op in sync_ops(table, batch)])
    await _caught_up(hass, again, sites)
    assert await _counts(database) == before
    assert await hass.config_entries.async_unload(again.entry_id)
