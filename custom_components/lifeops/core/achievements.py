"""Achievements: a fixed, documented set, each unlocked once, with progress towards it.

| id | name | unlocked by |
|---|---|---|
| `first_step` | First step | a first completed habit or goal |
| `on_time_week` | First week of on-time bedtimes | a 7-day streak of *in bed by bedtime* |
| `wind_down_fortnight` | A fortnight of wind-downs | a 14-day streak of *wind-down honoured* |
| `streak_30` | 30 in a row | a streak of 30 on any habit or goal (days, weekdays or weeks) |
| `streak_100` | 100 in a row | a streak of 100 on any habit or goal |
| `workouts_100` | 100 workouts | 100 days with a workout matching readiness |
| `screen_time_30` | 30 days of screen-time balance | 30 days with screen time under the limit |
| `evenings_off_50` | 50 evenings off | 50 days with work stopped by the cut-off |
| `level_5` | Level 5 | reaching level 5 (1,000 XP) |
| `level_10` | Level 10 | reaching level 10 (4,500 XP) |
| `xp_10000` | 10,000 XP | 10,000 XP in total |

The names here are English and stand in for a missing translation: Home Assistant shows them in
its language from the `common` section of strings.json (`achievement_<id>`, see `texts.py`);
the ids are what data, events and automations keep.

Everything is derived from the log, so it is the same at every site and after every restart. An
achievement's `unlocked_at` is the time of the event that reached it: the completion that made
the streak long enough or the day count high enough (a day counts from its earliest completion),
or the event that took the running XP total, in time order, over the line. Because amounts are
never negative, events only ever add: once unlocked, an achievement stays unlocked. (A merge that
brings older events can move `unlocked_at` earlier; it never locks an achievement again.)
Progress is the best streak, the day count, the level or the XP total, capped at the target.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from .habits import Goal
from .xp import level_for_xp, xp_for_level


class Measure(StrEnum):
    """What an achievement counts."""

    STREAK = "streak"  # the best streak of a habit, or of any habit
    DAYS = "days"  # local days with a completion of a habit, or of any habit
    LEVEL = "level"
    XP = "xp"


@dataclass(frozen=True, kw_only=True)
class Achievement:
    """One achievement; `habit_id` None means any habit or goal."""

    id: str
    name: str
    description: str
    measure: Measure
    target: int
    habit_id: str | None = None


ACHIEVEMENTS: Final[tuple[Achievement, ...]] = (
    Achievement(
        id="first_step",
        name="First step",
        description="Complete a habit or goal for the first time.",
        measure=Measure.DAYS,
        target=1,
    ),
    Achievement(
        id="on_time_week",
        name="First week of on-time bedtimes",
        description="Be in bed by bedtime seven nights in a row.",
        measure=Measure.STREAK,
        target=7,
        habit_id=Goal.IN_BED_BY_BEDTIME,
    ),
    Achievement(
        id="wind_down_fortnight",
        name="A fortnight of wind-downs",
        description="Honour the wind-down fourteen evenings in a row.",
        measure=Measure.STREAK,
        target=14,
        habit_id=Goal.WIND_DOWN_HONOURED,
    ),
    Achievement(
        id="streak_30",
        name="30 in a row",
        description="Reach a streak of 30 on any habit or goal.",
        measure=Measure.STREAK,
        target=30,
    ),
    Achievement(
        id="streak_100",
        name="100 in a row",
        description="Reach a streak of 100 on any habit or goal.",
        measure=Measure.STREAK,
        target=100,
    ),
    Achievement(
        id="workouts_100",
        name="100 workouts",
        description="Work out to match your readiness on 100 days.",
        measure=Measure.DAYS,
        target=100,
        habit_id=Goal.WORKOUT_MATCHES_READINESS,
    ),
    Achievement(
        id="screen_time_30",
        name="30 days of screen-time balance",
        description="Stay under the daily screen-time limit on 30 days.",
        measure=Measure.DAYS,
        target=30,
        habit_id=Goal.SCREEN_TIME_UNDER_LIMIT,
    ),
    Achievement(
        id="evenings_off_50",
        name="50 evenings off",
        description="Stop work by the cut-off on 50 days.",
        measure=Measure.DAYS,
        target=50,
        habit_id=Goal.WORK_STOPPED_BY_CUTOFF,
    ),
    Achievement(
        id="level_5",
        name="Level 5",
        description="Reach level 5.",
        measure=Measure.LEVEL,
        target=5,
    ),
    Achievement(
        id="level_10",
        name="Level 10",
        description="Reach level 10.",
        measure=Measure.LEVEL,
        target=10,
    ),
    Achievement(
        id="xp_10000",
        name="10,000 XP",
        description="Earn 10,000 XP in total.",
        measure=Measure.XP,
        target=10_000,
    ),
)


@dataclass(frozen=True, kw_only=True)
class HabitRecord:
    """What the log says about one habit, as achievements read it."""

    best: int  # best streak
    reached: Mapping[int, datetime]  # streak length -> when a run first reached it
    days: Mapping[int, datetime]  # local date ordinal -> that day's earliest completion


@dataclass(frozen=True, kw_only=True)
class AchievementProgress:
    """How far one achievement is: `current` of `target`, and when it was unlocked."""

    id: str
    current: int
    target: int
    unlocked_at: datetime | None

    @property
    def unlocked(self) -> bool:
        """Whether it has been reached."""
        return self.unlocked_at is not None


def streak_thresholds(achievements: Collection[Achievement]) -> frozenset[int]:
    """The streak lengths whose first reaching the achievements need to know."""
    return frozenset(a.target for a in achievements if a.measure is Measure.STREAK)


def xp_thresholds(achievements: Collection[Achievement]) -> frozenset[int]:
    """The XP totals whose first crossing the achievements need to know."""
    return frozenset(
        _xp_target(a) for a in achievements if a.measure in (Measure.LEVEL, Measure.XP)
    )


def _xp_target(achievement: Achievement) -> int:
    if achievement.measure is Measure.LEVEL:
        return xp_for_level(achievement.target)
    return achievement.target


def evaluate(
    achievements: Collection[Achievement],
    records: Mapping[str, HabitRecord],
    *,
    total_xp: int,
    xp_reached: Mapping[int, datetime],
) -> tuple[AchievementProgress, ...]:
    """Progress on each achievement, from the habits' records and the XP crossings.

    `xp_reached` maps each of `xp_thresholds(achievements)` that the log crossed to the time of
    the crossing event; `records` holds every habit's `HabitRecord` (with `reached` for each of
    `streak_thresholds(achievements)`).
    """
    results: list[AchievementProgress] = []
    for achievement in achievements:
        chosen = (
            list(records.values())
            if achievement.habit_id is None
            else [records[achievement.habit_id]]
            if achievement.habit_id in records
            else []
        )
        target = achievement.target
        value = 0
        unlocked_at: datetime | None = None
        if achievement.measure is Measure.STREAK:
            value = max((record.best for record in chosen), default=0)
            times = [r.reached[target] for r in chosen if target in r.reached]
            unlocked_at = min(times, default=None)
        elif achievement.measure is Measure.DAYS:
            days: dict[int, datetime] = {}
            for record in chosen:
                for ordinal, moment in record.days.items():
                    if ordinal not in days or moment < days[ordinal]:
                        days[ordinal] = moment
            value = len(days)
            if value >= target:
                unlocked_at = days[sorted(days)[target - 1]]
        else:
            value = level_for_xp(total_xp) if achievement.measure is Measure.LEVEL else total_xp
            unlocked_at = xp_reached.get(_xp_target(achievement))
        results.append(
            AchievementProgress(
                id=achievement.id,
                current=min(value, target),
                target=target,
                unlocked_at=unlocked_at,
            )
        )
    return tuple(results)
