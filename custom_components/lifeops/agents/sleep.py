"""The sleep agent: wind-down on schedule, bedtime reminders, late-night and poor-sleep nudges."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
import math
from typing import Any

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from ..core import schedule
from ..core.agents import Agent
from ..core.notifications import Priority
from ..core.settings import BEDTIME_FROM_RECOMMENDATION, parse_time
from ..core.sleep import SleepRules, SleepState, previous_occurrence
from ..data import LifeOpsConfigEntry
from ..store import LifeOpsStore
from .base import AgentController

STORE_KEY = "sleep"
EVENT_WIND_DOWN_STARTED = "lifeops_wind_down_started"
EVENT_WIND_DOWN_ENDED = "lifeops_wind_down_ended"
EVENT_BEDTIME = "lifeops_bedtime"
LATE_NIGHT_MINUTES = 30
# A bedtime reached this much later than it was due (Home Assistant was down, the machine
# slept, the clock jumped) is not announced: "it is your bedtime" at teatime helps no one.
BEDTIME_ANNOUNCE_WITHIN = timedelta(minutes=LATE_NIGHT_MINUTES)
ACTIVE_STATES = frozenset({"on", "playing", "active", "true"})
SUGGESTED_EARLIER_MINUTES = 30


def is_active(state_value: str | None) -> bool:
    """Whether an activity source (phone, computer, TV) is in use."""
    return state_value is not None and state_value.lower() in ACTIVE_STATES


def parse_number(value: str | None) -> float | None:
    """A sensor's numeric state, or None when it has none."""
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


