"""The work-life agent: work sessions from computers, calendars and actions; cut-off nudges."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from ..core.agents import Agent
from ..core.changes import ChangeHub
from ..core.intervals import JOIN_GAP
from ..core.work import WorkAlerts, WorkSession, WorkTracker, calendar_event_is_work
from ..data import LifeOpsConfigEntry
from ..store import LifeOpsStore
from .base import AgentController
from .sleep import is_active

STORE_KEY = "work"
EVENT_WORK_STARTED = "lifeops_work_started"
EVENT_WORK_STOPPED = "lifeops_work_stopped"
REFRESH = timedelta(minutes=1)


class WorkController(AgentController):
    """Keeps the work log from the chosen sources and nudges at the cut-off and the target."""

    agent = Agent.WORK_LIFE
    _worked_key: tuple[Any, ...] | None = None
    _worked_cache: tuple[timedelta, timedelta] = (timedelta(0), timedelta(0))

    def __init__(
        self,
        hass: HomeAssistant,
        entry: LifeOpsConfigEntry,
        store: LifeOpsStore,
        changes: ChangeHub,
    ) -> None:
        """Load the work log and the alerts already sent."""
        super().__init__(hass, entry, store)
        # Sources going quiet, and since when; each has a "close <source>" timer.
        self._closing: dict[str, datetime] = {}
        stored = store.data.get(STORE_KEY) or {}
        self.tracker = (
            WorkTracker.from_dict(stored["tracker"], changes=changes)
            if "tracker" in stored
            else WorkTracker(changes=changes)
        )
        self.alerts = WorkAlerts.from_dict(stored["alerts"]) if "alerts" in stored else WorkAlerts()

    def as_dict(self) -> Any:
        """The work log and alerts, as stored."""
        return {"tracker": self.tracker.as_dict(), "alerts": self.alerts.as_dict()}

    def _calendar_is_work(self, state: State) -> bool:
        settings = self.runtime.settings
        if state.state != "on":
            return False
        keywords = settings.work_keywords
        return calendar_event_is_work(
            str(state.attributes.get("message") or ""),
            state.attributes.get("description"),
            state.entity_id,
            work_calendars=() if keywords else (state.entity_id,),
            keywords=keywords,
        )

    def _source_active(self, state: State) -> bool:
        if state.domain == "calendar":
            return self._calendar_is_work(state)
        return is_active(state.state)

    def sources(self) -> list[str]:
        """Every entity that can open a work session."""
        settings = self.runtime.settings
        return [*settings.work_sources, *settings.work_calendars]

    async def async_start(self) -> None:
        """Catch up with the sources' current states, then follow them."""
        await super().async_start()
        now = dt_util.utcnow()
        for entity_id in self.sources():
            if (state := self.hass.states.get(entity_id)) is None:
                continue
            if not self._source_active(state) and entity_id in self.tracker.open_sources():
                # Quiet since before this start: the session ended when the source went quiet.
                self.tracker.source_changed(entity_id, False, min(state.last_changed, now))
            else:
                self._apply(state, now)
        if self.sources():
            self._unsubs.append(
                async_track_state_change_event(self.hass, self.sources(), self._on_source)
            )
        self._refresh(now)

    @callback
    def _apply(self, state: State, now: datetime) -> WorkSession | None:
        """Follow a source's new state; None when nothing changes now.

        A source that goes quiet ends its session only if it stays quiet for `JOIN_GAP`: a
        laptop that locks for half a minute, or a meeting followed at once by another, is one
        session, and "working now" does not flicker off and on. The session still ends at the
        moment the source went quiet.
        """
        source = state.entity_id
        closing = f"close {source}"
        if self._source_active(state):
            if self._closing.pop(source, None) is not None:
                self.async_cancel_timer(closing)
                return None  # back in time: the session goes on
            return self.tracker.source_changed(
                source, True, now, scheduled=state.domain == "calendar"
            )
        if source in self.tracker.open_sources() and source not in self._closing:

            @callback
            def close(_: datetime) -> None:
                self._close_source(source, now)

            self._closing[source] = now
            self.async_set_timer(closing, now + JOIN_GAP, close)
        return None

    @callback
    def async_stop(self) -> None:
        """End the sessions whose source was going quiet, then stop as every agent does."""
        for source, quiet_since in self._closing.items():
            self.tracker.source_changed(source, False, quiet_since)
        self._closing.clear()
        super().async_stop()

    @callback
    def _close_source(self, source: str, at: datetime) -> None:
        self._closing.pop(source, None)
        was_working = self.tracker.is_working()
        if self.tracker.source_changed(source, False, at) is not None:
            self._fire_if_changed(was_working)
            self._refresh(dt_util.utcnow())

    @callback
    def _on_source(self, event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        if new_state is None:
            return
        was_working = self.tracker.is_working()
        if self._apply(new_state, dt_util.utcnow()) is not None:
            self._fire_if_changed(was_working)
            # The refresh checks the alerts and tells the entities, once.
            self._refresh(dt_util.utcnow())

    def _fire_if_changed(self, was_working: bool) -> None:
        working = self.tracker.is_working()
        if working != was_working:
            self.hass.bus.async_fire(
                EVENT_WORK_STARTED if working else EVENT_WORK_STOPPED,
                {"config_entry_id": self.entry.entry_id},
            )

    async def async_start_work(self, source: str) -> WorkSession:
        """Start a session from an action (idempotent per source)."""
        was_working = self.tracker.is_working()
        session = self.tracker.start(dt_util.utcnow(), source)
        self._fire_if_changed(was_working)
        self.async_changed()
        self._refresh(dt_util.utcnow())
        return session

    async def async_stop_work(self, source: str | None) -> list[WorkSession]:
        """Stop one source's session, or all of them."""
        was_working = self.tracker.is_working()
        closed = self.tracker.stop(dt_util.utcnow(), source)
        self._fire_if_changed(was_working)
        self.async_changed()
        self._refresh(dt_util.utcnow())
        return closed

    @callback
    def _refresh(self, now: datetime) -> None:
        """Check the cut-off and the weekly target; tick every minute while working."""
        settings = self.runtime.settings
        if self.enabled and (
            alerts := self.alerts.check(
                now,
                self.tz,
                cutoff=settings.work_cutoff,
                target_hours=settings.weekly_work_target_hours,
                tracker=self.tracker,
                this_week=lambda: self._worked()[1],
            )
        ):
            self.entry.async_create_task(
                self.hass, self._async_send_alerts(alerts, now), "lifeops work alerts"
            )
        self.tracker.prune(now)
        self.async_keep_ticking(
            "refresh", REFRESH if self.tracker.is_working() else None, self._refresh
        )
        self.async_changed()

    async def _async_send_alerts(self, alerts: list[str], now: datetime) -> None:
        settings = self.runtime.settings
        for alert in alerts:
            await self.runtime.notifications.async_notify_text(
                alert,
                agent=self.agent,
                hours=round(self.tracker.this_week(now, self.tz).total_seconds() / 3600, 1),
                cutoff=settings.work_cutoff.strftime("%H:%M"),
            )

    def _worked(self) -> tuple[timedelta, timedelta]:
        """Time worked today and this week; cached until the log changes or the second moves on.

        Every work entity reads these on each change; one computation serves them all.
        """
        now = dt_util.utcnow()
        key = (self.tracker.version, now.replace(microsecond=0), self.tz)
        if key != self._worked_key:
            self._worked_key = key
            self._worked_cache = (
                self.tracker.today(now, self.tz),
                self.tracker.this_week(now, self.tz),
            )
        return self._worked_cache

    def hours_today(self) -> float:
        """Hours worked today (local day)."""
        return self._worked()[0].total_seconds() / 3600

    def hours_this_week(self) -> float:
        """Hours worked this week (Monday to Sunday, local)."""
        return self._worked()[1].total_seconds() / 3600

    def overtime_this_week(self) -> float:
        """Hours beyond the weekly target."""
        target = self.runtime.settings.weekly_work_target_hours
        return max(self.hours_this_week() - target, 0.0)
