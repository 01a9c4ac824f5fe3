"""Work sessions: from computers, calendars and actions; hours per day and week; alerts."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
import re
from typing import Any
import uuid

from .intervals import local_day_bounds, local_week_bounds, union_duration
from .schedule import local_datetime


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment


@dataclass(frozen=True, kw_only=True)
class WorkSession:
    """A stretch of work from one source; `end` is None while it goes on."""

    id: str
    start: datetime
    end: datetime | None
    source: str
    scheduled: bool

    def as_dict(self) -> dict[str, Any]:
        """A JSON-safe copy."""
        return {
            "id": self.id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "source": self.source,
            "scheduled": self.scheduled,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkSession:
        """Read a stored session."""
        return cls(
            id=str(data["id"]),
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]) if data.get("end") else None,
            source=str(data["source"]),
            scheduled=bool(data.get("scheduled", False)),
        )


class WorkTracker:
    """The work log: at most one open session per source."""

    def __init__(self, sessions: Iterable[WorkSession] = ()) -> None:
        """Start from stored sessions."""
        self._sessions: list[WorkSession] = sorted(sessions, key=lambda s: s.start)

    def _open(self, source: str) -> WorkSession | None:
        return next((s for s in self._sessions if s.source == source and s.end is None), None)

    def source_changed(
        self, source: str, active: bool, now: datetime, *, scheduled: bool = False
    ) -> WorkSession | None:
        """Open or close the source's session; None when nothing changed."""
        _aware(now)
        current = self._open(source)
        if active and current is None:
            session = WorkSession(
                id=uuid.uuid4().hex, start=now, end=None, source=source, scheduled=scheduled
            )
            self._sessions.append(session)
            return session
        if not active and current is not None:
            return self._close(current, now)
        return None

    def _close(self, session: WorkSession, now: datetime) -> WorkSession:
        closed = replace(session, end=max(now, session.start))
        self._sessions[self._sessions.index(session)] = closed
        return closed

    def start(self, now: datetime, source: str = "manual") -> WorkSession:
        """Start a session for `source`, or return the one already open."""
        return self.source_changed(source, True, now) or self._open(source)  # type: ignore[return-value]

    def stop(self, now: datetime, source: str | None = None) -> list[WorkSession]:
        """Close `source`'s open session, or every open one."""
        _aware(now)
        open_sessions = [
            s for s in self._sessions if s.end is None and (source is None or s.source == source)
        ]
        return [self._close(session, now) for session in open_sessions]

    def is_working(self) -> bool:
        """Whether any session is open."""
        return any(s.end is None for s in self._sessions)

    def open_sources(self) -> list[str]:
        """Sources with an open session."""
        return [s.source for s in self._sessions if s.end is None]

    def sessions(self) -> list[WorkSession]:
        """Every session, oldest first."""
        return list(self._sessions)

    def worked(self, start: datetime, end: datetime, now: datetime) -> timedelta:
        """Time worked in [start, end); overlapping sessions count once, open ones run to now."""
        return union_duration(
            ((s.start, s.end or max(now, s.start)) for s in self._sessions), start, end
        )

    def on_day(self, day: date, tz: tzinfo, now: datetime) -> timedelta:
        """Time worked on a local calendar day."""
        return self.worked(*local_day_bounds(day, tz), now)

    def today(self, now: datetime, tz: tzinfo) -> timedelta:
        """Time worked today."""
        return self.on_day(_aware(now).astimezone(tz).date(), tz, now)

    def this_week(self, now: datetime, tz: tzinfo) -> timedelta:
        """Time worked this week (Monday to Sunday)."""
        return self.worked(*local_week_bounds(now, tz), now)

    def overtime_week(self, now: datetime, tz: tzinfo, target_hours: float) -> timedelta:
        """Time worked this week beyond the target."""
        return max(self.this_week(now, tz) - timedelta(hours=target_hours), timedelta(0))

    def prune(self, now: datetime, keep: timedelta = timedelta(days=400)) -> int:
        """Forget closed sessions that ended more than `keep` ago."""
        cutoff = _aware(now) - keep
        before = len(self._sessions)
        self._sessions = [s for s in self._sessions if s.end is None or s.end >= cutoff]
        return before - len(self._sessions)

    def as_dict(self) -> dict[str, Any]:
        """The log, JSON-safe."""
        return {"sessions": [s.as_dict() for s in self._sessions]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkTracker:
        """Read a stored log."""
        return cls(WorkSession.from_dict(item) for item in data.get("sessions", []))


class WorkAlerts:
    """Which work alerts were sent, so each fires once a day (cut-off) or week (target)."""

    def __init__(self, cutoff_day: date | None = None, target_week: date | None = None) -> None:
        """Start from what was already sent."""
        self.cutoff_day = cutoff_day
        self.target_week = target_week

    def check(
        self,
        now: datetime,
        tz: tzinfo,
        *,
        cutoff: time,
        target_hours: float,
        tracker: WorkTracker,
    ) -> list[str]:
        """Alert keys newly due: "past_cutoff", "week_target_reached"."""
        alerts: list[str] = []
        local = _aware(now).astimezone(tz)
        if (
            tracker.is_working()
            and now >= local_datetime(now, cutoff, tz)
            and self.cutoff_day != local.date()
        ):
            self.cutoff_day = local.date()
            alerts.append("past_cutoff")
        week = local_week_bounds(now, tz)[0].date()
        if (
            target_hours > 0
            and self.target_week != week
            and tracker.this_week(now, tz) >= timedelta(hours=target_hours)
        ):
            self.target_week = week
            alerts.append("week_target_reached")
        return alerts

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {
            "cutoff_day": self.cutoff_day.isoformat() if self.cutoff_day else None,
            "target_week": self.target_week.isoformat() if self.target_week else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkAlerts:
        """Read what was stored."""
        cutoff, week = data.get("cutoff_day"), data.get("target_week")
        return cls(
            date.fromisoformat(cutoff) if cutoff else None,
            date.fromisoformat(week) if week else None,
        )


def calendar_event_is_work(
    summary: str,
    description: str | None,
    calendar_entity: str,
    *,
    work_calendars: Collection[str],
    keywords: Collection[str],
) -> bool:
    """Whether a calendar event counts as work: a work calendar's, or one naming a keyword."""
    if calendar_entity in work_calendars:
        return True
    text = f"{summary}\n{description or ''}"
    return any(
        re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", text, re.IGNORECASE)
        for keyword in keywords
        if keyword.strip()
    )
