"""Screen time: tracked from screens' states and logged by actions, per day and source."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from .intervals import local_day_bounds, union_duration


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


class ScreenTimeTracker:
    """Intervals of screen use per source, plus minutes logged by hand."""

    def __init__(self) -> None:
        """Start empty."""
        self._spans: list[_Span] = []
        self._logs: dict[str, tuple[str, datetime, datetime]] = {}

    def source_changed(self, source: str, category: str, active: bool, now: datetime) -> None:
        """A screen went on or off."""
        _aware(now)
        current = next((s for s in self._spans if s.source == source and s.end is None), None)
        if active and current is None:
            self._spans.append(_Span(source, category, now, None))
        elif not active and current is not None:
            index = self._spans.index(current)
            self._spans[index] = _Span(source, category, current.start, max(now, current.start))

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
        self._logs[key] = (category, when - timedelta(minutes=minutes), when)
        return True

    def is_active(self) -> bool:
        """Whether a screen is in use now."""
        return any(s.end is None for s in self._spans)

    def by_category(self, day: date, tz: tzinfo, now: datetime) -> dict[str, timedelta]:
        """Screen time per source or logged category on a local day (overlaps per source once)."""
        start, end = local_day_bounds(day, tz)
        intervals: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        for span in self._spans:
            intervals[span.category].append((span.start, span.end or max(now, span.start)))
        for category, begin, finish in self._logs.values():
            intervals[category].append((begin, finish))
        totals = {name: union_duration(items, start, end) for name, items in intervals.items()}
        return {name: total for name, total in totals.items() if total > timedelta(0)}

    def total(self, day: date, tz: tzinfo, now: datetime) -> timedelta:
        """Screen time on a local day, all sources together."""
        return sum(self.by_category(day, tz, now).values(), timedelta(0))

    def prune(self, now: datetime, keep: timedelta = timedelta(days=400)) -> int:
        """Forget spans and logs that ended more than `keep` ago."""
        cutoff = _aware(now) - keep
        before = len(self._spans) + len(self._logs)
        self._spans = [s for s in self._spans if s.end is None or s.end >= cutoff]
        self._logs = {k: v for k, v in self._logs.items() if v[2] >= cutoff}
        return before - len(self._spans) - len(self._logs)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {
            "spans": [
                [s.source, s.category, s.start.isoformat(), s.end.isoformat() if s.end else None]
                for s in self._spans
            ],
            "logs": {k: [c, a.isoformat(), b.isoformat()] for k, (c, a, b) in self._logs.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScreenTimeTracker:
        """Read what was stored."""
        tracker = cls()
        for source, category, start, end in data.get("spans", []):
            tracker._spans.append(
                _Span(
                    source,
                    category,
                    datetime.fromisoformat(start),
                    datetime.fromisoformat(end) if end else None,
                )
            )
        for key, (category, start, end) in data.get("logs", {}).items():
            tracker._logs[key] = (
                category,
                datetime.fromisoformat(start),
                datetime.fromisoformat(end),
            )
        return tracker


class ScreenTimeLimit:
    """Announces the daily limit once a day."""

    def __init__(self, notified_on: date | None = None) -> None:
        """Start from the last day announced."""
        self.notified_on = notified_on

    def check(
        self, now: datetime, tz: tzinfo, *, limit_minutes: int, tracker: ScreenTimeTracker
    ) -> bool:
        """True the first time today's total reaches the limit."""
        today = _aware(now).astimezone(tz).date()
        if self.notified_on == today or limit_minutes <= 0:
            return False
        if tracker.total(today, tz, now) < timedelta(minutes=limit_minutes):
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
