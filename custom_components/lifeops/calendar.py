"""A LifeOps calendar: the chosen work calendars merged with the recorded work sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.components.calendar import CalendarEntity, CalendarEvent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .const import LOGGER
from .core.agents import Agent
from .core.work import WorkSession
from .data import LifeOpsConfigEntry
from .entity import LifeOpsAgentEntity
from .texts import async_notification_text

PARALLEL_UPDATES = 0

WORK_CALENDAR = EntityDescription(key="work_calendar", translation_key="work_calendar")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LifeOpsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the work-life agent's calendar."""
    async_add_entities([LifeOpsWorkCalendar(entry, WORK_CALENDAR, Agent.WORK_LIFE)])


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


class LifeOpsWorkCalendar(LifeOpsAgentEntity, CalendarEntity):
    """Work sessions as events (scheduled or not), beside the chosen calendars' events."""

    _summary = "Work"

    async def async_added_to_hass(self) -> None:
        """Fetch the event title in HA's language."""
        self._summary, _ = await async_notification_text(self.hass, "work_session")
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
        now = dt_util.utcnow()
        open_sessions = [
            s for s in self._entry.runtime_data.work.tracker.sessions() if s.end is None
        ]
        return self._session_event(open_sessions[0], now) if open_sessions else None

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Sessions and the chosen calendars' events between two moments."""
        now = dt_util.utcnow()
        events = [
            self._session_event(session, now)
            for session in self._entry.runtime_data.work.tracker.sessions()
            if session.start < end_date and (session.end or now) > start_date
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
                    start = dt_util.parse_datetime(str(item["start"])) or dt_util.parse_date(
                        str(item["start"])
                    )
                    end = dt_util.parse_datetime(str(item["end"])) or dt_util.parse_date(
                        str(item["end"])
                    )
                    if start is None or end is None:
                        continue
                    events.append(
                        CalendarEvent(
                            start=start,
                            end=end,
                            summary=str(item.get("summary") or ""),
                            description=_text(item.get("description")),
                            location=_text(item.get("location")),
                            uid=f"{entity_id}:{item.get('uid') or item['start']}",
                        )
                    )
        return sorted(events, key=lambda event: event.start_datetime_local)
