"""Gamification through Home Assistant: habits, XP, streaks, achievements, the to-do list."""

from __future__ import annotations

import json
from pathlib import Path
import threading
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.core.gamification import compute as real_compute
from custom_components.lifeops.core.habits import Habit
from custom_components.lifeops.core.settings import Settings
from custom_components.lifeops.core.xp import read_events as real_read_events

# Wednesday 25 November 2026, 14:00 in Stockholm: a quiet afternoon.
pytestmark = pytest.mark.freeze_time("2026-11-25T13:00:00+00:00")

STRINGS = json.loads(
    (Path(__file__).parents[1] / "custom_components" / "lifeops" / "strings.json").read_text()
)
TODO = "todo.lifeops_gamification_habits_today"
TOTAL_XP = "sensor.lifeops_gamification_total_xp"
XP_TODAY = "sensor.lifeops_gamification_xp_today"
LEVEL = "sensor.lifeops_gamification_level"
ACHIEVEMENTS = "sensor.lifeops_gamification_achievements"
MEDITATE_STREAK = "sensor.lifeops_gamification_meditate_streak"
SCREEN_STREAK = "sensor.lifeops_gamification_screen_time_under_the_limit_streak"
WORK_STREAK = "sensor.lifeops_gamification_work_stopped_by_the_cut_off_streak"
WIND_DOWN_STREAK = "sensor.lifeops_gamification_wind_down_honoured_streak"
MIDNIGHT = "2026-11-25T23:00:00+00:00"  # the night from Wednesday to Thursday, local


@pytest.fixture
async def stockholm(hass: HomeAssistant) -> None:
    await hass.config.async_set_time_zone("Europe/Stockholm")


async def _call(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


async def _todo_items(hass: HomeAssistant) -> list[dict[str, Any]]:
    response = await hass.services.async_call(
        "todo", "get_items", {"entity_id": TODO}, blocking=True, return_response=True
    )
    items: list[dict[str, Any]] = response[TODO]["items"]  # type: ignore[index, assignment]
    return items


async def _tick(hass: HomeAssistant) -> None:
    """Let the timers due by the frozen clock's time run."""
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


@pytest.fixture
async def meditate(hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry) -> None:
    """A daily habit worth 25 XP."""
    await _call(hass, "create_habit", name="Meditate", xp=25)


async def test_complete_habit_awards_xp_and_updates_sensors_and_todo(
    hass: HomeAssistant, meditate: None
) -> None:
    awarded = async_capture_events(hass, "lifeops_xp_awarded")
    unlocked = async_capture_events(hass, "lifeops_achievement_unlocked")
    assert _state(hass, MEDITATE_STREAK) == "0"
    assert _state(hass, TODO) == "1"
    assert await _todo_items(hass) == [
        {"summary": "Meditate", "uid": "meditate", "status": "needs_action"}
    ]

    response = await _call(hass, "complete_habit", habit="meditate")

    assert response["added"] is True
    assert response["xp"] == 25
    assert response["streak"] == 1
    assert _state(hass, TOTAL_XP) == "25"
    assert _state(hass, XP_TODAY) == "25"
    assert _state(hass, MEDITATE_STREAK) == "1"
    streak = hass.states.get(MEDITATE_STREAK)
    assert streak is not None
    assert streak.attributes["best"] == 1
    assert streak.attributes["last_done"] == "2026-11-25"
    assert _state(hass, TODO) == "0"
    assert (await _todo_items(hass))[0]["status"] == "completed"
    assert len(awarded) == 1
    assert awarded[0].data["amount"] == 25
    assert awarded[0].data["habit_id"] == "meditate"
    assert awarded[0].data["origin"] == "home"
    assert [event.data["achievement"] for event in unlocked] == ["first_step"]


async def test_the_same_id_twice_counts_once(hass: HomeAssistant, meditate: None) -> None:
    awarded = async_capture_events(hass, "lifeops_xp_awarded")
    first = await _call(hass, "complete_habit", habit="meditate", id="morning-1")
    again = await _call(hass, "complete_habit", habit="meditate", id="morning-1")
    assert (first["added"], again["added"]) == (True, False)
    assert again["xp"] == 0
    assert again["id"] == "morning-1"

    award = {"agent": "fitness", "event_type": "long_walk", "amount": 40, "id": "walk-7"}
    assert (await _call(hass, "award_xp", **award))["added"] is True
    assert (await _call(hass, "award_xp", **award))["added"] is False

    assert _state(hass, TOTAL_XP) == "65"
    assert len(awarded) == 2


async def test_ticking_the_todo_item_completes_the_habit_once(
    hass: HomeAssistant, meditate: None, init_integration: MockConfigEntry
) -> None:
    await hass.services.async_call(
        "todo",
        "update_item",
        {"entity_id": TODO, "item": "Meditate", "status": "completed"},
        blocking=True,
    )
    assert _state(hass, TOTAL_XP) == "25"
    assert _state(hass, MEDITATE_STREAK) == "1"
    assert "meditate@2026-11-25" in init_integration.runtime_data.gamification.log

    # Unticking is refused: XP, once earned, stays.
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "todo",
            "update_item",
            {"entity_id": TODO, "item": "meditate", "status": "needs_action"},
            blocking=True,
        )
    assert err.value.translation_key == "todo_uncomplete_not_supported"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "todo",
            "update_item",
            {"entity_id": TODO, "item": "meditate", "rename": "Sit still"},
            blocking=True,
        )
    assert err.value.translation_key == "todo_rename_not_supported"
    # Items come from habits, never from the list.
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "todo", "add_item", {"entity_id": TODO, "item": "Juggle"}, blocking=True
        )
    assert _state(hass, TOTAL_XP) == "25"


