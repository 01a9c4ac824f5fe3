"""Time spans on the person's calendar: local days and weeks, and unions of intervals."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Protocol

# A source that comes back within this long continues its last span instead of starting a new
# one: a laptop waking from a short sleep, a phone screen tapped back on.
JOIN_GAP = timedelta(seconds=60)


class Span(Protocol):
    """Anything with a start and an end (None while it goes on)."""

    @property
    def start(self) -> datetime:
        """When it began."""

    @property
    def end(self) -> datetime | None:
        """When it ended."""


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The first moment of a local calendar day (real midnight, even on DST nights)."""
    return datetime.combine(day, time(0)).replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


@lru_cache(maxsize=64)
def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day; 23 or 25 hours long on DST nights."""
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


@lru_cache(maxsize=16)
def _week_bounds(monday: date, tz: tzinfo) -> tuple[datetime, datetime]:
    return local_midnight(monday, tz), local_midnight(monday + timedelta(days=7), tz)


def local_week_bounds(moment: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) of the local week holding `moment`."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    day = moment.astimezone(tz).date()
    return _week_bounds(day - timedelta(days=day.weekday()), tz)


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


def _start(span: Span) -> datetime:
    return span.start


class SpanIndex[S: Span]:
    """Closed spans kept in order of their start.

    A day's or a week's spans are found by bisection rather than by reading years of them:
    O(log n + k) for k spans in the window.
    """

    def __init__(self, spans: Iterable[S] = ()) -> None:
        """Index closed spans (open ones are the caller's to keep)."""
        self._spans: list[S] = sorted(spans, key=_start)
        self._longest = max(
            (span.end - span.start for span in self._spans if span.end is not None),
            default=timedelta(0),
        )

    def __len__(self) -> int:
        """How many spans are kept."""
        return len(self._spans)

    def __iter__(self) -> Iterator[S]:
        """The spans, earliest start first."""
        return iter(self._spans)

    def add(self, span: S) -> None:
        """Keep a closed span."""
        if span.end is None:
            raise ValueError("only closed spans are indexed")
        insort(self._spans, span, key=_start)
        self._longest = max(self._longest, span.end - span.start)

    def remove(self, span: S) -> None:
        """Forget a span kept before (the very object)."""
        index = bisect_left(self._spans, span.start, key=_start)
        while index < len(self._spans) and self._spans[index] is not span:
            index += 1
        if index == len(self._spans):
            raise ValueError("span not in index")
        del self._spans[index]

    def overlapping(self, start: datetime, end: datetime) -> list[S]:
        """The spans that share some time with [start, end)."""
        low = bisect_left(self._spans, start - self._longest, key=_start)
        high = bisect_left(self._spans, end, key=_start)
        return [span for span in self._spans[low:high] if span.end is not None and span.end > start]

    def prune(self, cutoff: datetime) -> int:
        """Forget spans that ended before `cutoff` (all, or a few less); returns how many."""
        count = bisect_left(self._spans, cutoff - self._longest, key=_start)
        del self._spans[:count]
        return count
