"""The screen-time agent: time on phones, computers and TVs today, and a nudge at the limit."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from ..core import schedule
from ..core.agents import Agent
from ..core.changes import ChangeHub
from ..core.screen_time import ScreenTimeLimit, ScreenTimeTracker
from ..data import LifeOpsConfigEntry
from ..store import LifeOpsStore
from .base import AgentController
from .sleep import is_active

STORE_KEY = "screen_time"
REFRESH = timedelta(minutes=1)


class ScreenTimeController(AgentController):
    """Counts screen time per source and from logs; notifies once a day at the limit."""

    agent = Agent.SCREEN_TIME
    _today_key: tuple[Any, ...] | None = None
    _today_cache: dict[str, timedelta] = {}  # noqa: RUF012 - replaced, never mutated

    def __init__(
        self,
        hass: HomeAssistant,
        entry: LifeOpsConfigEntry,
        store: LifeOpsStore,
        changes: ChangeHub,
    ) -> None:
        """Load today's counts and whether the limit was already announced."""
        super().__init__(hass, entry, store)
        stored = store.data.get(STORE_KEY) or {}
        self.tracker = (
            ScreenTimeTracker.from_dict(stored["tracker"], changes=changes)
            if "tracker" in stored
            else ScreenTimeTracker(changes=changes)
        )
        self.limit = (
            ScreenTimeLimit.from_dict(stored["limit"]) if "limit" in stored else ScreenTimeLimit()
        )

    def as_dict(self) -> Any:
        """Screen time and the limit state, as stored."""
        return {"tracker": self.tracker.as_dict(), "limit": self.limit.as_dict()}

    async def async_start(self) -> None:
        """Catch up with the sources' current states, then follow them."""
        await super().async_start()
        sources = list(self.runtime.settings.screen_time_sources)
        now = dt_util.utcnow()
        for entity_id in sources:
            if (state := self.hass.states.get(entity_id)) is not None:
                self.tracker.source_changed(entity_id, entity_id, is_active(state.state), now)
        if sources:
            self._unsubs.append(async_track_state_change_event(self.hass, sources, self._on_source))
        self._refresh(now)

    @callback
    def _on_source(self, event: Event[EventStateChangedData]) -> None:
        if (new_state := event.data["new_state"]) is None:
            return
        version = self.tracker.version
        self.tracker.source_changed(
            new_state.entity_id, new_state.entity_id, is_active(new_state.state), dt_util.utcnow()
        )
        if self.tracker.version == version:
            return
        # A screen going on or off changes no total at that instant: totals move with time. The
        # minute tick (started when a screen comes on, run once more after the last goes off)
        # updates the entities and checks the limit.
        self.store.async_schedule_save()
        if self.tracker.is_active():
            self.async_keep_ticking("refresh", REFRESH, self._refresh)

    async def async_log(
        self, *, minutes: float, category: str, when: datetime | None, log_id: str | None
    ) -> bool:
        """Add screen time from an action; False when that log id was already counted."""
        added = self.tracker.log(
            minutes=minutes, category=category, when=when or dt_util.utcnow(), log_id=log_id
        )
        if added:
            self._refresh(dt_util.utcnow())
        return added

    @callback
    def _refresh(self, now: datetime) -> None:
        """Check the limit; tick every minute while a screen is on, and at local midnight."""
        limit = self.runtime.settings.screen_time_limit_minutes
        if self.enabled and self.limit.check(
            now,
            self.tz,
            limit_minutes=limit,
            total_today=lambda: sum(self._today().values(), timedelta(0)),
        ):
            self.entry.async_create_task(
                self.hass,
                self.runtime.notifications.async_notify_text(
                    "screen_time_limit", agent=self.agent, limit=limit
                ),
                "lifeops screen time limit",
            )
        self.tracker.prune(now)
        self.async_keep_ticking(
            "refresh", REFRESH if self.tracker.is_active() else None, self._refresh
        )
        # "Today" ends at local midnight even when no screen is on to refresh the figure.
        if not self.has_timer("midnight"):
            self.async_set_timer(
                "midnight", schedule.next_occurrence(now, time(0), self.tz), self._refresh
            )
        self.async_changed()

    def _today(self) -> dict[str, timedelta]:
        """Today's screen time per source; cached until the log changes or the second moves on.

        The sensor's state and attributes and the limit check all read it on each change.
        """
        now = dt_util.utcnow()
        key = (self.tracker.version, now.replace(microsecond=0), self.tz)
        if key != self._today_key:
            self._today_key = key
            self._today_cache = self.tracker.by_category(dt_util.as_local(now).date(), self.tz, now)
        return self._today_cache

    def minutes_today(self) -> float:
        """Screen time today, in minutes."""
        return sum(self._today().values(), timedelta(0)).total_seconds() / 60

    def minutes_by_category(self) -> dict[str, float]:
        """Screen time today per source or logged category, in minutes."""
        minutes = {
            name: round(value.total_seconds() / 60, 1) for name, value in self._today().items()
        }
        # Sources with less than a tenth of a minute are left out, rather than flicker in as 0.0.
        return {name: value for name, value in minutes.items() if value > 0}
