"""The gamification agent: the XP log, the person's habits, and the goals the agents judge.

The log and the habits live in the entry's store (the one source of truth: the options flow's
habits step and the actions both change it at run time). Every change recomputes the figures from
the whole log with `core.gamification.compute` and announces what `diff` finds, against a snapshot
that is stored too, so a restart does not announce anything twice. Local midnight recomputes as
well (XP today and streaks roll over) and judges the built-in goals of the day that ended.

Built-in goals judged here:

* wind-down honoured: wind-down started within the 12 hours before bedtime and was not ended
  early (`lifeops_wind_down_started` / `lifeops_wind_down_ended` / `lifeops_bedtime`), met on the
  local day of the bedtime;
* screen time under the limit: at midnight, for the day that ended, when screens are chosen or
  screen time was counted that day, and the limit is above 0;
* work stopped by the cut-off: at midnight, for the weekday that ended, when work sources or
  calendars are chosen or work was recorded that day: met when no work was recorded between the
  cut-off and midnight.

In bed by bedtime and workout matching readiness have no clear input yet (no bed sensor, no
workout log): automations complete them with `lifeops.complete_habit`, once a day.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any, Final
import uuid

from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from ..core import schedule
from ..core.achievements import ACHIEVEMENTS
from ..core.agents import Agent
from ..core.gamification import Figures, Snapshot, compute, diff
from ..core.habits import (
    BUILTIN_IDS,
    ERROR_DUPLICATE_HABIT,
    Goal,
    Habit,
    Schedule,
    all_habits,
    validate_habit,
)
from ..core.intervals import local_day_bounds
from ..core.xp import (
    ERROR_TIME_IN_FUTURE,
    ERROR_TIME_TOO_OLD,
    ERROR_UNKNOWN_HABIT,
    FIELD_HABIT,
    FIELD_ID,
    XpEvent,
    XpLog,
    goal_met,
    validate_award,
    validate_completion,
)
from ..data import LifeOpsConfigEntry
from .base import AgentController
from .sleep import EVENT_BEDTIME, EVENT_WIND_DOWN_ENDED, EVENT_WIND_DOWN_STARTED

STORE_KEY: Final = "gamification"
EVENT_XP_AWARDED: Final = "lifeops_xp_awarded"
EVENT_LEVEL_UP: Final = "lifeops_level_up"
EVENT_ACHIEVEMENT_UNLOCKED: Final = "lifeops_achievement_unlocked"
EVENT_STREAK_BROKEN: Final = "lifeops_streak_broken"

# A wind-down counts for a bedtime when it started at most this long before it.
WIND_DOWN_WINDOW: Final = timedelta(hours=12)
# Days a late midnight timer (a suspended machine) judges at most.
MAX_CATCH_UP: Final = 7

# Core error keys with a translated message of their own; any other error on a field is
# reported as "invalid_field_<field>".
ERROR_BUILTIN_HABIT: Final = "builtin_habit"
_OWN_MESSAGES: Final = frozenset(
    {
        ERROR_TIME_IN_FUTURE,
        ERROR_TIME_TOO_OLD,
        ERROR_UNKNOWN_HABIT,
        ERROR_DUPLICATE_HABIT,
        ERROR_BUILTIN_HABIT,
    }
)
_NAMES: Final = {achievement.id: achievement.name for achievement in ACHIEVEMENTS}


def validation_error(
    errors: Mapping[str, str], user_input: Mapping[str, Any]
) -> ServiceValidationError:
    """A translated error naming the first bad field of a core validator's result."""
    field, error = next(iter(errors.items()))
    value = user_input.get(field)
    own = error in _OWN_MESSAGES and (error != ERROR_UNKNOWN_HABIT or isinstance(value, str))
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=error if own else f"invalid_field_{field}",
        translation_placeholders={
            "field": field,
            "value": (value if isinstance(value, str) else repr(value))[:64],
        },
    )


def day_event_id(habit_id: str, day: date) -> str:
    """The id of a habit's or goal's completion for a local day: the same one counts once."""
    return f"{habit_id}@{day.isoformat()}"


