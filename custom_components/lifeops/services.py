"""LifeOps' actions: validated in full before anything changes, errors translated and named."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from homeassistant.core import HomeAssistant, ServiceResponse, SupportsResponse, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .actions import (
    ENTRY_FIELD,
    EntryHandler,
    action_error,
    async_register_action,
    for_entry,
    utc_datetime,
)
from .core import habits, xp
from .core.notifications import (
    MAX_MESSAGE_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_URL_LENGTH,
    URL_PREFIXES,
    Priority,
)
from .core.text import MAX_SHORT_TEXT, storable
from .data import LifeOpsConfigEntry
from .long_term.store import async_query_trend
from .sync_link.entry import async_sync_now
from .timescale import queries as trends


def _storable(value: str) -> str:
    """Refuse text that cannot be stored (a lone surrogate): the store would fail to write."""
    if not storable(value):
        raise vol.Invalid("not valid Unicode text")
    return value


def _text(max_length: int) -> vol.All:
    return vol.All(cv.string, vol.Strip, vol.Length(min=1, max=max_length), _storable)


_TEXT = _text(MAX_SHORT_TEXT)
DEFAULT_HABIT_XP = 10


def _url(value: Any) -> str:
    text = cv.string(value).strip()
    if not text.startswith(URL_PREFIXES) or len(text) > MAX_URL_LENGTH or not storable(text):
        raise vol.Invalid("not a URL or a Home Assistant path")
    return text


SCHEMAS: dict[str, vol.Schema] = {
    "start_wind_down": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Optional("duration"): vol.All(vol.Coerce(int), vol.Range(min=1, max=240)),
            vol.Optional("scene", default=True): cv.boolean,
        }
    ),
    "end_wind_down": vol.Schema({**ENTRY_FIELD, vol.Optional("restore"): cv.boolean}),
    "start_work": vol.Schema({**ENTRY_FIELD, vol.Optional("source", default="manual"): _TEXT}),
    "stop_work": vol.Schema({**ENTRY_FIELD, vol.Optional("source"): _TEXT}),
    "log_screen_time": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Required("minutes"): vol.All(
                vol.Coerce(float), vol.Range(min=0, max=1440, min_included=False)
            ),
            vol.Optional("category", default="manual"): _TEXT,
            vol.Optional("when"): utc_datetime,
            vol.Optional("log_id"): _TEXT,
        }
    ),
    "notify": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Required("title"): _text(MAX_TITLE_LENGTH),
            vol.Required("message"): _text(MAX_MESSAGE_LENGTH),
            vol.Optional("priority", default=int(Priority.NORMAL)): vol.All(
                vol.Coerce(int), vol.Range(min=1, max=4)
            ),
            vol.Optional("url"): _url,
            vol.Optional("targets", default=list): vol.All(
                cv.ensure_list, [vol.All(cv.string, vol.Match(r"^notify\.[a-z0-9_]+$"))]
            ),
            vol.Optional("scheduled"): utc_datetime,
            vol.Optional("dedupe_key"): _TEXT,
            vol.Optional("notification_id"): _TEXT,
        }
    ),
    "dismiss_notification": vol.Schema({**ENTRY_FIELD, vol.Required("notification_id"): _TEXT}),
    # The gamification actions take any values here: core.xp and core.habits check each field
    # and say which one is wrong (see `agents.gamification.validation_error`).
    "complete_habit": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Optional(xp.FIELD_HABIT): object,
            vol.Optional(xp.FIELD_TIME): object,
            vol.Optional(xp.FIELD_ID): object,
        }
    ),
    "award_xp": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Optional(xp.FIELD_AGENT): object,
            vol.Optional(xp.FIELD_EVENT_TYPE): object,
            vol.Optional(xp.FIELD_AMOUNT): object,
            vol.Optional(xp.FIELD_DESCRIPTION): object,
            vol.Optional(xp.FIELD_TIME): object,
            vol.Optional(xp.FIELD_ID): object,
        }
    ),
    "create_habit": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Optional(habits.HABIT_NAME): object,
            vol.Optional(habits.HABIT_SCHEDULE, default=habits.Schedule.DAILY.value): object,
            vol.Optional(habits.HABIT_TIMES_PER_WEEK): object,
            vol.Optional(habits.HABIT_XP, default=DEFAULT_HABIT_XP): object,
            vol.Optional(habits.HABIT_GRACE_DAYS, default=0): object,
        }
    ),
    "remove_habit": vol.Schema({**ENTRY_FIELD, vol.Optional(xp.FIELD_HABIT): object}),
    "query_trend": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Required("metric"): _text(100),
            vol.Optional("start"): utc_datetime,
            vol.Optional("end"): utc_datetime,
            vol.Optional("days", default=30): vol.All(vol.Coerce(int), vol.Range(min=1, max=3660)),
            vol.Optional("bucket", default="day"): vol.In(trends.BUCKETS),
            vol.Optional("aggregation", default="avg"): vol.In(trends.AGGREGATIONS),
            vol.Optional("site"): _TEXT,
        }
    ),
    "sync_now": vol.Schema(ENTRY_FIELD),
}


async def _start_wind_down(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    until = None
    if "duration" in data:
        until = dt_util.utcnow() + timedelta(minutes=data["duration"])
    started = await entry.runtime_data.sleep.async_start_wind_down(
        until=until, origin="manual", run_scene=data["scene"]
    )
    return {"started": started}


async def _end_wind_down(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    ended = await entry.runtime_data.sleep.async_end_wind_down(restore=data.get("restore"))
    return {"ended": ended}


async def _start_work(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    session = await entry.runtime_data.work.async_start_work(data["source"])
    return {"session_id": session.id, "start": session.start.isoformat()}


async def _stop_work(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    closed = await entry.runtime_data.work.async_stop_work(data.get("source"))
    return {"stopped": [session.id for session in closed]}


async def _log_screen_time(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    when = data.get("when")
    if when is not None and when > dt_util.utcnow() + timedelta(minutes=1):
        raise action_error("invalid_field_when", field="when")
    added = await entry.runtime_data.screen_time.async_log(
        minutes=data["minutes"],
        category=data["category"],
        when=when,
        log_id=data.get("log_id"),
    )
    return {"added": added}


async def _notify(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    notification, created = await entry.runtime_data.notifications.async_notify(
        title=data["title"],
        message=data["message"],
        priority=Priority(data["priority"]),
        url=data.get("url"),
        targets=tuple(data["targets"]),
        scheduled=data.get("scheduled"),
        dedupe_key=data.get("dedupe_key"),
        notification_id=data.get("notification_id"),
    )
    return {
        "notification_id": notification.id,
        "created": created,
        "status": str(notification.status),
    }


async def _dismiss(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    try:
        notification = entry.runtime_data.notifications.async_dismiss(data["notification_id"])
    except KeyError as err:
        raise action_error(
            "notification_not_found", notification_id=data["notification_id"]
        ) from err
    return {"notification_id": notification.id, "status": str(notification.status)}


async def _complete_habit(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    controller = entry.runtime_data.gamification
    event, added = controller.async_complete_habit(data)
    figures = await controller.async_figures()
    streak = figures.streaks.get(event.habit_id or "")
    return {
        "id": event.id,
        "added": added,
        "habit": event.habit_id,
        "xp": event.amount if added else 0,
        "streak": streak.current if streak else 0,
        "total_xp": figures.total_xp,
    }


async def _award_xp(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    controller = entry.runtime_data.gamification
    event, added = controller.async_award_xp(data)
    figures = await controller.async_figures()
    return {
        "id": event.id,
        "added": added,
        "xp": event.amount if added else 0,
        "total_xp": figures.total_xp,
        "level": figures.level.level,
    }


async def _create_habit(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    controller = entry.runtime_data.gamification
    habit = controller.async_create_habit(data)
    await controller.async_figures()  # its streak sensor has figures when the action returns
    return habit.as_dict()


async def _remove_habit(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    habit_id = data.get(xp.FIELD_HABIT)
    controller = entry.runtime_data.gamification
    controller.check_removable(habit_id)
    controller.async_remove_habits([str(habit_id)])
    await controller.async_figures()
    return {"removed": habit_id}


HANDLERS: dict[str, tuple[EntryHandler, SupportsResponse]] = {
    "start_wind_down": (_start_wind_down, SupportsResponse.OPTIONAL),
    "end_wind_down": (_end_wind_down, SupportsResponse.OPTIONAL),
    "start_work": (_start_work, SupportsResponse.OPTIONAL),
    "stop_work": (_stop_work, SupportsResponse.OPTIONAL),
    "log_screen_time": (_log_screen_time, SupportsResponse.OPTIONAL),
    "notify": (_notify, SupportsResponse.OPTIONAL),
    "dismiss_notification": (_dismiss, SupportsResponse.OPTIONAL),
    "complete_habit": (_complete_habit, SupportsResponse.OPTIONAL),
    "award_xp": (_award_xp, SupportsResponse.OPTIONAL),
    "create_habit": (_create_habit, SupportsResponse.OPTIONAL),
    "remove_habit": (_remove_habit, SupportsResponse.OPTIONAL),
    "query_trend": (async_query_trend, SupportsResponse.ONLY),
    "sync_now": (async_sync_now, SupportsResponse.OPTIONAL),
}


# Actions only an administrator may run (and automations and scripts, which have no user).
ADMIN_ONLY: Final = frozenset({"dismiss_notification"})


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register every LifeOps action."""
    for name, (handler, supports_response) in HANDLERS.items():
        async_register_action(
            hass,
            name,
            SCHEMAS[name],
            for_entry(hass, handler),
            supports_response=supports_response,
            admin=name in ADMIN_ONLY,
        )
