"""The dashboard's sync card: with sync set up, the other sites' last sync and waiting changes.

Through the public surface: the home site's entry talks to a real home sync service that syncs
with a real cabin service (the fixtures of test_sync), and the panel's configuration is read
over the websocket API as the frontend reads it.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from .sync_sites import (  # noqa: F401  (fixtures)
    Sites,
    _connected,
    _teardown,
    _until,
    config_dir_per_test,
    fast_retries,
    session,
    sites,
)
from .test_dashboard import _cards, _flat


async def _dashboard_cards(hass_ws_client: WebSocketGenerator, hass: HomeAssistant) -> list[Any]:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "lovelace/config", "url_path": "lifeops"})
    result = await client.receive_json()
    assert result["success"], result
    return _flat(_cards(result["result"]))


async def test_the_sync_card_lists_the_other_sites(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    sites: Sites,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    assert await async_setup_component(hass, "frontend", {})
    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    coordinator = entry.runtime_data.sync.coordinator
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    await _until(lambda: "cabin" in (coordinator.data or {}))
    await hass.async_block_till_done()

    cards = await _dashboard_cards(hass_ws_client, hass)
    [card] = [card for card in cards if card.get("title") == "Sync with the other sites"]
    rows = card["entities"]
    # Last sync, then changes waiting, per site; named after the site, not the device.
    assert [row["name"] for row in rows] == ["Last sync with cabin", "Changes waiting for cabin"]
    for row in rows:
        state = hass.states.get(row["entity"])
        assert state is not None, row
        assert state.state != "unavailable"
    await _teardown(hass, entry)


async def test_without_sync_there_is_no_sync_card(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    mock_config_entry: MockConfigEntry,
) -> None:
    assert await async_setup_component(hass, "frontend", {})
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    cards = await _dashboard_cards(hass_ws_client, hass)
    assert "Sync with the other sites" not in [card.get("title") for card in cards]
