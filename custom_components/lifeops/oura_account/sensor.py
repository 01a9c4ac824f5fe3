"""Sensors of an Oura account.

Scores, sleep stages, activity, SpO2, stress, bedtime and its guidance, resilience, VO2 max,
cardiovascular age, sessions, tags, rest mode and the ring's battery and firmware.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfEnergy,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from ..const import DOMAIN
from ..oura import ResilienceLevel, SleepTimeRecommendation, SleepTimeStatus
from .coordinator import OuraConfigEntry, OuraCoordinator, OuraData, account_id

BEATS_PER_MINUTE = "bpm"
VO2_MAX_UNIT = "mL/(kg·min)"
MILLISECONDS = "ms"
STEPS = "steps"


@dataclass(frozen=True, kw_only=True)
class OuraSensorDescription(SensorEntityDescription):
    """A figure read from the account's latest Oura documents; None shows as unknown."""

    value_fn: Callable[[OuraData], StateType | datetime]
    attributes_fn: Callable[[OuraData], dict[str, Any] | None] = lambda _: None
    # The collection the figure comes from: while it fails, the sensor is unavailable.
    source: str | None = None


def _score(
    key: str, source: str, value_fn: Callable[[OuraData], StateType]
) -> OuraSensorDescription:
    return OuraSensorDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=value_fn,
        source=source,
    )


def _sleep_seconds(
    key: str,
    value_fn: Callable[[OuraData], int | None],
    unit: UnitOfTime,
    source: str = "sleep",
) -> OuraSensorDescription:
    return OuraSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=unit,
        suggested_display_precision=0 if unit is UnitOfTime.MINUTES else 1,
        value_fn=value_fn,
        source=source,
    )


def _window(data: OuraData, index: int) -> datetime | None:
    return None if data.recommended_bedtime is None else data.recommended_bedtime[index]


def _workout_attributes(data: OuraData) -> dict[str, Any] | None:
    workout = data.last_workout
    if workout is None:
        return None
    return {
        "activity": workout.activity,
        "intensity": workout.intensity,
        "started_at": workout.start_datetime,
        "calories": workout.calories,
        "distance_m": workout.distance,
        "label": workout.label,
    }


def _option(value: str | None, options: type[StrEnum]) -> str | None:
    """An enum sensor's state: None for a value Oura added after LifeOps knew its list."""
    return value if value in {item.value for item in options} else None


def _resilience_attributes(data: OuraData) -> dict[str, Any] | None:
    contributors = data.resilience.contributors if data.resilience else None
    if contributors is None:
        return None
    return {
        "sleep_recovery": contributors.sleep_recovery,
        "daytime_recovery": contributors.daytime_recovery,
        "stress": contributors.stress,
    }


def _session_attributes(data: OuraData) -> dict[str, Any] | None:
    session = data.last_session
    if session is None:
        return None
    return {"type": session.type, "mood": session.mood, "started_at": session.start_datetime}


def _tag_attributes(data: OuraData) -> dict[str, Any] | None:
    tag = data.last_tag
    if tag is None:
        return None
    return {"tag": tag.name, "comment": tag.comment, "ends_at": tag.end_time}


def _ring_attributes(data: OuraData) -> dict[str, Any] | None:
    ring = data.ring
    if ring is None:
        return None
    return {
        "hardware_type": ring.hardware_type,
        "color": ring.color,
        "design": ring.design,
        "size": ring.size,
        "set_up_at": ring.set_up_at,
    }


