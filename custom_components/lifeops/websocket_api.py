"""LifeOps over Home Assistant's websocket API: agents, notifications, gamification and trends.

Every command is authenticated by Home Assistant's websocket connection; the one that changes
something (dismissing a notification) needs an administrator. Fields are validated here (not
by the websocket layer) so each error carries a translation key naming the field. The
`lifeops/subscribe_*` commands answer with a result, then send the current data as an event and
another event after each change (changes within one loop iteration are sent once); nothing polls.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
import functools
from typing import Any, Final

from homeassistant.components.websocket_api import async_register_command, const as ws_const
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import async_response, websocket_command
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .actions import (
    ATTR_CONFIG_ENTRY_ID,
    ENTRY_FIELD,
    action_error,
    site_entry_for,
    utc_datetime,
    validate,
)
from .binary_sensor import AGENT_BINARY_SENSORS
from .const import DOMAIN
from .core.agents import Agent
from .core.notifications import Notification, Status
from .core.text import MAX_SHORT_TEXT
from .data import LifeOpsConfigEntry, LifeOpsRuntimeData
from .sensor import AGENT_SENSORS, SCHEDULE_SENSORS
from .texts import achievement_name, habit_name
from .trend import PERIODS, async_trend

MAX_TREND_DAYS: Final = 400
# The metrics `lifeops/trend` answers for: LifeOps' sensors that keep long-term statistics.
TREND_METRICS: Final = {
    description.key: description
    for description in AGENT_SENSORS
    if description.state_class is not None
}
# Which websocket error code a translated error is sent with (default: invalid_format).
_ERROR_CODES: Final = {
    "entry_not_found": ws_const.ERR_NOT_FOUND,
    "notification_not_found": ws_const.ERR_NOT_FOUND,
    "entry_not_loaded": ws_const.ERR_HOME_ASSISTANT_ERROR,
    "recorder_not_loaded": ws_const.ERR_HOME_ASSISTANT_ERROR,
}


_STATUSES = [status.value for status in Status]

SCHEMAS: Final[dict[str, vol.Schema]] = {
    "lifeops/agents": vol.Schema(ENTRY_FIELD),
    "lifeops/subscribe_agents": vol.Schema(ENTRY_FIELD),
    "lifeops/notifications": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Optional("status", default=[Status.PENDING.value]): vol.All(
                cv.ensure_list, [vol.In(_STATUSES)]
            ),
        }
    ),
    "lifeops/subscribe_notifications": vol.Schema(ENTRY_FIELD),
    "lifeops/notifications/dismiss": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Required("notification_id"): vol.All(
                cv.string, vol.Strip, vol.Length(min=1, max=MAX_SHORT_TEXT)
            ),
        }
    ),
    "lifeops/gamification": vol.Schema(ENTRY_FIELD),
    "lifeops/subscribe_gamification": vol.Schema(ENTRY_FIELD),
    "lifeops/trend": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Required("metric"): vol.In(sorted(TREND_METRICS)),
            vol.Optional("period", default="day"): vol.In(PERIODS),
            vol.Optional("days", default=30): vol.All(
                vol.Coerce(int), vol.Range(min=1, max=MAX_TREND_DAYS)
            ),
            vol.Optional("start"): utc_datetime,
            vol.Optional("end"): utc_datetime,
        }
    ),
}
type Handler = Callable[
    [HomeAssistant, ActiveConnection, int, LifeOpsConfigEntry, dict[str, Any]],
    Coroutine[Any, Any, None],
]


def _command(
    command: str, *, admin: bool = False
) -> Callable[[Handler], ws_const.WebSocketCommandHandler]:
    """Register-ready handler: validates, finds the entry, sends translated errors."""
    schema = SCHEMAS[command]

    def decorate(handler: Handler) -> ws_const.WebSocketCommandHandler:
        # Every other key reaches the handler, which validates it with a translated error.
        @websocket_command({vol.Required("type"): command, vol.Extra: object})  # type: ignore[dict-item]
        @async_response
        @functools.wraps(handler)
        async def run(
            hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
        ) -> None:
            if admin and not connection.user.is_admin:
                raise Unauthorized
            fields = {key: value for key, value in msg.items() if key not in ("id", "type")}
            try:
                data = validate(schema, fields)
                entry = site_entry_for(hass, data)
                await handler(hass, connection, msg["id"], entry, data)
            except HomeAssistantError as err:
                if err.translation_key is None:
                    raise
                connection.send_error(
                    msg["id"],
                    _ERROR_CODES.get(err.translation_key, ws_const.ERR_INVALID_FORMAT),
                    str(err),
                    translation_key=err.translation_key,
                    translation_domain=err.translation_domain,
                    translation_placeholders=err.translation_placeholders,
                )

        return run

    return decorate


# ---- what the commands answer ----------------------------------------------------------------


def agents_payload(entry: LifeOpsConfigEntry) -> dict[str, Any]:
    """Every agent with whether it may act and the figures its entities show."""
    runtime = entry.runtime_data
    now = dt_util.utcnow()
    states: dict[Agent, dict[str, Any]] = {agent: {} for agent in Agent}
    for schedule in SCHEDULE_SENSORS:
        states[Agent.SLEEP][schedule.key] = schedule.value_fn(runtime, now).isoformat()
    for binary in AGENT_BINARY_SENSORS:
        states[binary.agent][binary.key] = binary.is_on_fn(runtime)
    for sensor in AGENT_SENSORS:
        states[sensor.agent][sensor.key] = sensor.value_fn(runtime)
    states[Agent.NOTIFICATIONS]["quiet_hours"] = runtime.notifications.queue.is_quiet(now)
    states[Agent.HOME_SCENES]["occupied"] = runtime.scenes.occupied
    return {
        ATTR_CONFIG_ENTRY_ID: entry.entry_id,
        "site": runtime.site,
        "agents": [
            {"agent": agent.value, "enabled": runtime.is_enabled(agent), "state": states[agent]}
            for agent in Agent
        ],
    }


def _notification(item: Notification) -> dict[str, Any]:
    data = item.as_dict()
    data.pop("dedupe_key", None)
    data.pop("last_error", None)  # may name a target's internals; diagnostics have the counts
    return data


def notifications_payload(
    entry: LifeOpsConfigEntry, statuses: list[str] | None = None
) -> dict[str, Any]:
    """The queue's notifications with the given statuses (all when None), newest first."""
    queue = entry.runtime_data.notifications.queue
    items = [item for item in queue.all() if statuses is None or item.status.value in statuses]
    items.sort(key=lambda item: item.created, reverse=True)
    return {
        ATTR_CONFIG_ENTRY_ID: entry.entry_id,
        "quiet_hours": queue.is_quiet(dt_util.utcnow()),
        "notifications": [_notification(item) for item in items],
    }


