"""What every agent controller shares: its entry, listeners, timers and persistence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from ..core.agents import Agent

if TYPE_CHECKING:
    from ..data import LifeOpsConfigEntry, LifeOpsRuntimeData
    from ..store import LifeOpsStore


class AgentController:
    """Base of the agents' controllers."""

    agent: Agent

    def __init__(self, hass: HomeAssistant, entry: LifeOpsConfigEntry, store: LifeOpsStore) -> None:
        """Bind the controller to its entry and its store (read the stored state from it)."""
        self.hass = hass
        self.entry = entry
        self.store = store
        self._listeners: list[Callable[[], None]] = []
        self._unsubs: list[CALLBACK_TYPE] = []
        self._timers: dict[str, CALLBACK_TYPE] = {}

    @property
    def runtime(self) -> LifeOpsRuntimeData:
        """The entry's runtime data (settings, the other agents)."""
        return self.entry.runtime_data

    @property
    def enabled(self) -> bool:
        """Whether the person lets this agent act (its switch)."""
        return self.runtime.is_enabled(self.agent)

    @property
    def tz(self) -> Any:
        """Home Assistant's time zone."""
        return dt_util.get_default_time_zone()

    # ---- lifecycle ---------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Subscribe to inputs and schedule timers; override and call super() last."""

    @callback
    def async_stop(self) -> None:
        """Drop every subscription and timer."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        for unsub in self._timers.values():
            unsub()
        self._timers.clear()

    def as_dict(self) -> Any:
        """The controller's persisted state."""
        return None

    # ---- entities ----------------------------------------------------------------------------

    @callback
    def async_add_listener(self, update: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `update` whenever the agent's state changes; returns the remover."""
        self._listeners.append(update)

        @callback
        def remove() -> None:
            self._listeners.remove(update)

        return remove

    @callback
    def async_changed(self, *, save: bool = True) -> None:
        """Tell entities the state changed, and persist it."""
        if save:
            self.store.async_schedule_save()
        for update in list(self._listeners):
            update()

    # ---- timers ------------------------------------------------------------------------------

    @callback
    def async_set_timer(
        self, name: str, when: datetime | None, action: Callable[[datetime], Any]
    ) -> None:
        """(Re)schedule the named timer at `when` (None cancels it)."""
        self.async_cancel_timer(name)
        if when is None:
            return

        @callback
        def fire(scheduled: datetime) -> None:
            # Act on the real time: after a suspend or a busy loop it can be well past `when`.
            self._timers.pop(name, None)
            result = action(max(scheduled, dt_util.utcnow()))
            if result is not None:
                self.entry.async_create_task(self.hass, result, f"lifeops {self.agent} {name}")

        self._timers[name] = async_track_point_in_utc_time(self.hass, fire, when)

    @callback
    def async_cancel_timer(self, name: str) -> None:
        """Cancel the named timer, if it is set."""
        if (unsub := self._timers.pop(name, None)) is not None:
            unsub()

    def has_timer(self, name: str) -> bool:
        """Whether the named timer is set."""
        return name in self._timers

    @callback
    def async_keep_ticking(
        self, name: str, every: timedelta | None, action: Callable[[datetime], Any]
    ) -> None:
        """Run `action` every `every` from now on; None lets a running tick end after its next run.

        Agents call this on each change; keeping the tick that is already due costs nothing,
        where rescheduling or cancelling it would cost a timer per state change. The action
        calls this again, with None when there is nothing left to tick for, and then it stops.
        """
        if every is not None and name not in self._timers:
            self.async_set_timer(name, dt_util.utcnow() + every, action)
