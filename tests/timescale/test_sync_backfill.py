"""A long-term store set up after sync: the other sites' earlier rows are fetched from the sync
service (they went by in the change feed while there was no store), once, into the real
TimescaleDB.

Home's Home Assistant reaches its service through a gate that records each request, so the
tests see what the backfill asked for; the cabin's Home Assistant is played by its service's
local API, written to with the integration's own operations (`sync_ops`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.lifeops.long_term.options import CONF_STORE
from custom_components.lifeops.sync import long_term_rows
from custom_components.lifeops.sync.long_term_rows import sync_ops
from custom_components.lifeops.timescale.buffer import Row
from custom_components.lifeops.timescale.migrate import StoreConfig
from tests.sync_sites import (
    Gate,
    Sites,
    _client,
    _home_entry,
    _setup,
    _until,
    fast_retries,  # noqa: F401
    home_called,  # noqa: F401
    session,  # noqa: F401
)

from .test_sync_rows import _cabin_rows, _counts

LONGTERM_ITEMS = "/v1/items?collection=longterm."


@pytest.fixture(autouse=True)
def own_config_dir(hass: HomeAssistant, tmp_path: Path) -> None:
    """A config folder per test: the store's buffer file lives in its .storage."""
    hass.config.config_dir = str(tmp_path)


@pytest.fixture
async def gate(home_called: Sites) -> Any:  # noqa: F811 (the fixture imported above)
    """Home's Home Assistant's way to its service."""
    gate = Gate(home_called.session, home_called.home.url)
    await gate.start()
    yield gate
    await gate.stop()


async def _home_without_store(
    hass: HomeAssistant, template: MockConfigEntry, options: dict[str, Any], gate: Gate
) -> MockConfigEntry:
    entry = _home_entry(template, options, gate.url)
    await _setup(hass, entry)
    return entry


async def _cabin_writes(pair: Sites) -> dict[str, list[Row]]:
    """The cabin's rows, handed to its service as the integration hands them."""
    made = _cabin_rows(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    cabin = _client(pair.session, pair.cabin)
    await cabin.write([op for table, batch in made.items() for op in sync_ops(table, batch)])
    return made


async def _caught_up(entry: MockConfigEntry, pair: Sites) -> None:
    """Home's feed has read everything home's service holds (the cabin's rows included)."""
    manager = entry.runtime_data.sync
    assert manager is not None

    async def vector() -> dict[str, int]:
        return dict((await _client(pair.session, pair.home).status())["vector"])

    deadline = asyncio.get_running_loop().time() + 20
    while (want := await vector()).get("cabin", 0) == 0:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    await _until(lambda: manager.cursor == want, timeout=20)


async def _set_up_store(hass: HomeAssistant, entry: MockConfigEntry, database: StoreConfig) -> None:
    """The person sets up the long-term store in the options flow."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "long_term_store"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "host": database.host,
            "port": database.port,
            "database": database.database,
            "user": database.user,
            "password": database.password,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.long_term_store is not None


async def _backfilled(entry: MockConfigEntry) -> None:
    manager = entry.runtime_data.sync
    assert manager is not None
    await _until(lambda: manager.info()["long_term_backfill"] == "done", timeout=20)
    store = entry.runtime_data.long_term_store
    assert store is not None
    await store.writer.flush()


def _expected(made: dict[str, list[Row]]) -> dict[str, int]:
    return {f"{table}|cabin": len(batch) for table, batch in made.items()}


async def test_a_store_set_up_later_gets_the_other_sites_rows_once(
    hass: HomeAssistant,
    home_called: Sites,  # noqa: F811
    gate: Gate,
    database: StoreConfig,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    pair = home_called
    entry = await _home_without_store(hass, mock_config_entry, options, gate)
    made = await _cabin_writes(pair)
    await _caught_up(entry, pair)  # the feed went past the cabin's rows: no store to keep them
    assert entry.runtime_data.sync.info()["long_term_backfill"] is None
    assert not any(path.startswith(LONGTERM_ITEMS) for path in gate.paths)

    await _set_up_store(hass, entry, database)
    await _backfilled(entry)
    assert await _counts(database) == _expected(made)
    stored = entry.runtime_data.store.collect()["sync"]["long_term_backfill"]
    assert stored["node"] == "home"
    assert set(stored["tables"]) == long_term_rows.SYNCED_TABLES

    # Restarts: the store starts again, nothing is fetched again, nothing doubles.
    for _ in range(2):
        fetched = len(gate.paths)
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        await _backfilled(entry)
        assert not any(path.startswith(LONGTERM_ITEMS) for path in gate.paths[fetched:])
        assert await _counts(database) == _expected(made)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_backfill_cut_short_goes_on_where_it_was_after_a_restart(
    hass: HomeAssistant,
    home_called: Sites,  # noqa: F811
    gate: Gate,
    database: StoreConfig,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(long_term_rows, "BACKFILL_PAGE", 5)
    pair = home_called
    entry = await _home_without_store(hass, mock_config_entry, options, gate)
    made = await _cabin_writes(pair)
    await _caught_up(entry, pair)

    # Home's service goes away just after answering the first page of health metrics (24 rows,
    # pages of 5); Home Assistant stops while the backfill waits for it.
    gate.close_after = lambda path: path.startswith(LONGTERM_ITEMS + "health_metric")
    await _set_up_store(hass, entry, database)
    await _until(lambda: gate.closed)
    manager = entry.runtime_data.sync
    assert manager is not None
    await _until(lambda: manager.info()["long_term_backfill"] == "waiting")
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert (await _counts(database))["health_metric|cabin"] == 5

    # Started again with the service back: the backfill goes on after that page.
    gate.close_after = None
    gate.closed = False
    fetched = len(gate.paths)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await _backfilled(entry)
    asked = [path for path in gate.paths[fetched:] if path.startswith(LONGTERM_ITEMS)]
    assert asked[0].startswith(LONGTERM_ITEMS + "health_metric&")
    assert "after=cabin%7C" in asked[0]
    assert [path for path in asked if "health_metric" in path][1:] != []
    assert not any("activity_event" in path or "device_state" in path for path in asked)
    assert await _counts(database) == _expected(made)
    assert CONF_STORE in entry.options
    assert await hass.config_entries.async_unload(entry.entry_id)