def gamification_payload(entry: LifeOpsConfigEntry) -> dict[str, Any]:
    """XP, level, streaks, achievements and the person's habits."""
    controller = entry.runtime_data.gamification
    figures = controller.figures
    data = figures.as_dict()
    level = figures.level
    data["level"] = {
        "level": level.level,
        "progress": round(level.progress, 4),
        "xp_into_level": level.xp_into_level,
        "xp_to_next_level": level.xp_to_next_level,
        "next_level_xp": level.next_level_xp,
    }
    data.pop("level_progress", None)
    data.pop("xp_to_next_level", None)
    hass = controller.hass
    for achievement_id, achievement in data["achievements"].items():
        achievement["name"] = achievement_name(hass, achievement_id)
    data["habits"] = [
        {**habit.as_dict(), "name": habit_name(hass, habit)}
        for habit in controller.all_habits().values()
    ]
    return {ATTR_CONFIG_ENTRY_ID: entry.entry_id, **data}


# ---- commands ---------------------------------------------------------------------------------


@_command("lifeops/agents")
async def ws_agents(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg_id: int,
    entry: LifeOpsConfigEntry,
    data: dict[str, Any],
) -> None:
    """The agents and their state."""
    connection.send_result(msg_id, agents_payload(entry))


@_command("lifeops/notifications")
async def ws_notifications(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg_id: int,
    entry: LifeOpsConfigEntry,
    data: dict[str, Any],
) -> None:
    """The notifications with the given statuses (pending by default)."""
    connection.send_result(msg_id, notifications_payload(entry, data["status"]))


@_command("lifeops/notifications/dismiss", admin=True)
async def ws_dismiss(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg_id: int,
    entry: LifeOpsConfigEntry,
    data: dict[str, Any],
) -> None:
    """Dismiss a notification."""
    notification_id = data["notification_id"]
    try:
        notification = entry.runtime_data.notifications.async_dismiss(notification_id)
    except KeyError as err:
        raise action_error("notification_not_found", notification_id=notification_id) from err
    connection.send_result(msg_id, _notification(notification))


@_command("lifeops/gamification")
async def ws_gamification(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg_id: int,
    entry: LifeOpsConfigEntry,
    data: dict[str, Any],
) -> None:
    """XP, level, streaks and achievements, once every pending recompute is done."""
    await entry.runtime_data.gamification.async_figures()
    connection.send_result(msg_id, gamification_payload(entry))


