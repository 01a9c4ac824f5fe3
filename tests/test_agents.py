"""The agents through Home Assistant: actions, events, entities, persistence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.lifeops.const import DOMAIN

NOW = "2026-11-25T19:00:00+00:00"  # 20:00 in Stockholm: before the 21:45 wind-down

# A quiet afternoon unless a test says otherwise: no schedule fires by itself.
pytestmark = pytest.mark.freeze_time("2026-11-25T13:00:00+00:00")


@pytest.fixture
async def stockholm(hass: HomeAssistant) -> None:
    await hass.config.async_set_time_zone("Europe/Stockholm")


@pytest.fixture
def lights(hass: HomeAssistant) -> None:
    """A colour-temperature light with transitions, and a Plejd-like dimmer without them."""
    hass.states.async_set(
        "light.bedroom",
        "on",
        {
            "supported_color_modes": ["color_temp"],
            "color_mode": "color_temp",
            "brightness": 255,
            "color_temp_kelvin": 4000,
            "min_color_temp_kelvin": 2000,
            "max_color_temp_kelvin": 6500,
            "supported_features": 32,  # LightEntityFeature.TRANSITION
        },
    )
    hass.states.async_set(
        "light.hall_plejd",
        "on",
        {"supported_color_modes": ["brightness"], "color_mode": "brightness", "brightness": 200},
    )


@pytest.fixture
def options(options: dict[str, Any]) -> dict[str, Any]:
    return {
        **options,
        "wind_down_lights": ["light.bedroom", "light.hall_plejd"],
        "notify_targets": ["notify.mobile_app_phone"],
        "work_sources": ["binary_sensor.work_laptop"],
    }


@pytest.fixture
def notify_calls(hass: HomeAssistant) -> list[ServiceCall]:
    return async_mock_service(hass, "notify", "mobile_app_phone")


@pytest.fixture
def light_calls(hass: HomeAssistant) -> dict[str, list[ServiceCall]]:
    return {
        "turn_on": async_mock_service(hass, "light", "turn_on"),
        "turn_off": async_mock_service(hass, "light", "turn_off"),
    }


@pytest.mark.freeze_time(NOW)
async def test_scheduled_wind_down_dims_lights_notifies_and_fires_events(
    hass: HomeAssistant,
    stockholm: None,
    lights: None,
    notify_calls: list[ServiceCall],
    light_calls: dict[str, list[ServiceCall]],
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    started = async_capture_events(hass, "lifeops_wind_down_started")
    bedtime_events = async_capture_events(hass, "lifeops_bedtime")
    assert hass.states.get("binary_sensor.lifeops_sleep_wind_down_active").state == "off"

    freezer.move_to("2026-11-25T20:45:00+00:00")  # 21:45 local
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert hass.states.get("binary_sensor.lifeops_sleep_wind_down_active").state == "on"
    assert len(started) == 1
    assert started[0].data["origin"] == "schedule"
    assert started[0].data["minutes"] == 45
    # The colour-temperature light fades by itself, warm and dim.
    first = light_calls["turn_on"][0]
    assert first.data["entity_id"] == ["light.bedroom"]
    assert first.data["color_temp_kelvin"] == 2200
    assert first.data["brightness"] == 76
    assert first.data["transition"] == 60
    # The light without transitions gets the first step of a stepped fade at once.
    assert light_calls["turn_on"][1].data["entity_id"] == ["light.hall_plejd"]
    assert "transition" not in light_calls["turn_on"][1].data
    assert len(notify_calls) == 1
    assert "45" in notify_calls[0].data["message"]

    # The rest of the stepped fade, ending at the target.
    for _ in range(7):
        freezer.tick(timedelta(seconds=10))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    plejd = [
        c.data["brightness"]
        for c in light_calls["turn_on"]
        if "light.hall_plejd" in c.data["entity_id"]
    ]
    assert plejd == sorted(plejd, reverse=True)
    assert plejd[-1] == 76

    # Bedtime: the event, a reminder, and wind-down ends.
    freezer.move_to("2026-11-25T21:30:01+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len(bedtime_events) == 1
    assert hass.states.get("binary_sensor.lifeops_sleep_wind_down_active").state == "off"
    assert len(notify_calls) == 2


@pytest.mark.freeze_time(NOW)
async def test_end_wind_down_early_restores_the_lights(
    hass: HomeAssistant,
    stockholm: None,
    lights: None,
    notify_calls: list[ServiceCall],
    light_calls: dict[str, list[ServiceCall]],
    init_integration: MockConfigEntry,
) -> None:
    response = await hass.services.async_call(
        DOMAIN, "start_wind_down", {"duration": 30}, blocking=True, return_response=True
    )
    assert response == {"started": True}
    assert hass.states.get("binary_sensor.lifeops_sleep_wind_down_active").state == "on"
    light_calls["turn_on"].clear()

    response = await hass.services.async_call(
        DOMAIN, "end_wind_down", {"restore": True}, blocking=True, return_response=True
    )
    assert response == {"ended": True}
    assert hass.states.get("binary_sensor.lifeops_sleep_wind_down_active").state == "off"
    restored = {call.data["entity_id"][0]: call.data for call in light_calls["turn_on"]}
    assert restored["light.bedroom"]["brightness"] == 255
    assert restored["light.bedroom"]["color_temp_kelvin"] == 4000
    assert restored["light.hall_plejd"]["brightness"] == 200

    # Ending again changes nothing.
    response = await hass.services.async_call(
        DOMAIN, "end_wind_down", {}, blocking=True, return_response=True
    )
    assert response == {"ended": False}


@pytest.mark.freeze_time("2026-11-25T23:00:00+00:00")  # midnight local: inside quiet hours
async def test_quiet_hours_hold_normal_notifications_but_not_urgent_ones(
    hass: HomeAssistant,
    stockholm: None,
    notify_calls: list[ServiceCall],
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    normal = await hass.services.async_call(
        DOMAIN,
        "notify",
        {"title": "Report", "message": "Weekly summary", "priority": 3},
        blocking=True,
        return_response=True,
    )
    assert normal["created"] is True
    assert notify_calls == []
    assert hass.states.get("sensor.lifeops_notifications_pending_notifications").state == "1"

    await hass.services.async_call(
        DOMAIN,
        "notify",
        {"title": "Water leak", "message": "Kitchen sensor is wet", "priority": 1},
        blocking=True,
    )
    assert [call.data["title"] for call in notify_calls] == ["Water leak"]

    # The same notification again inside the window collapses into the first.
    again = await hass.services.async_call(
        DOMAIN,
        "notify",
        {"title": "Report", "message": "Weekly summary"},
        blocking=True,
        return_response=True,
    )
    assert again == {**normal, "created": False}

    freezer.move_to("2026-11-26T06:00:01+00:00")  # 07:00:01 local: quiet hours over
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert [call.data["title"] for call in notify_calls] == ["Water leak", "Report"]
    assert hass.states.get("sensor.lifeops_notifications_pending_notifications").state == "0"


async def test_failing_target_falls_back_retries_then_fails(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    attempts: list[ServiceCall] = []

    async def broken(call: ServiceCall) -> None:
        attempts.append(call)
        raise HomeAssistantError("phone unreachable")

    hass.services.async_register("notify", "mobile_app_phone", broken)
    await async_setup_component(hass, "persistent_notification", {})
    response = await hass.services.async_call(
        DOMAIN,
        "notify",
        {"title": "Pick up", "message": "Parcel at the door"},
        blocking=True,
        return_response=True,
    )
    notification_id = response["notification_id"]
    assert len(attempts) == 1
    # Shown in Home Assistant at once while the phone is retried.
    from homeassistant.components import persistent_notification

    shown = persistent_notification._async_get_or_create_notifications(hass)
    assert f"lifeops_{notification_id}" in shown
    queue = init_integration.runtime_data.notifications.queue
    for _ in range(6):
        freezer.tick(timedelta(minutes=31))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    parcel = [call for call in attempts if call.data["title"] == "Pick up"]
    assert len(parcel) == 5
    assert queue.get(notification_id).status == "failed"
    assert "phone unreachable" in queue.get(notification_id).last_error


async def test_dismiss_notification(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    response = await hass.services.async_call(
        DOMAIN,
        "notify",
        {"title": "Later", "message": "Call mum", "scheduled": "2099-01-01T10:00:00+00:00"},
        blocking=True,
        return_response=True,
    )
    await hass.services.async_call(
        DOMAIN,
        "dismiss_notification",
        {"notification_id": response["notification_id"]},
        blocking=True,
    )
    assert hass.states.get("sensor.lifeops_notifications_pending_notifications").state == "0"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "dismiss_notification", {"notification_id": "nope"}, blocking=True
        )
    assert err.value.translation_key == "notification_not_found"


@pytest.mark.freeze_time("2026-11-25T15:00:00+00:00")  # 16:00 local
async def test_work_sessions_from_a_source_and_the_cutoff_alert_once(
    hass: HomeAssistant,
    stockholm: None,
    notify_calls: list[ServiceCall],
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    hass.states.async_set("binary_sensor.work_laptop", "on")
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.lifeops_work_life_working").state == "on"

    freezer.tick(timedelta(hours=2, minutes=30))  # 18:30 local, past the 18:00 cut-off
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    # A laptop that locks for half a minute does not end the session.
    hass.states.async_set("binary_sensor.work_laptop", "off")
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.lifeops_work_life_working").state == "on"
    freezer.tick(timedelta(seconds=30))
    hass.states.async_set("binary_sensor.work_laptop", "on")
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.lifeops_work_life_working").state == "on"

    # Quiet for a minute: the session ends, at the moment the laptop went quiet.
    hass.states.async_set("binary_sensor.work_laptop", "off")
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.lifeops_work_life_working").state == "off"
    assert float(hass.states.get("sensor.lifeops_work_life_work_today").state) == pytest.approx(
        2.5 + 30 / 3600, abs=1e-3
    )
    assert len(init_integration.runtime_data.work.tracker.sessions()) == 1
    cutoff = [call for call in notify_calls if "18:00" in call.data["message"]]
    assert len(cutoff) == 1

    # Back at it the same evening: no second cut-off nudge.
    hass.states.async_set("binary_sensor.work_laptop", "on")
    freezer.tick(timedelta(minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len([call for call in notify_calls if "18:00" in call.data["message"]]) == 1

    response = await hass.services.async_call(
        DOMAIN, "stop_work", {}, blocking=True, return_response=True
    )
    assert len(response["stopped"]) == 1


async def test_agent_state_survives_a_restart(
    hass: HomeAssistant, init_integration: MockConfigEntry, notify_calls: list[ServiceCall]
) -> None:
    await hass.services.async_call(DOMAIN, "start_work", {"source": "desk"}, blocking=True)
    await hass.services.async_call(
        DOMAIN,
        "log_screen_time",
        {"minutes": 25, "category": "tablet", "log_id": "a1"},
        blocking=True,
    )
    await hass.services.async_call(
        DOMAIN,
        "notify",
        {"title": "Later", "message": "Water plants", "scheduled": "2099-01-01T10:00:00+00:00"},
        blocking=True,
    )
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()

    runtime = init_integration.runtime_data
    assert runtime.work.tracker.open_sources() == ["desk"]
    assert float(hass.states.get("sensor.lifeops_screen_time_screen_time_today").state) == 25
    assert [item.title for item in runtime.notifications.queue.pending()] == ["Later"]
    # The same screen-time log again is counted once.
    response = await hass.services.async_call(
        DOMAIN,
        "log_screen_time",
        {"minutes": 25, "category": "tablet", "log_id": "a1"},
        blocking=True,
        return_response=True,
    )
    assert response == {"added": False}


@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        ("start_wind_down", {"duration": 0}, "invalid_field_duration"),
        ("start_wind_down", {"duration": "long"}, "invalid_field_duration"),
        ("start_wind_down", {"colour": "red"}, "unknown_field"),
        ("log_screen_time", {"minutes": -5}, "invalid_field_minutes"),
        ("log_screen_time", {}, "invalid_field_minutes"),
        (
            "log_screen_time",
            {"minutes": 5, "category": "tablet", "when": "2999-01-01T00:00:00+00:00"},
            "invalid_field_when",
        ),
        ("notify", {"title": "", "message": "x"}, "invalid_field_title"),
        ("notify", {"title": "x\ud800", "message": "x"}, "invalid_field_title"),
        ("notify", {"title": "x", "message": "\udc00"}, "invalid_field_message"),
        (
            "notify",
            {"title": "x", "message": "y", "dedupe_key": "\udc00"},
            "invalid_field_dedupe_key",
        ),
        ("start_work", {"source": "desk\ud800"}, "invalid_field_source"),
        ("notify", {"title": "x", "message": "y", "priority": 7}, "invalid_field_priority"),
        ("notify", {"title": "x", "message": "y", "url": "ftp://x"}, "invalid_field_url"),
        ("notify", {"title": "x", "message": "y", "targets": ["light.x"]}, "invalid_field_targets"),
        ("start_work", {"config_entry_id": "missing"}, "entry_not_found"),
    ],
)
async def test_actions_reject_bad_input_with_a_translated_error(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    service: str,
    data: dict[str, Any],
    key: str,
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, service, data, blocking=True)
    assert err.value.translation_key == key
    assert err.value.translation_domain == DOMAIN
    assert "{" not in str(err.value)  # every placeholder filled in
    assert not init_integration.runtime_data.work.tracker.is_working()
    assert init_integration.runtime_data.notifications.queue.all() == []


PAYLOAD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
FIELD_NAMES = st.sampled_from(
    [
        "duration", "scene", "restore", "source", "minutes", "category", "when", "log_id",
        "title", "message", "priority", "url", "targets", "scheduled", "notification_id",
        "config_entry_id", "bogus",
    ]
)  # fmt: skip


async def test_random_payloads_only_ever_fail_validation(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Hypothesis throws random payloads at every action: a clean error or a clean success."""
    services = [
        "start_wind_down", "end_wind_down", "start_work", "stop_work",
        "log_screen_time", "notify", "dismiss_notification",
    ]  # fmt: skip
    runtime = init_integration.runtime_data
    seen: list[tuple[str, dict[str, Any], str]] = []

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        service=st.sampled_from(services),
        payload=st.dictionaries(FIELD_NAMES, PAYLOAD_VALUES, max_size=4),
    )
    def run(service: str, payload: dict[str, Any]) -> None:
        seen.append((service, payload, ""))

    run()
    refused = 0
    for service, payload, _ in seen:
        before = (
            runtime.notifications.queue.as_dict(),
            runtime.work.tracker.as_dict(),
            runtime.screen_time.tracker.as_dict(),
            runtime.sleep.as_dict(),
        )
        error: ServiceValidationError | None = None
        try:
            await hass.services.async_call(DOMAIN, service, payload, blocking=True)
        except ServiceValidationError as err:
            error = err
        if error is None:
            continue
        refused += 1
        assert (error.translation_domain, bool(error.translation_key)) == (DOMAIN, True)
        after = (
            runtime.notifications.queue.as_dict(),
            runtime.work.tracker.as_dict(),
            runtime.screen_time.tracker.as_dict(),
            runtime.sleep.as_dict(),
        )
        assert after == before, (service, payload)
    assert refused > len(seen) // 2


