"""Habits and the built-in goals, and their streaks.

A habit has a schedule, which splits the calendar into *periods*:

* `daily`: every local day is a period;
* `weekdays`: Monday to Friday are periods; a Saturday or Sunday is not one, so it neither
  extends nor breaks a streak (a completion logged on a weekend still earns its XP);
* `weekly` (N times a week): every ISO week (Monday to Sunday) is a period, done when N distinct
  local days of it have a completion (two completions on one day count once).

A period is done when it has a completion, judged by the completion's own local date in the
person's time zone (a late-logged completion counts on the day it names, not on the day it was
logged; DST nights change nothing, since only calendar dates are compared). The streak counts done
periods in a row. Up to `grace_days` missed periods in a row (for a weekly habit: weeks) do not
break it; more do. The period in progress (today, or this week) is never a miss: until it is over,
not having done it yet keeps the streak as it was. Completions dated after today are not counted
until their day comes.

Dates are passed around as proleptic ordinals (`date.toordinal()`), which makes the arithmetic
plain integer arithmetic: 0001-01-01, ordinal 1, is a Monday.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
import math
from typing import Any, Final

from .agents import Agent
from .settings import ERROR_INVALID_CHOICE, ERROR_NOT_A_NUMBER, ERROR_NOT_WHOLE, ERROR_OUT_OF_RANGE
from .sites import site_id
from .text import storable


class Schedule(StrEnum):
    """How often a habit is meant to be done."""

    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKLY = "weekly"


class Goal(StrEnum):
    """The built-in goals, judged by the agents rather than logged by hand."""

    IN_BED_BY_BEDTIME = "in_bed_by_bedtime"
    WIND_DOWN_HONOURED = "wind_down_honoured"
    WORKOUT_MATCHES_READINESS = "workout_matches_readiness"
    SCREEN_TIME_UNDER_LIMIT = "screen_time_under_limit"
    WORK_STOPPED_BY_CUTOFF = "work_stopped_by_cutoff"


# Habit fields: the same names in the options flow, strings.json and storage.
HABIT_ID: Final = "id"
HABIT_NAME: Final = "name"
HABIT_SCHEDULE: Final = "schedule"
HABIT_TIMES_PER_WEEK: Final = "times_per_week"
HABIT_XP: Final = "xp"
HABIT_GRACE_DAYS: Final = "grace_days"

MAX_HABIT_NAME_LENGTH: Final = 64
MAX_HABIT_XP: Final = 1000
MAX_GRACE_DAYS: Final = 7
MAX_HABITS: Final = 100  # the person's own habits (each has a streak sensor), at any site

ERROR_NAME_REQUIRED: Final = "name_required"
ERROR_NAME_TOO_LONG: Final = "name_too_long"
ERROR_NAME_WITHOUT_LETTERS: Final = "name_without_letters"
ERROR_NAME_INVALID: Final = "name_invalid"
ERROR_DUPLICATE_HABIT: Final = "duplicate_habit"
ERROR_TOO_MANY_HABITS: Final = "too_many_habits"


@dataclass(frozen=True, kw_only=True)
class Habit:
    """Something done regularly for XP: defined in the options flow, or a built-in goal."""

    id: str
    name: str
    schedule: Schedule = Schedule.DAILY
    times_per_week: int = 1  # read only for Schedule.WEEKLY
    xp: int = 10
    grace_days: int = 0
    builtin: bool = False
    agent: Agent = Agent.GAMIFICATION  # who judges it; the gamification agent for own habits

    def as_dict(self) -> dict[str, Any]:
        """Storable, as the options flow keeps it (built-ins are not stored)."""
        return {
            HABIT_ID: self.id,
            HABIT_NAME: self.name,
            HABIT_SCHEDULE: self.schedule.value,
            HABIT_TIMES_PER_WEEK: self.times_per_week,
            HABIT_XP: self.xp,
            HABIT_GRACE_DAYS: self.grace_days,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Habit:
        """Read a stored habit; ValueError when it cannot be read."""
        return cls(
            id=str(data[HABIT_ID]),
            name=str(data[HABIT_NAME]),
            schedule=Schedule(data.get(HABIT_SCHEDULE, Schedule.DAILY)),
            times_per_week=int(data.get(HABIT_TIMES_PER_WEEK, 1)),
            xp=int(data.get(HABIT_XP, 10)),
            grace_days=int(data.get(HABIT_GRACE_DAYS, 0)),
        )


# Their names are English; Home Assistant shows them translated (`goal_<id>` in strings.json's
# `common` section, see `texts.py`). A person's own habit keeps the name they gave it.
BUILTIN_GOALS: Final[tuple[Habit, ...]] = (
    Habit(
        id=Goal.IN_BED_BY_BEDTIME,
        name="In bed by bedtime",
        xp=20,
        builtin=True,
        agent=Agent.SLEEP,
    ),
    Habit(
        id=Goal.WIND_DOWN_HONOURED,
        name="Wind-down honoured",
        xp=10,
        builtin=True,
        agent=Agent.SLEEP,
    ),
    Habit(
        id=Goal.WORKOUT_MATCHES_READINESS,
        name="Workout matching readiness",
        schedule=Schedule.WEEKLY,
        times_per_week=3,
        xp=30,
        builtin=True,
        agent=Agent.FITNESS,
    ),
    Habit(
        id=Goal.SCREEN_TIME_UNDER_LIMIT,
        name="Screen time under the limit",
        xp=10,
        builtin=True,
        agent=Agent.SCREEN_TIME,
    ),
    Habit(
        id=Goal.WORK_STOPPED_BY_CUTOFF,
        name="Work stopped by the cut-off",
        schedule=Schedule.WEEKDAYS,
        xp=15,
        builtin=True,
        agent=Agent.WORK_LIFE,
    ),
)
BUILTIN_IDS: Final = frozenset(goal.id for goal in BUILTIN_GOALS)


def all_habits(habits: Collection[Habit]) -> dict[str, Habit]:
    """The built-in goals and the person's habits by id (a habit of the same id wins)."""
    return {**{goal.id: goal for goal in BUILTIN_GOALS}, **{habit.id: habit for habit in habits}}


