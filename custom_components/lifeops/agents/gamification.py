"""The gamification agent: the XP log, the person's habits, and the goals the agents judge.

The log and the habits live in the entry's store (the one source of truth: the options flow's
habits step and the actions both change it at run time). Every change recomputes the figures from
the whole log with `core.gamification.compute` and announces what `diff` finds, against a snapshot
that is stored too, so a restart does not announce anything twice. Local midnight recomputes as
well (XP today and streaks roll over) and judges the built-in goals of the day that ended: the
goals are judged in `agents.goals`, and each one met is logged here.

Automations can complete any goal with `lifeops.complete_habit` too; each counts once a day.

The figures are computed in the executor (`compute` takes tens of milliseconds on a log of years):
each recompute takes an immutable snapshot of the log and the habits on the loop, and its result
is applied back on the loop only when no newer recompute has been applied already, so a slow one
finishing late cannot take the figures back. Diff events are fired from the loop when applied.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any, Final
import uuid

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util

from ..actions import action_error
from ..const import LOGGER
from ..core import schedule
from ..core.agents import Agent
from ..core.changes import ChangeHub, HabitChanged
from ..core.gamification import Scoreboard, Snapshot, compute, diff
from ..core.habits import (
    BUILTIN_IDS,
    ERROR_DUPLICATE_HABIT,
    ERROR_TOO_MANY_HABITS,
    Goal,
    Habit,
    Schedule,
    all_habits,
    validate_habit,
)
from ..core.xp import (
    ERROR_TIME_IN_FUTURE,
    ERROR_TIME_TOO_OLD,
    ERROR_UNKNOWN_HABIT,
    FIELD_HABIT,
    FIELD_ID,
    XpEvent,
    XpLog,
    goal_met,
    read_events,
    validate_award,
    validate_completion,
)
from ..data import LifeOpsConfigEntry
from ..store import LifeOpsStore
from ..texts import achievement_name, habit_name
from .base import AgentController
from .goals import GoalJudge

STORE_KEY: Final = "gamification"
EVENT_XP_AWARDED: Final = "lifeops_xp_awarded"
EVENT_LEVEL_UP: Final = "lifeops_level_up"
EVENT_ACHIEVEMENT_UNLOCKED: Final = "lifeops_achievement_unlocked"
EVENT_STREAK_BROKEN: Final = "lifeops_streak_broken"

# Core error keys with a translated message of their own; any other error on a field is
# reported as "invalid_field_<field>".
ERROR_BUILTIN_HABIT: Final = "builtin_habit"
_OWN_MESSAGES: Final = frozenset(
    {
        ERROR_TIME_IN_FUTURE,
        ERROR_TIME_TOO_OLD,
        ERROR_UNKNOWN_HABIT,
        ERROR_DUPLICATE_HABIT,
        ERROR_TOO_MANY_HABITS,
        ERROR_BUILTIN_HABIT,
    }
)


def validation_error(
    errors: Mapping[str, str], user_input: Mapping[str, Any]
) -> ServiceValidationError:
    """A translated error naming the first bad field of a core validator's result."""
    field, error = next(iter(errors.items()))
    value = user_input.get(field)
    own = error in _OWN_MESSAGES and (error != ERROR_UNKNOWN_HABIT or isinstance(value, str))
    return action_error(
        error if own else f"invalid_field_{field}",
        field=field,
        value=(value if isinstance(value, str) else repr(value))[:64],
    )


def day_event_id(habit_id: str, day: date) -> str:
    """The id of a habit's or goal's completion for a local day: the same one counts once."""
    return f"{habit_id}@{day.isoformat()}"


def _read_log(data: Mapping[str, Any]) -> tuple[XpLog, dict[str, dict[str, Any]], int]:
    """Read a stored log and make each event's stored form (in the executor: it takes a while).

    Events beyond the log's limits (`core.xp.read_events`) are left out and counted.
    """
    events, skipped = read_events(data.get("events") or ())
    log = XpLog(events)
    return log, {event.id: event.as_dict() for event in log}, skipped