async def test_late_logging_within_grace_keeps_the_streak(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    broken = async_capture_events(hass, "lifeops_streak_broken")
    await _call(hass, "create_habit", name="Meditate", grace_days=1)
    await _call(hass, "create_habit", name="Stretch")
    await _call(hass, "complete_habit", habit="meditate")
    await _call(hass, "complete_habit", habit="stretch")

    # Thursday passes with nothing logged; Friday morning both are a day behind.
    freezer.move_to("2026-11-27T07:00:00+00:00")
    await _tick(hass)
    # One grace day: Meditate's streak holds; Stretch's (no grace) is broken, and announced.
    assert _state(hass, MEDITATE_STREAK) == "1"
    assert _state(hass, "sensor.lifeops_gamification_stretch_streak") == "0"
    assert [(e.data["habit"], e.data["length"]) for e in broken] == [("stretch", 1)]

    # Thursday's sessions, logged late: they count on Thursday.
    late = "2026-11-26T20:00:00"  # a wall time in Stockholm
    await _call(hass, "complete_habit", habit="meditate", time=late)
    await _call(hass, "complete_habit", habit="stretch", time=late)
    assert _state(hass, MEDITATE_STREAK) == "2"
    assert _state(hass, "sensor.lifeops_gamification_stretch_streak") == "2"
    await _call(hass, "complete_habit", habit="meditate")
    assert _state(hass, MEDITATE_STREAK) == "3"
    # XP today holds what was done today, not what was logged today.
    assert _state(hass, XP_TODAY) == "10"
    assert len(broken) == 1


async def test_create_and_remove_habit_add_and_remove_its_streak_sensor(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    registry = er.async_get(hass)
    created = await _call(
        hass, "create_habit", name="Read a book", schedule="weekly", times_per_week=3, xp=15
    )
    assert created == {
        "id": "read_a_book",
        "name": "Read a book",
        "schedule": "weekly",
        "times_per_week": 3,
        "xp": 15,
        "grace_days": 0,
    }
    sensor = "sensor.lifeops_gamification_read_a_book_streak"
    assert _state(hass, sensor) == "0"
    assert hass.states.get(sensor).attributes["schedule"] == "weekly"  # type: ignore[union-attr]
    assert registry.async_get(sensor) is not None

    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "create_habit", name="read a book!")
    assert err.value.translation_key == "duplicate_habit"

    assert await _call(hass, "remove_habit", habit="read_a_book") == {"removed": "read_a_book"}
    await hass.async_block_till_done()
    assert hass.states.get(sensor) is None
    assert registry.async_get(sensor) is None
    assert "read_a_book" not in init_integration.runtime_data.gamification.habits

    for habit, key in (("wind_down_honoured", "builtin_habit"), ("juggle", "unknown_habit")):
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, "remove_habit", habit=habit)
        assert err.value.translation_key == key
        assert err.value.translation_placeholders["value"] == habit
    assert hass.states.get(WIND_DOWN_STREAK) is not None


