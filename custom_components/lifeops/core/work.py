"""Work sessions: from computers, calendars and actions; hours per day and week; alerts."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
import re
from typing import Any, Final
import uuid

from .changes import ChangeHub, WorkSessionChanged, WorkSessionClosed
from .intervals import JOIN_GAP, SpanIndex, local_day_bounds, local_week_bounds, union_duration
from .schedule import local_datetime

# A session's source: an entity id (Home Assistant allows 255 characters) or what `start_work`
# was given (up to 64).
MAX_SOURCE_LENGTH: Final = 255


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment


@dataclass(frozen=True, kw_only=True)
class WorkSession:
    """A stretch of work from one source; `end` is None while it goes on.

    `site` is set on a session another site recorded (merged through sync), None on this
    site's own.
    """

    id: str
    start: datetime
    end: datetime | None
    source: str
    scheduled: bool
    site: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-safe copy."""
        data: dict[str, Any] = {
            "id": self.id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "source": self.source,
            "scheduled": self.scheduled,
        }
        if self.site is not None:
            data["site"] = self.site
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkSession:
        """Read a stored session."""
        return cls(
            id=str(data["id"]),
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]) if data.get("end") else None,
            source=str(data["source"]),
            scheduled=bool(data.get("scheduled", False)),
            site=str(data["site"]) if data.get("site") else None,
        )


