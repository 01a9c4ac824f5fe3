"""The LifeOps dashboard: offered in the sidebar with the frontend, generated from the registry."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from homeassistant.components import frontend
from homeassistant.components.frontend import DATA_PANELS
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import dump as yaml_dump
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.lifeops.const import CONF_KIND, CONF_NODE_ID, CONF_SITE, DOMAIN, KIND_OURA
from custom_components.lifeops.core.settings import Settings


def _cards(config: dict[str, Any]) -> list[dict[str, Any]]:
    [view] = config["views"]
    cards: list[dict[str, Any]] = view["cards"]
    return cards


def _flat(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cards, those in stacks included."""
    flat: list[dict[str, Any]] = []
    for card in cards:
        flat.append(card)
        flat.extend(_flat(card.get("cards", [])))
    return flat


def _entity_ids(cards: list[dict[str, Any]]) -> set[str]:
    ids: set[str] = set()
    for card in _flat(cards):
        for row in card.get("entities", []):
            ids.add(row["entity"] if isinstance(row, dict) else row)
        if "entity" in card:
            ids.add(card["entity"])
    return ids


async def test_dashboard_is_offered_and_follows_the_settings(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    options: dict[str, Any],
) -> None:
    assert await async_setup_component(hass, "frontend", {})
    hass.states.async_set("sensor.bed_sleep_score", "81")
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={**options, "sleep_score_entity": "sensor.bed_sleep_score"},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    panel = hass.data[DATA_PANELS]["lifeops"]
    assert panel.sidebar_title == "LifeOps"
    assert panel.require_admin is False

    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "lovelace/config", "url_path": "lifeops"})
    result = await client.receive_json()
    assert result["success"], result
    cards = _flat(_cards(result["result"]))
    titles = [card.get("title") for card in cards]
    assert titles[:2] == ["Tonight", "Last night"]
    assert "Sleep and readiness, 30 days" in titles
    ids = _entity_ids(cards)
    for entity_id in ids:
        assert hass.states.get(entity_id) is not None, entity_id
    assert {
        "sensor.lifeops_sleep_next_bedtime",
        "sensor.lifeops_sleep_next_wind_down",
        "sensor.lifeops_work_life_work_this_week",
        "sensor.lifeops_screen_time_screen_time_today",
        "sensor.lifeops_gamification_total_xp",
        "sensor.lifeops_gamification_level",
        "sensor.lifeops_notifications_pending_notifications",
        "todo.lifeops_gamification_habits_today",
        "sensor.bed_sleep_score",
    } <= ids
    tonight = next(card for card in cards if card.get("title") == "Tonight")
    assert {"entity": "sensor.lifeops_sleep_next_bedtime", "name": "Next bedtime"} in tonight[
        "entities"
    ]
    graph = next(card for card in cards if card["type"] == "statistics-graph")
    assert graph["entities"] == ["sensor.bed_sleep_score"]
    assert graph["days_to_show"] == 30
    gauges = {card["entity"]: card["max"] for card in cards if card["type"] == "gauge"}
    assert gauges == {
        "sensor.lifeops_work_life_work_this_week": 40,
        "sensor.lifeops_screen_time_screen_time_today": 120,
    }

    # The screen-time limit changed: the next load shows it.
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={**mock_config_entry.options, "screen_time_limit_minutes": 90},
    )
    await hass.async_block_till_done()
    await client.send_json_auto_id({"type": "lovelace/config", "url_path": "lifeops"})
    cards = _flat(_cards((await client.receive_json())["result"]))
    gauges = {card["entity"]: card["max"] for card in cards if card["type"] == "gauge"}
    assert gauges["sensor.lifeops_screen_time_screen_time_today"] == 90

    # The last site unloaded: the dashboard goes.
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert "lifeops" not in hass.data[DATA_PANELS]


async def test_another_panel_at_lifeops_is_kept(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "frontend", {})
    # Dashboards of the person's own need a hyphen in their path; another panel could be there.
    frontend.async_register_built_in_panel(
        hass, "iframe", sidebar_title="Mine", frontend_url_path="lifeops"
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id="home",
        data={CONF_SITE: "home", CONF_NODE_ID: "0123456789abcdef0123456789abcdef"},
        options=Settings().as_options(),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.data[DATA_PANELS]["lifeops"].sidebar_title == "Mine"
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hass.data[DATA_PANELS]["lifeops"].sidebar_title == "Mine"


SHIPPED = Path(__file__).resolve().parents[1] / "dashboards" / "lifeops.yaml"
SHIPPED_HEADER = """\
# The LifeOps dashboard as YAML, for a dashboard of your own that you can edit: Settings ->
# Dashboards -> Add dashboard -> New dashboard from scratch -> open it -> pencil -> three dots ->
# Raw configuration editor -> paste this. LifeOps' own /lifeops dashboard is generated and needs
# none of this. Entity ids are those of a first site with an Oura account; change them if yours
# differ. Generated by tests/test_dashboard.py (LIFEOPS_WRITE_DASHBOARD=1 rewrites it).
"""


async def test_shipped_yaml_is_the_generated_dashboard(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    options: dict[str, Any],
) -> None:
    assert await async_setup_component(hass, "frontend", {})
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={
            **options,
            "sleep_score_entity": "sensor.oura_ring_sleep_score",
            "readiness_entity": "sensor.oura_ring_readiness_score",
        },
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "lovelace/config", "url_path": "lifeops"})
    config = (await client.receive_json())["result"]
    text = SHIPPED_HEADER + yaml_dump(config)
    if os.environ.get("LIFEOPS_WRITE_DASHBOARD"):
        SHIPPED.parent.mkdir(exist_ok=True)
        SHIPPED.write_text(text)
    assert SHIPPED.read_text() == text


async def test_the_30_day_graph_shows_oura_history_when_no_entity_is_chosen(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """An Oura account's long-term statistics reach back before its sensors existed."""
    assert await async_setup_component(hass, "frontend", {})
    MockConfigEntry(
        domain=DOMAIN,
        title="Oura",
        unique_id="3aad6e3c-ffc4-52f2-80f9-5452b9ba27a1",
        data={CONF_KIND: KIND_OURA, "auth_implementation": "oura", "token": {}},
    ).add_to_hass(hass)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "lovelace/config", "url_path": "lifeops"})
    cards = _flat(_cards((await client.receive_json())["result"]))
    graph = next(card for card in cards if card["type"] == "statistics-graph")
    account = "3aad6e3c_ffc4_52f2_80f9_5452b9ba27a1"
    assert graph["entities"] == [
        f"lifeops:oura_{account}_sleep_score",
        f"lifeops:oura_{account}_readiness_score",
    ]