OURA_SENSORS: tuple[OuraSensorDescription, ...] = (
    _score(
        "sleep_score",
        "daily_sleep",
        lambda data: data.daily_sleep.score if data.daily_sleep else None,
    ),
    _score(
        "readiness_score",
        "daily_readiness",
        lambda data: data.readiness.score if data.readiness else None,
    ),
    _score(
        "activity_score",
        "daily_activity",
        lambda data: data.activity.score if data.activity else None,
    ),
    OuraSensorDescription(
        key="average_hrv",
        translation_key="average_hrv",
        native_unit_of_measurement=MILLISECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.sleep.average_hrv if data.sleep else None,
        source="sleep",
    ),
    OuraSensorDescription(
        key="lowest_heart_rate",
        translation_key="lowest_heart_rate",
        native_unit_of_measurement=BEATS_PER_MINUTE,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.sleep.lowest_heart_rate if data.sleep else None,
        source="sleep",
    ),
    OuraSensorDescription(
        key="temperature_deviation",
        translation_key="temperature_deviation",
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda data: data.readiness.temperature_deviation if data.readiness else None,
        source="daily_readiness",
    ),
    _sleep_seconds(
        "total_sleep",
        lambda data: data.sleep.total_sleep_duration if data.sleep else None,
        UnitOfTime.HOURS,
    ),
    _sleep_seconds(
        "deep_sleep",
        lambda data: data.sleep.deep_sleep_duration if data.sleep else None,
        UnitOfTime.HOURS,
    ),
    _sleep_seconds(
        "rem_sleep",
        lambda data: data.sleep.rem_sleep_duration if data.sleep else None,
        UnitOfTime.HOURS,
    ),
    _sleep_seconds(
        "light_sleep",
        lambda data: data.sleep.light_sleep_duration if data.sleep else None,
        UnitOfTime.HOURS,
    ),
    _sleep_seconds(
        "awake_time", lambda data: data.sleep.awake_time if data.sleep else None, UnitOfTime.MINUTES
    ),
    _sleep_seconds(
        "sleep_latency", lambda data: data.sleep.latency if data.sleep else None, UnitOfTime.MINUTES
    ),
    OuraSensorDescription(
        key="sleep_efficiency",
        translation_key="sleep_efficiency",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.sleep.efficiency if data.sleep else None,
        source="sleep",
    ),
    OuraSensorDescription(
        key="bedtime_start",
        translation_key="bedtime_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: data.sleep.bedtime_start if data.sleep else None,
        source="sleep",
    ),
    OuraSensorDescription(
        key="bedtime_end",
        translation_key="bedtime_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: data.sleep.bedtime_end if data.sleep else None,
        source="sleep",
    ),
    OuraSensorDescription(
        key="steps",
        translation_key="steps",
        native_unit_of_measurement=STEPS,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda data: data.activity.steps if data.activity else None,
        source="daily_activity",
    ),
    OuraSensorDescription(
        key="active_calories",
        translation_key="active_calories",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_CALORIE,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda data: data.activity.active_calories if data.activity else None,
        source="daily_activity",
    ),
    OuraSensorDescription(
        key="spo2",
        translation_key="spo2",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda data: (
            data.spo2.spo2_percentage.average if data.spo2 and data.spo2.spo2_percentage else None
        ),
        source="daily_spo2",
    ),
    _sleep_seconds(
        "stress_high",
        lambda data: data.stress.stress_high if data.stress else None,
        UnitOfTime.MINUTES,
        source="daily_stress",
    ),
    OuraSensorDescription(
        key="recommended_bedtime_start",
        translation_key="recommended_bedtime_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: _window(data, 0),
        source="sleep_time",
    ),
    OuraSensorDescription(
        key="recommended_bedtime_end",
        translation_key="recommended_bedtime_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: _window(data, 1),
        source="sleep_time",
    ),
    OuraSensorDescription(
        key="heart_rate",
        translation_key="heart_rate",
        native_unit_of_measurement=BEATS_PER_MINUTE,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.heart_rate.bpm if data.heart_rate else None,
        attributes_fn=lambda data: (
            {"measured_at": data.heart_rate.timestamp, "source": data.heart_rate.source}
            if data.heart_rate
            else None
        ),
        source="heartrate",
    ),
    OuraSensorDescription(
        key="last_workout",
        translation_key="last_workout",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: data.last_workout.end_datetime if data.last_workout else None,
        attributes_fn=lambda data: _workout_attributes(data),
        source="workout",
    ),
    OuraSensorDescription(
        key="workouts_today",
        translation_key="workouts_today",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.workouts_today,
        source="workout",
    ),
    OuraSensorDescription(
        key="bedtime_recommendation",
        translation_key="bedtime_recommendation",
        device_class=SensorDeviceClass.ENUM,
        options=[item.value for item in SleepTimeRecommendation],
        value_fn=lambda data: _option(
            data.bedtime_guidance.recommendation if data.bedtime_guidance else None,
            SleepTimeRecommendation,
        ),
        source="sleep_time",
    ),
    OuraSensorDescription(
        key="bedtime_status",
        translation_key="bedtime_status",
        device_class=SensorDeviceClass.ENUM,
        options=[item.value for item in SleepTimeStatus],
        value_fn=lambda data: _option(
            data.bedtime_guidance.status if data.bedtime_guidance else None, SleepTimeStatus
        ),
        source="sleep_time",
    ),
    OuraSensorDescription(
        key="resilience",
        translation_key="resilience",
        device_class=SensorDeviceClass.ENUM,
        options=[item.value for item in ResilienceLevel],
        value_fn=lambda data: _option(
            data.resilience.level if data.resilience else None, ResilienceLevel
        ),
        attributes_fn=_resilience_attributes,
        source="daily_resilience",
    ),
    OuraSensorDescription(
        key="vo2_max",
        translation_key="vo2_max",
        native_unit_of_measurement=VO2_MAX_UNIT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda data: data.vo2_max.vo2_max if data.vo2_max else None,
        source="vO2_max",
    ),
    OuraSensorDescription(
        key="cardiovascular_age",
        translation_key="cardiovascular_age",
        native_unit_of_measurement=UnitOfTime.YEARS,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: (
            data.cardiovascular_age.vascular_age if data.cardiovascular_age else None
        ),
        source="daily_cardiovascular_age",
    ),
    OuraSensorDescription(
        key="last_session",
        translation_key="last_session",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: data.last_session.end_datetime if data.last_session else None,
        attributes_fn=_session_attributes,
        source="session",
    ),
    OuraSensorDescription(
        key="sessions_today",
        translation_key="sessions_today",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.sessions_today,
        source="session",
    ),
    OuraSensorDescription(
        key="last_tag",
        translation_key="last_tag",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: data.last_tag.start_time if data.last_tag else None,
        attributes_fn=_tag_attributes,
        source="enhanced_tag",
    ),
    OuraSensorDescription(
        key="rest_mode",
        translation_key="rest_mode",
        device_class=SensorDeviceClass.ENUM,
        options=["on", "off"],
        value_fn=lambda data: "on" if data.rest_mode is not None else "off",
        attributes_fn=lambda data: (
            {"started_at": data.rest_mode.start_time} if data.rest_mode else None
        ),
        source="rest_mode_period",
    ),
    OuraSensorDescription(
        key="ring_battery",
        translation_key="ring_battery",
        device_class=SensorDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.battery.level if data.battery else None,
        attributes_fn=lambda data: (
            {"charging": data.battery.charging, "measured_at": data.battery.timestamp}
            if data.battery
            else None
        ),
        source="ring_battery_level",
    ),
    OuraSensorDescription(
        key="ring_firmware",
        translation_key="ring_firmware",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.ring.firmware_version if data.ring else None,
        attributes_fn=_ring_attributes,
        source="ring_configuration",
    ),
    OuraSensorDescription(
        key="last_sync",
        translation_key="last_sync",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.last_sync,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: OuraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an Oura account's sensors."""
    coordinator = entry.runtime_data
    async_add_entities(OuraSensor(coordinator, description) for description in OURA_SENSORS)


class OuraSensor(CoordinatorEntity[OuraCoordinator], SensorEntity):
    """One figure of an Oura account, on the account's device."""

    _attr_has_entity_name = True
    entity_description: OuraSensorDescription

    def __init__(self, coordinator: OuraCoordinator, description: OuraSensorDescription) -> None:
        """Name the sensor after its description and attach it to the account's device."""
        super().__init__(coordinator)
        self.entity_description = description
        account = account_id(coordinator.config_entry)
        self._attr_unique_id = f"oura_{account}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"oura_{account}")},
            entry_type=DeviceEntryType.SERVICE,
            manufacturer="Oura",
            model="Oura account",
            translation_key="oura",
        )

    @property
    def available(self) -> bool:
        """Unavailable while the collection its figure comes from fails (the rest still work)."""
        source = self.entity_description.source
        return super().available and (source is None or source not in self.coordinator.data.failed)

    @property
    def native_value(self) -> StateType | datetime:
        """The figure from the latest data; unknown where Oura has none for the day."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details of the figure (when it was measured, what the workout was)."""
        return self.entity_description.attributes_fn(self.coordinator.data)
