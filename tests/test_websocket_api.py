"""The websocket API: authentication, validation, results, subscriptions and trends."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.lifeops.const import DOMAIN

# Midday where the harness lives (US/Pacific): no wind-down or quiet hours begin during a test
# that counts notifications, whatever the real clock says.
MIDDAY = "2026-11-25T20:00:00+00:00"


async def _notify(hass: HomeAssistant, title: str) -> str:
    response = await hass.services.async_call(
        DOMAIN,
        "notify",
        {"title": title, "message": "Time to stretch", "priority": 3},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return str(response["notification_id"])


async def _event(client: Any, subscription: int) -> dict[str, Any]:
    message = await asyncio.wait_for(client.receive_json(), 5)
    assert message["id"] == subscription
    assert message["type"] == "event"
    event: dict[str, Any] = message["event"]
    return event


@pytest.mark.freeze_time(MIDDAY)
async def test_agents_lists_every_agent_with_its_state(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "lifeops/agents"})
    result = await client.receive_json()
    assert result["success"], result
    data = result["result"]
    assert data["config_entry_id"] == init_integration.entry_id
    assert data["site"] == "home"
    agents = {item["agent"]: item for item in data["agents"]}
    assert set(agents) == {
        "sleep",
        "fitness",
        "work_life",
        "screen_time",
        "home_scenes",
        "notifications",
        "gamification",
    }
    assert all(item["enabled"] for item in agents.values())
    sleep = agents["sleep"]["state"]
    assert sleep["wind_down_active"] is False
    assert dt_util.parse_datetime(sleep["next_bedtime"]) > dt_util.utcnow()
    assert agents["work_life"]["state"]["working"] is False
    assert agents["gamification"]["state"]["total_xp"] == 0


async def test_subscribe_agents_sends_a_change_without_polling(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "lifeops/subscribe_agents"})
    result = await client.receive_json()
    assert result["success"], result
    subscription = result["id"]
    first = await _event(client, subscription)
    assert {item["agent"]: item["enabled"] for item in first["agents"]}["sleep"] is True

    # A switch turned off, then work started: each arrives as an event.
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.lifeops_sleep_agent_enabled"}, blocking=True
    )
    event = await _event(client, subscription)
    assert {item["agent"]: item["enabled"] for item in event["agents"]}["sleep"] is False

    await hass.services.async_call(DOMAIN, "start_work", {"source": "desk"}, blocking=True)
    event = await _event(client, subscription)
    work = {item["agent"]: item["state"] for item in event["agents"]}["work_life"]
    assert work["working"] is True

    # Unsubscribed: no more events.
    await client.send_json_auto_id({"type": "unsubscribe_events", "subscription": subscription})
    result = await client.receive_json()
    assert result["success"], result
    await hass.services.async_call(DOMAIN, "stop_work", {}, blocking=True)
    await hass.async_block_till_done()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.receive_json(), 0.3)


@pytest.mark.freeze_time(MIDDAY)
async def test_notifications_list_subscribe_and_dismiss(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "lifeops/subscribe_notifications"})
    subscription = (await client.receive_json())["id"]
    assert (await _event(client, subscription))["notifications"] == []

    # Quiet hours (22-07 by default) may hold it; either way it is in the queue.
    notification_id = await _notify(hass, "Stand up")
    event = await _event(client, subscription)
    assert [item["id"] for item in event["notifications"]] == [notification_id]
    assert event["notifications"][0]["title"] == "Stand up"
    assert "dedupe_key" not in event["notifications"][0]

    await client.send_json_auto_id({"type": "lifeops/notifications", "status": "dismissed"})
    result = await client.receive_json()
    assert result["result"]["notifications"] == []
    await client.send_json_auto_id(
        {"type": "lifeops/notifications", "status": ["pending", "delivered"]}
    )
    result = await client.receive_json()
    assert [item["id"] for item in result["result"]["notifications"]] == [notification_id]

    # Dismissing changes something: a read-only user is refused and nothing changes.
    reader = await hass_ws_client(hass, hass_read_only_access_token)
    await reader.send_json_auto_id(
        {"type": "lifeops/notifications/dismiss", "notification_id": notification_id}
    )
    result = await reader.receive_json()
    assert not result["success"]
    assert result["error"]["code"] == "unauthorized"
    queue = init_integration.runtime_data.notifications.queue
    assert queue.get(notification_id).status != "dismissed"

    await client.send_json_auto_id(
        {"type": "lifeops/notifications/dismiss", "notification_id": notification_id}
    )
    result = await client.receive_json()
    while result.get("type") == "event":  # the dismissal's own event may come first
        result = await client.receive_json()
    assert result["success"], result
    assert result["result"]["status"] == "dismissed"
    assert queue.get(notification_id).status == "dismissed"

    await client.send_json_auto_id(
        {"type": "lifeops/notifications/dismiss", "notification_id": "nope"}
    )
    result = await client.receive_json()
    while result.get("type") == "event":
        result = await client.receive_json()
    assert result["error"]["code"] == "not_found"
    assert result["error"]["translation_key"] == "notification_not_found"
    assert result["error"]["translation_placeholders"] == {"notification_id": "nope"}


@pytest.mark.parametrize(
    ("message", "code", "key"),
    [
        ({"type": "lifeops/agents", "colour": "red"}, "invalid_format", "unknown_field"),
        (
            {"type": "lifeops/notifications", "status": "lost"},
            "invalid_format",
            "invalid_field_status",
        ),
        (
            {"type": "lifeops/notifications/dismiss"},
            "invalid_format",
            "invalid_field_notification_id",
        ),
        ({"type": "lifeops/trend"}, "invalid_format", "invalid_field_metric"),
        ({"type": "lifeops/trend", "metric": "bogus"}, "invalid_format", "invalid_field_metric"),
        (
            {"type": "lifeops/trend", "metric": "total_xp", "period": "decade"},
            "invalid_format",
            "invalid_field_period",
        ),
        (
            {"type": "lifeops/trend", "metric": "total_xp", "days": 0},
            "invalid_format",
            "invalid_field_days",
        ),
        (
            {
                "type": "lifeops/trend",
                "metric": "total_xp",
                "start": "2026-11-02T00:00:00+00:00",
                "end": "2026-11-01T00:00:00+00:00",
            },
            "invalid_format",
            "invalid_field_start",
        ),
        (
            {"type": "lifeops/trend", "metric": "total_xp", "end": "soon"},
            "invalid_format",
            "invalid_field_end",
        ),
        (
            {"type": "lifeops/gamification", "config_entry_id": "missing"},
            "not_found",
            "entry_not_found",
        ),
        (
            {"type": "lifeops/subscribe_agents", "config_entry_id": [3]},
            "invalid_format",
            "invalid_field_config_entry_id",
        ),
    ],
)
async def test_bad_input_gets_a_translated_error(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    message: dict[str, Any],
    code: str,
    key: str,
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(message)
    result = await client.receive_json()
    assert not result["success"]
    assert result["error"]["code"] == code
    assert result["error"]["translation_domain"] == DOMAIN
    assert result["error"]["translation_key"] == key
    # The message is the translated text, not the key.
    assert result["error"]["message"] != key
    assert len(result["error"]["message"]) > 10
    assert "{" not in result["error"]["message"]  # every placeholder filled in


async def test_gamification_result_and_subscription(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "lifeops/gamification"})
    result = (await client.receive_json())["result"]
    assert result["total_xp"] == 0
    assert result["level"]["level"] == 1
    assert result["achievements"]
    assert all("name" in item for item in result["achievements"].values())
    assert {habit["id"] for habit in result["habits"]} >= {"screen_time_under_limit"}

    await client.send_json_auto_id({"type": "lifeops/subscribe_gamification"})
    subscription = (await client.receive_json())["id"]
    assert (await _event(client, subscription))["total_xp"] == 0

    await hass.services.async_call(
        DOMAIN, "award_xp", {"agent": "fitness", "event_type": "run", "amount": 40}, blocking=True
    )
    event = await _event(client, subscription)
    while event["total_xp"] == 0:  # a habits-listener event may come before the recompute
        event = await _event(client, subscription)
    assert event["total_xp"] == 40
    assert event["xp_today"] == 40


async def test_trend_without_the_recorder_says_so(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "lifeops/trend", "metric": "work_this_week"})
    result = await client.receive_json()
    assert result["error"]["code"] == "home_assistant_error"
    assert result["error"]["translation_key"] == "recorder_not_loaded"


async def test_a_subscription_follows_the_entry_through_a_reload(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "lifeops/subscribe_gamification"})
    subscription = (await client.receive_json())["id"]
    assert (await _event(client, subscription))["total_xp"] == 0

    # Purging reloads the entry: the subscriber hears of the new agents, and of later changes.
    await hass.services.async_call(
        DOMAIN, "award_xp", {"agent": "fitness", "event_type": "run", "amount": 40}, blocking=True
    )
    event = await _event(client, subscription)
    while event["total_xp"] != 40:
        event = await _event(client, subscription)
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    event = await _event(client, subscription)
    assert event["total_xp"] == 40
    await hass.services.async_call(
        DOMAIN, "award_xp", {"agent": "fitness", "event_type": "run", "amount": 5}, blocking=True
    )
    event = await _event(client, subscription)
    while event["total_xp"] != 45:
        event = await _event(client, subscription)
    assert event["xp_today"] == 45
