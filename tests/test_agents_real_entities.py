"""Wind-down and work sessions against real Home Assistant light and calendar entities.

The lights and calendars here are real entities of a test integration, set up through Home
Assistant's own light and calendar components: `light.turn_on` goes through the light
component's validation and filtering to the entity, and the calendars' states follow their
events on the clock like any calendar integration's. Nothing is mocked at the service level.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.calendar import CalendarEntity, CalendarEvent
from homeassistant.components.light import (
    ATTR_BRIGHTNESS,
    ATTR_COLOR_TEMP_KELVIN,
    ColorMode,
    LightEntity,
    LightEntityFeature,
)
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.const import EVENT_CALL_SERVICE, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    async_capture_events,
    async_fire_time_changed,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.core.settings import Settings
from tests.releases import SETUP_ENTRY_OK, find_device

TEST_DOMAIN = "test"
LIFEOPS_CALENDAR = "calendar.lifeops_work_life_work"
WORKING = "binary_sensor.lifeops_work_life_working"
WORK_TODAY = "sensor.lifeops_work_life_work_today"
WIND_DOWN_ACTIVE = "binary_sensor.lifeops_sleep_wind_down_active"

LIGHTS = ["light.bedroom", "light.hall_plejd", "light.desk", "light.reading"]
BASE_OPTIONS: dict[str, Any] = {
    **Settings().as_options(),
    "wind_down_lights": LIGHTS,
    "work_calendars": ["calendar.work"],
}

# A quiet evening unless a test says otherwise: 20:00 in Stockholm, before the 21:45 wind-down.
pytestmark = pytest.mark.freeze_time("2026-11-25T19:00:00+00:00")


class FakeLight(LightEntity):
    """A light as an integration would write it; it remembers what it was asked to do."""

    _attr_should_poll = False

    def __init__(
        self,
        key: str,
        *,
        color_temp: bool,
        transition: bool,
        is_on: bool,
        brightness: int,
        kelvin: int | None = None,
        min_kelvin: int = 2000,
        max_kelvin: int = 6500,
    ) -> None:
        """A colour-temperature light, or a dimmer with brightness only."""
        self._attr_unique_id = f"fake_light_{key}"
        self._attr_name = key.replace("_", " ").capitalize()
        # A device named unlike the entity: the entity's name is its own, so it may have an
        # area of its own (2026.x refuses one on an entity named as its device), and its id is
        # fixed (2026.x would put the device's name into it).
        self.entity_id = f"light.{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(TEST_DOMAIN, key)}, name=f"Fixture for {self._attr_name}"
        )
        mode = ColorMode.COLOR_TEMP if color_temp else ColorMode.BRIGHTNESS
        self._attr_supported_color_modes = {mode}
        self._attr_color_mode = mode
        self._attr_supported_features = (
            LightEntityFeature.TRANSITION if transition else LightEntityFeature(0)
        )
        if color_temp:
            self._attr_min_color_temp_kelvin = min_kelvin
            self._attr_max_color_temp_kelvin = max_kelvin
            self._attr_color_temp_kelvin = kelvin
        self._attr_is_on = is_on
        self._attr_brightness = brightness
        self.received: list[tuple[str, dict[str, Any]]] = []

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Apply what came through the light component (no fade of its own: it jumps)."""
        # HA 2025.4 still adds the deprecated mired twin of color_temp_kelvin; leave it out.
        self.received.append(("turn_on", {k: v for k, v in kwargs.items() if k != "color_temp"}))
        if ATTR_COLOR_TEMP_KELVIN in kwargs and ColorMode.COLOR_TEMP not in (
            self.supported_color_modes or ()
        ):
            raise ValueError("this dimmer has no colour temperature")
        self._attr_is_on = True
        if ATTR_BRIGHTNESS in kwargs:
            self._attr_brightness = kwargs[ATTR_BRIGHTNESS]
        if ATTR_COLOR_TEMP_KELVIN in kwargs:
            self._attr_color_temp_kelvin = kwargs[ATTR_COLOR_TEMP_KELVIN]
        self.async_write_ha_state()

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch off."""
        self.received.append(("turn_off", kwargs))
        self._attr_is_on = False
        self.async_write_ha_state()

    def brightness_steps(self) -> list[int]:
        """The brightness of every turn_on it received, in order."""
        return [
            data[ATTR_BRIGHTNESS]
            for action, data in self.received
            if action == "turn_on" and ATTR_BRIGHTNESS in data
        ]


class FakeCalendar(CalendarEntity):
    """A calendar integration's entity: its state follows its events on the clock."""

    _attr_should_poll = False

    def __init__(self, key: str, events: list[CalendarEvent]) -> None:
        """A calendar with fixed events."""
        self._attr_unique_id = f"fake_calendar_{key}"
        self._attr_name = key.capitalize()
        self.events = sorted(events, key=lambda event: event.start_datetime_local)

    @property
    def event(self) -> CalendarEvent | None:
        """The event under way, else the next one."""
        now = dt_util.now()
        return next((e for e in self.events if e.end_datetime_local > now), None)

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """The events overlapping the range."""
        return [
            e
            for e in self.events
            if e.start_datetime_local < end_date and e.end_datetime_local > start_date
        ]


