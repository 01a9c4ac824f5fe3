"""Screen time: tracked from screens' states and logged by actions, per day and source."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from .changes import ChangeHub, ScreenTimeInterval
from .intervals import JOIN_GAP, SpanIndex, local_day_bounds, union_duration


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment


@dataclass(frozen=True)
class _Span:
    source: str
    category: str
    start: datetime
    end: datetime | None


LOGGED = "logged"  # the source of screen time added by `lifeops.log_screen_time`


class ScreenTimeTracker:
    """Intervals of screen use per source, plus minutes logged by hand.

    Closed spans and logs sit in a `SpanIndex`, so a day's total reads only that day's spans. A
    screen that comes back on within `JOIN_GAP` continues its last span.
    """

    def __init__(self, *, changes: ChangeHub | None = None) -> None:
        """Start empty; changes are published on `changes`."""
        self.changes = changes
        self._closed: SpanIndex[_Span] = SpanIndex()
        self._open: dict[str, _Span] = {}
        self._last_closed: dict[str, _Span] = {}
        self._logs: dict[str, _Span] = {}
        self.version = 0  # moves on with every change, so figures can be cached between changes

    def source_changed(self, source: str, category: str, active: bool, now: datetime) -> None:
        """A screen went on or off."""
        _aware(now)
        current = self._open.get(source)
        if active != (current is not None):
            self.version += 1
        if active and current is None:
            last = self._last_closed.pop(source, None)
            if last is not None and last.end is not None and last.end <= now <= last.end + JOIN_GAP:
                self._closed.remove(last)
                self._open[source] = _Span(source, category, last.start, None)
            else:
                self._open[source] = _Span(source, category, now, None)
        elif not active and current is not None:
            del self._open[source]
            end = max(now, current.start)
            self._add_closed(_Span(source, category, current.start, end))
            if self.changes is not None:
                self.changes.publish(ScreenTimeInterval(source, category, current.start, end))

    def _add_closed(self, span: _Span) -> None:
        self._closed.add(span)
        if span.source != LOGGED:
            self._last_closed[span.source] = span

    def log(
        self, *, minutes: float, category: str, when: datetime, log_id: str | None = None
    ) -> bool:
        """Add `minutes` of screen time ending at `when`; False when `log_id` was counted."""
        _aware(when)
        if not 0 < minutes <= 24 * 60:
            raise ValueError("minutes must be above 0 and at most 1440")
        key = log_id or f"{category}@{when.isoformat()}#{len(self._logs)}"
        if key in self._logs:
            return False
        span = _Span(LOGGED, category, when - timedelta(minutes=minutes), when)
        self.version += 1
        self._logs[key] = span
        self._closed.add(span)
        return True

    def is_active(self) -> bool:
        """Whether a screen is in use now."""
        return bool(self._open)

    def by_category(self, day: date, tz: tzinfo, now: datetime) -> dict[str, timedelta]:
        """Screen time per source or logged category on a local day (overlaps per source once)."""
        start, end = local_day_bounds(day, tz)
        intervals: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        for span in self._closed.overlapping(start, end):
            intervals[span.category].append((span.start, span.end or span.start))
        for span in self._open.values():
            intervals[span.category].append((span.start, max(now, span.start)))
        totals = {name: union_duration(items, start, end) for name, items in intervals.items()}
        return {name: total for name, total in totals.items() if total > timedelta(0)}

    def total(self, day: date, tz: tzinfo, now: datetime) -> timedelta:
        """Screen time on a local day, all sources together."""
        return sum(self.by_category(day, tz, now).values(), timedelta(0))

    def prune(self, now: datetime, keep: timedelta = timedelta(days=400)) -> int:
        """Forget spans and logs that ended more than `keep` ago."""
        cutoff = _aware(now) - keep
        pruned = self._closed.prune(cutoff)
        if pruned:
            self.version += 1
            kept = set(map(id, self._closed))
            self._logs = {k: v for k, v in self._logs.items() if id(v) in kept}
            self._last_closed = {k: v for k, v in self._last_closed.items() if id(v) in kept}
        return pruned

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        logged = set(map(id, self._logs.values()))
        spans = [s for s in self._closed if id(s) not in logged]
        spans.extend(self._open.values())
        return {
            "spans": [
                [s.source, s.category, s.start.isoformat(), s.end.isoformat() if s.end else None]
                for s in sorted(spans, key=lambda s: s.start)
            ],
            "logs": {
                k: [s.category, s.start.isoformat(), (s.end or s.start).isoformat()]
                for k, s in self._logs.items()
            },
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, changes: ChangeHub | None = None
    ) -> ScreenTimeTracker:
        """Read what was stored; changes from then on are published on `changes`."""
        tracker = cls()
        for source, category, start, end in data.get("spans", []):
            if end is None:
                tracker._open[source] = _Span(source, category, datetime.fromisoformat(start), None)
            else:
                tracker._add_closed(
                    _Span(
                        source,
                        category,
                        datetime.fromisoformat(start),
                        datetime.fromisoformat(end),
                    )
                )
        for key, (category, start, end) in data.get("logs", {}).items():
            span = _Span(
                LOGGED, category, datetime.fromisoformat(start), datetime.fromisoformat(end)
            )
            tracker._logs[key] = span
            tracker._closed.add(span)
        tracker.changes = changes
        return tracker


class ScreenTimeLimit:
    """Announces the daily limit once a day."""

    def __init__(self, notified_on: date | None = None) -> None:
        """Start from the last day announced."""
        self.notified_on = notified_on

    def check(
        self,
        now: datetime,
        tz: tzinfo,
        *,
        limit_minutes: int,
        total_today: Callable[[], timedelta],
    ) -> bool:
        """True the first time today's total reaches the limit.

        `total_today` is asked only when the answer can still be yes, so the common case (the
        limit already announced today) costs nothing.
        """
        today = _aware(now).astimezone(tz).date()
        if self.notified_on == today or limit_minutes <= 0:
            return False
        if total_today() < timedelta(minutes=limit_minutes):
            return False
        self.notified_on = today
        return True

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {"notified_on": self.notified_on.isoformat() if self.notified_on else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScreenTimeLimit:
        """Read what was stored."""
        value = data.get("notified_on")
        return cls(date.fromisoformat(value) if value else None)
