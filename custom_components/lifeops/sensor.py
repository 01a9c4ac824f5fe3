"""Sensors: the site this node runs at, and the sleep agent's next bedtime and wind-down start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .core import schedule
from .core.agents import Agent
from .core.settings import Settings
from .data import LifeOpsConfigEntry
from .entity import LifeOpsClockEntity, LifeOpsEntity

# Entities only read entry state; none makes calls that need throttling.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class LifeOpsScheduleSensorDescription(SensorEntityDescription):
    """A timestamp sensor computed from the settings and the current time."""

    value_fn: Callable[[Settings, datetime], datetime]


def _next_bedtime(settings: Settings, now: datetime) -> datetime:
    return schedule.next_occurrence(now, settings.bedtime, dt_util.get_default_time_zone())


def _next_wind_down(settings: Settings, now: datetime) -> datetime:
    return schedule.next_wind_down(
        now, settings.bedtime, settings.wind_down_minutes, dt_util.get_default_time_zone()
    )


SLEEP_SENSORS: tuple[LifeOpsScheduleSensorDescription, ...] = (
    LifeOpsScheduleSensorDescription(
        key="next_bedtime",
        translation_key="next_bedtime",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_next_bedtime,
    ),
    LifeOpsScheduleSensorDescription(
        key="next_wind_down",
        translation_key="next_wind_down",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_next_wind_down,
    ),
)

SITE_SENSOR = SensorEntityDescription(
    key="site",
    translation_key="site",
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LifeOpsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the hub's and the sleep agent's sensors."""
    async_add_entities(
        [
            LifeOpsSiteSensor(entry, SITE_SENSOR, None),
            *(
                LifeOpsScheduleSensor(entry, description, Agent.SLEEP)
                for description in SLEEP_SENSORS
            ),
        ]
    )


class LifeOpsSiteSensor(LifeOpsEntity, SensorEntity):
    """Which site this Home Assistant is, with the node id it syncs under."""

    @property
    def native_value(self) -> str:
        """The site's id: a preset (translated) or the custom site's id."""
        return self._entry.runtime_data.site

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The node id, which stays the same when the site is renamed."""
        return {"node_id": self._entry.runtime_data.node_id}


class LifeOpsScheduleSensor(LifeOpsClockEntity, SensorEntity):
    """A moment derived from the targets; it moves on by itself once it has passed."""

    entity_description: LifeOpsScheduleSensorDescription

    def _update_state(self, now: datetime) -> datetime:
        value = self.entity_description.value_fn(self._entry.runtime_data.settings, now)
        self._attr_native_value = value
        return value