def local(text: str) -> datetime:
    """A Stockholm wall-clock time on the test day (CET, UTC+1)."""
    return datetime.fromisoformat(f"2026-11-25T{text}:00+01:00")


@pytest.fixture
async def stockholm(hass: HomeAssistant) -> None:
    await hass.config.async_set_time_zone("Europe/Stockholm")


@pytest.fixture
def lights() -> dict[str, FakeLight]:
    """Four real lights, every kind wind-down has to handle."""
    return {
        # Colour temperature and transitions: fades by itself.
        "light.bedroom": FakeLight(
            "bedroom", color_temp=True, transition=True, is_on=True, brightness=255, kelvin=4000
        ),
        # A Plejd-like dimmer: brightness only, no colour temperature, no transitions.
        "light.hall_plejd": FakeLight(
            "hall_plejd", color_temp=False, transition=False, is_on=True, brightness=200
        ),
        # Colour temperature but no transitions, and no warmer than 2700 K.
        "light.desk": FakeLight(
            "desk",
            color_temp=True,
            transition=False,
            is_on=True,
            brightness=180,
            kelvin=5000,
            min_kelvin=2700,
        ),
        # Off: wind-down must leave it off.
        "light.reading": FakeLight(
            "reading", color_temp=False, transition=False, is_on=False, brightness=120
        ),
    }


@pytest.fixture
def calendars() -> dict[str, FakeCalendar]:
    """A work calendar and a personal one."""
    return {
        "calendar.work": FakeCalendar(
            "work",
            [
                CalendarEvent(
                    start=local("09:00"),
                    end=local("11:00"),
                    summary="Sprint planning",
                    description="Quarterly goals",
                    uid="sprint",
                ),
                # All day tomorrow, as every calendar integration reports all-day events.
                CalendarEvent(
                    start=date(2026, 11, 26), end=date(2026, 11, 27), summary="Offsite", uid="off"
                ),
            ],
        ),
        "calendar.personal": FakeCalendar(
            "personal",
            [
                CalendarEvent(start=local("13:00"), end=local("13:30"), summary="Team standup"),
                CalendarEvent(start=local("13:30"), end=local("14:30"), summary="Dentist"),
            ],
        ),
    }


class FakeIntegrationFlow(ConfigFlow):
    """The test integration's (unused) config flow: config entries need a handler."""


@pytest.fixture
def fake_flow() -> Iterator[None]:
    with mock_config_flow(TEST_DOMAIN, FakeIntegrationFlow):
        yield


