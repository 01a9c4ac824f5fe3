"""A LifeOps calendar: the chosen work calendars merged with the recorded work sessions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityDescription,
    CalendarEvent,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .const import LOGGER
from .core.agents import Agent
from .core.work import WorkSession
from .data import LifeOpsConfigEntry
from .entity import LifeOpsAgentEntity
from .texts import async_text

PARALLEL_UPDATES = 0

WORK_CALENDAR = CalendarEntityDescription(key="work_calendar", translation_key="work_calendar")
OPEN_SESSION_AHEAD = timedelta(minutes=1)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LifeOpsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the work-life agent's calendar."""
    async_add_entities([LifeOpsWorkCalendar(entry, WORK_CALENDAR, Agent.WORK_LIFE)])


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


def _when(value: Any) -> date | datetime | None:
    """An event's start or end as calendar.get_events gives it: a date for all-day events."""
    text = str(value)
    if (day := dt_util.parse_date(text)) is not None:
        return day
    moment = dt_util.parse_datetime(text)
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt_util.get_default_time_zone())
    return moment


class LifeOpsWorkCalendar(LifeOpsAgentEntity, CalendarEntity):
    """Work sessions as events (scheduled or not), beside the chosen calendars' events."""

    _summary = "Work"
    _open_event: tuple[tuple[WorkSession, datetime], CalendarEvent] | None = None

    async def async_added_to_hass(self) -> None:
        """Fetch the event title in HA's language."""
        self._summary = await async_text(self.hass, "calendar_work_session")
        await super().async_added_to_hass()

    def _session_event(self, session: WorkSession, now: datetime) -> CalendarEvent:
        return CalendarEvent(
            start=dt_util.as_local(session.start),
            end=dt_util.as_local(session.end or max(now, session.start)),
            summary=self._summary,
            description=session.source,
            uid=session.id,
        )

    @property
    def event(self) -> CalendarEvent | None:
        """The session under way, if any."""
        # An open session has no end yet. Shown ending a minute from now, the calendar is "on"
        # (HA's calendar is on only before its event's end) and re-reads it then.
        # Whole minutes, so the event (and the state) stays the same for a minute at a time.
        until = (dt_util.utcnow() + OPEN_SESSION_AHEAD).replace(second=0, microsecond=0)
        open_sessions = self._entry.runtime_data.work.tracker.open_sessions()
        if not open_sessions:
            return None
        key = (open_sessions[0], until)
        if self._open_event is None or self._open_event[0] != key:
            self._open_event = (key, self._session_event(open_sessions[0], until))
        return self._open_event[1]

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Sessions and the chosen calendars' events between two moments."""
        now = dt_util.utcnow()
        events = [
            self._session_event(session, now)
            for session in self._entry.runtime_data.work.tracker.sessions_between(
                start_date, end_date, now
            )
        ]
        calendars = [
            entity_id
            for entity_id in self._entry.runtime_data.settings.work_calendars
            if entity_id != self.entity_id
        ]
        if calendars:
            try:
                response = await hass.services.async_call(
                    "calendar",
                    "get_events",
                    {"start_date_time": start_date, "end_date_time": end_date},
                    target={"entity_id": calendars},
                    blocking=True,
                    return_response=True,
                )
            except Exception as err:
                LOGGER.warning("Could not read the work calendars: %s", err)
                response = {}
            for entity_id, result in (response or {}).items():
                items = result.get("events") if isinstance(result, dict) else None
                for item in items if isinstance(items, list) else []:
                    if not isinstance(item, dict) or "start" not in item or "end" not in item:
                        continue
                    start, end = _when(item["start"]), _when(item["end"])
                    if start is None or end is None:
                        continue
                    try:
                        event = CalendarEvent(
                            start=start,
                            end=end,
                            summary=str(item.get("summary") or ""),
                            description=_text(item.get("description")),
                            location=_text(item.get("location")),
                            uid=f"{entity_id}:{item.get('uid') or item['start']}",
                        )
                    except HomeAssistantError as err:  # one odd event must not hide the rest
                        LOGGER.debug("Skipping an event of %s: %s", entity_id, err)
                        continue
                    events.append(event)
        return sorted(events, key=lambda event: event.start_datetime_local)
