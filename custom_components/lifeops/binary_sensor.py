"""Binary sensors: whether quiet hours hold notifications back right now."""

from __future__ import annotations

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
from .data import LifeOpsConfigEntry
from .entity import LifeOpsClockEntity

PARALLEL_UPDATES = 0

QUIET_HOURS = BinarySensorEntityDescription(key="quiet_hours", translation_key="quiet_hours")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LifeOpsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the notification agent's quiet-hours sensor."""
    async_add_entities([LifeOpsQuietHoursSensor(entry, QUIET_HOURS, Agent.NOTIFICATIONS)])


class LifeOpsQuietHoursSensor(LifeOpsClockEntity, BinarySensorEntity):
    """On from the start of quiet hours until their end, in Home Assistant's time zone."""

    def _update_state(self, now: datetime) -> datetime:
        settings = self._entry.runtime_data.settings
        tz = dt_util.get_default_time_zone()
        start, end = settings.quiet_hours_start, settings.quiet_hours_end
        self._attr_is_on = schedule.in_daily_window(now.astimezone(tz).time(), start, end)
        self._attr_extra_state_attributes = {"start": start.isoformat(), "end": end.isoformat()}
        return schedule.next_window_edge(now, start, end, tz)
