"""Oura API v2 documents as typed, immutable values.

Each class mirrors one document of `/v2/usercollection/...` with Oura's own field names, and
`from_dict` builds it from the decoded JSON: fields Oura adds later are ignored, fields a document
lacks (or sends as null) are None, dates become `date` and timestamps timezone-aware `datetime`
(Oura sends them with their UTC offset; one without is taken as UTC). Only a document's identity
is required (`id` and `day`, or a heart-rate sample's `timestamp` and `bpm`): without it
`from_dict` raises `OuraPayloadError`. Any other field of the wrong JSON type is left out (None),
so one odd field loses that field and not the document.

Oura also writes "no value" as a value: a sleep period too short to measure has
`lowest_heart_rate: 255`, a night without blood-oxygen readings `average: 0.0`. Those read as None,
so they are unknown everywhere (sensors, statistics, events) instead of shown as measurements.

This module holds activity, SpO2, stress, heart rate, workouts, the profile and paging; the night's
documents (sleep periods, daily sleep and readiness, bedtime guidance) are in `sleep_documents`,
Oura's other documents in `more_documents`, and the typed JSON reads all of them share in `fields`.

Enumerations (`SleepType`, `WorkoutIntensity`, ...) list the values Oura documents. The fields
themselves stay `str`, so a value Oura adds later does not break parsing; compare with the enum
members, which are strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Self

from .fields import Fields, unless


class HeartRateSource(StrEnum):
    """What the ring was measuring when it took a heart-rate sample."""

    AWAKE = "awake"
    REST = "rest"
    SLEEP = "sleep"
    SESSION = "session"
    LIVE = "live"
    WORKOUT = "workout"


class WorkoutIntensity(StrEnum):
    """How hard a workout was."""

    EASY = "easy"
    MODERATE = "moderate"
    HARD = "hard"


class WorkoutSource(StrEnum):
    """Where a workout came from."""

    MANUAL = "manual"
    AUTODETECTED = "autodetected"
    CONFIRMED = "confirmed"
    WORKOUT_HEART_RATE = "workout_heart_rate"


class DailyStressSummary(StrEnum):
    """Oura's one-word verdict on a day's stress."""

    RESTORED = "restored"
    NORMAL = "normal"
    STRESSFUL = "stressful"


NO_SPO2 = 0.0  # Oura's SpO2 average of a night without readings


@dataclass(frozen=True, kw_only=True, slots=True)
class Sample:
    """Evenly spaced readings (heart rate, HRV, MET) starting at `timestamp`; gaps are None."""

    interval: float | None = None  # seconds between items
    items: tuple[float | None, ...] = ()
    timestamp: datetime | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "sample")
        return cls(
            interval=f.number("interval"),
            items=f.numbers("items"),
            timestamp=f.moment("timestamp"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class ActivityContributors:
    """What made up an activity score, each 1-100."""

    meet_daily_targets: int | None = None
    move_every_hour: int | None = None
    recovery_time: int | None = None
    stay_active: int | None = None
    training_frequency: int | None = None
    training_volume: int | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "activity contributors")
        return cls(
            meet_daily_targets=f.whole("meet_daily_targets"),
            move_every_hour=f.whole("move_every_hour"),
            recovery_time=f.whole("recovery_time"),
            stay_active=f.whole("stay_active"),
            training_frequency=f.whole("training_frequency"),
            training_volume=f.whole("training_volume"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DailyActivity:
    """A day's activity (`daily_activity`), a 24-hour period from 4 am.

    Calories are kilocalories, distances metres, times seconds.
    """

    id: str
    day: date
    score: int | None = None
    timestamp: datetime | None = None
    steps: int | None = None
    active_calories: int | None = None
    total_calories: int | None = None
    target_calories: int | None = None
    equivalent_walking_distance: int | None = None
    target_meters: int | None = None
    meters_to_target: int | None = None
    high_activity_time: int | None = None
    medium_activity_time: int | None = None
    low_activity_time: int | None = None
    sedentary_time: int | None = None
    resting_time: int | None = None
    non_wear_time: int | None = None
    high_activity_met_minutes: int | None = None
    medium_activity_met_minutes: int | None = None
    low_activity_met_minutes: int | None = None
    sedentary_met_minutes: int | None = None
    average_met_minutes: float | None = None
    inactivity_alerts: int | None = None
    class_5_min: str | None = None  # per 5 min: 0 not worn, 1 rest ... 5 high activity
    contributors: ActivityContributors | None = None
    met: Sample | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "daily_activity")
        return cls(
            id=f.required_text("id"),
            day=f.required_day("day"),
            score=f.whole("score"),
            timestamp=f.moment("timestamp"),
            steps=f.whole("steps"),
            active_calories=f.whole("active_calories"),
            total_calories=f.whole("total_calories"),
            target_calories=f.whole("target_calories"),
            equivalent_walking_distance=f.whole("equivalent_walking_distance"),
            target_meters=f.whole("target_meters"),
            meters_to_target=f.whole("meters_to_target"),
            high_activity_time=f.whole("high_activity_time"),
            medium_activity_time=f.whole("medium_activity_time"),
            low_activity_time=f.whole("low_activity_time"),
            sedentary_time=f.whole("sedentary_time"),
            resting_time=f.whole("resting_time"),
            non_wear_time=f.whole("non_wear_time"),
            high_activity_met_minutes=f.whole("high_activity_met_minutes"),
            medium_activity_met_minutes=f.whole("medium_activity_met_minutes"),
            low_activity_met_minutes=f.whole("low_activity_met_minutes"),
            sedentary_met_minutes=f.whole("sedentary_met_minutes"),
            average_met_minutes=f.number("average_met_minutes"),
            inactivity_alerts=f.whole("inactivity_alerts"),
            class_5_min=f.text("class_5_min"),
            contributors=f.nested("contributors", ActivityContributors.from_dict),
            met=f.nested("met", Sample.from_dict),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class SpO2Percentage:
    """Blood-oxygen aggregates over a night, in percent."""

    average: float | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        return cls(average=unless(Fields(raw, "spo2_percentage").number("average"), NO_SPO2))


@dataclass(frozen=True, kw_only=True, slots=True)
class DailySpO2:
    """A night's blood oxygen (`daily_spo2`); the disturbance index runs 0-100."""

    id: str
    day: date
    spo2_percentage: SpO2Percentage | None = None
    breathing_disturbance_index: int | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "daily_spo2")
        return cls(
            id=f.required_text("id"),
            day=f.required_day("day"),
            spo2_percentage=f.nested("spo2_percentage", SpO2Percentage.from_dict),
            breathing_disturbance_index=f.whole("breathing_disturbance_index"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DailyStress:
    """A day's stress (`daily_stress`): seconds in high stress and in high recovery."""

    id: str
    day: date
    stress_high: int | None = None
    recovery_high: int | None = None
    day_summary: str | None = None  # a DailyStressSummary

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "daily_stress")
        return cls(
            id=f.required_text("id"),
            day=f.required_day("day"),
            stress_high=f.whole("stress_high"),
            recovery_high=f.whole("recovery_high"),
            day_summary=f.text("day_summary"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class HeartRate:
    """One heart-rate sample (`heartrate`); Oura samples about every 5 minutes."""

    timestamp: datetime
    bpm: int
    source: str | None = None  # a HeartRateSource

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "heartrate")
        return cls(
            timestamp=f.required_moment("timestamp"),
            bpm=f.required_whole("bpm"),
            source=f.text("source"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Workout:
    """One workout (`workout`); calories in kilocalories, distance in metres."""

    id: str
    day: date
    activity: str | None = None  # Oura's activity name, e.g. "walking", "cycling"
    start_datetime: datetime | None = None
    end_datetime: datetime | None = None
    intensity: str | None = None  # a WorkoutIntensity
    calories: float | None = None
    distance: float | None = None
    label: str | None = None
    source: str | None = None  # a WorkoutSource

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "workout")
        return cls(
            id=f.required_text("id"),
            day=f.required_day("day"),
            activity=f.text("activity"),
            start_datetime=f.moment("start_datetime"),
            end_datetime=f.moment("end_datetime"),
            intensity=f.text("intensity"),
            calories=f.number("calories"),
            distance=f.number("distance"),
            label=f.text("label"),
            source=f.text("source"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class PersonalInfo:
    """The ring owner's profile (`personal_info`); weight in kilograms, height in metres."""

    id: str
    age: int | None = None
    weight: float | None = None
    height: float | None = None
    biological_sex: str | None = None
    email: str | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "personal_info")
        return cls(
            id=f.required_text("id"),
            age=f.whole("age"),
            weight=f.number("weight"),
            height=f.number("height"),
            biological_sex=f.text("biological_sex"),
            email=f.text("email"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Page[T]:
    """One page of a collection: its documents and the token for the next page (None: last)."""

    data: tuple[T, ...]
    next_token: str | None = None