class WorkTracker:
    """The work log: at most one open session per source.

    Closed sessions sit in a `SpanIndex`, so today's and this week's hours read only the sessions
    in that window however long the log is. A source that comes back within `JOIN_GAP` of its last
    session's end continues that session (same id) instead of opening a new one.
    """

    def __init__(
        self, sessions: Iterable[WorkSession] = (), *, changes: ChangeHub | None = None
    ) -> None:
        """Start from stored sessions; changes from then on are published on `changes`."""
        self.changes: ChangeHub | None = None  # nothing is published while loading
        self._closed: SpanIndex[WorkSession] = SpanIndex()
        self._open: dict[str, WorkSession] = {}
        self._last_closed: dict[str, WorkSession] = {}
        # Other sites' sessions by id: counted, never continued or closed here.
        self._synced: dict[str, WorkSession] = {}
        self.version = 0  # moves on with every change, so figures can be cached between changes
        for session in sorted(sessions, key=lambda s: s.start):
            if session.site is not None:
                self.merge_synced(session)
            elif session.end is None:
                if (earlier := self._open.get(session.source)) is not None:
                    self._store_closed(replace(earlier, end=session.start))
                self._open[session.source] = session
            else:
                self._store_closed(session)
        self.changes = changes

    def _store_closed(self, session: WorkSession) -> None:
        self._closed.add(session)
        last = self._last_closed.get(session.source)
        if last is None or (last.end or last.start) <= (session.end or session.start):
            self._last_closed[session.source] = session

    def source_changed(
        self, source: str, active: bool, now: datetime, *, scheduled: bool = False
    ) -> WorkSession | None:
        """Open or close the source's session; None when nothing changed."""
        _aware(now)
        current = self._open.get(source)
        if active and current is None:
            self.version += 1
            last = self._last_closed.get(source)
            if last is not None and last.end is not None and last.end <= now <= last.end + JOIN_GAP:
                self._closed.remove(last)
                del self._last_closed[source]
                session = replace(last, end=None, scheduled=last.scheduled or scheduled)
            else:
                session = WorkSession(
                    id=uuid.uuid4().hex, start=now, end=None, source=source, scheduled=scheduled
                )
            self._open[source] = session
            if self.changes is not None:
                self.changes.publish(WorkSessionChanged(session))
            return session
        if not active and current is not None:
            return self._close(current, now)
        return None

    def _close(self, session: WorkSession, now: datetime) -> WorkSession:
        closed = replace(session, end=max(now, session.start))
        self.version += 1
        del self._open[session.source]
        self._store_closed(closed)
        if self.changes is not None:
            self.changes.publish(WorkSessionClosed(closed))
        return closed

    def merge_synced(self, session: WorkSession) -> bool:
        """Take another site's session (`site` set), replacing what was known by its id.

        Its end may move later (a session continued there); while it is open there it is not
        counted here. Returns whether anything changed.
        """
        if session.site is None:
            raise ValueError("a synced session names its site")
        old = self._synced.get(session.id)
        if old == session or (old is None and session.end is None):
            return False
        if old is not None:
            self._closed.remove(old)
            del self._synced[session.id]
        if session.end is not None:
            self._closed.add(session)
            self._synced[session.id] = session
        self.version += 1
        return True

    def start(self, now: datetime, source: str = "manual") -> WorkSession:
        """Start a session for `source`, or return the one already open."""
        return self.source_changed(source, True, now) or self._open[source]

    def stop(self, now: datetime, source: str | None = None) -> list[WorkSession]:
        """Close `source`'s open session, or every open one."""
        _aware(now)
        open_sessions = [s for s in self._open.values() if source is None or s.source == source]
        return [self._close(session, now) for session in open_sessions]

    def is_working(self) -> bool:
        """Whether any session is open."""
        return bool(self._open)

    def open_sources(self) -> list[str]:
        """Sources with an open session."""
        return list(self._open)

    def open_sessions(self) -> list[WorkSession]:
        """Sessions under way, earliest first."""
        return sorted(self._open.values(), key=lambda s: s.start)

    def sessions(self) -> list[WorkSession]:
        """Every session, oldest first."""
        return sorted([*self._closed, *self._open.values()], key=lambda s: s.start)

    def sessions_between(self, start: datetime, end: datetime, now: datetime) -> list[WorkSession]:
        """Sessions that share time with [start, end); open ones run to now."""
        under_way = [s for s in self._open.values() if s.start < end and max(now, s.start) > start]
        return sorted([*self._closed.overlapping(start, end), *under_way], key=lambda s: s.start)

    def worked(self, start: datetime, end: datetime, now: datetime) -> timedelta:
        """Time worked in [start, end); overlapping sessions count once, open ones run to now."""
        spans = [(s.start, s.end) for s in self._closed.overlapping(start, end) if s.end]
        spans.extend((s.start, max(now, s.start)) for s in self._open.values())
        return union_duration(spans, start, end)

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
        pruned = self._closed.prune(_aware(now) - keep)
        if pruned:
            self.version += 1
            kept = {id(session) for session in self._closed}
            self._synced = {k: v for k, v in self._synced.items() if id(v) in kept}
            self._last_closed = {
                source: last
                for source, last in self._last_closed.items()
                if last.end is not None and last.end >= _aware(now) - keep
            }
        return pruned

    def as_dict(self) -> dict[str, Any]:
        """The log, JSON-safe."""
        return {"sessions": [s.as_dict() for s in self.sessions()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, changes: ChangeHub | None = None) -> WorkTracker:
        """Read a stored log; changes from then on are published on `changes`."""
        sessions = (WorkSession.from_dict(item) for item in data.get("sessions", []))
        return cls(sessions, changes=changes)


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
        this_week: Callable[[], timedelta] | None = None,
    ) -> list[str]:
        """Alert keys newly due: "past_cutoff", "week_target_reached".

        `this_week` can give the week's hours from a cache; it is asked only when the weekly
        alert can still be due.
        """
        alerts: list[str] = []
        local = _aware(now).astimezone(tz)
        if (
            tracker.is_working()
            and self.cutoff_day != local.date()
            and now >= local_datetime(now, cutoff, tz)
        ):
            self.cutoff_day = local.date()
            alerts.append("past_cutoff")
        week = local_week_bounds(now, tz)[0].date()
        if (
            target_hours > 0
            and self.target_week != week
            and (this_week() if this_week else tracker.this_week(now, tz))
            >= timedelta(hours=target_hours)
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
