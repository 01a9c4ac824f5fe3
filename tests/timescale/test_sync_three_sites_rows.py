"""Long-term rows across three sites: home, the summer and the winter cabin, each a LifeOps entry
with its own sync service process and its own database on the real TimescaleDB. The cabins
call home only, so a summer row reaches the winter cabin through home.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
import pytest

from custom_components.lifeops.long_term.options import CONF_STORE
from custom_components.lifeops.timescale.migrate import StoreConfig
from tests.sync_sites import (
    Network,
    _client,
    _teardown,
    _until,
    fast_retries,  # noqa: F401
    session,  # noqa: F401
)
from tests.test_sync_three_sites import (
    SITES,
    connect_sites,
    three_sites,  # noqa: F401
)

from .test_sync_rows import _counts, _fetch

SUMMER_METRIC = "sensor.summer_heart_rate"


@pytest.fixture(autouse=True)
def own_config_dir(hass: HomeAssistant, tmp_path: Path) -> None:
    """A config folder per test: the stores' buffer files live in its .storage."""
    hass.config.config_dir = str(tmp_path)


def store_options(database: StoreConfig, health_entities: list[str]) -> dict[str, Any]:
    """A site's long-term store options for one database."""
    return {
        CONF_STORE: {
            "host": database.host,
            "port": database.port,
            "database": database.database,
            "user": database.user,
            "password": database.password,
            "allow_postgresql": database.allow_postgresql,
            "health_entities": health_entities,
            "state_entities": [],
            "raw_days": 90,
            "rollup_days": 730,
        }
    }


async def test_a_summer_row_lands_in_the_winter_database_once_through_home(
    hass: HomeAssistant,
    three_sites: Network,  # noqa: F811 (the fixture imported above)
    site_databases: dict[str, StoreConfig],
    options: dict[str, Any],
) -> None:
    net = three_sites
    entries = await connect_sites(
        hass,
        net,
        options,
        **{
            site: store_options(site_databases[site], [SUMMER_METRIC] if site == "summer" else [])
            for site in SITES
        },
    )
    apis = {site: _client(net.session, net.services[site]) for site in SITES}
    own_before = {site: (await apis[site].status())["vector"].get(site, 0) for site in SITES}

    # A heart rate at the summer cabin: a row in its store, handed to the others through sync.
    hass.states.async_set(SUMMER_METRIC, "58")
    await hass.async_block_till_done()

    async def landed(site: str) -> int:
        store = entries[site].runtime_data.long_term_store
        assert store is not None
        await store.writer.flush()
        return (await _counts(site_databases[site])).get("health_metric|summer", 0)

    deadline = asyncio.get_running_loop().time() + 20
    while await landed("winter") == 0:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.2)

    # Every site is caught up with its service, which holds all three sites' writes.
    vectors = {site: (await apis[site].status())["vector"] for site in SITES}
    for site in SITES:
        manager = entries[site].runtime_data.sync
        assert manager is not None
        await _until(
            lambda manager=manager, site=site: manager.cursor == vectors[site]
            and not manager.queue,
            timeout=20,
        )
    assert vectors["winter"] == vectors["home"]

    # Once in each database, the identical row; no site wrote it again as its own (no echo:
    # neither home nor the winter cabin wrote anything to its service since).
    for site in SITES:
        assert await landed(site) == 1, site
        assert await _counts(site_databases[site]) == {"health_metric|summer": 1}, site
    rows = {
        site: [
            tuple(r.values())
            for r in await _fetch(site_databases[site], "SELECT * FROM lifeops.health_metric")
        ]
        for site in SITES
    }
    assert rows["winter"] == rows["home"] == rows["summer"]
    assert rows["summer"][0][4] == 58.0
    for site in ("home", "winter"):
        assert vectors[site].get(site, 0) == own_before[site], site
    for site in SITES:
        page = await apis[site].items_page("longterm.health_metric")
        assert list(page.origins.values()) == ["summer"], site
    for entry in entries.values():
        await _teardown(hass, entry)