@_command("lifeops/trend")
async def ws_trend(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg_id: int,
    entry: LifeOpsConfigEntry,
    data: dict[str, Any],
) -> None:
    """A metric's statistics over a period: `start`-`end`, or the last `days` days."""
    description = TREND_METRICS[data["metric"]]
    end: datetime = data.get("end") or dt_util.utcnow()
    start: datetime = data.get("start") or end - timedelta(days=data["days"])
    if start >= end:
        raise action_error("invalid_field_start", field="start")
    unique_id = f"{entry.runtime_data.node_id}_{description.agent.value}_{description.key}"
    entity_id = er.async_get(hass).async_get_entity_id(Platform.SENSOR, DOMAIN, unique_id)
    points = await async_trend(hass, entity_id, start, end, data["period"]) if entity_id else []
    connection.send_result(
        msg_id,
        {
            ATTR_CONFIG_ENTRY_ID: entry.entry_id,
            "metric": description.key,
            "entity_id": entity_id,
            "unit": description.native_unit_of_measurement,
            "period": data["period"],
            "start": start.isoformat(),
            "end": end.isoformat(),
            "points": points,
        },
    )


type Listen = Callable[[LifeOpsRuntimeData, Callable[[], None]], list[CALLBACK_TYPE]]


def _subscribe(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg_id: int,
    entry: LifeOpsConfigEntry,
    payload: Callable[[], dict[str, Any]],
    listen: Listen,
) -> None:
    """Answer, send the data now, then once more after each burst of changes.

    The subscription follows the entry: reloaded (options, purge, import), it listens to the
    new agents and sends their data; unloaded, it sends nothing until the entry is back.
    """
    scheduled = False
    removers: list[CALLBACK_TYPE] = []

    @callback
    def send() -> None:
        nonlocal scheduled
        scheduled = False
        if msg_id in connection.subscriptions and entry.state is ConfigEntryState.LOADED:
            connection.send_message(event_message(msg_id, payload()))

    @callback
    def changed() -> None:
        nonlocal scheduled
        if not scheduled:
            scheduled = True
            hass.loop.call_soon(send)

    @callback
    def detach() -> None:
        while removers:
            removers.pop()()

    @callback
    def entry_state_changed() -> None:
        detach()
        if entry.state is ConfigEntryState.LOADED:
            removers.extend(listen(entry.runtime_data, changed))
            changed()

    removers.extend(listen(entry.runtime_data, changed))
    stop_following = entry.async_on_state_change(entry_state_changed)

    @callback
    def unsubscribe() -> None:
        stop_following()
        detach()

    connection.subscriptions[msg_id] = unsubscribe
    connection.send_result(msg_id)
    send()


@_command("lifeops/subscribe_agents")
async def ws_subscribe_agents(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg_id: int,
    entry: LifeOpsConfigEntry,
    data: dict[str, Any],
) -> None:
    """Agents' state, now and after each change (figures, settings, agent switches)."""

    def listen(runtime: LifeOpsRuntimeData, changed: Callable[[], None]) -> list[CALLBACK_TYPE]:
        switches = [
            item.entity_id
            for item in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
            if item.domain == Platform.SWITCH
        ]

        @callback
        def on_switch(event: Event[Any]) -> None:
            changed()

        return [
            *(controller.async_add_listener(changed) for controller in runtime.controllers),
            runtime.async_add_settings_listener(changed),
            async_track_state_change_event(hass, switches, on_switch),
        ]

    _subscribe(hass, connection, msg_id, entry, lambda: agents_payload(entry), listen)


@_command("lifeops/subscribe_notifications")
async def ws_subscribe_notifications(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg_id: int,
    entry: LifeOpsConfigEntry,
    data: dict[str, Any],
) -> None:
    """Every notification in the queue, now and after each change."""

    def listen(runtime: LifeOpsRuntimeData, changed: Callable[[], None]) -> list[CALLBACK_TYPE]:
        return [runtime.notifications.async_add_listener(changed)]

    _subscribe(hass, connection, msg_id, entry, lambda: notifications_payload(entry), listen)


@_command("lifeops/subscribe_gamification")
async def ws_subscribe_gamification(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg_id: int,
    entry: LifeOpsConfigEntry,
    data: dict[str, Any],
) -> None:
    """XP, level, streaks and achievements, now and after each recompute."""

    def listen(runtime: LifeOpsRuntimeData, changed: Callable[[], None]) -> list[CALLBACK_TYPE]:
        controller = runtime.gamification
        return [
            controller.async_add_listener(changed),
            controller.async_add_habits_listener(changed),
        ]

    _subscribe(hass, connection, msg_id, entry, lambda: gamification_payload(entry), listen)


COMMANDS: Final = (
    ws_agents,
    ws_subscribe_agents,
    ws_notifications,
    ws_subscribe_notifications,
    ws_dismiss,
    ws_gamification,
    ws_subscribe_gamification,
    ws_trend,
)


@callback
def async_setup_websocket_api(hass: HomeAssistant) -> None:
    """Register LifeOps' websocket commands (once, from async_setup)."""
    for command in COMMANDS:
        async_register_command(hass, command)