def whole_in_range(value: Any, low: int, high: int) -> tuple[int | None, str | None]:
    """A whole number in [low, high] from a form or action value, or the error key why not."""
    if isinstance(value, bool) or value is None:
        return None, ERROR_NOT_A_NUMBER
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        return None, ERROR_NOT_A_NUMBER
    if math.isnan(number):
        return None, ERROR_NOT_A_NUMBER
    if not number.is_integer():
        return None, ERROR_NOT_WHOLE
    if not low <= number <= high:
        return None, ERROR_OUT_OF_RANGE
    return int(number), None


def validate_habit(
    user_input: Mapping[str, Any],
    *,
    existing: Collection[str] = (),
    habit_id: str | None = None,
) -> tuple[Habit | None, dict[str, str]]:
    """Check the options flow's habit form.

    Returns the habit and no errors, or None and an error key per bad field. A new habit's id is
    the slug of its name (the rules of `site_id`), and must not be a built-in goal's or one in
    `existing` (of which there may be `MAX_HABITS` at most); an edited habit passes its
    `habit_id`, which it keeps whatever its new name.
    `times_per_week` (1-7) is read only for a weekly schedule; `xp` is 0-1000 and `grace_days`
    0-7, whole numbers.
    """
    errors: dict[str, str] = {}
    raw_name = user_input.get(HABIT_NAME)
    name = raw_name.strip() if isinstance(raw_name, str) else ""
    new_id = habit_id
    if not name:
        errors[HABIT_NAME] = ERROR_NAME_REQUIRED
    elif len(name) > MAX_HABIT_NAME_LENGTH:
        errors[HABIT_NAME] = ERROR_NAME_TOO_LONG
    elif not storable(name):
        errors[HABIT_NAME] = ERROR_NAME_INVALID
    elif habit_id is None:
        new_id = site_id(name)
        if not new_id:
            errors[HABIT_NAME] = ERROR_NAME_WITHOUT_LETTERS
        elif new_id in BUILTIN_IDS or new_id in existing:
            errors[HABIT_NAME] = ERROR_DUPLICATE_HABIT
        elif len(existing) >= MAX_HABITS:
            errors[HABIT_NAME] = ERROR_TOO_MANY_HABITS

    schedule: Schedule | None = None
    try:
        schedule = Schedule(user_input.get(HABIT_SCHEDULE, Schedule.DAILY))
    except ValueError:
        errors[HABIT_SCHEDULE] = ERROR_INVALID_CHOICE

    numbers: dict[str, int] = {}
    limits = {HABIT_XP: (0, MAX_HABIT_XP), HABIT_GRACE_DAYS: (0, MAX_GRACE_DAYS)}
    if schedule is Schedule.WEEKLY:
        limits[HABIT_TIMES_PER_WEEK] = (1, 7)
    for key, (low, high) in limits.items():
        raw = user_input.get(key, 0 if key == HABIT_GRACE_DAYS else None)
        number, error = whole_in_range(raw, low, high)
        if error is not None:
            errors[key] = error
        elif number is not None:
            numbers[key] = number

    if errors or schedule is None or new_id is None:
        return None, errors
    return (
        Habit(
            id=new_id,
            name=name,
            schedule=schedule,
            times_per_week=numbers.get(HABIT_TIMES_PER_WEEK, 1),
            xp=numbers[HABIT_XP],
            grace_days=numbers[HABIT_GRACE_DAYS],
        ),
        {},
    )


