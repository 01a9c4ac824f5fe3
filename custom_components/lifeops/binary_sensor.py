"""Binary sensors: whether quiet hours hold notifications back right now."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .core import schedule
from .core.agents import Agent
from .data import LifeOpsConfigEntry, LifeOpsRuntimeData
from .entity import LifeOpsAgentEntity, LifeOpsClockEntity

PARALLEL_UPDATES = 0

QUIET_HOURS = BinarySensorEntityDescription(key="quiet_hours", translation_key="quiet_hours")


@dataclass(frozen=True, kw_only=True)
class LifeOpsAgentBinarySensorDescription(BinarySensorEntityDescription):
    """An on/off state read from an agent controller."""

    agent: Agent
    is_on_fn: Callable[[LifeOpsRuntimeData], bool]


AGENT_BINARY_SENSORS: tuple[LifeOpsAgentBinarySensorDescription, ...] = (
    LifeOpsAgentBinarySensorDescription(
        key="wind_down_active",
        translation_key="wind_down_active",
        agent=Agent.SLEEP,
        is_on_fn=lambda runtime: runtime.sleep.is_wind_down_active(),
    ),
    LifeOpsAgentBinarySensorDescription(
        key="working",
        translation_key="working",
        agent=Agent.WORK_LIFE,
        is_on_fn=lambda runtime: runtime.work.tracker.is_working(),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LifeOpsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add quiet hours, wind-down active and working now."""
    async_add_entities(
        [
            LifeOpsQuietHoursSensor(entry, QUIET_HOURS, Agent.NOTIFICATIONS),
            *(
                LifeOpsAgentBinarySensor(entry, description, description.agent)
                for description in AGENT_BINARY_SENSORS
            ),
        ]
    )


class LifeOpsQuietHoursSensor(LifeOpsClockEntity, BinarySensorEntity):
    """On from the start of quiet hours until their end, in Home Assistant's time zone."""

    def _update_state(self, now: datetime) -> datetime:
        settings = self._entry.runtime_data.settings
        tz = dt_util.get_default_time_zone()
        start, end = settings.quiet_hours_start, settings.quiet_hours_end
        self._attr_is_on = schedule.in_daily_window(now.astimezone(tz).time(), start, end)
        self._attr_extra_state_attributes = {"start": start.isoformat(), "end": end.isoformat()}
        return schedule.next_window_edge(now, start, end, tz)


class LifeOpsAgentBinarySensor(LifeOpsAgentEntity, BinarySensorEntity):
    """On or off as the agent says."""

    entity_description: LifeOpsAgentBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """The agent's current state."""
        return self.entity_description.is_on_fn(self._entry.runtime_data)
