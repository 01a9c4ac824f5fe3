"""What a loaded LifeOps entry holds at run time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, callback

from .core.agents import Agent
from .core.changes import ChangeHub
from .core.settings import Settings

if TYPE_CHECKING:
    from .agents.base import AgentController
    from .agents.fitness import FitnessController
    from .agents.gamification import GamificationController
    from .agents.notifications import NotificationsController
    from .agents.scenes import ScenesController
    from .agents.screen_time import ScreenTimeController
    from .agents.sleep import SleepController
    from .agents.work import WorkController
    from .long_term.store import LongTermStore
    from .store import LifeOpsStore
    from .sync_link.manager import SyncManager


@dataclass(kw_only=True)
class LifeOpsRuntimeData:
    """State of one LifeOps installation, kept in `entry.runtime_data`."""

    site: str
    node_id: str
    settings: Settings
    store: LifeOpsStore
    enabled: dict[str, bool] = field(default_factory=dict)
    # The hub device's registry id, once it is registered (the agents' devices link to it).
    hub_device_id: str = ""
    # The title and data the entry was set up with: the options listener reloads when they change.
    loaded_as: tuple[str, dict[str, Any]] = ("", {})
    notifications: NotificationsController
    scenes: ScenesController
    sleep: SleepController
    work: WorkController
    screen_time: ScreenTimeController
    fitness: FitnessController
    gamification: GamificationController
    # The agents' state objects publish what changed on it; the long-term store subscribes.
    changes: ChangeHub
    long_term_store: LongTermStore | None = None
    sync: SyncManager | None = None
    _settings_listeners: list[Callable[[], None]] = field(default_factory=list)
    _enabled_listeners: list[Callable[[], None]] = field(default_factory=list)

    def is_enabled(self, agent: Agent) -> bool:
        """Whether an agent may act (its switch; on unless turned off)."""
        return self.enabled.get(agent.value, True)

    @callback
    def async_set_enabled(self, values: Mapping[str, bool]) -> None:
        """Turn agents on or off (by agent key), keep it, and tell the listeners."""
        changed = {key: on for key, on in values.items() if self.enabled.get(key, True) != on}
        if not changed:
            return
        self.enabled.update(changed)
        self.store.async_schedule_save()
        for update in list(self._enabled_listeners):
            update()

    @callback
    def async_add_enabled_listener(self, update: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `update` when an agent is turned on or off; returns the remover."""
        self._enabled_listeners.append(update)
        return lambda: self._enabled_listeners.remove(update)

    @property
    def controllers(self) -> list[AgentController]:
        """Every agent controller, notifications first (the others queue through it).

        Gamification comes last: it reads the others' figures to judge the built-in goals.
        """
        return [
            self.notifications,
            self.scenes,
            self.sleep,
            self.work,
            self.screen_time,
            self.fitness,
            self.gamification,
        ]

    @callback
    def async_add_settings_listener(self, update: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `update` when the settings change; returns the remover."""
        self._settings_listeners.append(update)
        return lambda: self._settings_listeners.remove(update)

    @callback
    def async_settings_changed(self) -> None:
        """Tell the listeners that the settings changed."""
        for update in list(self._settings_listeners):
            update()


type LifeOpsConfigEntry = ConfigEntry[LifeOpsRuntimeData]
