"""Sensors: the site, sleep schedule, workouts, work hours, screen time, notifications and XP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

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
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .core.agents import Agent
from .core.fitness import Recommendation
from .core.habits import BUILTIN_IDS, Habit
from .data import LifeOpsConfigEntry, LifeOpsRuntimeData
from .entity import LifeOpsAgentEntity, LifeOpsClockEntity, LifeOpsEntity
from .entry_kind import is_oura_entry
from .oura_account import sensor as oura_sensor
from .sync_link.sensor import async_setup_sync_sensors
from .texts import achievement_name

if TYPE_CHECKING:
    from .entry_kind import AnyLifeOpsEntry

# Entities only read LifeOps' own state; none makes calls that need throttling.
PARALLEL_UPDATES = 0

XP = "XP"
STREAK_KEY_PREFIX = "streak_"


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
                "site": item.site,  # another site's (delivered there), None: this site's
            }
            for item in runtime.notifications.queue.pending()[:20]
        ]
    }


def _level(runtime: LifeOpsRuntimeData) -> dict[str, Any]:
    level = runtime.gamification.figures.level
    return {
        "progress": round(level.progress * 100, 1),
        "xp_into_level": level.xp_into_level,
        "xp_to_next_level": level.xp_to_next_level,
        "next_level_xp": level.next_level_xp,
        "total_xp": level.total_xp,
    }


def _achievements(runtime: LifeOpsRuntimeData) -> dict[str, Any]:
    figures = runtime.gamification.figures
    hass = runtime.gamification.hass
    return {
        "unlocked": [
            {
                "id": item.id,
                "name": achievement_name(hass, item.id),
                "unlocked_at": item.unlocked_at.isoformat() if item.unlocked_at else None,
            }
            for item in figures.unlocked
        ],
        "progress": {
            item.id: {"current": item.current, "target": item.target}
            for item in figures.achievements
            if not item.unlocked
        },
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
    LifeOpsAgentSensorDescription(
        key="total_xp",
        translation_key="total_xp",
        agent=Agent.GAMIFICATION,
        native_unit_of_measurement=XP,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda runtime: runtime.gamification.figures.total_xp,
    ),
    LifeOpsAgentSensorDescription(
        key="level",
        translation_key="level",
        agent=Agent.GAMIFICATION,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda runtime: runtime.gamification.figures.level.level,
        attributes_fn=_level,
    ),
    LifeOpsAgentSensorDescription(
        key="xp_today",
        translation_key="xp_today",
        agent=Agent.GAMIFICATION,
        native_unit_of_measurement=XP,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda runtime: runtime.gamification.figures.xp_today,
    ),
    LifeOpsAgentSensorDescription(
        key="achievements",
        translation_key="achievements",
        agent=Agent.GAMIFICATION,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda runtime: len(runtime.gamification.figures.unlocked),
        attributes_fn=_achievements,
    ),
)

SITE_SENSOR = SensorEntityDescription(
    key="site",
    translation_key="site",
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AnyLifeOpsEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a site's hub and agent sensors, or hand an Oura account to its package."""
    if is_oura_entry(entry):
        await oura_sensor.async_setup_entry(hass, entry, async_add_entities)
        return
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
    _follow_habits(hass, entry, async_add_entities)
    async_setup_sync_sensors(entry, async_add_entities)


def _follow_habits(
    hass: HomeAssistant,
    entry: LifeOpsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One streak sensor per habit and built-in goal, added and removed with the habits."""
    controller = entry.runtime_data.gamification
    registry = er.async_get(hass)
    prefix = f"{entry.runtime_data.node_id}_{Agent.GAMIFICATION.value}_{STREAK_KEY_PREFIX}"
    shown: set[str] = set()

    @callback
    def sync() -> None:
        habits = controller.all_habits()
        new = [habit for habit_id, habit in habits.items() if habit_id not in shown]
        shown.update(habit.id for habit in new)
        if new:
            async_add_entities(LifeOpsStreakSensor(entry, habit) for habit in new)
        # A removed habit's sensor leaves the registry (and with it the state machine); so does
        # one left behind by a habit removed while this platform was not loaded.
        for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
            if registered.domain != "sensor" or not registered.unique_id.startswith(prefix):
                continue
            habit_id = registered.unique_id.removeprefix(prefix)
            if habit_id not in habits:
                shown.discard(habit_id)
                registry.async_remove(registered.entity_id)

    sync()
    entry.async_on_unload(controller.async_add_habits_listener(sync))


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


class LifeOpsStreakSensor(LifeOpsAgentEntity, SensorEntity):
    """One habit's or built-in goal's streak: the current one, with the best and the last done."""

    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(self, entry: LifeOpsConfigEntry, habit: Habit) -> None:
        """Name the sensor after the habit (a built-in goal's name is translated)."""
        builtin = habit.id in BUILTIN_IDS
        description = SensorEntityDescription(
            key=f"{STREAK_KEY_PREFIX}{habit.id}",
            translation_key=f"{habit.id}_streak" if builtin else "habit_streak",
            translation_placeholders=None if builtin else {"habit": habit.name},
        )
        super().__init__(entry, description, Agent.GAMIFICATION)
        self.habit_id = habit.id

    @property
    def available(self) -> bool:
        """Whether the habit still exists (it goes away with the habit)."""
        return self.habit_id in self._entry.runtime_data.gamification.figures.streaks

    @property
    def native_value(self) -> StateType:
        """The current streak, in the habit's periods (days, weekdays or weeks)."""
        streak = self._entry.runtime_data.gamification.figures.streaks.get(self.habit_id)
        return streak.current if streak else None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The best streak, when it was last done and how the habit is scheduled."""
        controller = self._entry.runtime_data.gamification
        streak = controller.figures.streaks.get(self.habit_id)
        habit = controller.all_habits().get(self.habit_id)
        if streak is None or habit is None:
            return {}
        return {
            "best": streak.best,
            "last_done": streak.last_done.isoformat() if streak.last_done else None,
            "started": streak.started.isoformat() if streak.started else None,
            "done_this_period": streak.period_done,
            "completions": streak.completions,
            "habit": habit.id,
            "schedule": habit.schedule.value,
            "times_per_week": habit.times_per_week,
            "xp": habit.xp,
            "grace_days": habit.grace_days,
            "builtin": habit.builtin,
        }


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