class GamificationController(AgentController):
    """Keeps the XP log and the habits, recomputes the figures and announces what changed."""

    agent = Agent.GAMIFICATION

    def __init__(
        self,
        hass: HomeAssistant,
        entry: LifeOpsConfigEntry,
        store: LifeOpsStore,
        changes: ChangeHub,
    ) -> None:
        """Load the log, the habits, the last announced snapshot and the goal bookkeeping."""
        super().__init__(hass, entry, store)
        self.changes = changes
        stored: dict[str, Any] = store.data.get(STORE_KEY) or {}
        # The stored log is read in the executor at the first start (years of events take a
        # few hundred milliseconds to read); until then it is saved back as it was stored.
        self._stored_log: dict[str, Any] | None = stored.get("log") or None
        self.log = XpLog(changes=changes)
        # Each logged event as stored, made once (saving years of events would otherwise spend
        # a tenth of a second in the event loop on every save).
        self._stored_events: dict[str, dict[str, Any]] = {}
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
        self.goals = GoalJudge(self, stored)
        self._habit_listeners: list[Callable[[], None]] = []
        # Running total of the log, kept on the loop: the XP awarded events need it before the
        # figures of a recompute are back.
        self._total_xp = 0
        # Recomputes started, the newest one applied, and those before a stop (never applied).
        self._generation = 0
        self._applied = 0
        self._stopped_at = 0
        self._pending: asyncio.Task[None] | None = None
        # Until the first recompute (in async_start, in the executor): the habits, no XP yet.
        self.figures: Scoreboard = compute((), self.habits.values(), self.tz, dt_util.utcnow())

    def as_dict(self) -> Any:
        """The log, the habits and what was last announced, as stored."""
        return {
            "log": self._stored_log if self._stored_log is not None else self._log_as_dict(),
            "habits": [habit.as_dict() for habit in self.habits.values()],
            "snapshot": self._snapshot.as_dict() if self._snapshot else None,
            **self.goals.as_dict(),
        }

    def _log_as_dict(self) -> dict[str, Any]:
        """The log as `XpLog.as_dict` stores it (oldest first), from the events made once."""
        stored = self._stored_events
        events = sorted(self.log, key=XpEvent.rank)
        return {"events": [stored.get(event.id) or event.as_dict() for event in events]}

    # ---- lifecycle ---------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Catch up (figures, yesterday's goals), follow the sleep agent, set the midnight timer."""
        await super().async_start()
        if (stored_log := self._stored_log) is not None:
            loaded, stored_events, skipped = await self.hass.async_add_executor_job(
                _read_log, stored_log
            )
            if skipped:
                LOGGER.warning(
                    "Left out %d stored XP events of %s that are beyond the log's limits",
                    skipped,
                    self.entry.title,
                )
            for event in self.log:  # anything logged while it was read
                loaded.add(event)
                kept = loaded.get(event.id)
                if kept is not None:
                    stored_events[event.id] = kept.as_dict()
            loaded.changes = self.log.changes  # what was stored is not news
            self.log, self._stored_events, self._stored_log = loaded, stored_events, None
            self._total_xp = sum(event.amount for event in self.log)
        now = dt_util.utcnow()
        self._unsubs.extend(self.goals.async_start(now))
        self._schedule_midnight(now)
        await self._recompute(now)

    @callback
    def async_stop(self) -> None:
        """Drop subscriptions and timers; a recompute still running is not applied."""
        super().async_stop()
        self._stopped_at = self._generation

    @callback
    def _schedule_midnight(self, now: datetime) -> None:
        self.async_set_timer(
            "midnight", schedule.next_occurrence(now, time(0), self.tz), self._on_midnight
        )

    @callback
    def _on_midnight(self, now: datetime) -> None:
        self.goals.async_midnight(now)
        self._recompute(now)
        self._schedule_midnight(now)

    # ---- figures -----------------------------------------------------------------------------

    def all_habits(self) -> dict[str, Habit]:
        """The built-in goals and the person's habits, by id."""
        return all_habits(self.habits.values())

    @callback
    def _recompute(self, now: datetime | None = None) -> asyncio.Task[None]:
        """Recompute the figures in the executor, from a snapshot of the log and habits as now.

        Returns the task; `async_figures` waits for the newest one.
        """
        self._generation += 1
        job = self._async_recompute(
            self._generation,
            tuple(self.log),
            tuple(self.habits.values()),
            now or dt_util.utcnow(),
        )
        self._pending = self.hass.async_create_task(job, "lifeops gamification figures")
        return self._pending

    async def _async_recompute(
        self, generation: int, log: tuple[XpEvent, ...], habits: tuple[Habit, ...], now: datetime
    ) -> None:
        figures = await self.hass.async_add_executor_job(compute, log, habits, self.tz, now)
        if generation <= self._applied or generation <= self._stopped_at:
            return  # a newer recompute was applied already, or the agent stopped since
        self._applied = generation
        self._apply(figures)

    async def async_figures(self) -> Scoreboard:
        """The figures once every recompute started so far is done (for action responses)."""
        while (pending := self._pending) is not None and not pending.done():
            await asyncio.shield(pending)
        return self.figures

    @callback
    def _apply(self, figures: Scoreboard) -> None:
        """Take new figures, announce what changed since the stored snapshot, save."""
        changes = diff(self._snapshot, figures)
        entry_id = self.entry.entry_id
        if changes.level is not None:
            # Once, for the level reached, however many a change crossed (a large award, a
            # site's log merged in): never an event per level.
            self.hass.bus.async_fire(
                EVENT_LEVEL_UP,
                {
                    "config_entry_id": entry_id,
                    "level": changes.level,
                    "previous_level": changes.previous_level,
                    "total_xp": figures.total_xp,
                },
            )
        for achievement in changes.unlocked:
            self.hass.bus.async_fire(
                EVENT_ACHIEVEMENT_UNLOCKED,
                {
                    "config_entry_id": entry_id,
                    "achievement": achievement.id,
                    "name": achievement_name(self.hass, achievement.id),
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
                    "name": self._habit_name(broken.habit_id),
                    "length": broken.length,
                    "last_done": broken.last_done.isoformat() if broken.last_done else None,
                },
            )
        self.figures = figures
        self._snapshot = figures.snapshot()
        self.async_changed()

    def _habit_name(self, habit_id: str) -> str:
        """A habit's or built-in goal's name for events (a goal's translated); else its id."""
        habit = self.all_habits().get(habit_id)
        return habit_name(self.hass, habit) if habit is not None else habit_id

    @callback
    def _add(self, events: list[XpEvent]) -> list[bool]:
        """Append events to the log, announce each new one, recompute once."""
        added: list[bool] = []
        for event in events:
            known = self.log.get(event.id)
            added.append(self.log.add(event))
            kept = self.log.get(event.id)
            if kept is not None and kept is not known:
                # New, or (rarely) a copy that ranks first replaced the one logged.
                self._total_xp += kept.amount - (known.amount if known else 0)
                self._stored_events[kept.id] = kept.as_dict()
            if added[-1]:
                habit = event.habit_id
                self.hass.bus.async_fire(
                    EVENT_XP_AWARDED,
                    {
                        "config_entry_id": self.entry.entry_id,
                        **event.as_dict(),
                        **({"habit_name": self._habit_name(habit)} if habit else {}),
                        "total_xp": self._total_xp,
                    },
                )
        if any(added):
            self._recompute()
        return added

    @callback
    def async_merge_synced(self, events: list[XpEvent]) -> int:
        """Merge events another site logged (from sync); returns how many were new here.

        The log is a set keyed by id, so an event heard of twice (or our own coming back) counts
        once. They were announced where they were earned: no `lifeops_xp_awarded` here; levels
        and achievements reached through them are announced by the recompute as usual.
        """
        added = 0
        changed = False
        for event in events:
            known = self.log.get(event.id)
            if self.log.add(event):
                added += 1
            kept = self.log.get(event.id)
            if kept is not None and kept is not known:
                changed = True
                self._total_xp += kept.amount - (known.amount if known else 0)
                self._stored_events[kept.id] = kept.as_dict()
        if changed:
            self._recompute()
            self.store.async_schedule_save()
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
        self.changes.publish(HabitChanged(habit.id, habit))
        self._habits_changed()

    @callback
    def async_remove_habits(self, habit_ids: list[str]) -> None:
        """Remove habits (all or nothing); their XP stays in the log, their streaks go."""
        for habit_id in habit_ids:
            self.check_removable(habit_id)
        for habit_id in habit_ids:
            if self.habits.pop(habit_id, None) is not None:
                self.changes.publish(HabitChanged(habit_id, None))
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

    @callback
    def async_log_goal_met(self, goal_id: Goal, day: date, when: datetime) -> None:
        """Log a built-in goal met on a local day (`when` falls on it), judged by `goals`."""
        goal = self.all_habits()[goal_id]
        self._add([goal_met(goal, day=day, when=when, origin=self._origin())])
