"""Sensors: the site, the sleep schedule, workouts, work hours, screen time and notifications."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfTime
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .core.agents import Agent
from .core.fitness import Recommendation
from .data import LifeOpsConfigEntry, LifeOpsRuntimeData
from .entity import LifeOpsAgentEntity, LifeOpsClockEntity, LifeOpsEntity

# Entities only read LifeOps' own state; none makes calls that need throttling.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class LifeOpsScheduleSensorDescription(SensorEntityDescription):
    """A timestamp sensor computed from the sleep agent and the current time."""

    value_fn: Callable[[LifeOpsRuntimeData, datetime], datetime]


@dataclass(frozen=True, kw_only=True)
class LifeOpsAgentSensorDescription(SensorEntityDescription):
    """A sensor reading an agent controller."""

    agent: Agent
    value_fn: Callable[[LifeOpsRuntimeData], StateType]
    attributes_fn: Callable[[LifeOpsRuntimeData], dict[str, Any]] = field(
        default=lambda runtime: {}
    )


def _next_wind_down(runtime: LifeOpsRuntimeData, now: datetime) -> datetime:
    sleep = runtime.sleep
    start = sleep.wind_down_start(sleep.next_bedtime(now))
    if start <= now:
        start = sleep.wind_down_start(sleep.next_bedtime(sleep.next_bedtime(now)))
    return start


SCHEDULE_SENSORS: tuple[LifeOpsScheduleSensorDescription, ...] = (
    LifeOpsScheduleSensorDescription(
        key="next_bedtime",
        translation_key="next_bedtime",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda runtime, now: runtime.sleep.next_bedtime(now),
    ),
    LifeOpsScheduleSensorDescription(
        key="next_wind_down",
        translation_key="next_wind_down",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_next_wind_down,
    ),
)


def _pending(runtime: LifeOpsRuntimeData) -> dict[str, Any]:
    return {
        "notifications": [
            {
                "id": item.id,
                "title": item.title,
                "priority": int(item.priority),
                "agent": item.agent,
                "scheduled": item.scheduled.isoformat(),
                "attempts": item.attempts,
            }
            for item in runtime.notifications.queue.pending()[:20]
        ]
    }


AGENT_SENSORS: tuple[LifeOpsAgentSensorDescription, ...] = (
    LifeOpsAgentSensorDescription(
        key="minutes_past_bedtime",
        translation_key="minutes_past_bedtime",
        agent=Agent.SLEEP,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda runtime: runtime.sleep.minutes_past_bedtime(),
    ),
    LifeOpsAgentSensorDescription(
        key="workout_recommendation",
        translation_key="workout_recommendation",
        agent=Agent.FITNESS,
        device_class=SensorDeviceClass.ENUM,
        options=[item.value for item in Recommendation],
        value_fn=lambda runtime: (
            runtime.fitness.recommendation.value if runtime.fitness.recommendation else None
        ),
        attributes_fn=lambda runtime: {"reasons": list(runtime.fitness.reasons)},
    ),
    LifeOpsAgentSensorDescription(
        key="activity_goal_progress",
        translation_key="activity_goal_progress",
        agent=Agent.FITNESS,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda runtime: runtime.fitness.progress,
    ),
    LifeOpsAgentSensorDescription(
        key="work_today",
        translation_key="work_today",
        agent=Agent.WORK_LIFE,
        native_unit_of_measurement=UnitOfTime.HOURS,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        value_fn=lambda runtime: round(runtime.work.hours_today(), 3),
    ),
    LifeOpsAgentSensorDescription(
        key="work_this_week",
        translation_key="work_this_week",
        agent=Agent.WORK_LIFE,
        native_unit_of_measurement=UnitOfTime.HOURS,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=1,
        value_fn=lambda runtime: round(runtime.work.hours_this_week(), 3),
    ),
    LifeOpsAgentSensorDescription(
        key="overtime_this_week",
        translation_key="overtime_this_week",
        agent=Agent.WORK_LIFE,
        native_unit_of_measurement=UnitOfTime.HOURS,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda runtime: round(runtime.work.overtime_this_week(), 3),
    ),
    LifeOpsAgentSensorDescription(
        key="screen_time_today",
        translation_key="screen_time_today",
        agent=Agent.SCREEN_TIME,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=0,
        value_fn=lambda runtime: round(runtime.screen_time.minutes_today(), 2),
        attributes_fn=lambda runtime: {
            "by_source": runtime.screen_time.minutes_by_category(),
            "limit": runtime.settings.screen_time_limit_minutes,
        },
    ),
    LifeOpsAgentSensorDescription(
        key="pending_notifications",
        translation_key="pending_notifications",
        agent=Agent.NOTIFICATIONS,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda runtime: len(runtime.notifications.queue.pending()),
        attributes_fn=_pending,
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
    """Add the hub's and the agents' sensors."""
    async_add_entities(
        [
            LifeOpsSiteSensor(entry, SITE_SENSOR, None),
            *(
                LifeOpsScheduleSensor(entry, description, Agent.SLEEP)
                for description in SCHEDULE_SENSORS
            ),
            *(
                LifeOpsAgentSensor(entry, description, description.agent)
                for description in AGENT_SENSORS
            ),
        ]
    )


class LifeOpsSiteSensor(LifeOpsEntity, SensorEntity):
    """Which site this Home Assistant is, with the node id it syncs under."""

    _unsub_occupancy: CALLBACK_TYPE | None = None

    async def async_added_to_hass(self) -> None:
        """Follow the occupancy entity, and which one it is when the options change."""
        await super().async_added_to_hass()
        self._follow_occupancy()
        self.async_on_remove(
            self._entry.runtime_data.async_add_settings_listener(self._on_settings_changed)
        )
        self.async_on_remove(self._stop_following)

    @callback
    def _follow_occupancy(self) -> None:
        self._stop_following()
        if entity_id := self._entry.runtime_data.settings.occupancy_entity:
            self._unsub_occupancy = async_track_state_change_event(
                self.hass, [entity_id], self._on_occupancy_changed
            )

    @callback
    def _stop_following(self) -> None:
        if self._unsub_occupancy is not None:
            self._unsub_occupancy()
            self._unsub_occupancy = None

    @callback
    def _on_settings_changed(self) -> None:
        self._follow_occupancy()
        self.async_write_ha_state()

    @callback
    def _on_occupancy_changed(self, event: Event[EventStateChangedData]) -> None:
        self.async_write_ha_state()

    @property
    def native_value(self) -> str:
        """The site's id: a preset (translated) or the custom site's id."""
        return self._entry.runtime_data.site

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The node id (kept when the site is renamed) and whether someone is there."""
        return {
            "node_id": self._entry.runtime_data.node_id,
            "occupied": self._entry.runtime_data.scenes.occupied,
        }