class SleepController(AgentController):
    """Wires the sleep agent's rules to the clock, the activity sources and the sleep score."""

    agent = Agent.SLEEP
    _activity_seen: bool | None = None

    def __init__(self, hass: HomeAssistant, entry: LifeOpsConfigEntry, store: LifeOpsStore) -> None:
        """Load the agent's state from the store."""
        super().__init__(hass, entry, store)
        stored = store.data.get(STORE_KEY)
        self.rules = SleepRules(SleepState.from_dict(stored) if stored else None)

    def as_dict(self) -> Any:
        """The sleep agent's state, as stored."""
        return self.rules.state.as_dict()

    # ---- schedule ----------------------------------------------------------------------------

    def next_bedtime(self, now: datetime) -> datetime:
        """Tonight's bedtime: Oura's recommendation when chosen and known, else the schedule."""
        settings = self.runtime.settings
        if settings.bedtime_source == BEDTIME_FROM_RECOMMENDATION and (
            recommended := self._recommended_bedtime(now)
        ):
            return recommended
        return schedule.next_occurrence(now, settings.bedtime, self.tz)

    def _recommended_bedtime(self, now: datetime) -> datetime | None:
        entity_id = self.runtime.settings.recommended_bedtime_entity
        state = self.hass.states.get(entity_id) if entity_id else None
        if state is None:
            return None
        if (moment := dt_util.parse_datetime(state.state)) is not None:
            moment = dt_util.as_utc(moment)
            if now < moment < now + timedelta(hours=24):
                return moment
            return None
        if (at := parse_time(state.state)) is not None:
            return schedule.next_occurrence(now, at, self.tz)
        return None

    def wind_down_start(self, bedtime: datetime) -> datetime:
        """When wind-down starts before a bedtime."""
        return schedule.wind_down_start(bedtime, self.runtime.settings.wind_down_minutes)

    def is_wind_down_active(self, now: datetime | None = None) -> bool:
        """Whether wind-down is on now."""
        return self.rules.is_wind_down_active(now or dt_util.utcnow())

    def minutes_past_bedtime(self, now: datetime | None = None) -> int:
        """Minutes since bedtime while an activity source is still in use; 0 otherwise."""
        now = now or dt_util.utcnow()
        if not self._any_source_active():
            return 0
        settings = self.runtime.settings
        minutes = self.rules.minutes_past_bedtime(
            now, settings.bedtime, settings.wake_time, self.tz
        )
        return minutes or 0

    # ---- lifecycle ---------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Schedule tonight, watch the sources and the sleep score, catch up after a restart."""
        await super().async_start()
        settings = self.runtime.settings
        if settings.activity_sources:
            self._unsubs.append(
                async_track_state_change_event(
                    self.hass, list(settings.activity_sources), self._on_activity
                )
            )
        if settings.sleep_score_entity:
            self._unsubs.append(
                async_track_state_change_event(
                    self.hass, [settings.sleep_score_entity], self._on_sleep_score
                )
            )
        if settings.recommended_bedtime_entity:
            self._unsubs.append(
                async_track_state_change_event(
                    self.hass, [settings.recommended_bedtime_entity], self._on_recommendation
                )
            )
        now = dt_util.utcnow()
        if self.rules.expire(now):
            self.async_changed()
        await self._async_tick(now)
        # A source already in use past bedtime (after a restart or an options change) counts
        # from now on, and gets its nudge if that is due and not yet sent.
        await self._async_late_night_check(now)
        self.entry.async_create_task(
            self.hass, self._async_check_poor_sleep(), "lifeops poor sleep"
        )

    async def _async_tick(self, now: datetime) -> None:
        """Start a due wind-down (also one missed while HA was down) and set the next timers."""
        bedtime = self.next_bedtime(now)
        minutes = self.runtime.settings.wind_down_minutes
        if self.enabled and self.rules.scheduled_start_due(now, bedtime, minutes):
            await self.async_start_wind_down(until=bedtime, origin="schedule")
        start = self.wind_down_start(bedtime)
        if start <= now:
            start = self.wind_down_start(self.next_bedtime(bedtime + timedelta(seconds=1)))
        self.async_set_timer("wind_down", start, self._async_tick)
        self.async_set_timer("bedtime", bedtime, self._async_bedtime)
        self.async_set_timer("late_night", self._late_night_due(now), self._async_late_night_check)
        self.async_changed(save=False)

    def _late_night_due(self, now: datetime) -> datetime:
        """When the late-night rule next needs the clock, whatever the sources do.

        Just past the threshold after the last scheduled bedtime while that is still ahead
        (the bedtime timer re-ticks the schedule for tomorrow before it is due), else after
        the next bedtime.
        """
        bedtime = self.runtime.settings.bedtime
        after = timedelta(minutes=LATE_NIGHT_MINUTES, seconds=1)
        due = previous_occurrence(now, bedtime, self.tz).astimezone(UTC) + after
        if due > now:
            return due
        return schedule.next_occurrence(now, bedtime, self.tz).astimezone(UTC) + after

    @callback
    def _on_recommendation(self, event: Event[EventStateChangedData]) -> None:
        self.entry.async_create_task(
            self.hass, self._async_tick(dt_util.utcnow()), "lifeops sleep schedule"
        )

    # ---- wind-down ---------------------------------------------------------------------------

    async def async_start_wind_down(
        self,
        *,
        until: datetime | None = None,
        origin: str = "manual",
        run_scene: bool = True,
    ) -> bool:
        """Start wind-down until `until` (default: tonight's bedtime); False if already on."""
        now = dt_util.utcnow()
        if until is None:
            bedtime = self.next_bedtime(now)
            minutes = self.runtime.settings.wind_down_minutes
            until = bedtime if bedtime - now <= timedelta(minutes=max(minutes, 1)) * 2 else None
            until = until or now + timedelta(minutes=max(minutes, 1))
        if not self.rules.start_wind_down(now, until, origin):
            return False
        self.async_set_timer("wind_down_end", until, self._async_expire)
        minutes_left = max(round((until - now).total_seconds() / 60), 0)
        scene_ran = False
        if run_scene:
            scene_ran = await self.runtime.scenes.async_run_wind_down()
        self.hass.bus.async_fire(
            EVENT_WIND_DOWN_STARTED,
            {
                "config_entry_id": self.entry.entry_id,
                "origin": origin,
                "until": until.isoformat(),
                "minutes": minutes_left,
                "scene": scene_ran,
            },
        )
        await self.runtime.notifications.async_notify_text(
            "wind_down_started",
            agent=self.agent,
            dedupe_key=f"wind_down:{until.isoformat()}",
            minutes=minutes_left,
        )
        self.async_changed()
        return True

    async def async_end_wind_down(self, *, restore: bool | None = None) -> bool:
        """End wind-down now, restoring the lights if asked; False if it was not on."""
        if not self.rules.end_wind_down(dt_util.utcnow()):
            return False
        self.async_cancel_timer("wind_down_end")
        if restore is None:
            restore = self.runtime.settings.scene_restore_on_end
        restored = await self.runtime.scenes.async_restore() if restore else False
        if not restore:
            self.runtime.scenes.async_cancel_fade()
        self.hass.bus.async_fire(
            EVENT_WIND_DOWN_ENDED,
            {"config_entry_id": self.entry.entry_id, "restored": restored, "early": True},
        )
        self.async_changed()
        return True

    async def _async_expire(self, now: datetime) -> None:
        if self.rules.expire(now):
            self.hass.bus.async_fire(
                EVENT_WIND_DOWN_ENDED,
                {"config_entry_id": self.entry.entry_id, "restored": False, "early": False},
            )
            self.async_changed()

    async def _async_bedtime(self, now: datetime) -> None:
        await self._async_expire(now)
        # Whether a bedtime fell due just now: a timer set for an earlier night may fire only
        # now (its clock is the loop's, which a sleeping machine does not advance).
        just_due = self.next_bedtime(now - BEDTIME_ANNOUNCE_WITHIN) <= now
        if self.enabled and just_due:
            self.hass.bus.async_fire(
                EVENT_BEDTIME, {"config_entry_id": self.entry.entry_id, "bedtime": now.isoformat()}
            )
            # Bedtime nudges fall inside quiet hours by nature and are worthless in the
            # morning, so they go through as urgent.
            await self.runtime.notifications.async_notify_text(
                "bedtime",
                agent=self.agent,
                priority=Priority.URGENT,
                dedupe_key=f"bedtime:{dt_util.as_local(now).date().isoformat()}",
                bedtime=dt_util.as_local(now).strftime("%H:%M"),
            )
        # A screen already in use at bedtime starts counting now, without waiting for a change.
        await self._async_late_night_check(now)
        await self._async_tick(now + timedelta(seconds=1))

    # ---- late-night activity and poor sleep --------------------------------------------------

    def _any_source_active(self) -> bool:
        return any(
            is_active(state.state)
            for entity_id in self.runtime.settings.activity_sources
            if (state := self.hass.states.get(entity_id)) is not None
        )

    @callback
    def _on_activity(self, event: Event[EventStateChangedData]) -> None:
        # Only "is anything in use" matters to the rule; a TV going from playing to paused while
        # the phone is on changes nothing.
        active = self._any_source_active()
        if active == self._activity_seen:
            return
        self._activity_seen = active
        self.entry.async_create_task(
            self.hass, self._async_late_night_check(dt_util.utcnow()), "lifeops late night"
        )

    async def _async_late_night_check(self, now: datetime) -> None:
        settings = self.runtime.settings
        if self.enabled and self.rules.late_night_activity(
            now,
            bedtime=settings.bedtime,
            wake_time=settings.wake_time,
            tz=self.tz,
            active=self._any_source_active(),
            threshold_minutes=LATE_NIGHT_MINUTES,
        ):
            minutes = self.rules.minutes_past_bedtime(
                now, settings.bedtime, settings.wake_time, self.tz
            )
            await self.runtime.notifications.async_notify_text(
                "late_night_activity",
                agent=self.agent,
                priority=Priority.URGENT,
                minutes=minutes or LATE_NIGHT_MINUTES,
            )
        # While a source is in use between bedtime and the wake time the figure grows by the
        # minute: look again then (this also ends the count at the wake time).
        counting = (
            self._any_source_active()
            and self.rules.minutes_past_bedtime(now, settings.bedtime, settings.wake_time, self.tz)
            is not None
        )
        self.async_set_timer(
            "past_bedtime",
            now + timedelta(minutes=1) if counting else None,
            self._async_late_night_check,
        )
        self.async_changed()

    @callback
    def _on_sleep_score(self, event: Event[EventStateChangedData]) -> None:
        self.entry.async_create_task(
            self.hass, self._async_check_poor_sleep(), "lifeops poor sleep"
        )

    async def _async_check_poor_sleep(self) -> None:
        settings = self.runtime.settings
        if not settings.sleep_score_entity or not self.enabled:
            return
        state = self.hass.states.get(settings.sleep_score_entity)
        score = parse_number(state.state if state else None)
        today = dt_util.now().date()
        if self.rules.poor_sleep(today, score, settings.poor_sleep_threshold):
            earlier = (
                datetime.combine(today, settings.bedtime)
                - timedelta(minutes=SUGGESTED_EARLIER_MINUTES)
            ).time()
            await self.runtime.notifications.async_notify_text(
                "poor_sleep",
                agent=self.agent,
                score=round(score or 0),
                bedtime=time.strftime(earlier, "%H:%M"),
            )
            self.async_changed()