async def test_award_xp_fires_xp_awarded_and_a_level_up_at_100(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    awarded = async_capture_events(hass, "lifeops_xp_awarded")
    level_ups = async_capture_events(hass, "lifeops_level_up")
    first = await _call(
        hass,
        "award_xp",
        agent="home_scenes",
        event_type="cleaned_the_garage",
        amount=60,
        description="Garage",
    )
    assert first["level"] == 1
    assert level_ups == []
    assert _state(hass, LEVEL) == "1"

    second = await _call(hass, "award_xp", agent="fitness", event_type="hike", amount=50)

    assert second["level"] == 2
    assert [event.data["event_type"] for event in awarded] == ["cleaned_the_garage", "hike"]
    assert awarded[0].data["description"] == "Garage"
    assert awarded[1].data["total_xp"] == 110
    assert [(event.data["level"], event.data["total_xp"]) for event in level_ups] == [(2, 110)]
    level = hass.states.get(LEVEL)
    assert level is not None
    assert level.state == "2"
    assert level.attributes["xp_to_next_level"] == 190  # level 3 at 300
    assert level.attributes["progress"] == 5.0
    # Awards earn XP but no achievement that counts habits.
    assert _state(hass, ACHIEVEMENTS) == "0"

    # An award that crosses several levels (2 -> 5 at 1,000 XP) announces the last one, once.
    await _call(hass, "award_xp", agent="fitness", event_type="marathon", amount=1000)
    assert [(e.data["previous_level"], e.data["level"]) for e in level_ups] == [(1, 2), (2, 5)]
    assert level_ups[-1].data["total_xp"] == 1110


async def test_achievements_unlock_once_with_progress_towards_the_rest(
    hass: HomeAssistant, meditate: None
) -> None:
    unlocked = async_capture_events(hass, "lifeops_achievement_unlocked")
    await _call(hass, "complete_habit", habit="meditate")
    await _call(hass, "complete_habit", habit="meditate", id="second")
    await _call(hass, "award_xp", agent="gamification", event_type="bonus", amount=1000)

    assert [event.data["achievement"] for event in unlocked] == ["first_step", "level_5"]
    achievements = hass.states.get(ACHIEVEMENTS)
    assert achievements is not None
    assert achievements.state == "2"
    assert [item["id"] for item in achievements.attributes["unlocked"]] == [
        "first_step",
        "level_5",
    ]
    progress = achievements.attributes["progress"]
    assert "first_step" not in progress
    assert progress["level_10"] == {"current": 5, "target": 10}
    assert progress["streak_30"] == {"current": 1, "target": 30}


async def test_a_restart_keeps_xp_and_streaks_and_announces_nothing_again(
    hass: HomeAssistant, meditate: None, init_integration: MockConfigEntry
) -> None:
    await _call(hass, "complete_habit", habit="meditate")
    await _call(hass, "award_xp", agent="sleep", event_type="early_night", amount=90)
    assert _state(hass, LEVEL) == "2"

    events = [
        async_capture_events(hass, name)
        for name in (
            "lifeops_xp_awarded",
            "lifeops_level_up",
            "lifeops_achievement_unlocked",
            "lifeops_streak_broken",
        )
    ]
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()

    assert init_integration.state is ConfigEntryState.LOADED
    assert _state(hass, TOTAL_XP) == "115"
    assert _state(hass, LEVEL) == "2"
    assert _state(hass, MEDITATE_STREAK) == "1"
    assert _state(hass, ACHIEVEMENTS) == "1"
    assert [len(captured) for captured in events] == [0, 0, 0, 0]
    # The ids are remembered across the restart too.
    again = await _call(hass, "award_xp", agent="sleep", event_type="x", amount=5, id="a")
    assert (await _call(hass, "award_xp", agent="sleep", event_type="x", amount=5, id="a"))[
        "added"
    ] is False
    assert again["added"] is True


async def test_xp_today_rolls_over_at_local_midnight(
    hass: HomeAssistant, meditate: None, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2026-11-25T22:30:00+00:00")  # 23:30 local
    await _call(hass, "complete_habit", habit="meditate")
    assert _state(hass, XP_TODAY) == "25"

    freezer.move_to("2026-11-25T22:59:59+00:00")
    await _tick(hass)
    assert _state(hass, XP_TODAY) == "25"

    freezer.move_to(MIDNIGHT)
    await _tick(hass)
    assert _state(hass, XP_TODAY) == "0"
    assert _state(hass, TOTAL_XP) == "25"
    assert _state(hass, MEDITATE_STREAK) == "1"  # Thursday is still to be done
    assert (await _todo_items(hass))[0]["status"] == "needs_action"


async def test_builtin_goals_are_judged_at_midnight_for_the_day_that_ended(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    hass.config_entries.async_update_entry(
        init_integration,
        options={
            **init_integration.options,
            "screen_time_sources": ["binary_sensor.phone"],
            "work_sources": ["binary_sensor.work_laptop"],
        },
    )
    await hass.async_block_till_done()
    awarded = async_capture_events(hass, "lifeops_xp_awarded")
    broken = async_capture_events(hass, "lifeops_streak_broken")
    # The first start judged nothing: Tuesday went by before LifeOps ran.
    assert _state(hass, SCREEN_STREAK) == "0"
    await _call(hass, "log_screen_time", minutes=30, category="phone")
    await _call(hass, "start_work", source="desk")
    freezer.move_to("2026-11-25T16:00:00+00:00")  # 17:00 local, before the 18:00 cut-off
    await _call(hass, "stop_work")

    freezer.move_to(MIDNIGHT)
    await _tick(hass)

    assert sorted(event.data["id"] for event in awarded) == [
        "screen_time_under_limit@2026-11-25",
        "work_stopped_by_cutoff@2026-11-25",
    ]
    assert all(event.data["event_type"] == "goal_met" for event in awarded)
    assert _state(hass, SCREEN_STREAK) == "1"
    assert _state(hass, WORK_STREAK) == "1"
    assert _state(hass, TOTAL_XP) == "25"
    assert _state(hass, XP_TODAY) == "0"  # Wednesday's XP, judged on Thursday

    # Thursday: three hours of screens, and work until 19:00; a restart judges nothing twice.
    freezer.move_to("2026-11-26T12:00:00+00:00")
    await _call(hass, "log_screen_time", minutes=180, category="tv")
    await _call(hass, "start_work", source="desk")
    freezer.move_to("2026-11-26T18:00:00+00:00")
    await _call(hass, "stop_work")
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert len(awarded) == 2
    freezer.move_to("2026-11-26T23:00:00+00:00")
    await _tick(hass)

    assert len(awarded) == 2
    assert _state(hass, TOTAL_XP) == "25"
    assert _state(hass, SCREEN_STREAK) == "0"
    assert _state(hass, WORK_STREAK) == "0"
    assert sorted(event.data["habit"] for event in broken) == [
        "screen_time_under_limit",
        "work_stopped_by_cutoff",
    ]

    # Friday: no screens, no work. Saturday's midnight starts new runs.
    freezer.move_to("2026-11-27T23:00:00+00:00")
    await _tick(hass)
    assert _state(hass, SCREEN_STREAK) == "1"
    assert _state(hass, WORK_STREAK) == "1"
    assert len(awarded) == 4
    # Saturday is no work day: the work goal is not judged, and the streak waits for Monday.
    freezer.move_to("2026-11-29T23:00:00+00:00")
    await _tick(hass)
    assert _state(hass, WORK_STREAK) == "1"
    assert _state(hass, SCREEN_STREAK) == "3"
    assert len(awarded) == 6


async def test_an_agent_switched_off_has_its_goals_left_unjudged(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": "switch.lifeops_work_life_agent_enabled"},
        blocking=True,
    )
    await _call(hass, "log_screen_time", minutes=30, category="phone")
    await _call(hass, "start_work", source="desk")
    freezer.move_to("2026-11-25T14:00:00+00:00")
    await _call(hass, "stop_work")
    freezer.move_to(MIDNIGHT)
    await _tick(hass)
    assert _state(hass, SCREEN_STREAK) == "1"
    assert _state(hass, WORK_STREAK) == "0"


@pytest.mark.parametrize(("end_early", "honoured"), [(False, "1"), (True, "0")])
async def test_wind_down_honoured_is_judged_at_bedtime(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    end_early: bool,
    honoured: str,
) -> None:
    freezer.move_to("2026-11-25T20:45:00+00:00")  # 21:45 local: wind-down starts
    await _tick(hass)
    assert _state(hass, "binary_sensor.lifeops_sleep_wind_down_active") == "on"
    if end_early:
        await _call(hass, "end_wind_down")
    freezer.move_to("2026-11-25T21:30:01+00:00")  # bedtime
    await _tick(hass)

    assert _state(hass, WIND_DOWN_STREAK) == honoured
    log = init_integration.runtime_data.gamification.log
    assert ("wind_down_honoured@2026-11-25" in log) is not end_early


async def test_a_builtin_goal_completed_by_hand_counts_once_a_day(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    """Without an in-bed sensor chosen, an automation reports in bed by bedtime."""
    first = await _call(hass, "complete_habit", habit="in_bed_by_bedtime")
    again = await _call(hass, "complete_habit", habit="in_bed_by_bedtime")
    assert first["id"] == "in_bed_by_bedtime@2026-11-25"
    assert (first["added"], again["added"]) == (True, False)
    assert _state(hass, "sensor.lifeops_gamification_in_bed_by_bedtime_streak") == "1"
    assert _state(hass, TOTAL_XP) == "20"


AWARD = {"agent": "sleep", "event_type": "walk", "amount": 5}


@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        ("complete_habit", {}, "invalid_field_habit"),
        ("complete_habit", {"habit": "juggle"}, "unknown_habit"),
        ("complete_habit", {"habit": "meditate", "time": "yesterday"}, "invalid_field_time"),
        ("complete_habit", {"habit": "meditate", "time": "2030-01-01T00:00:00"}, "time_in_future"),
        ("complete_habit", {"habit": "meditate", "time": "2020-01-01T00:00:00"}, "time_too_old"),
        ("complete_habit", {"habit": "meditate", "id": "a b"}, "invalid_field_id"),
        ("complete_habit", {"habit": "meditate", "colour": 1}, "unknown_field"),
        ("award_xp", {**AWARD, "agent": "cat"}, "invalid_field_agent"),
        ("award_xp", {**AWARD, "event_type": "X!"}, "invalid_field_event_type"),
        ("award_xp", {**AWARD, "amount": 0}, "invalid_field_amount"),
        ("award_xp", {**AWARD, "amount": 2.5}, "invalid_field_amount"),
        ("award_xp", {**AWARD, "description": "d" * 300}, "invalid_field_description"),
        ("award_xp", {**AWARD, "description": "lone \ud800"}, "invalid_field_description"),
        ("create_habit", {"name": "Re\udfffad"}, "invalid_field_name"),
        ("award_xp", {**AWARD, "time": "2026-11-25T14:00:00+99:00"}, "invalid_field_time"),
        ("create_habit", {}, "invalid_field_name"),
        ("create_habit", {"name": "!!!"}, "invalid_field_name"),
        ("create_habit", {"name": "Meditate"}, "duplicate_habit"),
        ("create_habit", {"name": "In bed by bedtime"}, "duplicate_habit"),
        ("create_habit", {"name": "Run", "schedule": "hourly"}, "invalid_field_schedule"),
        ("create_habit", {"name": "Run", "schedule": "weekly"}, "invalid_field_times_per_week"),
        ("create_habit", {"name": "Run", "xp": 5000}, "invalid_field_xp"),
        ("create_habit", {"name": "Run", "grace_days": -1}, "invalid_field_grace_days"),
        ("remove_habit", {}, "invalid_field_habit"),
        ("remove_habit", {"habit": "screen_time_under_limit"}, "builtin_habit"),
    ],
)  # fmt: skip
async def test_bad_input_is_refused_with_a_translated_error_naming_the_field(
    hass: HomeAssistant,
    meditate: None,
    init_integration: MockConfigEntry,
    service: str,
    data: dict[str, Any],
    key: str,
) -> None:
    controller = init_integration.runtime_data.gamification
    before = controller.as_dict()
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, service, data, blocking=True)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert key in STRINGS["exceptions"]
    assert controller.as_dict() == before


PAYLOAD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    # Values that are right for some field, so that some calls get through.
    st.sampled_from(
        [
            "meditate", "in_bed_by_bedtime", "sleep", "fitness", "daily", "weekly", "walk",
            "2026-11-25T10:00:00", "2026-11-25T14:00:00+01:00", "9999-12-31T23:59:59-12:00",
            "0001-01-01T00:00:00+14:00", 1, 3, 10, 10**400, "1e400", "Read",
        ]
    ),
)  # fmt: skip
VALID: dict[str, dict[str, Any]] = {
    "complete_habit": {"habit": "in_bed_by_bedtime"},
    "award_xp": {"agent": "sleep", "event_type": "walk", "amount": 10},
    "create_habit": {"name": "Read"},
    "remove_habit": {"habit": "read"},
}
FIELDS: dict[str, list[str]] = {
    "complete_habit": ["habit", "time", "id"],
    "award_xp": ["agent", "event_type", "amount", "description", "time", "id"],
    "create_habit": ["name", "schedule", "times_per_week", "xp", "grace_days"],
    "remove_habit": ["habit"],
}