# ---- streaks ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Streak:
    """One habit's streak now.

    `current` and `best` count done periods (days, weekdays or weeks); `started` is the first day
    of the current run's first period (None at 0), `last_done` the latest local date with a
    completion that counts, `period_done` whether the period in progress is already done.
    """

    habit_id: str
    current: int
    best: int
    started: date | None
    last_done: date | None
    period_done: bool
    completions: int  # completion events in the log, on any day


def _period(schedule: Schedule, ordinal: int) -> int | None:
    """The period a local date falls in; None for a weekend day of a weekdays habit."""
    if schedule is Schedule.DAILY:
        return ordinal
    week, weekday = divmod(ordinal - 1, 7)
    if schedule is Schedule.WEEKLY:
        return week
    return week * 5 + weekday if weekday < 5 else None


def _period_start(schedule: Schedule, period: int) -> int:
    """The ordinal of the first day of a period."""
    if schedule is Schedule.DAILY:
        return period
    if schedule is Schedule.WEEKLY:
        return period * 7 + 1
    week, weekday = divmod(period, 5)
    return week * 7 + weekday + 1


def compute_streak(
    habit: Habit,
    days: Mapping[int, datetime],
    today: int,
    *,
    completions: int = 0,
    thresholds: Collection[int] = (),
) -> tuple[Streak, dict[int, datetime]]:
    """The habit's streak on local day `today`, from its completed local days.

    `days` maps each local date (as an ordinal) with a completion to that day's earliest
    completion time. Also returns, for each length in `thresholds` that some run reached, when
    the first such run reached it: the time of the completion that made it that long. The result
    depends only on the days, never on the order events were logged in.
    """
    schedule = habit.schedule
    done: dict[int, datetime] = {}  # period -> when it became done
    if schedule is Schedule.WEEKLY:
        weeks: dict[int, list[int]] = {}
        for ordinal in days:
            if ordinal <= today:
                weeks.setdefault((ordinal - 1) // 7, []).append(ordinal)
        needed = max(habit.times_per_week, 1)
        for week, ordinals in weeks.items():
            if len(ordinals) >= needed:
                ordinals.sort()
                done[week] = days[ordinals[needed - 1]]
        counted = [o for ordinals in weeks.values() for o in ordinals]
    else:
        counted = []
        for ordinal, moment in days.items():
            if ordinal <= today:
                period = _period(schedule, ordinal)
                if period is not None:
                    done[period] = moment
                    counted.append(ordinal)

    period_now = _period(schedule, today)
    pending = period_now is not None
    # On a weekend day, for a weekdays habit, the last period is Friday's, and it is over.
    now_period = period_now if period_now is not None else (today - 1) // 7 * 5 + 4

    wanted = frozenset(thresholds)
    reached: dict[int, datetime] = {}
    best = run = run_start = previous = 0
    run_reached = datetime.min.replace(tzinfo=UTC)
    for period in sorted(done):
        moment = done[period]
        if run and period - previous - 1 <= habit.grace_days:
            run += 1
            run_reached = max(run_reached, moment)
        else:
            run, run_start, run_reached = 1, period, moment
        previous = period
        best = max(best, run)
        if wanted and run in wanted and run not in reached:
            reached[run] = run_reached
    missed = 0
    if done and previous < now_period:
        missed = now_period - previous - (1 if pending else 0)
    current = run if done and missed <= habit.grace_days else 0
    return (
        Streak(
            habit_id=habit.id,
            current=current,
            best=best,
            started=date.fromordinal(_period_start(schedule, run_start)) if current else None,
            last_done=date.fromordinal(max(counted)) if counted else None,
            period_done=pending and now_period in done,
            completions=completions,
        ),
        reached,
    )
