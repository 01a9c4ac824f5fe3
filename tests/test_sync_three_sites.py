"""Three sites through Home Assistant: a LifeOps entry each for home, the summer cabin and the
winter cabin, each with its own real sync service process. Both cabins call home and have only
home as a peer, so whatever one cabin does reaches the other through home.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.lifeops.const import CONF_NODE_ID, CONF_SITE, DOMAIN

from .sync_sites import (  # noqa: F401  (fixtures)
    Network,
    _award,
    _client,
    _network,
    _setup,
    _sync_options,
    _teardown,
    _until,
    config_dir_per_test,
    fast_retries,
    session,
)

CABINS = ("summer", "winter")
SITES = ("home", *CABINS)


@pytest.fixture
async def three_sites(
    tmp_path: Path,
    session: ClientSession,  # noqa: F811 (the fixture imported above)
) -> AsyncGenerator[Network]:
    """Home, the summer cabin and the winter cabin; the cabins call home, home calls no one."""
    async with _network(tmp_path, session, CABINS, home_calls_cabins=False, seed=3) as net:
        yield net


def site_entry(site: str, url: str, options: dict[str, Any], **extra: Any) -> MockConfigEntry:
    """A site's LifeOps entry, syncing through the service at ``url``."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=site.capitalize(),
        unique_id=site,
        data={CONF_SITE: site, CONF_NODE_ID: f"{SITES.index(site) + 1:032x}"},
        options={**options, **_sync_options(url), **extra},
    )


async def connect_sites(
    hass: HomeAssistant, net: Network, options: dict[str, Any], **extra: dict[str, Any]
) -> dict[str, MockConfigEntry]:
    """Each site's entry set up with its own service, through its first sync."""
    entries: dict[str, MockConfigEntry] = {}
    for site in SITES:
        entry = site_entry(site, net.services[site].url, options, **extra.get(site, {}))
        await _setup(hass, entry)
        entries[site] = entry
    for entry in entries.values():
        manager = entry.runtime_data.sync
        assert manager is not None
        await _until(lambda manager=manager: manager.connected is True and not manager.queue)
    return entries


def _entity(hass: HomeAssistant, platform: str, entry: MockConfigEntry, suffix: str) -> str:
    unique_id = f"{entry.data[CONF_NODE_ID]}_{suffix}"
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    return entity_id


def _state(hass: HomeAssistant, entity_id: str) -> str | None:
    state = hass.states.get(entity_id)
    return None if state is None else state.state


async def test_a_summer_edit_reaches_the_winter_cabin_through_home(
    hass: HomeAssistant, three_sites: Network, options: dict[str, Any]
) -> None:
    net = three_sites
    entries = await connect_sites(hass, net, options)
    bedtime = {site: _entity(hass, "time", e, "sleep_bedtime") for site, e in entries.items()}
    assert {_state(hass, entity_id) for entity_id in bedtime.values()} == {"22:30:00"}

    # The cabins know only home: neither has the other as a peer.
    for cabin, other in (("summer", "winter"), ("winter", "summer")):
        status = await _client(net.session, net.services[cabin]).status()
        assert other not in {peer["node_id"] for peer in status["peers"]}

    # Bedtime moved at the summer cabin (its time entity): home and winter follow.
    await hass.services.async_call(
        "time", "set_value", {"entity_id": bedtime["summer"], "time": "23:15:00"}, blocking=True
    )
    await _until(lambda: _state(hass, bedtime["winter"]) == "23:15:00")
    assert _state(hass, bedtime["home"]) == "23:15:00"
    assert entries["winter"].options["bedtime"] == "23:15:00"
    # At the winter cabin's service the edit is the summer cabin's own, relayed by home.
    feed = await _client(net.session, net.services["winter"]).changes({})
    (change,) = [c for c in feed.changes if c.field == "bedtime"]
    assert (change.origin, change.value) == ("summer", "23:15:00")

    # The winter cabin is cut off while the summer cabin edits again: home has the edit, the
    # winter cabin not; once the link heals, it arrives within seconds.
    net.partition("winter", True)
    await hass.services.async_call(
        "time", "set_value", {"entity_id": bedtime["summer"], "time": "23:45:00"}, blocking=True
    )
    await _until(lambda: _state(hass, bedtime["home"]) == "23:45:00")
    winter_api = _client(net.session, net.services["winter"])
    assert (await winter_api.records("settings"))["person"]["bedtime"] == "23:15:00"
    assert _state(hass, bedtime["winter"]) == "23:15:00"
    net.partition("winter", False)
    await _until(lambda: _state(hass, bedtime["winter"]) == "23:45:00")
    assert entries["winter"].runtime_data.settings.bedtime.isoformat() == "23:45:00"
    for entry in entries.values():
        await _teardown(hass, entry)


async def test_xp_earned_at_each_cabin_counts_once_at_all_three(
    hass: HomeAssistant, three_sites: Network, options: dict[str, Any]
) -> None:
    net = three_sites
    entries = await connect_sites(hass, net, options)
    total = {
        site: _entity(hass, "sensor", e, "gamification_total_xp") for site, e in entries.items()
    }
    earned = {"home": ("home-walk", 10), "summer": ("summer-swim", 30), "winter": ("ski", 25)}
    for site, (event_id, amount) in earned.items():
        await _award(
            hass,
            config_entry_id=entries[site].entry_id,
            agent="fitness",
            event_type="workout",
            amount=amount,
            id=event_id,
        )
    await _until(lambda: all(_state(hass, total[site]) == "65" for site in SITES), timeout=10)

    # Heard again (awarded again with the same id, every site syncing now): still once each.
    response = await _award(
        hass,
        config_entry_id=entries["summer"].entry_id,
        agent="fitness",
        event_type="workout",
        amount=30,
        id="summer-swim",
    )
    assert response["added"] is False
    for entry in entries.values():
        await hass.services.async_call(
            DOMAIN,
            "sync_now",
            {"config_entry_id": entry.entry_id},
            blocking=True,
            return_response=True,
        )
    for site in SITES:
        items = await _client(net.session, net.services[site]).items("xp")
        assert {key: value["amount"] for key, value in items.items()} == {
            "home-walk": 10,
            "summer-swim": 30,
            "ski": 25,
        }
        assert items["ski"]["origin"] == "winter"
    await asyncio.sleep(0.5)  # a double count would show by now
    assert {_state(hass, total[site]) for site in SITES} == {"65"}
    for entry in entries.values():
        await _teardown(hass, entry)