@pytest.fixture
async def real_entities(
    hass: HomeAssistant,
    stockholm: None,
    fake_flow: None,
    lights: dict[str, FakeLight],
    calendars: dict[str, FakeCalendar],
) -> AsyncIterator[MockConfigEntry]:
    """Set the lights and calendars up as a config-entry integration (so they have devices)."""
    platforms = [Platform.LIGHT, Platform.CALENDAR]

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool | None:
        await hass.config_entries.async_forward_entry_setups(entry, platforms)
        return SETUP_ENTRY_OK

    async def unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool | None:
        assert await hass.config_entries.async_unload_platforms(entry, platforms)
        return SETUP_ENTRY_OK

    def platform(entities: list[Any]) -> MockPlatform:
        async def add(
            hass: HomeAssistant, entry: ConfigEntry, add_entities: AddConfigEntryEntitiesCallback
        ) -> None:
            add_entities(entities)

        return MockPlatform(async_setup_entry=add)

    mock_integration(
        hass,
        MockModule(TEST_DOMAIN, async_setup_entry=setup_entry, async_unload_entry=unload_entry),
    )
    mock_platform(hass, f"{TEST_DOMAIN}.config_flow")
    mock_platform(hass, f"{TEST_DOMAIN}.light", platform(list(lights.values())))
    mock_platform(hass, f"{TEST_DOMAIN}.calendar", platform(list(calendars.values())))
    entry = MockConfigEntry(domain=TEST_DOMAIN)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for entity_id, light in lights.items():
        assert light.entity_id == entity_id
    for entity_id, calendar in calendars.items():
        assert calendar.entity_id == entity_id
    yield entry
    # Calendars keep alarms for their next event: remove the entities to drop them.
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
def options() -> dict[str, Any]:
    return dict(BASE_OPTIONS)


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, real_entities: MockConfigEntry, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """LifeOps, set up after the real lights and calendars exist."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def move_to(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: str) -> None:
    freezer.move_to(when)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def light_state(hass: HomeAssistant, entity_id: str) -> tuple[str, int | None, int | None]:
    """(on/off, brightness, colour temperature) as the state machine shows them."""
    state = hass.states.get(entity_id)
    assert state is not None
    return (
        state.state,
        state.attributes.get(ATTR_BRIGHTNESS),
        state.attributes.get(ATTR_COLOR_TEMP_KELVIN),
    )


def light_calls_for(events: list[Event], entity_id: str) -> list[dict[str, Any]]:
    """The data of every light action LifeOps sent that targets the entity."""
    calls = []
    for event in events:
        data = event.data
        if data["domain"] != "light":
            continue
        targets = data["service_data"].get("entity_id") or []
        if entity_id in ([targets] if isinstance(targets, str) else targets):
            calls.append({"service": data["service"], **data["service_data"]})
    return calls


# ---- wind-down on real lights --------------------------------------------------------------


async def test_scheduled_wind_down_dims_real_lights_by_what_each_supports(
    hass: HomeAssistant,
    lights: dict[str, FakeLight],
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    assert light_state(hass, "light.bedroom") == ("on", 255, 4000)

    await move_to(hass, freezer, "2026-11-25T20:45:00+00:00")  # 21:45 local: wind-down
    assert hass.states.get(WIND_DOWN_ACTIVE).state == "on"

    # The colour-temperature light: warm and at 30 % at once, fading by itself.
    assert light_state(hass, "light.bedroom") == ("on", 76, 2200)
    assert lights["light.bedroom"].received == [
        ("turn_on", {ATTR_BRIGHTNESS: 76, ATTR_COLOR_TEMP_KELVIN: 2200, "transition": 60})
    ]
    # The desk light cannot go below 2700 K: clamped, and it starts a stepped fade.
    assert light_state(hass, "light.desk") == ("on", 163, 2700)
    # The Plejd-like dimmer: first step of the stepped fade, brightness only.
    assert light_state(hass, "light.hall_plejd") == ("on", 179, None)
    assert lights["light.hall_plejd"].received == [("turn_on", {ATTR_BRIGHTNESS: 179})]
    # Off stays off.
    assert light_state(hass, "light.reading") == ("off", None, None)
    assert lights["light.reading"].received == []

    for _ in range(5):
        await advance(hass, freezer, 10)
    assert lights["light.hall_plejd"].brightness_steps() == [179, 159, 138, 117, 97, 76]
    assert lights["light.desk"].brightness_steps() == [163, 145, 128, 111, 93, 76]
    assert light_state(hass, "light.hall_plejd") == ("on", 76, None)
    assert light_state(hass, "light.desk") == ("on", 76, 2700)
    # LifeOps itself never asked the dimmer for a colour temperature or a transition.
    plejd_calls = light_calls_for(calls, "light.hall_plejd")
    assert len(plejd_calls) == 6
    assert all(set(call) == {"service", "entity_id", ATTR_BRIGHTNESS} for call in plejd_calls)
    assert light_calls_for(calls, "light.reading") == []

    # The fade is over: nothing else happens.
    await advance(hass, freezer, 120)
    assert len(lights["light.hall_plejd"].received) == 6
    assert len(lights["light.bedroom"].received) == 1


async def test_end_wind_down_mid_fade_restores_real_lights(
    hass: HomeAssistant,
    lights: dict[str, FakeLight],
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    response = await hass.services.async_call(
        DOMAIN, "start_wind_down", {"duration": 30}, blocking=True, return_response=True
    )
    assert response == {"started": True}
    await advance(hass, freezer, 10)
    await advance(hass, freezer, 10)
    assert light_state(hass, "light.hall_plejd") == ("on", 138, None)
    assert light_state(hass, "light.bedroom") == ("on", 76, 2200)

    response = await hass.services.async_call(
        DOMAIN, "end_wind_down", {"restore": True}, blocking=True, return_response=True
    )
    assert response == {"ended": True}
    assert hass.states.get(WIND_DOWN_ACTIVE).state == "off"
    assert light_state(hass, "light.bedroom") == ("on", 255, 4000)
    assert light_state(hass, "light.desk") == ("on", 180, 5000)
    assert light_state(hass, "light.hall_plejd") == ("on", 200, None)
    assert light_state(hass, "light.reading") == ("off", None, None)
    assert lights["light.hall_plejd"].received[-1] == ("turn_on", {ATTR_BRIGHTNESS: 200})

    # The rest of the stepped fade was cancelled: the restored lights stay as they were.
    for _ in range(6):
        await advance(hass, freezer, 10)
    assert light_state(hass, "light.hall_plejd") == ("on", 200, None)
    assert light_state(hass, "light.desk") == ("on", 180, 5000)
    assert not any(action == "turn_on" for action, _ in lights["light.reading"].received)


async def test_restore_a_light_whose_colour_temperature_is_unknown(
    hass: HomeAssistant,
    lights: dict[str, FakeLight],
    init_integration: MockConfigEntry,
) -> None:
    """In colour-temperature mode but not (yet) reporting a temperature, as some lights do."""
    bedroom = lights["light.bedroom"]
    bedroom._attr_color_temp_kelvin = None
    bedroom.async_write_ha_state()
    assert hass.states.get("light.bedroom").attributes["color_mode"] == ColorMode.COLOR_TEMP
    assert light_state(hass, "light.bedroom") == ("on", 255, None)

    await hass.services.async_call(DOMAIN, "start_wind_down", {}, blocking=True)
    assert light_state(hass, "light.bedroom") == ("on", 76, 2200)
    await hass.services.async_call(DOMAIN, "end_wind_down", {"restore": True}, blocking=True)
    # Its brightness comes back; the unknown temperature is not sent.
    assert light_state(hass, "light.bedroom")[:2] == ("on", 255)
    assert bedroom.received[-1] == ("turn_on", {ATTR_BRIGHTNESS: 255})


@pytest.mark.parametrize("options", [{**BASE_OPTIONS, "scene_mode": "off"}])
async def test_scene_mode_off_turns_real_lights_off_and_restore_brings_them_back(
    hass: HomeAssistant,
    lights: dict[str, FakeLight],
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await hass.services.async_call(DOMAIN, "start_wind_down", {}, blocking=True)

    # With transitions the light fades out by itself; without, it steps down first.
    assert light_state(hass, "light.bedroom") == ("off", None, None)
    assert lights["light.bedroom"].received == [("turn_off", {"transition": 60})]
    assert light_state(hass, "light.hall_plejd") == ("on", 167, None)
    for _ in range(6):
        await advance(hass, freezer, 10)
    assert lights["light.hall_plejd"].brightness_steps() == [167, 133, 100, 67, 33]
    for entity_id in LIGHTS:
        assert light_state(hass, entity_id) == ("off", None, None), entity_id
    assert not any(action == "turn_on" for action, _ in lights["light.reading"].received)

    await hass.services.async_call(DOMAIN, "end_wind_down", {"restore": True}, blocking=True)
    assert light_state(hass, "light.bedroom") == ("on", 255, 4000)
    assert light_state(hass, "light.desk") == ("on", 180, 5000)
    assert light_state(hass, "light.hall_plejd") == ("on", 200, None)
    assert light_state(hass, "light.reading") == ("off", None, None)


@pytest.mark.parametrize(
    "options",
    [{**BASE_OPTIONS, "wind_down_lights": [], "wind_down_areas": ["bedroom", "hallway"]}],
)
async def test_wind_down_areas_reach_lights_by_device_or_entity_area(
    hass: HomeAssistant,
    lights: dict[str, FakeLight],
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    areas = ar.async_get(hass)
    for name in ("Bedroom", "Hallway", "Kitchen"):
        areas.async_create(name)
    devices = dr.async_get(hass)
    entities = er.async_get(hass)

    def put_device(key: str, area_id: str) -> None:
        device = find_device(hass, (TEST_DOMAIN, key))
        assert device is not None
        devices.async_update_device(device.id, area_id=area_id)

    put_device("bedroom", "bedroom")  # the light follows its device into the bedroom
    put_device("reading", "bedroom")
    put_device("desk", "bedroom")  # ... but the desk light itself was moved to the kitchen
    entities.async_update_entity("light.desk", area_id="kitchen")
    entities.async_update_entity("light.hall_plejd", area_id="hallway")  # no device area

    await hass.services.async_call(DOMAIN, "start_wind_down", {}, blocking=True)
    assert light_state(hass, "light.bedroom") == ("on", 76, 2200)
    assert light_state(hass, "light.hall_plejd") == ("on", 179, None)
    assert light_state(hass, "light.reading") == ("off", None, None)
    assert light_state(hass, "light.desk") == ("on", 180, 5000)
    for _ in range(6):
        await advance(hass, freezer, 10)
    assert light_state(hass, "light.hall_plejd") == ("on", 76, None)
    assert lights["light.desk"].received == []
    assert init_integration.runtime_data.scenes.snapshot.keys() == {
        "light.bedroom",
        "light.hall_plejd",
        "light.reading",
    }


# ---- work sessions from real calendars -----------------------------------------------------


async def get_events(hass: HomeAssistant, entity_id: str, start: str, end: str) -> list[Any]:
    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": entity_id, "start_date_time": start, "end_date_time": end},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    events = response[entity_id]["events"]
    assert isinstance(events, list)
    return events


@pytest.mark.freeze_time("2026-11-25T07:30:00+00:00")  # 08:30 local
async def test_work_calendar_event_is_a_scheduled_work_session(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    started = async_capture_events(hass, "lifeops_work_started")
    stopped = async_capture_events(hass, "lifeops_work_stopped")
    assert hass.states.get("calendar.work").state == "off"
    assert hass.states.get(WORKING).state == "off"

    await move_to(hass, freezer, "2026-11-25T08:00:00+00:00")  # 09:00 local: planning starts
    assert hass.states.get("calendar.work").state == "on"
    assert hass.states.get(WORKING).state == "on"
    assert len(started) == 1
    lifeops_calendar = hass.states.get(LIFEOPS_CALENDAR)
    assert lifeops_calendar.state == "on"
    assert lifeops_calendar.attributes["description"] == "calendar.work"

    await move_to(hass, freezer, "2026-11-25T09:00:00+00:00")  # 10:00 local
    assert float(hass.states.get(WORK_TODAY).state) == pytest.approx(1.0)
    events = await get_events(
        hass, LIFEOPS_CALENDAR, "2026-11-25T00:00:00+01:00", "2026-11-26T00:00:00+01:00"
    )
    assert {
        "start": "2026-11-25T09:00:00+01:00",
        "end": "2026-11-25T10:00:00+01:00",
        "summary": "Work",
        "description": "calendar.work",
    } in events

    await move_to(hass, freezer, "2026-11-25T10:00:00+00:00")  # 11:00 local: it ends
    assert hass.states.get("calendar.work").state == "off"
    # A minute's grace, in case another work event follows at once...
    assert hass.states.get(WORKING).state == "on"
    assert not stopped
    # ...then the session ends, at the event's end.
    await move_to(hass, freezer, "2026-11-25T10:01:01+00:00")
    assert hass.states.get(WORKING).state == "off"
    assert hass.states.get(LIFEOPS_CALENDAR).state == "off"
    assert len(stopped) == 1
    await move_to(hass, freezer, "2026-11-25T11:00:00+00:00")  # an hour later: still 2 h
    assert float(hass.states.get(WORK_TODAY).state) == pytest.approx(2.0)

    sessions = init_integration.runtime_data.work.tracker.sessions()
    assert [(s.source, s.scheduled, s.start, s.end) for s in sessions] == [
        (
            "calendar.work",
            True,
            dt_util.parse_datetime("2026-11-25T08:00:00+00:00"),
            dt_util.parse_datetime("2026-11-25T10:00:00+00:00"),
        )
    ]

    # The LifeOps calendar: the work calendar's events (all-day ones too) beside the session.
    events = await get_events(
        hass, LIFEOPS_CALENDAR, "2026-11-25T00:00:00+01:00", "2026-11-28T00:00:00+01:00"
    )
    assert events == [
        {
            "start": "2026-11-25T09:00:00+01:00",
            "end": "2026-11-25T11:00:00+01:00",
            "summary": "Work",
            "description": "calendar.work",
        },
        {
            "start": "2026-11-25T09:00:00+01:00",
            "end": "2026-11-25T11:00:00+01:00",
            "summary": "Sprint planning",
            "description": "Quarterly goals",
        },
        {"start": "2026-11-26", "end": "2026-11-27", "summary": "Offsite"},
    ]


@pytest.mark.freeze_time("2026-11-25T12:15:00+00:00")  # 13:15 local: the standup is on
@pytest.mark.parametrize(
    "options",
    [{**BASE_OPTIONS, "work_calendars": ["calendar.personal"], "work_keywords": ["standup"]}],
)
async def test_with_keywords_only_matching_events_of_a_calendar_are_work(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    # Already under way when LifeOps starts: the session opens at once.
    assert hass.states.get("calendar.personal").attributes["message"] == "Team standup"
    assert hass.states.get(WORKING).state == "on"

    await move_to(hass, freezer, "2026-11-25T12:30:00+00:00")  # 13:30: the dentist, not work
    personal = hass.states.get("calendar.personal")
    assert (personal.state, personal.attributes["message"]) == ("on", "Dentist")
    assert hass.states.get(WORKING).state == "on"  # a minute's grace before the session ends
    await move_to(hass, freezer, "2026-11-25T12:31:01+00:00")
    assert hass.states.get(WORKING).state == "off"

    await move_to(hass, freezer, "2026-11-25T13:30:00+00:00")  # 14:30: the calendar is free
    assert hass.states.get("calendar.personal").state == "off"
    assert hass.states.get(WORKING).state == "off"
    assert float(hass.states.get(WORK_TODAY).state) == pytest.approx(0.25)
    sessions = init_integration.runtime_data.work.tracker.sessions()
    assert [(s.source, s.scheduled, s.end) for s in sessions] == [
        ("calendar.personal", True, dt_util.parse_datetime("2026-11-25T12:30:00+00:00"))
    ]
    # The LifeOps calendar lists the chosen calendar's events and the session.
    events = await get_events(
        hass, LIFEOPS_CALENDAR, "2026-11-25T00:00:00+01:00", "2026-11-26T00:00:00+01:00"
    )
    assert [(e["summary"], e["start"], e["end"]) for e in events] == [
        ("Team standup", "2026-11-25T13:00:00+01:00", "2026-11-25T13:30:00+01:00"),
        ("Work", "2026-11-25T13:15:00+01:00", "2026-11-25T13:30:00+01:00"),
        ("Dentist", "2026-11-25T13:30:00+01:00", "2026-11-25T14:30:00+01:00"),
    ]