class GamificationController(AgentController):
    """Keeps the XP log and the habits, recomputes the figures and announces what changed."""

    agent = Agent.GAMIFICATION

    def __init__(self, hass: HomeAssistant, entry: LifeOpsConfigEntry) -> None:
        """Load the log, the habits, the last announced snapshot and the goal bookkeeping."""
        super().__init__(hass, entry)
        stored: dict[str, Any] = entry.runtime_data.store.data.get(STORE_KEY) or {}
        self.log = XpLog.from_dict(stored.get("log") or {})
        self.habits: dict[str, Habit] = {}
        for item in stored.get("habits") or ():
            try:
                habit = Habit.from_dict(item)
            except (KeyError, TypeError, ValueError):
                LOGGER.warning("Skipping a stored habit that cannot be read: %s", item)
                continue
            self.habits[habit.id] = habit
        snapshot = stored.get("snapshot")
        self._snapshot: Snapshot | None = Snapshot.from_dict(snapshot) if snapshot else None
        judged = stored.get("judged_through")
        self._judged_through: date | None = date.fromisoformat(judged) if judged else None
        self._wind_down: dict[str, Any] = dict(stored.get("wind_down") or {})
        self._habit_listeners: list[Callable[[], None]] = []
        self.figures: Figures = compute(self.log, self.habits.values(), self.tz, dt_util.utcnow())

    def as_dict(self) -> Any:
        """The log, the habits and what was last announced, as stored."""
        return {
            "log": self.log.as_dict(),
            "habits": [habit.as_dict() for habit in self.habits.values()],
            "snapshot": self._snapshot.as_dict() if self._snapshot else None,
            "judged_through": self._judged_through.isoformat() if self._judged_through else None,
            "wind_down": dict(self._wind_down),
        }

    # ---- lifecycle ---------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Catch up (figures, yesterday's goals), follow the sleep agent, set the midnight timer."""
        await super().async_start()
        now = dt_util.utcnow()
        for event_type, handler in (
            (EVENT_WIND_DOWN_STARTED, self._on_wind_down_started),
            (EVENT_WIND_DOWN_ENDED, self._on_wind_down_ended),
            (EVENT_BEDTIME, self._on_bedtime),
        ):
            self._unsubs.append(self.hass.bus.async_listen(event_type, handler))
        self._judge_days(now)
        self._recompute(now)
        self._schedule_midnight(now)

    @callback
    def _schedule_midnight(self, now: datetime) -> None:
        self.async_set_timer(
            "midnight", schedule.next_occurrence(now, time(0), self.tz), self._on_midnight
        )

    @callback
    def _on_midnight(self, now: datetime) -> None:
        self._judge_days(now, catch_up=MAX_CATCH_UP)
        self._recompute(now)
        self._schedule_midnight(now)

    # ---- figures -----------------------------------------------------------------------------

    def all_habits(self) -> dict[str, Habit]:
        """The built-in goals and the person's habits, by id."""
        return all_habits(self.habits.values())

    @callback
    def _recompute(self, now: datetime | None = None) -> None:
        """Recompute the figures, announce what changed since the stored snapshot, save."""
        now = now or dt_util.utcnow()
        figures = compute(self.log, self.habits.values(), self.tz, now)
        changes = diff(self._snapshot, figures)
        entry_id = self.entry.entry_id
        for level in changes.levels:
            self.hass.bus.async_fire(
                EVENT_LEVEL_UP,
                {"config_entry_id": entry_id, "level": level, "total_xp": figures.total_xp},
            )
        for achievement in changes.unlocked:
            self.hass.bus.async_fire(
                EVENT_ACHIEVEMENT_UNLOCKED,
                {
                    "config_entry_id": entry_id,
                    "achievement": achievement.id,
                    "name": _NAMES.get(achievement.id, achievement.id),
                    "unlocked_at": (
                        achievement.unlocked_at.isoformat() if achievement.unlocked_at else None
                    ),
                },
            )
        for broken in changes.broken:
            self.hass.bus.async_fire(
                EVENT_STREAK_BROKEN,
                {
                    "config_entry_id": entry_id,
                    "habit": broken.habit_id,
                    "length": broken.length,
                    "last_done": broken.last_done.isoformat() if broken.last_done else None,
                },
            )
        self.figures = figures
        self._snapshot = figures.snapshot()
        self.async_changed()

    @callback
    def _add(self, events: list[XpEvent]) -> list[bool]:
        """Append events to the log, announce each new one, recompute once."""
        added = [self.log.add(event) for event in events]
        if not any(added):
            return added
        # The figures match the log as it was; new events only add to the total.
        total = self.figures.total_xp
        for event, new in zip(events, added, strict=True):
            if new:
                total += event.amount
                self.hass.bus.async_fire(
                    EVENT_XP_AWARDED,
                    {
                        "config_entry_id": self.entry.entry_id,
                        **event.as_dict(),
                        "total_xp": total,
                    },
                )
        self._recompute()
        return added

    # ---- actions and the to-do list ----------------------------------------------------------

    def _origin(self) -> str:
        return self.runtime.site

    @callback
    def async_complete_habit(self, user_input: Mapping[str, Any]) -> tuple[XpEvent, bool]:
        """Log a completion (validated; the id makes it idempotent); raises a translated error.

        A built-in goal completed without an id gets its day's id, as the agents use, so a day
        counts once however it was reported.
        """
        event, errors = validate_completion(
            user_input,
            self.all_habits(),
            now=dt_util.utcnow(),
            tz=self.tz,
            origin=self._origin(),
            new_id=uuid.uuid4().hex,
        )
        if event is None:
            raise validation_error(errors, user_input)
        if event.habit_id in BUILTIN_IDS and not user_input.get(FIELD_ID):
            day = event.time.astimezone(self.tz).date()
            event = replace(event, id=day_event_id(event.habit_id, day))
        [added] = self._add([event])
        return self.log.get(event.id) or event, added

    @callback
    def async_award_xp(self, user_input: Mapping[str, Any]) -> tuple[XpEvent, bool]:
        """Log an award (validated; the id makes it idempotent); raises a translated error."""
        event, errors = validate_award(
            user_input,
            now=dt_util.utcnow(),
            tz=self.tz,
            origin=self._origin(),
            new_id=uuid.uuid4().hex,
        )
        if event is None:
            raise validation_error(errors, user_input)
        [added] = self._add([event])
        return self.log.get(event.id) or event, added

    @callback
    def async_create_habit(self, user_input: Mapping[str, Any]) -> Habit:
        """Add a habit (validated: its id is the slug of its name); raises a translated error."""
        habit, errors = validate_habit(user_input, existing=self.habits)
        if habit is None:
            raise validation_error(errors, user_input)
        self.async_add_habit(habit)
        return habit

    @callback
    def async_add_habit(self, habit: Habit) -> None:
        """Add a habit already checked with `core.habits.validate_habit`."""
        self.habits[habit.id] = habit
        self._habits_changed()

    @callback
    def async_remove_habits(self, habit_ids: list[str]) -> None:
        """Remove habits (all or nothing); their XP stays in the log, their streaks go."""
        for habit_id in habit_ids:
            self.check_removable(habit_id)
        for habit_id in habit_ids:
            self.habits.pop(habit_id, None)
        if habit_ids:
            self._habits_changed()

    def check_removable(self, habit_id: Any) -> None:
        """Raise a translated error unless `habit_id` is one of the person's own habits."""
        data = {FIELD_HABIT: habit_id}
        if isinstance(habit_id, str) and habit_id in BUILTIN_IDS:
            raise validation_error({FIELD_HABIT: ERROR_BUILTIN_HABIT}, data)
        if not isinstance(habit_id, str) or habit_id not in self.habits:
            raise validation_error({FIELD_HABIT: ERROR_UNKNOWN_HABIT}, data)

    @callback
    def _habits_changed(self) -> None:
        self._recompute()
        for update in list(self._habit_listeners):
            update()

    @callback
    def async_add_habits_listener(self, update: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `update` when habits are created or removed; returns the remover."""
        self._habit_listeners.append(update)
        return lambda: self._habit_listeners.remove(update)

    def today(self) -> date:
        """The person's local date now."""
        return dt_util.utcnow().astimezone(self.tz).date()

    def due_today(self) -> list[tuple[Habit, bool]]:
        """The person's habits due today, each with whether it is done today.

        Daily habits are due every day, weekdays habits Monday to Friday, weekly ones until the
        week's count is reached (and, done today, for the rest of the day). Built-in goals are
        judged by the agents and not listed.
        """
        today = self.today()
        due: list[tuple[Habit, bool]] = []
        for habit in self.habits.values():
            streak = self.figures.streaks.get(habit.id)
            done = streak is not None and streak.last_done == today
            if habit.schedule is Schedule.WEEKDAYS and today.weekday() >= 5 and not done:
                continue
            week_done = streak is not None and streak.period_done
            if habit.schedule is Schedule.WEEKLY and week_done and not done:
                continue
            due.append((habit, done))
        return due

    # ---- built-in goals ----------------------------------------------------------------------

    def _may_judge(self, goal: Habit) -> bool:
        return self.enabled and self.runtime.is_enabled(goal.agent)

    @callback
    def _goal_met(self, goal_id: Goal, day: date, when: datetime) -> None:
        goal = self.all_habits()[goal_id]
        if not self._may_judge(goal):
            return
        # The event's time must fall on the day it is for: streaks read the local date of it.
        start, end = local_day_bounds(day, self.tz)
        when = min(max(when, start), end - timedelta(seconds=1))
        self._add([goal_met(goal, day=day, when=when, origin=self._origin())])

    def _ours(self, event: Event) -> bool:
        return bool(event.data.get("config_entry_id") == self.entry.entry_id)

    @callback
    def _on_wind_down_started(self, event: Event) -> None:
        if self._ours(event):
            self._wind_down = {"started": dt_util.utcnow().isoformat(), "early": False}
            self.runtime.store.async_schedule_save()

    @callback
    def _on_wind_down_ended(self, event: Event) -> None:
        if self._ours(event) and event.data.get("early") and self._wind_down:
            self._wind_down["early"] = True
            self.runtime.store.async_schedule_save()

    @callback
    def _on_bedtime(self, event: Event) -> None:
        if not self._ours(event):
            return
        bedtime = dt_util.parse_datetime(str(event.data.get("bedtime"))) or dt_util.utcnow()
        wind_down, self._wind_down = self._wind_down, {}
        self.runtime.store.async_schedule_save()
        started = dt_util.parse_datetime(str(wind_down.get("started")))
        if (
            started is not None
            and not wind_down.get("early")
            and bedtime - WIND_DOWN_WINDOW <= started <= bedtime
        ):
            self._goal_met(Goal.WIND_DOWN_HONOURED, bedtime.astimezone(self.tz).date(), bedtime)

    @callback
    def _judge_days(self, now: datetime, *, catch_up: int = 1) -> None:
        """Judge the goals of the local days that ended since the last judging, each once.

        The first start only notes the day (nothing before LifeOps ran is judged). Midnight
        judges every day since the last one judged, up to `MAX_CATCH_UP` (a timer that fired
        late); a start after a stop judges at most yesterday: earlier days had no one watching.
        """
        yesterday = now.astimezone(self.tz).date() - timedelta(days=1)
        judged = self._judged_through
        if judged is None or judged >= yesterday:
            if judged is None:
                self._judged_through = yesterday
                self.runtime.store.async_schedule_save()
            return
        first = max(judged + timedelta(days=1), yesterday - timedelta(days=catch_up - 1))
        self._judged_through = yesterday
        self.runtime.store.async_schedule_save()
        day = first
        while day <= yesterday:
            self._judge_screen_time(day, now)
            self._judge_work(day, now)
            day += timedelta(days=1)

    def _judge_screen_time(self, day: date, now: datetime) -> None:
        settings = self.runtime.settings
        limit = settings.screen_time_limit_minutes
        if limit <= 0:
            return
        total = self.runtime.screen_time.tracker.total(day, self.tz, now)
        if not settings.screen_time_sources and total <= timedelta(0):
            return  # nothing is watched and nothing was logged: there is nothing to judge
        if total < timedelta(minutes=limit):
            self._goal_met(Goal.SCREEN_TIME_UNDER_LIMIT, day, local_day_bounds(day, self.tz)[1])

    def _judge_work(self, day: date, now: datetime) -> None:
        if day.weekday() >= 5:
            return  # a weekdays goal
        settings = self.runtime.settings
        tracker = self.runtime.work.tracker
        start, end = local_day_bounds(day, self.tz)
        watched = bool(settings.work_sources or settings.work_calendars)
        if not watched and tracker.on_day(day, self.tz, now) <= timedelta(0):
            return
        noon = datetime.combine(day, time(12)).replace(tzinfo=self.tz)
        cutoff = max(schedule.local_datetime(noon, settings.work_cutoff, self.tz), start)
        if tracker.worked(cutoff, end, now) <= timedelta(0):
            self._goal_met(Goal.WORK_STOPPED_BY_CUTOFF, day, end)
