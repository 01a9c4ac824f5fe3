"""Achievement and built-in goal names in Home Assistant's language, beside their stable ids.

Events, the achievements sensor's attributes and the websocket API carry the id (what
automations and stored data use) and the name in the configured language; English is the
default and fills in what a language lacks. Swedish is shipped (translations/sv.json) for these
names, as it is for Assist's sentences.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.core.achievements import ACHIEVEMENTS
from custom_components.lifeops.core.habits import BUILTIN_GOALS
from custom_components.lifeops.texts import achievement_name, habit_name

pytestmark = pytest.mark.freeze_time("2026-11-25T13:00:00+00:00")

TRANSLATIONS = Path(__file__).parents[1] / "custom_components" / "lifeops" / "translations"
SWEDISH = json.loads((TRANSLATIONS / "sv.json").read_text())["common"]
ACHIEVEMENTS_SENSOR = "sensor.lifeops_gamification_achievements"


async def _call(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


@pytest.fixture
async def swedish(hass: HomeAssistant) -> None:
    """Home Assistant set to Swedish before LifeOps starts."""
    await hass.config.async_update(language="sv")
    await hass.async_block_till_done()


async def _gamification(hass: HomeAssistant, ws: WebSocketGenerator) -> dict[str, Any]:
    client = await ws(hass)
    await client.send_json_auto_id({"type": "lifeops/gamification"})
    result: dict[str, Any] = (await client.receive_json())["result"]
    return result


async def test_english_names_with_ids(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    unlocked = async_capture_events(hass, "lifeops_achievement_unlocked")
    awarded = async_capture_events(hass, "lifeops_xp_awarded")

    await _call(hass, "complete_habit", habit="screen_time_under_limit")

    assert [(e.data["achievement"], e.data["name"]) for e in unlocked] == [
        ("first_step", "First step")
    ]
    assert awarded[0].data["habit_id"] == "screen_time_under_limit"
    assert awarded[0].data["habit_name"] == "Screen time under the limit"
    # The logged description is data (stored, synced): the core's English name, as before.
    assert awarded[0].data["description"] == "Screen time under the limit"
    state = hass.states.get(ACHIEVEMENTS_SENSOR)
    assert state is not None
    assert state.attributes["unlocked"][0]["id"] == "first_step"
    assert state.attributes["unlocked"][0]["name"] == "First step"
    result = await _gamification(hass, hass_ws_client)
    assert result["achievements"]["level_5"]["name"] == "Level 5"
    habits = {habit["id"]: habit["name"] for habit in result["habits"]}
    assert habits["work_stopped_by_cutoff"] == "Work stopped by the cut-off"


async def test_swedish_names_in_events_attributes_and_the_websocket_api(
    hass: HomeAssistant,
    swedish: None,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    unlocked = async_capture_events(hass, "lifeops_achievement_unlocked")
    awarded = async_capture_events(hass, "lifeops_xp_awarded")

    await _call(hass, "complete_habit", habit="screen_time_under_limit")
    await _call(hass, "create_habit", name="Meditera")
    await _call(hass, "complete_habit", habit="meditera")

    assert [(e.data["achievement"], e.data["name"]) for e in unlocked] == [
        ("first_step", "Första steget")
    ]
    assert [(e.data["habit_id"], e.data["habit_name"]) for e in awarded] == [
        ("screen_time_under_limit", "Skärmtid under gränsen"),
        ("meditera", "Meditera"),  # the person's own habit keeps the name they gave it
    ]
    state = hass.states.get(ACHIEVEMENTS_SENSOR)
    assert state is not None
    assert state.attributes["unlocked"] == [
        {"id": "first_step", "name": "Första steget", "unlocked_at": "2026-11-25T13:00:00+00:00"}
    ]
    result = await _gamification(hass, hass_ws_client)
    assert {key: value["name"] for key, value in result["achievements"].items()} == {
        achievement.id: SWEDISH[f"achievement_{achievement.id}"] for achievement in ACHIEVEMENTS
    }
    habits = {habit["id"]: habit["name"] for habit in result["habits"]}
    assert habits == {
        **{goal.id: SWEDISH[f"goal_{goal.id}"] for goal in BUILTIN_GOALS},
        "meditera": "Meditera",
    }


async def test_a_broken_streak_is_announced_with_the_goal_s_name(
    hass: HomeAssistant,
    swedish: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    broken = async_capture_events(hass, "lifeops_streak_broken")
    await _call(hass, "complete_habit", habit="screen_time_under_limit")

    freezer.move_to("2026-11-28T07:00:00+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert [(e.data["habit"], e.data["name"]) for e in broken] == [
        ("screen_time_under_limit", "Skärmtid under gränsen")
    ]


async def test_names_follow_a_change_of_language_and_english_fills_in(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    goal = next(goal for goal in BUILTIN_GOALS if goal.id == "in_bed_by_bedtime")
    assert achievement_name(hass, "streak_30") == "30 in a row"
    assert habit_name(hass, goal) == "In bed by bedtime"

    await hass.config.async_update(language="sv")
    await hass.async_block_till_done()
    assert achievement_name(hass, "streak_30") == "30 i rad"
    assert habit_name(hass, goal) == "I säng till läggdags"

    # A language LifeOps has no file for: English.
    await hass.config.async_update(language="de")
    await hass.async_block_till_done()
    assert achievement_name(hass, "streak_30") == "30 in a row"
    # Not an achievement: its id, as the websocket API always answered.
    assert achievement_name(hass, "retired") == "retired"