@pytest.mark.freeze_time("2026-11-25T08:00:00+00:00")
async def test_a_session_ends_when_its_source_went_quiet_across_reloads_and_restarts(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    laptop = "binary_sensor.work_laptop"
    hass.states.async_set(laptop, "on")
    await hass.async_block_till_done()
    freezer.tick(timedelta(hours=1))
    hass.states.async_set(laptop, "off")  # quiet at 09:00, inside the minute's grace
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=10))
    # Reloaded inside the grace: the session ends when the laptop went quiet, not later.
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    sessions = init_integration.runtime_data.work.tracker.sessions()
    assert [(s.start, s.end) for s in sessions] == [
        (
            dt_util.parse_datetime("2026-11-25T08:00:00+00:00"),
            dt_util.parse_datetime("2026-11-25T09:00:00+00:00"),
        )
    ]
    assert hass.states.get("binary_sensor.lifeops_work_life_working").state == "off"

    # Working again; LifeOps stops; the laptop goes quiet while it is not running.
    hass.states.async_set(laptop, "on")
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    freezer.tick(timedelta(minutes=30))
    hass.states.async_set(laptop, "off")  # 09:30:10
    freezer.tick(timedelta(hours=2))
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    sessions = init_integration.runtime_data.work.tracker.sessions()
    # Back within a minute of 09:00, so still the first session; it ended at 09:30:10.
    assert len(sessions) == 1
    assert sessions[0].end == dt_util.parse_datetime("2026-11-25T09:30:10+00:00")
    assert float(hass.states.get("sensor.lifeops_work_life_work_today").state) == pytest.approx(
        1.5 + 10 / 3600, abs=1e-3
    )
