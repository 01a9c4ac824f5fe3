"""Gamification figures, recomputed from the XP log: XP, level, streaks, achievements.

`compute` reads the whole log every time, so the figures depend only on which events the log
holds: not on the order they arrived in, on duplicates, or on the site that logged them. A merge
that brings a cabin's old events gives the same figures as if they had been logged at home.

* Total XP is the sum of every amount in the log; XP today the sum of events whose time falls on
  today's local date. The level and progress follow the curve in `xp`.
* Each habit's and built-in goal's streak follows its schedule (see `habits`), on local dates in
  the given time zone. Completions are events with a `habit_id`; a completion of a habit not
  defined here (yet) still earns its XP but has no streak.
* Achievements (see `achievements`) with progress and stable unlock times.

`diff` compares the figures before and after a recompute and says what to announce: the level
reached (once, the final one, however many levels a change crossed), the achievements unlocked
and the streaks broken.

Speed: time zone conversions are done once per UTC day of the log, not once per event. Within a
UTC day with one offset the local date changes once, at local midnight, so an event's local date
is one comparison with that moment; on the few UTC days whose offset changes (DST nights) each
event is converted on its own. Nothing is cached between calls.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from .achievements import (
    ACHIEVEMENTS,
    Achievement,
    AchievementProgress,
    HabitRecord,
    evaluate,
    streak_thresholds,
    xp_thresholds,
)
from .habits import Habit, Streak, all_habits, compute_streak
from .xp import LevelProgress, XpEvent, XpLog, level_progress

_DAY = timedelta(days=1)
_LAST_MICROSECOND_OF_DAY = timedelta(days=1, microseconds=-1)


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """What `diff` compares: small, and storable so announcements survive a restart."""

    level: int
    unlocked: frozenset[str]
    streaks: Mapping[str, tuple[int, date | None]]  # habit id -> (current, started)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {
            "level": self.level,
            "unlocked": sorted(self.unlocked),
            "streaks": {
                habit: [current, started.isoformat() if started else None]
                for habit, (current, started) in self.streaks.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        """Read what was stored."""
        return cls(
            level=int(data["level"]),
            unlocked=frozenset(data.get("unlocked", ())),
            streaks={
                str(habit): (int(current), date.fromisoformat(started) if started else None)
                for habit, (current, started) in data.get("streaks", {}).items()
            },
        )


@dataclass(frozen=True, kw_only=True)
class Scoreboard:
    """Everything the gamification entities show, as of one moment: the figures of one recompute."""

    total_xp: int
    xp_today: int
    level: LevelProgress
    streaks: Mapping[str, Streak]
    achievements: tuple[AchievementProgress, ...]
    event_count: int  # events in the log (each id once)

    @property
    def unlocked(self) -> tuple[AchievementProgress, ...]:
        """The unlocked achievements, in the order they were unlocked."""
        done = [a for a in self.achievements if a.unlocked_at is not None]
        return tuple(sorted(done, key=lambda a: (a.unlocked_at, a.id)))

    def snapshot(self) -> Snapshot:
        """What a later `diff` needs of these figures."""
        return Snapshot(
            level=self.level.level,
            unlocked=frozenset(a.id for a in self.achievements if a.unlocked),
            streaks={h: (s.current, s.started) for h, s in self.streaks.items()},
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, for attributes and diagnostics."""
        return {
            "total_xp": self.total_xp,
            "xp_today": self.xp_today,
            "level": self.level.level,
            "level_progress": round(self.level.progress, 4),
            "xp_to_next_level": self.level.xp_to_next_level,
            "event_count": self.event_count,
            "streaks": {
                habit: {
                    "current": s.current,
                    "best": s.best,
                    "started": s.started.isoformat() if s.started else None,
                    "last_done": s.last_done.isoformat() if s.last_done else None,
                    "period_done": s.period_done,
                    "completions": s.completions,
                }
                for habit, s in self.streaks.items()
            },
            "achievements": {
                a.id: {
                    "current": a.current,
                    "target": a.target,
                    "unlocked_at": a.unlocked_at.isoformat() if a.unlocked_at else None,
                }
                for a in self.achievements
            },
        }


def _utc_day(day: int, tz: tzinfo) -> list[Any]:
    """How local dates fall on one UTC day: [boundary, date before, date after, events].

    With one UTC offset all day, the local date changes once, at local midnight (`boundary`):
    moments before it fall on the first local date, the rest on the second (the same one at
    offset 0). The offsets at the first and the last moment of the day are compared (no zone
    changes its offset twice in a day); on a day whose offset changes, `boundary` is None and
    each moment is converted on its own. The last item collects the day's events.
    """
    start = datetime.fromordinal(day).replace(tzinfo=UTC)
    first = start.astimezone(tz)
    offset = first.utcoffset()
    if offset is None or (start + _LAST_MICROSECOND_OF_DAY).astimezone(tz).utcoffset() != offset:
        return [None, 0, 0, []]
    boundary = start + (-offset) % _DAY
    return [boundary, first.toordinal(), boundary.astimezone(tz).toordinal(), []]


