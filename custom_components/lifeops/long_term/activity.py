"""Agents' announcements as the long-term store's activity events.

Wind-down, bedtime, level-ups, achievements and broken streaks: one row per fact, however often
it is announced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from homeassistant.core import Event
from homeassistant.util import dt as dt_util

from ..agents.gamification import EVENT_ACHIEVEMENT_UNLOCKED, EVENT_LEVEL_UP, EVENT_STREAK_BROKEN
from ..agents.sleep import EVENT_BEDTIME, EVENT_WIND_DOWN_ENDED, EVENT_WIND_DOWN_STARTED
from ..const import DOMAIN
from ..timescale import rows
from ..timescale.buffer import Row


@dataclass(frozen=True, slots=True)
class ActivityKind:
    """How an agent's announcement becomes an activity event."""

    kind: str
    key: tuple[str, ...] = ()  # fields naming the fact: one row however often it is announced
    time: str | None = None  # a field with the fact's own time (else when it was announced)
    value: str | None = None  # the field that is the event's value
    details: tuple[str, ...] = ()  # fields kept as details


ACTIVITY_EVENTS: Final[dict[str, ActivityKind]] = {
    EVENT_WIND_DOWN_STARTED: ActivityKind(
        "wind_down_started", ("until",), value="minutes", details=("origin", "until")
    ),
    EVENT_WIND_DOWN_ENDED: ActivityKind("wind_down_ended", details=("early", "restored")),
    EVENT_BEDTIME: ActivityKind("bedtime", ("bedtime",), time="bedtime"),
    EVENT_LEVEL_UP: ActivityKind("level_up", ("level",), value="level", details=("total_xp",)),
    EVENT_ACHIEVEMENT_UNLOCKED: ActivityKind(
        "achievement_unlocked", ("achievement",), time="unlocked_at", details=("achievement",)
    ),
    EVENT_STREAK_BROKEN: ActivityKind(
        "streak_broken", ("habit", "last_done"), value="length", details=("habit", "last_done")
    ),
}


def activity_row(site: str, event: Event[dict[str, Any]]) -> Row | None:
    """An agent's announcement as an activity event row; None for other events."""
    how = ACTIVITY_EVENTS.get(str(event.event_type))
    if how is None:
        return None
    data = event.data
    when = dt_util.parse_datetime(str(data.get(how.time) or "")) if how.time else None
    value = data.get(how.value) if how.value else None
    fact = ":".join([how.kind, *(str(data.get(name)) for name in how.key)]) if how.key else None
    return rows.activity_event(
        site,
        when or event.time_fired,
        how.kind,
        float(value) if isinstance(value, int | float) else None,
        source=DOMAIN,
        details=rows.details_text({name: data.get(name) for name in how.details}),
        id=fact,
    )
