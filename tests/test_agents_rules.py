"""The agents' rules through Home Assistant: late nights, poor sleep, recommended bedtimes,
daylight-saving nights, screen time, fitness, occupancy, the time and number entities, the site.

Everything is observed from outside: entity states, events, notify calls and actions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.core.settings import Settings

from .conftest import NODE_ID

# A quiet afternoon in Stockholm unless a test says otherwise: no schedule fires by itself.
pytestmark = pytest.mark.freeze_time("2026-11-25T13:00:00+00:00")

PHONE = "binary_sensor.phone_interactive"
TV = "media_player.tv"
LAPTOP = "binary_sensor.laptop_active"
SLEEP_SCORE = "sensor.oura_sleep_score"
RECOMMENDED = "sensor.oura_recommended_bedtime"
READINESS = "sensor.oura_readiness"
ACTIVITY = "sensor.oura_activity_score"
CALORIES = "sensor.oura_active_calories"
STEPS = "sensor.phone_steps"
PERSON = "person.anna"

NEXT_BEDTIME = "sensor.lifeops_sleep_next_bedtime"
NEXT_WIND_DOWN = "sensor.lifeops_sleep_next_wind_down"
PAST_BEDTIME = "sensor.lifeops_sleep_minutes_past_bedtime"
WIND_DOWN_ACTIVE = "binary_sensor.lifeops_sleep_wind_down_active"
SCREEN_TIME = "sensor.lifeops_screen_time_screen_time_today"
RECOMMENDATION = "sensor.lifeops_fitness_workout_recommendation"
GOAL = "sensor.lifeops_fitness_activity_goal_progress"
BEDTIME_TIME = "time.lifeops_sleep_bedtime"
WAKE_TIME = "time.lifeops_sleep_wake_time"
WIND_DOWN_NUMBER = "number.lifeops_sleep_wind_down_minutes"

# Notification titles (translations/en.json, `common.notification_<key>_title`).
STILL_UP = "Still up?"
ROUGH_NIGHT = "A rough night"
LIMIT_REACHED = "Screen-time limit reached"
WIND_DOWN_TITLE = "Time to wind down"


@pytest.fixture
async def stockholm(hass: HomeAssistant) -> None:
    await hass.config.async_set_time_zone("Europe/Stockholm")


BASE_OPTIONS: dict[str, Any] = {
    **Settings().as_options(),
    "notify_targets": ["notify.mobile_app_phone"],
}


def with_options(**changes: Any) -> pytest.MarkDecorator:
    """Run the test with these options (over the defaults plus a notify target)."""
    return pytest.mark.parametrize("options", [{**BASE_OPTIONS, **changes}], ids=["options"])


@pytest.fixture
def options() -> dict[str, Any]:
    return dict(BASE_OPTIONS)


@pytest.fixture
def notify_calls(hass: HomeAssistant) -> list[ServiceCall]:
    return async_mock_service(hass, "notify", "mobile_app_phone")


def titled(calls: list[ServiceCall], title: str) -> list[ServiceCall]:
    """The notify calls with this title."""
    return [call for call in calls if call.data["title"] == title]


def value(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def moment(hass: HomeAssistant, entity_id: str) -> datetime:
    """A timestamp sensor's value, as an aware datetime."""
    parsed = dt_util.parse_datetime(value(hass, entity_id))
    assert parsed is not None
    return parsed


def utc(text: str) -> datetime:
    parsed = dt_util.parse_datetime(text)
    assert parsed is not None
    return parsed