def _xp_crossings(
    utc_days: Mapping[int, list[Any]], thresholds: Collection[int]
) -> dict[int, datetime]:
    """When the running XP total, in time order, first reached each threshold."""
    reached: dict[int, datetime] = {}
    remaining = sorted(t for t in thresholds if t > 0)
    running = 0
    for day in sorted(utc_days):
        if not remaining:
            break
        events: list[XpEvent] = utc_days[day][3]
        day_xp = sum(event.amount for event in events)
        if running + day_xp < remaining[0]:
            running += day_xp
            continue
        for event in sorted(events, key=lambda e: (e.time, e.id)):
            running += event.amount
            while remaining and running >= remaining[0]:
                reached[remaining.pop(0)] = event.time
    return reached


def compute(
    log: XpLog | Iterable[XpEvent],
    habits: Collection[Habit],
    tz: tzinfo,
    now: datetime,
    *,
    achievements: Collection[Achievement] = ACHIEVEMENTS,
) -> Scoreboard:
    """Recompute every figure from the log, for the person in `tz` at `now`.

    `habits` are the person's own; the built-in goals are always included. Events given other
    than as an `XpLog` are merged first (duplicate ids count once).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    events = log if isinstance(log, XpLog) else XpLog(log)
    today = now.astimezone(tz).toordinal()
    known = all_habits(habits)

    utc_days: dict[int, list[Any]] = {}
    habit_days: dict[str, dict[int, datetime]] = {habit: {} for habit in known}
    counts: dict[str, int] = dict.fromkeys(known, 0)
    total = xp_today = 0
    for event in events:
        moment = event.time
        amount = event.amount
        total += amount
        utc_day = moment.toordinal()
        entry = utc_days.get(utc_day)
        if entry is None:
            entry = utc_days[utc_day] = _utc_day(utc_day, tz)
        entry[3].append(event)
        boundary = entry[0]
        if boundary is None:
            local_day = moment.astimezone(tz).toordinal()
        else:
            local_day = entry[1] if moment < boundary else entry[2]
        if local_day == today:
            xp_today += amount
        habit_id = event.habit_id
        if habit_id is not None:
            days = habit_days.get(habit_id)
            if days is not None:
                counts[habit_id] += 1
                if local_day <= today:
                    earliest = days.get(local_day)
                    if earliest is None or moment < earliest:
                        days[local_day] = moment

    lengths = streak_thresholds(achievements)
    streaks: dict[str, Streak] = {}
    records: dict[str, HabitRecord] = {}
    for habit_id, habit in known.items():
        days = habit_days[habit_id]
        streak, reached = compute_streak(
            habit, days, today, completions=counts[habit_id], thresholds=lengths
        )
        streaks[habit_id] = streak
        records[habit_id] = HabitRecord(best=streak.best, reached=reached, days=days)

    crossings = _xp_crossings(utc_days, xp_thresholds(achievements))
    return Scoreboard(
        total_xp=total,
        xp_today=xp_today,
        level=level_progress(total),
        streaks=streaks,
        achievements=evaluate(achievements, records, total_xp=total, xp_reached=crossings),
        event_count=len(events),
    )


# ---- what changed -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BrokenStreak:
    """A streak that was running and is not any more."""

    habit_id: str
    length: int  # how long it was
    last_done: date | None


@dataclass(frozen=True, kw_only=True)
class Changes:
    """What to announce after a recompute."""

    level: int | None = None  # the level newly reached (the last of several crossed at once)
    previous_level: int | None = None  # the level before it
    unlocked: tuple[AchievementProgress, ...] = ()  # in the order they were unlocked
    broken: tuple[BrokenStreak, ...] = ()

    def __bool__(self) -> bool:
        """Whether there is anything to announce."""
        return bool(self.level is not None or self.unlocked or self.broken)


def diff(previous: Scoreboard | Snapshot | None, current: Scoreboard) -> Changes:
    """What happened between two recomputes: level-ups, unlocks, broken streaks.

    With no previous figures (the first recompute) nothing is announced. A streak is broken when
    it was running and now is 0, or a later run has replaced it; a merge that lengthens a streak
    backwards (an earlier start) is not a break. A habit removed since is not reported.
    """
    if previous is None:
        return Changes()
    before = previous.snapshot() if isinstance(previous, Scoreboard) else previous
    broken: list[BrokenStreak] = []
    for habit_id, (length, started) in sorted(before.streaks.items()):
        now = current.streaks.get(habit_id)
        if now is None or length <= 0:
            continue
        restarted = now.started is not None and started is not None and now.started > started
        if now.current == 0 or restarted:
            broken.append(BrokenStreak(habit_id=habit_id, length=length, last_done=now.last_done))
    raised = current.level.level > before.level
    return Changes(
        level=current.level.level if raised else None,
        previous_level=before.level if raised else None,
        unlocked=tuple(a for a in current.unlocked if a.id not in before.unlocked),
        broken=tuple(broken),
    )
