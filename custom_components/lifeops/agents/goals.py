"""The built-in goals, judged from what the other agents saw; the gamification agent logs them.

* wind-down honoured: wind-down started within the 12 hours before bedtime and was not ended
  early (`lifeops_wind_down_started` / `lifeops_wind_down_ended` / `lifeops_bedtime`), met on the
  local day of the bedtime;
* screen time under the limit: at midnight, for the day that ended, when screens are chosen or
  screen time was counted that day, and the limit is above 0;
* work stopped by the cut-off: at midnight, for the weekday that ended, when work sources or
  calendars are chosen or work was recorded that day: met when no work was recorded between the
  cut-off and midnight;
* in bed by bedtime: 15 minutes after `lifeops_bedtime`, when an in-bed entity is chosen: met when
  that binary sensor is on (bed occupancy), or that timestamp sensor (e.g. Oura's bedtime start)
  falls in the 12 hours up to bedtime; on the local day of the bedtime;
* workout matching readiness: when a workout entity is chosen, each change of its state (not
  from or to unavailable/unknown) is a workout; met on the local day of one done while the fitness
  recommendation is moderate or intense.

What the judging must remember across a restart (the last day judged, the wind-down under way, the
in-bed check due) is kept in the gamification agent's stored state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from ..core import schedule
from ..core.fitness import Recommendation
from ..core.habits import Goal
from ..core.intervals import local_day_bounds
from .sleep import EVENT_BEDTIME, EVENT_WIND_DOWN_ENDED, EVENT_WIND_DOWN_STARTED

if TYPE_CHECKING:
    from .gamification import GamificationController

# A wind-down counts for a bedtime when it started at most this long before it.
WIND_DOWN_WINDOW: Final = timedelta(hours=12)
# In bed by bedtime is judged this long after bedtime; a going-to-bed timestamp counts when it
# falls at most IN_BED_WINDOW before bedtime.
IN_BED_GRACE: Final = timedelta(minutes=15)
IN_BED_WINDOW: Final = timedelta(hours=12)
# A check missed (LifeOps was stopped) is still made at start when at most this late.
IN_BED_LATE: Final = timedelta(hours=1)
WORKOUT_RECOMMENDATIONS: Final = frozenset({Recommendation.MODERATE, Recommendation.INTENSE})
_NOT_A_STATE: Final = frozenset({STATE_UNAVAILABLE, STATE_UNKNOWN})
# Days a late midnight timer (a suspended machine) judges at most.
MAX_CATCH_UP: Final = 7


class GoalJudge:
    """Judges one site's built-in goals and has its gamification agent log each one met."""

    def __init__(self, controller: GamificationController, stored: Mapping[str, Any]) -> None:
        """Judge for `controller`, resuming from its stored state."""
        self._controller = controller
        judged = stored.get("judged_through")
        self._judged_through: date | None = date.fromisoformat(judged) if judged else None
        self._wind_down: dict[str, Any] = dict(stored.get("wind_down") or {})
        in_bed_check = stored.get("in_bed_check")
        self._in_bed_check: datetime | None = (
            dt_util.parse_datetime(in_bed_check) if in_bed_check else None
        )

    def as_dict(self) -> dict[str, Any]:
        """What the judging remembers, as stored (beside the gamification agent's own state)."""
        return {
            "judged_through": self._judged_through.isoformat() if self._judged_through else None,
            "wind_down": dict(self._wind_down),
            "in_bed_check": self._in_bed_check.isoformat() if self._in_bed_check else None,
        }

    @property
    def _tz(self) -> Any:
        return self._controller.tz

    @callback
    def _save(self) -> None:
        self._controller.store.async_schedule_save()

    @callback
    def async_start(self, now: datetime) -> list[CALLBACK_TYPE]:
        """Follow the sleep agent and the workout entity, judge the days missed; the removers."""
        controller = self._controller
        hass = controller.hass
        unsubs = [
            hass.bus.async_listen(event_type, handler)
            for event_type, handler in (
                (EVENT_WIND_DOWN_STARTED, self._on_wind_down_started),
                (EVENT_WIND_DOWN_ENDED, self._on_wind_down_ended),
                (EVENT_BEDTIME, self._on_bedtime),
            )
        ]
        if workout := controller.runtime.settings.workout_entity:
            unsubs.append(async_track_state_change_event(hass, [workout], self._on_workout))
        if (check := self._in_bed_check) is not None:
            if now <= check + IN_BED_LATE:
                controller.async_set_timer("in_bed", max(check, now), self._on_in_bed_check)
            else:
                self._in_bed_check = None
                self._save()
        self.judge_days(now)
        return unsubs

    @callback
    def async_midnight(self, now: datetime) -> None:
        """Judge the days that ended since the last judging (several after a late timer)."""
        self.judge_days(now, catch_up=MAX_CATCH_UP)

    def _may_judge(self, goal_id: Goal) -> bool:
        goal = self._controller.all_habits()[goal_id]
        return self._controller.enabled and self._controller.runtime.is_enabled(goal.agent)

    @callback
    def _goal_met(self, goal_id: Goal, day: date, when: datetime) -> None:
        if not self._may_judge(goal_id):
            return
        # The event's time must fall on the day it is for: streaks read the local date of it.
        start, end = local_day_bounds(day, self._tz)
        when = min(max(when, start), end - timedelta(seconds=1))
        self._controller.async_log_goal_met(goal_id, day, when)

    def _ours(self, event: Event) -> bool:
        return bool(event.data.get("config_entry_id") == self._controller.entry.entry_id)

    @callback
    def _on_wind_down_started(self, event: Event) -> None:
        if self._ours(event):
            self._wind_down = {"started": dt_util.utcnow().isoformat(), "early": False}
            self._save()

    @callback
    def _on_wind_down_ended(self, event: Event) -> None:
        if self._ours(event) and event.data.get("early") and self._wind_down:
            self._wind_down["early"] = True
            self._save()

    @callback
    def _on_bedtime(self, event: Event) -> None:
        if not self._ours(event):
            return
        bedtime = dt_util.parse_datetime(str(event.data.get("bedtime"))) or dt_util.utcnow()
        wind_down, self._wind_down = self._wind_down, {}
        self._save()
        started = dt_util.parse_datetime(str(wind_down.get("started")))
        if (
            started is not None
            and not wind_down.get("early")
            and bedtime - WIND_DOWN_WINDOW <= started <= bedtime
        ):
            self._goal_met(Goal.WIND_DOWN_HONOURED, bedtime.astimezone(self._tz).date(), bedtime)
        if self._controller.runtime.settings.in_bed_entity:
            check = bedtime + IN_BED_GRACE
            self._in_bed_check = check
            self._controller.async_set_timer("in_bed", check, self._on_in_bed_check)

    @callback
    def _on_in_bed_check(self, now: datetime) -> None:
        """Judge in bed by bedtime, once a night, 15 minutes after bedtime."""
        check, self._in_bed_check = self._in_bed_check, None
        self._save()
        entity_id = self._controller.runtime.settings.in_bed_entity
        if check is None or not entity_id:
            return
        bedtime = check - IN_BED_GRACE
        if self._in_bed(entity_id, bedtime):
            self._goal_met(Goal.IN_BED_BY_BEDTIME, bedtime.astimezone(self._tz).date(), bedtime)

    def _in_bed(self, entity_id: str, bedtime: datetime) -> bool:
        """Whether the in-bed entity says the person was in bed by `bedtime`.

        A binary sensor (bed occupancy) is on; any other entity's state is the timestamp of
        going to bed, which must fall in the 12 hours up to bedtime.
        """
        state = self._controller.hass.states.get(entity_id)
        if state is None or state.state in _NOT_A_STATE:
            return False
        if state.domain == "binary_sensor":
            return state.state == "on"
        went_to_bed = dt_util.parse_datetime(state.state)
        if went_to_bed is None:
            return False
        if went_to_bed.tzinfo is None:
            went_to_bed = went_to_bed.replace(tzinfo=self._tz)
        return bedtime - IN_BED_WINDOW <= went_to_bed <= bedtime

    @callback
    def _on_workout(self, event: Event[EventStateChangedData]) -> None:
        """A workout was logged: the goal is met today when the recommendation asked for one."""
        old, new = event.data["old_state"], event.data["new_state"]
        if old is None or new is None or old.state == new.state:
            return
        if old.state in _NOT_A_STATE or new.state in _NOT_A_STATE:
            return
        if self._controller.runtime.fitness.recommendation in WORKOUT_RECOMMENDATIONS:
            now = dt_util.utcnow()
            self._goal_met(Goal.WORKOUT_MATCHES_READINESS, now.astimezone(self._tz).date(), now)

    @callback
    def judge_days(self, now: datetime, *, catch_up: int = 1) -> None:
        """Judge the goals of the local days that ended since the last judging, each once.

        The first start only notes the day (nothing before LifeOps ran is judged). Midnight
        judges every day since the last one judged, up to `MAX_CATCH_UP` (a timer that fired
        late); a start after a stop judges at most yesterday: earlier days had no one watching.
        """
        yesterday = now.astimezone(self._tz).date() - timedelta(days=1)
        judged = self._judged_through
        if judged is None or judged >= yesterday:
            if judged is None:
                self._judged_through = yesterday
                self._save()
            return
        first = max(judged + timedelta(days=1), yesterday - timedelta(days=catch_up - 1))
        self._judged_through = yesterday
        self._save()
        day = first
        while day <= yesterday:
            self._judge_screen_time(day, now)
            self._judge_work(day, now)
            day += timedelta(days=1)

    def _judge_screen_time(self, day: date, now: datetime) -> None:
        runtime = self._controller.runtime
        limit = runtime.settings.screen_time_limit_minutes
        if limit <= 0:
            return
        total = runtime.screen_time.tracker.total(day, self._tz, now)
        if not runtime.settings.screen_time_sources and total <= timedelta(0):
            return  # nothing is watched and nothing was logged: there is nothing to judge
        if total < timedelta(minutes=limit):
            self._goal_met(Goal.SCREEN_TIME_UNDER_LIMIT, day, local_day_bounds(day, self._tz)[1])

    def _judge_work(self, day: date, now: datetime) -> None:
        if day.weekday() >= 5:
            return  # a weekdays goal
        runtime = self._controller.runtime
        settings = runtime.settings
        tracker = runtime.work.tracker
        start, end = local_day_bounds(day, self._tz)
        watched = bool(settings.work_sources or settings.work_calendars)
        if not watched and tracker.on_day(day, self._tz, now) <= timedelta(0):
            return
        noon = datetime.combine(day, time(12)).replace(tzinfo=self._tz)
        cutoff = max(schedule.local_datetime(noon, settings.work_cutoff, self._tz), start)
        if tracker.worked(cutoff, end, now) <= timedelta(0):
            self._goal_met(Goal.WORK_STOPPED_BY_CUTOFF, day, end)
