"""Time spans on the person's calendar: local days and weeks, and unions of intervals."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The first moment of a local calendar day (real midnight, even on DST nights)."""
    return datetime.combine(day, time(0)).replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day; 23 or 25 hours long on DST nights."""
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


def local_week_bounds(moment: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) of the local week holding `moment`."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    day = moment.astimezone(tz).date()
    monday = day - timedelta(days=day.weekday())
    return local_midnight(monday, tz), local_midnight(monday + timedelta(days=7), tz)


def union_duration(
    intervals: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime
) -> timedelta:
    """Real time covered by the union of intervals, clipped to [start, end)."""
    clipped = sorted(
        (max(a, start).astimezone(UTC), min(b, end).astimezone(UTC))
        for a, b in intervals
        if min(b, end) > max(a, start)
    )
    total = timedelta(0)
    current_start: datetime | None = None
    current_end: datetime | None = None
    for a, b in clipped:
        if current_end is None or a > current_end:
            if current_start is not None and current_end is not None:
                total += current_end - current_start
            current_start, current_end = a, b
        else:
            current_end = max(current_end, b)
    if current_start is not None and current_end is not None:
        total += current_end - current_start
    return total