async def test_random_payloads_only_ever_fail_validation(
    hass: HomeAssistant, meditate: None, init_integration: MockConfigEntry
) -> None:
    """Hypothesis throws random payloads at the gamification actions: clean error or success."""
    services = ["complete_habit", "award_xp", "create_habit", "remove_habit"]
    controller = init_integration.runtime_data.gamification
    seen: list[tuple[str, dict[str, Any]]] = []

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        service = data.draw(st.sampled_from(services))
        # Random values for the action's own fields (and, rarely, another), over a valid payload
        # or over nothing: most calls are refused, some get through.
        fields = st.sampled_from([*FIELDS[service], *FIELDS[service], "config_entry_id", "bogus"])
        extra = data.draw(st.dictionaries(fields, PAYLOAD_VALUES, max_size=3))
        base = VALID[service] if data.draw(st.booleans()) else {}
        seen.append((service, {**base, **extra}))

    run()
    seen.extend((service, dict(VALID[service])) for service in services)  # these get through
    refused = 0
    for service, payload in seen:
        before = controller.as_dict()
        error: ServiceValidationError | None = None
        try:
            await hass.services.async_call(DOMAIN, service, payload, blocking=True)
        except ServiceValidationError as err:
            error = err
        if error is None:
            continue
        refused += 1
        assert error.translation_domain == DOMAIN
        assert error.translation_key in STRINGS["exceptions"], (service, payload)
        assert controller.as_dict() == before, (service, payload)
    assert len(seen) // 2 < refused < len(seen)
    # Whatever got through left the figures consistent with the log.
    assert controller.figures.total_xp == sum(event.amount for event in controller.log)


