"""Clock arithmetic for daily targets, in the person's time zone and safe across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo


def local_datetime(day: datetime, at: time, tz: tzinfo) -> datetime:
    """Return `at` on the local calendar date of `day`, as an aware datetime in `tz`.

    On a spring-forward night a wall time inside the gap (02:30 when clocks jump from 02:00 to
    03:00) does not exist; it maps to the same distance after the gap (03:30). On a fall-back
    night an ambiguous wall time means its first occurrence.
    """
    local_day = day.astimezone(tz).date()
    naive = datetime.combine(local_day, at.replace(tzinfo=None))
    candidate = naive.replace(tzinfo=tz, fold=0)
    # Round-trip through UTC: a wall time in a gap comes back moved past the gap.
    return candidate.astimezone(UTC).astimezone(tz)


def next_occurrence(now: datetime, at: time, tz: tzinfo) -> datetime:
    """Return the first moment strictly after `now` whose local wall time is `at`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = local_datetime(now, at, tz)
    if today > now:
        return today
    tomorrow_noon = datetime.combine(
        now.astimezone(tz).date() + timedelta(days=1), time(12)
    ).replace(tzinfo=tz)
    return local_datetime(tomorrow_noon, at, tz)


def in_daily_window(moment: time, start: time, end: time) -> bool:
    """Whether a wall time lies in [start, end), where a window may wrap past midnight."""
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def next_window_edge(now: datetime, start: time, end: time, tz: tzinfo) -> datetime:
    """Return the next moment after `now` at which a daily window opens or closes."""
    return min(next_occurrence(now, start, tz), next_occurrence(now, end, tz))


def wind_down_start(bedtime: datetime, minutes: int) -> datetime:
    """Return when wind-down begins: a span of real (elapsed) minutes before bedtime.

    Aware-datetime subtraction in Python is wall-clock arithmetic within one zone, so the
    span is taken in UTC: 45 minutes before a 02:15 bedtime just after clocks fell back is
    45 minutes of the person's evening, not 1 h 45 min.
    """
    start = bedtime.astimezone(UTC) - timedelta(minutes=minutes)
    return start.astimezone(bedtime.tzinfo)


def next_wind_down(now: datetime, bedtime: time, minutes: int, tz: tzinfo) -> datetime:
    """Return the next moment after `now` at which wind-down starts.

    While a wind-down is under way (its start passed, its bedtime not yet), that is the start of
    the next night's wind-down.
    """
    night = next_occurrence(now, bedtime, tz)
    start = wind_down_start(night, minutes)
    if start > now:
        return start
    return wind_down_start(next_occurrence(night, bedtime, tz), minutes)