async def at(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: str) -> None:
    """Move the clock to `when` (UTC) and let every timer due by then fire."""
    freezer.move_to(when)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def set_state(hass: HomeAssistant, entity_id: str, state: str) -> None:
    hass.states.async_set(entity_id, state)
    await hass.async_block_till_done()


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Set up the entry in the test body (after the test has put its sources' states in place)."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


# ---- 1. late-night activity -----------------------------------------------------------------


LATE_NIGHT = with_options(activity_sources=[PHONE, TV])


@pytest.mark.freeze_time("2026-11-25T21:00:00+00:00")  # 22:00 local; bedtime 22:30
@LATE_NIGHT
async def test_phone_in_use_all_evening_gets_one_nudge_a_night(
    hass: HomeAssistant,
    stockholm: None,
    notify_calls: list[ServiceCall],
    mock_config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The phone is on from before bedtime and never goes off: the clock alone must nudge."""
    hass.states.async_set(PHONE, "on")
    await setup_entry(hass, mock_config_entry)
    assert value(hass, PAST_BEDTIME) == "0"  # before bedtime

    # The figure counts by the clock from bedtime on, the phone's state never changing.
    await at(hass, freezer, "2026-11-25T21:30:00+00:00")  # 22:30 local, bedtime
    assert value(hass, PAST_BEDTIME) == "0"
    await at(hass, freezer, "2026-11-25T21:50:00+00:00")
    assert value(hass, PAST_BEDTIME) == "20"
    await at(hass, freezer, "2026-11-25T21:59:59+00:00")
    assert titled(notify_calls, STILL_UP) == []

    # Just past 30 minutes, with no change of the phone's state at all.
    await at(hass, freezer, "2026-11-25T22:00:01+00:00")
    nudges = titled(notify_calls, STILL_UP)
    assert len(nudges) == 1
    assert "30 minutes" in nudges[0].data["message"]
    # Deferred to the morning it would be pointless: urgent, through the quiet hours.
    assert nudges[0].data["data"]["priority"] == "high"
    assert value(hass, PAST_BEDTIME) == "30"

    # A restart later that night: the count goes on, the nudge is not sent again.
    await at(hass, freezer, "2026-11-25T22:10:00+00:00")
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert value(hass, PAST_BEDTIME) == "40"
    await at(hass, freezer, "2026-11-25T22:20:00+00:00")
    assert value(hass, PAST_BEDTIME) == "50"
    assert len(titled(notify_calls, STILL_UP)) == 1

    # Later that night, still on: the figure keeps counting by itself, and no second nudge.
    await at(hass, freezer, "2026-11-25T23:30:00+00:00")
    assert value(hass, PAST_BEDTIME) == "120"
    await at(hass, freezer, "2026-11-26T03:00:00+00:00")
    assert value(hass, PAST_BEDTIME) == "330"
    assert len(titled(notify_calls, STILL_UP)) == 1
    # Past the wake time (06:30 local) the night is over: 0 though the phone is still on.
    await at(hass, freezer, "2026-11-26T05:31:00+00:00")
    assert value(hass, PAST_BEDTIME) == "0"
    assert len(titled(notify_calls, STILL_UP)) == 1


@pytest.mark.freeze_time("2026-11-25T21:00:00+00:00")  # 22:00 local; bedtime 22:30
@LATE_NIGHT
async def test_late_night_activity_nudges_once_however_often_sources_change(
    hass: HomeAssistant,
    stockholm: None,
    notify_calls: list[ServiceCall],
    mock_config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, mock_config_entry)

    # Before 30 minutes past bedtime: any amount of use sends nothing.
    for minute, source, state in (
        (35, PHONE, "on"),
        (40, PHONE, "off"),
        (45, TV, "playing"),
        (55, TV, "paused"),
        (59, PHONE, "on"),
    ):
        await at(hass, freezer, f"2026-11-25T21:{minute}:00+00:00")
        await set_state(hass, source, state)
    assert value(hass, PAST_BEDTIME) == "29"  # 22:59 local, the phone on
    await set_state(hass, PHONE, "off")
    assert value(hass, PAST_BEDTIME) == "0"  # nothing in use
    assert titled(notify_calls, STILL_UP) == []

    # Nothing in use past the threshold: still nothing.
    await at(hass, freezer, "2026-11-25T22:05:00+00:00")
    assert titled(notify_calls, STILL_UP) == []

    # The TV starts playing 40 minutes past bedtime: one nudge at once, naming the minutes.
    await at(hass, freezer, "2026-11-25T22:10:00+00:00")
    await set_state(hass, TV, "playing")
    nudges = titled(notify_calls, STILL_UP)
    assert len(nudges) == 1
    assert "40 minutes" in nudges[0].data["message"]
    assert value(hass, PAST_BEDTIME) == "40"

    # Toggling both sources for hours (further apart than the 10-minute dedupe window, with a
    # different message each time) sends nothing more that night.
    for hour, minute in ((22, 25), (22, 50), (23, 20), (0, 5), (1, 45), (3, 10)):
        day = 25 if hour >= 22 else 26
        await at(hass, freezer, f"2026-11-{day}T{hour:02d}:{minute:02d}:00+00:00")
        await set_state(hass, PHONE, "on")
        await set_state(hass, TV, "off")
        await set_state(hass, PHONE, "off")
        await set_state(hass, TV, "playing")
    assert len(titled(notify_calls, STILL_UP)) == 1

    # After the wake time (06:30 local) the sensor reads 0 even while the TV plays.
    await at(hass, freezer, "2026-11-26T06:00:00+00:00")
    await set_state(hass, TV, "on")
    assert value(hass, PAST_BEDTIME) == "0"
    assert len(titled(notify_calls, STILL_UP)) == 1

    # The next night is a new night: one more nudge.
    await set_state(hass, TV, "off")
    await at(hass, freezer, "2026-11-26T22:15:00+00:00")  # 23:15 local
    await set_state(hass, TV, "playing")
    assert len(titled(notify_calls, STILL_UP)) == 2


@pytest.mark.freeze_time("2026-11-25T22:10:00+00:00")  # 23:10 local, 40 min past bedtime
@LATE_NIGHT
async def test_home_assistant_starting_late_at_night_with_the_tv_on_nudges_at_once(
    hass: HomeAssistant,
    stockholm: None,
    notify_calls: list[ServiceCall],
    mock_config_entry: MockConfigEntry,
) -> None:
    hass.states.async_set(TV, "playing")
    await setup_entry(hass, mock_config_entry)
    nudges = titled(notify_calls, STILL_UP)
    assert len(nudges) == 1
    assert "40 minutes" in nudges[0].data["message"]
    assert value(hass, PAST_BEDTIME) == "40"


@pytest.mark.freeze_time("2026-11-25T22:00:00+00:00")  # 23:00 local, 30 min past bedtime
@LATE_NIGHT
async def test_late_night_nudge_respects_the_sleep_agent_switch(
    hass: HomeAssistant,
    stockholm: None,
    notify_calls: list[ServiceCall],
    mock_config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, mock_config_entry)
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.lifeops_sleep_agent_enabled"}, blocking=True
    )
    await at(hass, freezer, "2026-11-25T22:20:00+00:00")
    await set_state(hass, PHONE, "on")
    assert titled(notify_calls, STILL_UP) == []
    # Its figures still update.
    assert value(hass, PAST_BEDTIME) == "50"


# ---- 2. poor sleep --------------------------------------------------------------------------

POOR_SLEEP = with_options(sleep_score_entity=SLEEP_SCORE)


@pytest.mark.freeze_time("2026-11-25T07:30:00+00:00")  # 08:30 local, after the quiet hours
@POOR_SLEEP
async def test_poor_sleep_suggests_an_earlier_bedtime_once_a_day(
    hass: HomeAssistant,
    stockholm: None,
    notify_calls: list[ServiceCall],
    mock_config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    # The score is already in when Home Assistant starts: the suggestion comes at once.
    hass.states.async_set(SLEEP_SCORE, "64")
    await setup_entry(hass, mock_config_entry)
    suggestions = titled(notify_calls, ROUGH_NIGHT)
    assert len(suggestions) == 1
    # Half an hour before the 22:30 bedtime.
    assert suggestions[0].data["message"] == (
        "Your sleep score was 64. Try going to bed at 22:00 tonight."
    )

    # The score is revised, drops further, comes and goes: not again today.
    for score in ("58", "unavailable", "41.5", "64"):
        await at(hass, freezer, "2026-11-25T09:00:00+00:00")
        await set_state(hass, SLEEP_SCORE, score)
    await at(hass, freezer, "2026-11-25T19:30:00+00:00")  # 20:30 local, before quiet hours
    await set_state(hass, SLEEP_SCORE, "30")
    assert len(titled(notify_calls, ROUGH_NIGHT)) == 1

    # The next morning's poor score is a new day's suggestion.
    await at(hass, freezer, "2026-11-26T07:00:00+00:00")
    await set_state(hass, SLEEP_SCORE, "55.4")
    suggestions = titled(notify_calls, ROUGH_NIGHT)
    assert len(suggestions) == 2
    assert "was 55." in suggestions[1].data["message"]

    # A good night the day after: nothing.
    await at(hass, freezer, "2026-11-27T07:00:00+00:00")
    await set_state(hass, SLEEP_SCORE, "82")
    assert len(titled(notify_calls, ROUGH_NIGHT)) == 2


@pytest.mark.parametrize(
    "score", ["70", "70.0", "95", "unavailable", "unknown", "n/a", "", "nan", "-inf"]
)
@POOR_SLEEP
async def test_no_poor_sleep_suggestion_at_the_threshold_or_without_a_score(
    hass: HomeAssistant,
    stockholm: None,
    notify_calls: list[ServiceCall],
    mock_config_entry: MockConfigEntry,
    score: str,
) -> None:
    hass.states.async_set(SLEEP_SCORE, score)
    await setup_entry(hass, mock_config_entry)
    await set_state(hass, SLEEP_SCORE, "80")  # and a good score later that day
    await set_state(hass, SLEEP_SCORE, score)
    assert titled(notify_calls, ROUGH_NIGHT) == []
    # The day is still open: a poor score now is suggested (nothing was used up above).
    await set_state(hass, SLEEP_SCORE, "69.9")
    assert len(titled(notify_calls, ROUGH_NIGHT)) == 1


@with_options(sleep_score_entity=SLEEP_SCORE, poor_sleep_threshold=50, bedtime="00:15:00")
async def test_poor_sleep_threshold_and_bedtime_come_from_the_options(
    hass: HomeAssistant,
    stockholm: None,
    notify_calls: list[ServiceCall],
    init_integration: MockConfigEntry,
) -> None:
    await set_state(hass, SLEEP_SCORE, "55")  # poor by the default, fine by this threshold
    assert titled(notify_calls, ROUGH_NIGHT) == []
    await set_state(hass, SLEEP_SCORE, "49")
    suggestions = titled(notify_calls, ROUGH_NIGHT)
    assert len(suggestions) == 1
    # Half an hour before a bedtime just after midnight wraps to the evening before.
    assert "bed at 23:45 tonight" in suggestions[0].data["message"]


# ---- 3. a recommended bedtime ---------------------------------------------------------------


@with_options(bedtime_source="recommended", recommended_bedtime_entity=RECOMMENDED)
async def test_recommended_bedtime_drives_the_schedule(
    hass: HomeAssistant,
    stockholm: None,
    notify_calls: list[ServiceCall],
    mock_config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    started = async_capture_events(hass, "lifeops_wind_down_started")
    bedtimes = async_capture_events(hass, "lifeops_bedtime")
    hass.states.async_set(RECOMMENDED, "23:15")  # a wall time, as some sensors give it
    await setup_entry(hass, mock_config_entry)
    assert moment(hass, NEXT_BEDTIME) == utc("2026-11-25T22:15:00+00:00")
    assert moment(hass, NEXT_WIND_DOWN) == utc("2026-11-25T21:30:00+00:00")

    # A timestamp (Oura's form); the sensors follow at once.
    await set_state(hass, RECOMMENDED, "2026-11-25T21:50:00+00:00")
    assert moment(hass, NEXT_BEDTIME) == utc("2026-11-25T21:50:00+00:00")
    assert moment(hass, NEXT_WIND_DOWN) == utc("2026-11-25T21:05:00+00:00")

    # Unknown for a while: the schedule's 22:30 stands in.
    await set_state(hass, RECOMMENDED, "unavailable")
    assert moment(hass, NEXT_BEDTIME) == utc("2026-11-25T21:30:00+00:00")
    await set_state(hass, RECOMMENDED, "2026-11-25T21:50:00+00:00")

    # Wind-down and bedtime fire at the recommended moments, not the schedule's.
    await at(hass, freezer, "2026-11-25T20:45:00+00:00")  # the schedule's wind-down
    assert started == []
    await at(hass, freezer, "2026-11-25T21:04:59+00:00")
    assert value(hass, WIND_DOWN_ACTIVE) == "off"
    await at(hass, freezer, "2026-11-25T21:05:00+00:00")
    assert value(hass, WIND_DOWN_ACTIVE) == "on"
    assert len(started) == 1
    assert utc(started[0].data["until"]) == utc("2026-11-25T21:50:00+00:00")
    assert started[0].data["minutes"] == 45
    await at(hass, freezer, "2026-11-25T21:30:00+00:00")  # the schedule's bedtime
    assert bedtimes == []
    assert value(hass, WIND_DOWN_ACTIVE) == "on"
    await at(hass, freezer, "2026-11-25T21:50:00+00:00")
    assert len(bedtimes) == 1
    assert value(hass, WIND_DOWN_ACTIVE) == "off"
    # Tonight's recommendation has passed and tomorrow's is not in yet: the schedule's.
    assert moment(hass, NEXT_BEDTIME) == utc("2026-11-26T21:30:00+00:00")


@with_options(bedtime_source="schedule", recommended_bedtime_entity=RECOMMENDED)
async def test_recommended_bedtime_is_ignored_when_the_schedule_is_chosen(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    await set_state(hass, RECOMMENDED, "2026-11-25T21:50:00+00:00")
    assert moment(hass, NEXT_BEDTIME) == utc("2026-11-25T21:30:00+00:00")
    assert moment(hass, NEXT_WIND_DOWN) == utc("2026-11-25T20:45:00+00:00")


# ---- 4. daylight-saving nights --------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "bedtime", "minutes", "expected_bedtime", "expected_wind_down", "following"),
    [
        pytest.param(
            # 02:30 does not exist on 29 March (02:00 → 03:00). core/schedule.py documents that
            # a wall time in the gap maps to the same distance after it: 03:30 CEST. Wind-down
            # is 45 real minutes before: 01:45 CET.
            "2026-03-28T20:00:00+00:00", "02:30:00", 45,
            "2026-03-29T01:30:00+00:00", "2026-03-29T00:45:00+00:00",
            "2026-03-30T00:30:00+00:00",  # 02:30 CEST the next night
            id="spring-bedtime-in-the-gap",
        ),
        pytest.param(
            # 03:15 CEST, 90 real minutes before is 00:45 CET (2 h 30 min on the wall clock).
            "2026-03-28T20:00:00+00:00", "03:15:00", 90,
            "2026-03-29T01:15:00+00:00", "2026-03-28T23:45:00+00:00",
            "2026-03-30T01:15:00+00:00",
            id="spring-wind-down-across-the-gap",
        ),
        pytest.param(
            # 02:30 happens twice on 25 October (03:00 → 02:00): the first one, 02:30 CEST.
            "2026-10-24T18:00:00+00:00", "02:30:00", 45,
            "2026-10-25T00:30:00+00:00", "2026-10-24T23:45:00+00:00",
            "2026-10-26T01:30:00+00:00",  # not the repeated 02:30 an hour later
            id="autumn-ambiguous-bedtime",
        ),
        pytest.param(
            # 03:15 CET, 90 real minutes before is 02:45 CEST (30 min on the wall clock).
            "2026-10-24T18:00:00+00:00", "03:15:00", 90,
            "2026-10-25T02:15:00+00:00", "2026-10-25T00:45:00+00:00",
            "2026-10-26T02:15:00+00:00",
            id="autumn-wind-down-across-the-change",
        ),
    ],
)  # fmt: skip
async def test_daylight_saving_nights_keep_wall_clock_bedtimes_and_real_minutes(
    hass: HomeAssistant,
    stockholm: None,
    notify_calls: list[ServiceCall],
    mock_config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    now: str,
    bedtime: str,
    minutes: int,
    expected_bedtime: str,
    expected_wind_down: str,
    following: str,
) -> None:
    freezer.move_to(now)
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={
            **mock_config_entry.options,
            "bedtime": bedtime,
            "wake_time": "09:00:00",
            "wind_down_minutes": minutes,
        },
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    started = async_capture_events(hass, "lifeops_wind_down_started")
    bedtimes = async_capture_events(hass, "lifeops_bedtime")
    assert moment(hass, NEXT_BEDTIME) == utc(expected_bedtime)
    assert moment(hass, NEXT_WIND_DOWN) == utc(expected_wind_down)

    wind_down = utc(expected_wind_down)
    await at(hass, freezer, (wind_down - timedelta(seconds=1)).isoformat())
    assert started == []
    await at(hass, freezer, wind_down.isoformat())
    assert len(started) == 1
    assert started[0].data["minutes"] == minutes  # real minutes until bedtime
    assert utc(started[0].data["until"]) == utc(expected_bedtime)
    assert value(hass, WIND_DOWN_ACTIVE) == "on"

    night = utc(expected_bedtime)
    await at(hass, freezer, (night - timedelta(seconds=1)).isoformat())
    assert bedtimes == []
    await at(hass, freezer, night.isoformat())
    assert len(bedtimes) == 1
    assert value(hass, WIND_DOWN_ACTIVE) == "off"
    assert moment(hass, NEXT_BEDTIME) == utc(following)
    # The reminder names the wall time it is (03:30 for the bedtime moved past the gap).
    wall = dt_util.as_local(night).strftime("%H:%M")
    assert [call.data["message"] for call in titled(notify_calls, "Bedtime")] == [
        f"It is {wall}, your bedtime. Good night."
    ]

    # Through the rest of that night (the repeated hour in autumn too): one bedtime only.
    for hours in (1, 2, 3):
        await at(hass, freezer, (night + timedelta(hours=hours)).isoformat())
    assert len(bedtimes) == 1
    assert len(started) == 1


async def test_a_bedtime_reached_long_after_it_was_due_is_not_announced(
    hass: HomeAssistant,
    stockholm: None,
    notify_calls: list[ServiceCall],
    mock_config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """After a jump of the clock (a machine asleep, HA down): no "it is your bedtime" at 17:30."""
    freezer.move_to("2026-11-28T16:00:00+00:00")  # Saturday 17:00 in Stockholm
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={**mock_config_entry.options, "bedtime": "22:30:00", "wake_time": "07:00:00"},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    bedtimes = async_capture_events(hass, "lifeops_bedtime")

    await at(hass, freezer, "2026-11-30T16:30:00+00:00")  # Monday 17:30: two bedtimes missed
    assert bedtimes == []
    assert titled(notify_calls, "Bedtime") == []
    # The next one, reached on time, is announced as ever.
    await at(hass, freezer, "2026-11-30T21:00:00+00:00")
    await at(hass, freezer, "2026-11-30T21:30:00+00:00")
    assert len(bedtimes) == 1
    assert len(titled(notify_calls, "Bedtime")) == 1


# ---- 5. screen time -------------------------------------------------------------------------

SCREENS = with_options(screen_time_sources=[LAPTOP, TV], screen_time_limit_minutes=60)


def screen_minutes(hass: HomeAssistant) -> float:
    return float(value(hass, SCREEN_TIME))


@pytest.mark.freeze_time("2026-11-25T09:00:00+00:00")  # 10:00 local
@SCREENS
async def test_screen_time_counts_screens_and_logs_and_nudges_once_a_day(
    hass: HomeAssistant,
    stockholm: None,
    notify_calls: list[ServiceCall],
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    assert screen_minutes(hass) == 0
    await set_state(hass, TV, "playing")
    # The figure grows by itself while the TV plays.
    await at(hass, freezer, "2026-11-25T09:10:00+00:00")
    assert screen_minutes(hass) == pytest.approx(10)
    await at(hass, freezer, "2026-11-25T09:20:00+00:00")
    assert screen_minutes(hass) == pytest.approx(20)
    await set_state(hass, TV, "paused")
    await at(hass, freezer, "2026-11-25T09:40:00+00:00")
    assert screen_minutes(hass) == pytest.approx(20)  # paused is not watching

    await set_state(hass, LAPTOP, "on")
    await at(hass, freezer, "2026-11-25T09:50:00+00:00")
    state = hass.states.get(SCREEN_TIME)
    assert float(state.state) == pytest.approx(30)
    assert state.attributes["by_source"] == {TV: 20.0, LAPTOP: 10.0}
    assert state.attributes["limit"] == 60
    await set_state(hass, LAPTOP, "off")

    response = await hass.services.async_call(
        DOMAIN,
        "log_screen_time",
        {"minutes": 25, "category": "tablet"},
        blocking=True,
        return_response=True,
    )
    assert response == {"added": True}
    await hass.async_block_till_done()
    assert screen_minutes(hass) == pytest.approx(55)
    assert titled(notify_calls, LIMIT_REACHED) == []

    # The laptop takes it to the limit: one nudge, the moment it is reached.
    await set_state(hass, LAPTOP, "on")
    await at(hass, freezer, "2026-11-25T09:54:00+00:00")
    assert titled(notify_calls, LIMIT_REACHED) == []
    await at(hass, freezer, "2026-11-25T09:55:00+00:00")
    assert screen_minutes(hass) == pytest.approx(60)
    limit = titled(notify_calls, LIMIT_REACHED)
    assert len(limit) == 1
    assert "60 minutes" in limit[0].data["message"]

    # More screens and more logs that day: no second nudge.
    await set_state(hass, TV, "playing")
    await at(hass, freezer, "2026-11-25T12:00:00+00:00")
    await hass.services.async_call(DOMAIN, "log_screen_time", {"minutes": 30}, blocking=True)
    await set_state(hass, TV, "off")
    await set_state(hass, LAPTOP, "off")
    assert screen_minutes(hass) > 300
    assert len(titled(notify_calls, LIMIT_REACHED)) == 1

    # Local midnight (23:00 UTC) starts a new day at 0, with nothing in use to trigger it.
    await at(hass, freezer, "2026-11-25T22:59:00+00:00")
    assert screen_minutes(hass) > 300
    await at(hass, freezer, "2026-11-25T23:00:01+00:00")
    assert screen_minutes(hass) == 0
    assert hass.states.get(SCREEN_TIME).attributes["by_source"] == {}

    # The new day has its own limit and its own nudge (after the quiet hours).
    await at(hass, freezer, "2026-11-26T08:00:00+00:00")
    await hass.services.async_call(DOMAIN, "log_screen_time", {"minutes": 61}, blocking=True)
    await hass.async_block_till_done()
    assert len(titled(notify_calls, LIMIT_REACHED)) == 2


@pytest.mark.freeze_time("2026-11-25T22:30:00+00:00")  # 23:30 local
@SCREENS
async def test_screen_time_across_midnight_counts_on_each_day(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await set_state(hass, TV, "playing")
    await at(hass, freezer, "2026-11-25T22:59:00+00:00")
    assert screen_minutes(hass) == pytest.approx(29)
    # Still playing at midnight: the new day counts only its own minutes.
    await at(hass, freezer, "2026-11-25T23:00:00+00:00")
    assert screen_minutes(hass) == 0
    await at(hass, freezer, "2026-11-25T23:30:00+00:00")
    assert screen_minutes(hass) == pytest.approx(30)


# ---- 6. fitness -----------------------------------------------------------------------------

FITNESS = with_options(
    readiness_entity=READINESS,
    sleep_score_entity=SLEEP_SCORE,
    activity_score_entity=ACTIVITY,
    active_calories_entity=CALORIES,
    steps_entity=STEPS,
    step_goal=8000,
)


def recommendation(hass: HomeAssistant) -> tuple[str, list[str]]:
    state = hass.states.get(RECOMMENDATION)
    assert state is not None
    return state.state, state.attributes["reasons"]


@FITNESS
async def test_workout_recommendation_follows_readiness_sleep_and_yesterday(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    # Nothing known yet.
    assert recommendation(hass) == ("unknown", ["no_data"])
    assert hass.states.get(RECOMMENDATION).attributes["options"] == [
        "rest", "light", "moderate", "intense",
    ]  # fmt: skip
    assert value(hass, GOAL) == "unknown"

    await set_state(hass, READINESS, "88")
    assert recommendation(hass) == ("intense", ["readiness_high"])
    await set_state(hass, READINESS, "84")
    assert recommendation(hass) == ("moderate", ["readiness_high"])
    await set_state(hass, READINESS, "69")
    assert recommendation(hass) == ("light", ["readiness_low"])
    await set_state(hass, READINESS, "59.5")
    assert recommendation(hass) == ("rest", ["readiness_low"])

    # A poor night and a hard day each take one level off, never below rest.
    await set_state(hass, READINESS, "90")
    await set_state(hass, SLEEP_SCORE, "55")
    assert recommendation(hass) == ("moderate", ["readiness_high", "poor_sleep"])
    await set_state(hass, ACTIVITY, "93")
    assert recommendation(hass) == (
        "light",
        ["readiness_high", "poor_sleep", "hard_day_yesterday"],
    )
    await set_state(hass, ACTIVITY, "40")
    await set_state(hass, CALORIES, "1200")  # a hard day by calories alone
    assert recommendation(hass) == (
        "light",
        ["readiness_high", "poor_sleep", "hard_day_yesterday"],
    )
    await set_state(hass, READINESS, "62")
    assert recommendation(hass) == (
        "rest",
        ["readiness_low", "poor_sleep", "hard_day_yesterday"],
    )

    # Readiness goes missing: no recommendation rather than a guess from the rest.
    for missing in ("unavailable", "unknown", "soon"):
        await set_state(hass, READINESS, missing)
        assert recommendation(hass) == ("unknown", ["no_data"])
    # The other inputs missing are simply left out.
    await set_state(hass, READINESS, "75")
    await set_state(hass, SLEEP_SCORE, "unavailable")
    await set_state(hass, CALORIES, "unknown")
    assert recommendation(hass) == ("moderate", ["readiness_high"])
    await set_state(hass, ACTIVITY, "95")
    assert recommendation(hass) == ("light", ["readiness_high", "hard_day_yesterday"])
    hass.states.async_remove(ACTIVITY)  # the sensor is removed altogether
    await hass.async_block_till_done()
    assert recommendation(hass) == ("moderate", ["readiness_high"])


@FITNESS
async def test_activity_goal_progress_in_percent(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    await set_state(hass, STEPS, "6000")
    assert float(value(hass, GOAL)) == 75.0
    assert hass.states.get(GOAL).attributes["unit_of_measurement"] == "%"
    await set_state(hass, STEPS, "12345")
    assert float(value(hass, GOAL)) == pytest.approx(154.3)  # past the goal is shown as is
    await set_state(hass, STEPS, "unavailable")
    assert value(hass, GOAL) == "unknown"
    await set_state(hass, STEPS, "0")
    assert float(value(hass, GOAL)) == 0.0


@with_options(readiness_entity=READINESS, steps_entity=STEPS, step_goal=10000)
async def test_fitness_inputs_present_at_start_are_read(
    hass: HomeAssistant, stockholm: None, mock_config_entry: MockConfigEntry
) -> None:
    hass.states.async_set(READINESS, "72")
    hass.states.async_set(STEPS, "2500")
    await setup_entry(hass, mock_config_entry)
    assert recommendation(hass) == ("moderate", ["readiness_high"])
    assert float(value(hass, GOAL)) == 25.0


# ---- 7. occupancy ---------------------------------------------------------------------------


@pytest.fixture
def bedroom_light(hass: HomeAssistant) -> None:
    hass.states.async_set(
        "light.bedroom",
        "on",
        {"supported_color_modes": ["brightness"], "color_mode": "brightness", "brightness": 255},
    )


@pytest.fixture
def light_calls(hass: HomeAssistant) -> list[ServiceCall]:
    return async_mock_service(hass, "light", "turn_on")


@pytest.mark.freeze_time("2026-11-25T20:00:00+00:00")  # 21:00 local, before the 21:45 wind-down
@with_options(wind_down_lights=["light.bedroom"], occupancy_entity=PERSON)
async def test_nobody_home_wind_down_leaves_the_lights_alone(
    hass: HomeAssistant,
    stockholm: None,
    bedroom_light: None,
    notify_calls: list[ServiceCall],
    light_calls: list[ServiceCall],
    mock_config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    hass.states.async_set(PERSON, "not_home")
    await setup_entry(hass, mock_config_entry)
    site = hass.states.get("sensor.lifeops_home_site")
    assert site.attributes["occupied"] is False
    started = async_capture_events(hass, "lifeops_wind_down_started")

    await at(hass, freezer, "2026-11-25T20:45:00+00:00")  # wind-down
    assert value(hass, WIND_DOWN_ACTIVE) == "on"
    assert len(started) == 1
    assert started[0].data["scene"] is False
    assert light_calls == []
    # Only the lights are left alone: the wind-down nudge still goes out.
    assert len(titled(notify_calls, WIND_DOWN_TITLE)) == 1
    # The stepped fade has no steps waiting either.
    await at(hass, freezer, "2026-11-25T20:50:00+00:00")
    assert light_calls == []

    # Anna comes home: the site says so, and a wind-down started now dims the light.
    await set_state(hass, PERSON, "home")
    assert hass.states.get("sensor.lifeops_home_site").attributes["occupied"] is True
    await hass.services.async_call(DOMAIN, "end_wind_down", {"restore": False}, blocking=True)
    await hass.services.async_call(DOMAIN, "start_wind_down", {"duration": 20}, blocking=True)
    assert started[-1].data["scene"] is True
    assert [call.data["entity_id"] for call in light_calls][:1] == [["light.bedroom"]]


@pytest.mark.freeze_time("2026-11-25T20:00:00+00:00")
@with_options(wind_down_lights=["light.bedroom"], occupancy_entity="binary_sensor.cabin_occupied")
async def test_occupancy_sensor_on_means_someone_is_here(
    hass: HomeAssistant,
    stockholm: None,
    bedroom_light: None,
    notify_calls: list[ServiceCall],
    light_calls: list[ServiceCall],
    mock_config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    hass.states.async_set("binary_sensor.cabin_occupied", "on")
    await setup_entry(hass, mock_config_entry)
    await at(hass, freezer, "2026-11-25T20:45:00+00:00")
    assert [call.data["entity_id"] for call in light_calls][:1] == [["light.bedroom"]]


@pytest.mark.freeze_time("2026-11-25T20:00:00+00:00")
@with_options(wind_down_lights=["light.bedroom"], occupancy_entity="zone.home")
async def test_zone_with_people_in_it_means_someone_is_here(
    hass: HomeAssistant,
    stockholm: None,
    bedroom_light: None,
    notify_calls: list[ServiceCall],
    light_calls: list[ServiceCall],
    mock_config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    hass.states.async_set("zone.home", "2", {"persons": ["person.anna", "person.bo"]})
    await setup_entry(hass, mock_config_entry)
    assert hass.states.get("sensor.lifeops_home_site").attributes["occupied"] is True
    await at(hass, freezer, "2026-11-25T20:45:00+00:00")
    assert [call.data["entity_id"] for call in light_calls][:1] == [["light.bedroom"]]


# ---- 8. the time and number entities --------------------------------------------------------


async def test_time_and_number_entities_change_the_targets_live(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    before = dict(init_integration.options)
    assert value(hass, BEDTIME_TIME) == "22:30:00"
    assert value(hass, WIND_DOWN_NUMBER) == "45.0"

    await hass.services.async_call(
        "time", "set_value", {"entity_id": BEDTIME_TIME, "time": "23:15"}, blocking=True
    )
    await hass.async_block_till_done()
    assert init_integration.options["bedtime"] == "23:15:00"
    assert init_integration.runtime_data.settings.bedtime.isoformat() == "23:15:00"
    assert value(hass, BEDTIME_TIME) == "23:15:00"
    assert moment(hass, NEXT_BEDTIME) == utc("2026-11-25T22:15:00+00:00")
    assert moment(hass, NEXT_WIND_DOWN) == utc("2026-11-25T21:30:00+00:00")

    await hass.services.async_call(
        "number", "set_value", {"entity_id": WIND_DOWN_NUMBER, "value": 90}, blocking=True
    )
    await hass.async_block_till_done()
    assert init_integration.options["wind_down_minutes"] == 90
    assert value(hass, WIND_DOWN_NUMBER) == "90.0"
    assert moment(hass, NEXT_WIND_DOWN) == utc("2026-11-25T20:45:00+00:00")

    await hass.services.async_call(
        "time", "set_value", {"entity_id": WAKE_TIME, "time": "07:10:00"}, blocking=True
    )
    await hass.async_block_till_done()
    assert init_integration.options["wake_time"] == "07:10:00"
    assert value(hass, WAKE_TIME) == "07:10:00"

    # Only the changed targets changed: nothing else in the options moved.
    changed = {"bedtime": "23:15:00", "wind_down_minutes": 90, "wake_time": "07:10:00"}
    assert dict(init_integration.options) == {**before, **changed}


@with_options(
    activity_sources=[PHONE],
    sleep_score_entity=SLEEP_SCORE,
    screen_time_sources=[TV],
    steps_entity=STEPS,
    occupancy_entity=PERSON,
)
async def test_changing_a_target_from_an_entity_keeps_the_other_options(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    before = dict(init_integration.options)
    await hass.services.async_call(
        "time", "set_value", {"entity_id": BEDTIME_TIME, "time": "23:15"}, blocking=True
    )
    await hass.services.async_call(
        "number", "set_value", {"entity_id": WIND_DOWN_NUMBER, "value": 60}, blocking=True
    )
    await hass.async_block_till_done()
    assert dict(init_integration.options) == {
        **before,
        "bedtime": "23:15:00",
        "wind_down_minutes": 60,
    }
    assert init_integration.runtime_data.settings.activity_sources == (PHONE,)


@pytest.mark.parametrize(
    ("service", "entity_id", "data", "domain", "key"),
    [
        ("time", WAKE_TIME, {"time": "22:30"}, DOMAIN, "setting_wake_equals_bedtime"),
        ("time", BEDTIME_TIME, {"time": "06:30:00"}, DOMAIN, "setting_wake_equals_bedtime"),
        # A 07:00 bedtime leaves 30 minutes after the 06:30 wake time: 45 would overlap.
        ("time", BEDTIME_TIME, {"time": "07:00"}, DOMAIN, "setting_wind_down_overlaps_wake"),
        ("number", WIND_DOWN_NUMBER, {"value": 241}, "number", "out_of_range"),
        ("number", WIND_DOWN_NUMBER, {"value": -5}, "number", "out_of_range"),
    ],
)
async def test_invalid_targets_from_entities_are_refused_and_change_nothing(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    service: str,
    entity_id: str,
    data: dict[str, Any],
    domain: str,
    key: str,
) -> None:
    options = dict(init_integration.options)
    states = {
        eid: value(hass, eid)
        for eid in (BEDTIME_TIME, WAKE_TIME, WIND_DOWN_NUMBER, NEXT_BEDTIME, NEXT_WIND_DOWN)
    }
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            service, "set_value", {"entity_id": entity_id, **data}, blocking=True
        )
    assert (err.value.translation_domain, err.value.translation_key) == (domain, key)
    await hass.async_block_till_done()
    assert dict(init_integration.options) == options
    assert {eid: value(hass, eid) for eid in states} == states


@with_options(bedtime="22:30:00", wake_time="20:00:00")  # 21.5 h of sleep leaves 2.5 h
async def test_wind_down_that_would_start_before_the_wake_time_is_refused(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "number", "set_value", {"entity_id": WIND_DOWN_NUMBER, "value": 150}, blocking=True
        )
    assert err.value.translation_key == "setting_wind_down_overlaps_wake"
    assert err.value.translation_placeholders["value"] == "150"
    assert init_integration.options["wind_down_minutes"] == 45
    # Just inside: accepted.
    await hass.services.async_call(
        "number", "set_value", {"entity_id": WIND_DOWN_NUMBER, "value": 145}, blocking=True
    )
    await hass.async_block_till_done()
    assert init_integration.options["wind_down_minutes"] == 145


# ---- 9. the site ----------------------------------------------------------------------------


async def test_site_sensor_shows_the_site_and_its_node(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    site = hass.states.get("sensor.lifeops_home_site")
    assert site.state == "home"
    assert site.attributes["node_id"] == NODE_ID
    assert site.attributes["occupied"] is None  # no occupancy entity chosen
    registered = er.async_get(hass).async_get("sensor.lifeops_home_site")
    assert registered is not None
    assert registered.config_entry_id == init_integration.entry_id
    assert registered.entity_category is EntityCategory.DIAGNOSTIC


async def test_site_sensor_for_a_cabin_follows_the_occupancy_chosen_later(
    hass: HomeAssistant,
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Summer cabin",
        unique_id="summer_cabin",
        data={"site": "summer_cabin", "node_id": "f" * 32},
        options=dict(BASE_OPTIONS),
    )
    await setup_entry(hass, entry)
    site = hass.states.get("sensor.lifeops_summer_cabin_site")
    assert site is not None
    assert site.state == "summer_cabin"
    assert site.attributes["node_id"] == "f" * 32
    assert site.attributes["occupied"] is None

    # Chosen in the options (applied without a reload), then followed as it changes.
    hass.states.async_set("binary_sensor.cabin_occupied", "off")
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "occupancy_entity": "binary_sensor.cabin_occupied"}
    )
    await hass.async_block_till_done()
    assert hass.states.get("sensor.lifeops_summer_cabin_site").attributes["occupied"] is False
    await set_state(hass, "binary_sensor.cabin_occupied", "on")
    assert hass.states.get("sensor.lifeops_summer_cabin_site").attributes["occupied"] is True