async def _open_habits_step(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert "habits" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "habits"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "habits"
    return str(result["flow_id"])


async def test_options_flow_adds_and_removes_habits(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    controller = init_integration.runtime_data.gamification
    options_before = dict(init_integration.options)

    flow_id = await _open_habits_step(hass, init_integration)
    result = await hass.config_entries.options.async_configure(
        flow_id, {"name": "Wind-down honoured", "schedule": "daily", "xp": 10, "grace_days": 0}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"name": "duplicate_habit"}
    result = await hass.config_entries.options.async_configure(
        flow_id, {"name": "Re\ud800ad", "schedule": "daily", "xp": 10, "grace_days": 0}
    )
    assert result["errors"] == {"name": "name_invalid"}  # Home Assistant could not store it
    assert "name_invalid" in STRINGS["options"]["error"]
    result = await hass.config_entries.options.async_configure(
        flow_id,
        {"name": "Read", "schedule": "weekly", "times_per_week": 3, "xp": 15, "grace_days": 1},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    habit = controller.habits["read"]
    assert (habit.schedule, habit.times_per_week, habit.xp, habit.grace_days) == (
        "weekly",
        3,
        15,
        1,
    )
    assert _state(hass, "sensor.lifeops_gamification_read_streak") == "0"
    assert dict(init_integration.options) == options_before
    # A habit from the options is one like any other: the action completes it.
    assert (await _call(hass, "complete_habit", habit="read"))["xp"] == 15

    await _call(hass, "create_habit", name="Meditate")
    flow_id = await _open_habits_step(hass, init_integration)
    result = await hass.config_entries.options.async_configure(
        flow_id, {"remove_habits": ["read", "meditate"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert controller.habits == {}
    assert hass.states.get("sensor.lifeops_gamification_read_streak") is None
    assert _state(hass, TOTAL_XP) == "15"  # the XP stays in the log


async def test_options_flow_habits_step_needs_the_entry_loaded(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "habits"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_loaded"


@pytest.mark.freeze_time("2026-10-24T21:30:00+00:00")  # 23:30 on the eve of the DST change
async def test_midnight_across_a_dst_night(
    hass: HomeAssistant, meditate: None, freezer: FrozenDateTimeFactory
) -> None:
    await _call(hass, "complete_habit", habit="meditate")
    assert _state(hass, XP_TODAY) == "25"
    freezer.move_to("2026-10-24T22:00:00+00:00")  # midnight, summer time
    await _tick(hass)
    assert _state(hass, XP_TODAY) == "0"

    # Sunday has 25 hours; at 23:30 winter time it is still Sunday.
    freezer.move_to("2026-10-25T22:30:00+00:00")
    await _tick(hass)
    await _call(hass, "complete_habit", habit="meditate")
    assert _state(hass, XP_TODAY) == "25"
    assert _state(hass, MEDITATE_STREAK) == "2"
    freezer.move_to("2026-10-25T23:00:00+00:00")  # midnight, winter time
    await _tick(hass)
    assert _state(hass, XP_TODAY) == "0"
    assert _state(hass, MEDITATE_STREAK) == "2"
    assert _state(hass, TOTAL_XP) == "50"


# ---- figures off the event loop ---------------------------------------------------------------

GAMIFICATION = "custom_components.lifeops.agents.gamification"
COMPUTE = f"{GAMIFICATION}.compute"


async def test_figures_are_recomputed_in_the_executor_not_the_event_loop(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    loop_thread = threading.get_ident()
    calls: list[tuple[int, int]] = []

    reads: list[int] = []

    def spy(log: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append((threading.get_ident(), len(log)))
        return real_compute(log, *args, **kwargs)

    def read(items: Any) -> Any:
        reads.append(threading.get_ident())
        return real_read_events(items)

    with patch(COMPUTE, spy), patch(f"{GAMIFICATION}.read_events", read):
        response = await _call(hass, "award_xp", agent="sleep", event_type="nap", amount=120)
        assert response["total_xp"] == 120
        assert response["level"] == 2
        # A restart computes its first figures in the executor too.
        assert await hass.config_entries.async_reload(init_integration.entry_id)
        await hass.async_block_till_done()

    assert _state(hass, TOTAL_XP) == "120"
    with_events = [thread for thread, events in calls if events]
    assert len(with_events) >= 2
    assert loop_thread not in with_events
    # So is reading the stored log.
    assert reads
    assert loop_thread not in reads


async def test_a_recompute_finishing_late_cannot_take_the_figures_back(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    controller = init_integration.runtime_data.gamification
    level_ups = async_capture_events(hass, "lifeops_level_up")
    release = threading.Event()

    def slow_for_one_event(log: Any, *args: Any, **kwargs: Any) -> Any:
        if len(log) == 1:  # the first recompute: held back until the second one is applied
            assert release.wait(10)
        return real_compute(log, *args, **kwargs)

    with patch(COMPUTE, slow_for_one_event):
        controller.async_award_xp({"agent": "sleep", "event_type": "a", "amount": 60})
        controller.async_award_xp({"agent": "sleep", "event_type": "b", "amount": 50})
        figures = await controller.async_figures()
        assert figures.total_xp == 110
        assert _state(hass, TOTAL_XP) == "110"
        release.set()
        await hass.async_block_till_done()

    assert controller.figures.total_xp == 110
    assert controller.figures.event_count == 2
    assert _state(hass, TOTAL_XP) == "110"
    assert _state(hass, LEVEL) == "2"
    assert [event.data["level"] for event in level_ups] == [2]


async def test_the_log_is_stored_as_xp_log_stores_it_across_restarts(
    hass: HomeAssistant, meditate: None, init_integration: MockConfigEntry
) -> None:
    controller = init_integration.runtime_data.gamification
    await _call(hass, "complete_habit", habit="meditate", time="2026-11-24T08:00:00")
    await _call(hass, "award_xp", agent="sleep", event_type="nap", amount=5, id="nap")
    assert controller.as_dict()["log"] == controller.log.as_dict()
    assert [event["id"] for event in controller.as_dict()["log"]["events"]][-1] == "nap"

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    controller = init_integration.runtime_data.gamification
    await _call(hass, "award_xp", agent="sleep", event_type="walk", amount=7)
    assert len(controller.log) == 3
    assert controller.as_dict()["log"] == controller.log.as_dict()
    assert _state(hass, TOTAL_XP) == "37"


# ---- in bed by bedtime and workout matching readiness ------------------------------------------

BED = "binary_sensor.bed_occupancy"
BEDTIME_START = "sensor.oura_bedtime_start"
IN_BED_STREAK = "sensor.lifeops_gamification_in_bed_by_bedtime_streak"
WORKOUT_STREAK = "sensor.lifeops_gamification_workout_matching_readiness_streak"
READINESS = "sensor.oura_readiness"
WORKOUTS = "counter.workouts"


@pytest.mark.parametrize(
    ("options", "entity_id", "state", "met"),
    [
        ({**Settings().as_options(), "in_bed_entity": BED}, BED, "on", True),
        ({**Settings().as_options(), "in_bed_entity": BED}, BED, "off", False),
        # Bedtime is 22:30 local, 21:30 UTC.
        (
            {**Settings().as_options(), "in_bed_entity": BEDTIME_START},
            BEDTIME_START,
            "2026-11-25T21:12:00+00:00",
            True,
        ),
        (
            {**Settings().as_options(), "in_bed_entity": BEDTIME_START},
            BEDTIME_START,
            "2026-11-25T21:40:00+00:00",
            False,
        ),
        (
            {**Settings().as_options(), "in_bed_entity": BEDTIME_START},
            BEDTIME_START,
            "2026-11-24T21:10:00+00:00",  # last night's
            False,
        ),
    ],
    ids=["bed_on", "bed_off", "timestamp_before", "timestamp_after", "timestamp_yesterday"],
)
async def test_in_bed_by_bedtime_is_judged_a_quarter_past_bedtime(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    entity_id: str,
    state: str,
    met: bool,
) -> None:
    hass.states.async_set(entity_id, state)
    freezer.move_to("2026-11-25T20:45:00+00:00")  # wind-down starts: the bedtime timer is set
    await _tick(hass)
    freezer.move_to("2026-11-25T21:30:01+00:00")
    await _tick(hass)
    assert _state(hass, IN_BED_STREAK) == "0"
    assert controller_log(init_integration, "in_bed_by_bedtime") == set()

    freezer.move_to("2026-11-25T21:46:00+00:00")
    await _tick(hass)
    assert controller_log(init_integration, "in_bed_by_bedtime") == (
        {"in_bed_by_bedtime@2026-11-25"} if met else set()
    )
    assert _state(hass, IN_BED_STREAK) == ("1" if met else "0")

    # Once a night: nothing more is judged until the next bedtime.
    freezer.move_to("2026-11-25T23:30:00+00:00")
    await _tick(hass)
    assert len(controller_log(init_integration, "in_bed_by_bedtime")) == int(met)


def _completions(hass: HomeAssistant, entity_id: str) -> int:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    completions: int = state.attributes["completions"]
    return completions


def controller_log(entry: MockConfigEntry, goal: str) -> set[str]:
    """The ids of a goal's days in the log."""
    log = entry.runtime_data.gamification.log
    return {event.id for event in log if event.habit_id == goal}


@pytest.mark.parametrize(
    "options",
    [{**Settings().as_options(), "in_bed_entity": BED}],
    ids=["options"],
)
async def test_an_in_bed_check_survives_a_restart(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    hass.states.async_set(BED, "on")
    freezer.move_to("2026-11-25T20:45:00+00:00")  # wind-down starts: the bedtime timer is set
    await _tick(hass)
    freezer.move_to("2026-11-25T21:30:01+00:00")
    await _tick(hass)
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    freezer.move_to("2026-11-25T21:46:00+00:00")
    await _tick(hass)
    assert _state(hass, IN_BED_STREAK) == "1"


WORKOUT_OPTIONS = {
    **Settings().as_options(),
    "readiness_entity": READINESS,
    "workout_entity": WORKOUTS,
}


@pytest.mark.parametrize(
    ("options", "readiness", "met"),
    [
        (WORKOUT_OPTIONS, "88", True),  # intense
        (WORKOUT_OPTIONS, "80", True),  # moderate
        (WORKOUT_OPTIONS, "65", False),  # rest
        (WORKOUT_OPTIONS, "unknown", False),  # no recommendation
    ],
    ids=["intense", "moderate", "rest", "no_readiness"],
)
async def test_a_workout_on_a_moderate_or_intense_day_meets_the_goal_once(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    readiness: str,
    met: bool,
) -> None:
    hass.states.async_set(READINESS, readiness)
    hass.states.async_set(WORKOUTS, "0")  # first seen: not a workout
    await hass.async_block_till_done()
    assert controller_log(init_integration, "workout_matches_readiness") == set()

    hass.states.async_set(WORKOUTS, "0", {"changed": "attributes only"})
    hass.states.async_set(WORKOUTS, "unavailable")
    hass.states.async_set(WORKOUTS, "0")
    await hass.async_block_till_done()
    assert controller_log(init_integration, "workout_matches_readiness") == set()

    hass.states.async_set(WORKOUTS, "1")
    hass.states.async_set(WORKOUTS, "2")  # a second workout the same day counts once
    await hass.async_block_till_done()
    expected = {"workout_matches_readiness@2026-11-25"} if met else set()
    assert controller_log(init_integration, "workout_matches_readiness") == expected
    assert _completions(hass, WORKOUT_STREAK) == int(met)

    # The next morning (local), another workout counts for Thursday.
    freezer.move_to("2026-11-26T07:00:00+00:00")
    await _tick(hass)
    hass.states.async_set(WORKOUTS, "3")
    await hass.async_block_till_done()
    assert (
        "workout_matches_readiness@2026-11-26"
        in controller_log(init_integration, "workout_matches_readiness")
    ) is met
    # A weekly goal (three times a week): the streak counts weeks, the completions days.
    assert _completions(hass, WORKOUT_STREAK) == 2 * int(met)


@pytest.mark.parametrize(
    ("step", "key", "entity_id", "attribute"),
    [
        ("sleep", "in_bed_entity", BED, "in_bed_entity"),
        ("fitness", "workout_entity", WORKOUTS, "workout_entity"),
    ],
)
async def test_the_goal_inputs_are_chosen_in_the_options_flow(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    step: str,
    key: str,
    entity_id: str,
    attribute: str,
) -> None:
    assert key in STRINGS["options"]["step"][step]["data"]
    assert key in STRINGS["options"]["step"][step]["data_description"]

    async def submit(value: str) -> Any:
        result = await hass.config_entries.options.async_init(init_integration.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": step}
        )
        assert result["step_id"] == step
        return await hass.config_entries.options.async_configure(result["flow_id"], {key: value})

    result = await submit(entity_id)  # not there yet
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {key: "unknown_entity"}

    hass.states.async_set(entity_id, "0")
    result = await submit(entity_id)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options[key] == entity_id
    assert getattr(init_integration.runtime_data.settings, attribute) == entity_id


async def test_a_stored_event_beyond_the_logs_limits_is_left_out_at_start(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A store written before synced events were checked may hold another site's event dated
    in year 9999 (the figures raised OverflowError and the entry failed to set up) or worth
    2^64 XP: the entry starts without them."""

    def event(event_id: str, time: str, amount: int) -> dict[str, Any]:
        fields = {"agent": "fitness", "event_type": "hike", "description": "", "origin": "cabin"}
        return {"id": event_id, "time": time, "amount": amount, "habit_id": None, **fields}

    hass_storage[f"lifeops.{mock_config_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"lifeops.{mock_config_entry.entry_id}",
        "data": {
            "gamification": {
                "log": {
                    "events": [
                        event("fine", "2026-11-20T10:00:00+00:00", 40),
                        event("far", "9999-12-31T23:59:59+00:00", 10),
                        event("west", "9999-12-31T23:59:59-12:00", 10),
                        event("huge", "2026-11-20T10:00:00+00:00", 2**64),
                        # Far ahead of now but within the fixed bounds: kept (a clock that
                        # starts wrong must not make the log drop real events).
                        event("ahead", "2999-01-01T00:00:00+00:00", 7),
                    ]
                }
            }
        },
    }
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert _state(hass, TOTAL_XP) == "47"
    assert [e.id for e in mock_config_entry.runtime_data.gamification.log] == ["fine", "ahead"]
    assert "Left out 3 stored XP events" in caplog.text
    # And it awards again (award_xp failed on such a log).
    await _call(hass, "award_xp", agent="sleep", event_type="nap", amount=5)
    assert _state(hass, TOTAL_XP) == "52"


async def test_a_hundred_habits_are_the_most(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    controller = init_integration.runtime_data.gamification
    for n in range(100):
        controller.async_add_habit(Habit(id=f"habit_{n}", name=f"Habit {n}"))
    before = controller.as_dict()
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "create_habit", {"name": "Read"}, blocking=True)
    assert err.value.translation_key == "too_many_habits"
    assert "too_many_habits" in STRINGS["exceptions"]
    assert controller.as_dict() == before
