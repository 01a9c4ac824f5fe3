"""Rows for the long-term tables, with ids that stay the same for the same fact.

An id is a UUIDv5 of the row's natural key (table, site, what, when), unless the source already
has a stable id (an XP event's id, a work session's id): the same fact written twice, from a
replay or from another site's merge, is one row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
import json
import uuid

from .buffer import Row

_NAMESPACE = uuid.UUID("6c1f0e0a-4f70-4d2b-9a51-1ee0b5e7d1f3")


def stable_id(*parts: object) -> uuid.UUID:
    """A UUID derived from the parts (datetimes by their exact instant)."""
    text = "\x1f".join(
        part.isoformat() if isinstance(part, datetime) else str(part) for part in parts
    )
    return uuid.uuid5(_NAMESPACE, text)


def health_metric(site: str, metric: str, time: datetime, value: float, source: str = "") -> Row:
    """A health measurement (heart rate, HRV, steps, readiness...)."""
    return (
        time,
        site,
        stable_id("health_metric", site, metric, source, time),
        metric,
        value,
        source,
    )


def sleep_session(
    site: str,
    start: datetime,
    end: datetime,
    *,
    score: float | None = None,
    source: str = "",
    id: str | None = None,
    duration_s: float | None = None,
) -> Row:
    """A night's (or nap's) sleep; `duration_s` is time asleep (default: start to end)."""
    key = (
        stable_id("sleep_session", site, id)
        if id
        else stable_id("sleep_session", site, source, start)
    )
    asleep = (end - start).total_seconds() if duration_s is None else duration_s
    return (start, site, key, end, asleep, score, source)


def activity_event(
    site: str,
    time: datetime,
    kind: str,
    value: float | None = None,
    *,
    source: str = "",
    details: str | None = None,
    id: str | None = None,
) -> Row:
    """Something that happened (a workout, a wind-down, a nudge)."""
    key = (
        stable_id("activity_event", site, id)
        if id
        else stable_id("activity_event", site, kind, source, time)
    )
    return (time, site, key, kind, value, source, details)


def details_text(values: Mapping[str, object]) -> str | None:
    """An activity's details as compact JSON (keys sorted, empty values left out)."""
    kept = {key: value for key, value in values.items() if value is not None and value != ""}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str) if kept else None


def workout(
    site: str,
    start: datetime,
    end: datetime,
    id: str,
    *,
    source: str = "",
    activity: str | None = None,
    intensity: str | None = None,
    calories: float | None = None,
    distance_m: float | None = None,
    label: str | None = None,
    detected_by: str | None = None,
) -> Row:
    """A workout as an activity event: kind `workout`, its value the minutes it lasted."""
    details = details_text(
        {
            "end": end.isoformat(),
            "activity": activity,
            "intensity": intensity,
            "calories": calories,
            "distance_m": distance_m,
            "label": label,
            "detected_by": detected_by,
        }
    )
    minutes = (end - start).total_seconds() / 60
    return activity_event(site, start, "workout", minutes, source=source, details=details, id=id)


def screen_time(
    site: str, start: datetime, end: datetime, *, source: str = "", category: str | None = None
) -> Row:
    """A span a screen was in use."""
    key = stable_id("screen_time", site, source, start)
    return (start, site, key, end, (end - start).total_seconds(), source, category)


def work_session(
    site: str, start: datetime, end: datetime, *, source: str = "", id: str | None = None
) -> Row:
    """A work session."""
    key = (
        stable_id("work_session", site, id)
        if id
        else stable_id("work_session", site, source, start)
    )
    return (start, site, key, end, (end - start).total_seconds(), source)


def device_state(
    site: str, entity_id: str, time: datetime, state: str, value: float | None = None
) -> Row:
    """A state an entity had from `time` on."""
    key = stable_id("device_state", site, entity_id, time)
    return (time, site, key, entity_id, state, value)


def xp_event(
    site: str,
    time: datetime,
    id: str,
    *,
    agent: str,
    event_type: str,
    amount: int,
    description: str | None = None,
) -> Row:
    """XP awarded (the XP log's own id keeps it once, across sites)."""
    return (time, site, stable_id("xp_event", id), agent, event_type, amount, description)