class LifeOpsScheduleSensor(LifeOpsClockEntity, SensorEntity):
    """A moment derived from the targets; it moves on by itself once it has passed."""

    entity_description: LifeOpsScheduleSensorDescription

    async def async_added_to_hass(self) -> None:
        """Also recompute when the sleep agent changes (a new recommended bedtime)."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self._entry.runtime_data.sleep.async_add_listener(self._on_agent_changed)
        )

    @callback
    def _on_agent_changed(self) -> None:
        # Most of the sleep agent's changes leave the schedule where it was.
        value = self.entity_description.value_fn(self._entry.runtime_data, dt_util.utcnow())
        if value != self._attr_native_value:
            self._on_settings_changed()

    def _update_state(self, now: datetime) -> datetime:
        value = self.entity_description.value_fn(self._entry.runtime_data, now)
        self._attr_native_value = value
        return value + timedelta(seconds=1)


class LifeOpsAgentSensor(LifeOpsAgentEntity, SensorEntity):
    """A figure from one agent."""

    entity_description: LifeOpsAgentSensorDescription

    @property
    def native_value(self) -> StateType:
        """The agent's current figure."""
        return self.entity_description.value_fn(self._entry.runtime_data)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Details behind the figure."""
        return self.entity_description.attributes_fn(self._entry.runtime_data)
