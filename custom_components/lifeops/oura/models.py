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

Enumerations (`SleepType`, `WorkoutIntensity`, ...) list the values Oura documents. The fields
themselves stay `str`, so a value Oura adds later does not break parsing; compare with the enum
members, which are strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum
import logging
import math
from typing import Self, TypeGuard

from .exceptions import OuraPayloadError

_LOGGER = logging.getLogger(__name__)


class SleepType(StrEnum):
    """What kind of sleep period a `SleepPeriod` is."""

    DELETED = "deleted"  # deleted by the user
    SLEEP = "sleep"  # a confirmed nap of 15 min to 3 h; counts for the day's scores
    LONG_SLEEP = "long_sleep"  # longer than 3 h; counts for the day's scores by itself
    LATE_NAP = "late_nap"  # a confirmed nap ending after 6 pm; counts for the next day
    REST = "rest"  # detected as sleep, but the user said it was not


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


class SleepTimeRecommendation(StrEnum):
    """What Oura suggests about bedtime."""

    IMPROVE_EFFICIENCY = "improve_efficiency"
    EARLIER_BEDTIME = "earlier_bedtime"
    LATER_BEDTIME = "later_bedtime"
    EARLIER_WAKE_UP_TIME = "earlier_wake_up_time"
    LATER_WAKE_UP_TIME = "later_wake_up_time"
    FOLLOW_OPTIMAL_BEDTIME = "follow_optimal_bedtime"


class SleepTimeStatus(StrEnum):
    """Whether Oura had enough nights to find an optimal bedtime window."""

    NOT_ENOUGH_NIGHTS = "not_enough_nights"
    NOT_ENOUGH_RECENT_NIGHTS = "not_enough_recent_nights"
    BAD_SLEEP_QUALITY = "bad_sleep_quality"
    ONLY_RECOMMENDED_FOUND = "only_recommended_found"
    OPTIMAL_FOUND = "optimal_found"


class _Fields:
    """Typed reads from one JSON object; errors name the document and the field, never a value.

    A document's identity (`required_*`) must be right or the document is refused. Any other
    field of the wrong type is left out (None) and the rest of the document kept: one odd field
    from Oura loses that field, not the document or its page.
    """

    __slots__ = ("_raw", "_what")

    def __init__(self, raw: object, what: str) -> None:
        if not isinstance(raw, Mapping):
            raise OuraPayloadError(f"{what} is not a JSON object")
        self._raw: Mapping[str, object] = raw
        self._what = what

    def _wrong(self, key: str, expected: str) -> OuraPayloadError:
        return OuraPayloadError(f"{self._what}.{key} is not {expected}")

    def _present(self, key: str) -> None:
        if self._raw.get(key) is None:
            raise OuraPayloadError(f"{self._what}.{key} is missing")

    def _lenient[T](self, read: Callable[[str], T | None], key: str) -> T | None:
        try:
            return read(key)
        except OuraPayloadError as err:
            _LOGGER.debug("Left out of an Oura document: %s", err)
            return None

    def _text(self, key: str) -> str | None:
        value = self._raw.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self._wrong(key, "a string")

    def text(self, key: str) -> str | None:
        return self._lenient(self._text, key)

    def required_text(self, key: str) -> str:
        self._present(key)
        return self._text(key) or ""

    def _whole(self, key: str) -> int | None:
        value = self._raw.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise self._wrong(key, "an integer")

    def whole(self, key: str) -> int | None:
        return self._lenient(self._whole, key)

    def required_whole(self, key: str) -> int:
        self._present(key)
        value = self._whole(key)
        return 0 if value is None else value

    def _number(self, key: str) -> float | None:
        value = self._raw.get(key)
        if value is None:
            return None
        if _is_number(value):
            return float(value)
        raise self._wrong(key, "a number")

    def number(self, key: str) -> float | None:
        return self._lenient(self._number, key)

    def _flag(self, key: str) -> bool | None:
        value = self._raw.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self._wrong(key, "true or false")

    def flag(self, key: str) -> bool | None:
        return self._lenient(self._flag, key)

    def _numbers(self, key: str) -> tuple[float | None, ...] | None:
        value = self._raw.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(v is None or _is_number(v) for v in value):
            raise self._wrong(key, "a list of numbers")
        return tuple(None if v is None else float(v) for v in value)

    def numbers(self, key: str) -> tuple[float | None, ...]:
        return self._lenient(self._numbers, key) or ()

    def _day(self, key: str) -> date | None:
        value = self._text(key)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self._wrong(key, "an ISO date") from None

    def day(self, key: str) -> date | None:
        return self._lenient(self._day, key)

    def required_day(self, key: str) -> date:
        self._present(key)
        value = self._day(key)
        assert value is not None
        return value

    def _moment(self, key: str) -> datetime | None:
        value = self._text(key)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self._wrong(key, "an ISO date-time") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def moment(self, key: str) -> datetime | None:
        return self._lenient(self._moment, key)

    def required_moment(self, key: str) -> datetime:
        self._present(key)
        value = self._moment(key)
        assert value is not None
        return value

    def nested[T](self, key: str, parse: Callable[[object], T]) -> T | None:
        value = self._raw.get(key)
        if value is None:
            return None
        try:
            return parse(value)
        except OuraPayloadError as err:
            _LOGGER.debug("Left out of an Oura document: %s.%s: %s", self._what, key, err)
            return None


NO_LOWEST_HEART_RATE = 255  # Oura's lowest_heart_rate of a period it could not measure
NO_SPO2 = 0.0  # Oura's SpO2 average of a night without readings


def _unless[T: (int, float)](value: T | None, marker: T) -> T | None:
    """None where Oura wrote its no-value marker."""
    return None if value == marker else value


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, kw_only=True, slots=True)
class Sample:
    """Evenly spaced readings (heart rate, HRV, MET) starting at `timestamp`; gaps are None."""

    interval: float | None = None  # seconds between items
    items: tuple[float | None, ...] = ()
    timestamp: datetime | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = _Fields(raw, "sample")
        return cls(
            interval=f.number("interval"),
            items=f.numbers("items"),
            timestamp=f.moment("timestamp"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class SleepContributors:
    """What made up a daily sleep score, each 1-100."""

    deep_sleep: int | None = None
    efficiency: int | None = None
    latency: int | None = None
    rem_sleep: int | None = None
    restfulness: int | None = None
    timing: int | None = None
    total_sleep: int | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = _Fields(raw, "sleep contributors")
        return cls(
            deep_sleep=f.whole("deep_sleep"),
            efficiency=f.whole("efficiency"),
            latency=f.whole("latency"),
            rem_sleep=f.whole("rem_sleep"),
            restfulness=f.whole("restfulness"),
            timing=f.whole("timing"),
            total_sleep=f.whole("total_sleep"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DailySleep:
    """A day's sleep score (`daily_sleep`); `score` is None when Oura could not score the day."""

    id: str
    day: date
    score: int | None = None
    timestamp: datetime | None = None
    contributors: SleepContributors | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = _Fields(raw, "daily_sleep")
        return cls(
            id=f.required_text("id"),
            day=f.required_day("day"),
            score=f.whole("score"),
            timestamp=f.moment("timestamp"),
            contributors=f.nested("contributors", SleepContributors.from_dict),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class ReadinessContributors:
    """What made up a readiness score, each 1-100."""

    activity_balance: int | None = None
    body_temperature: int | None = None
    hrv_balance: int | None = None
    previous_day_activity: int | None = None
    previous_night: int | None = None
    recovery_index: int | None = None
    resting_heart_rate: int | None = None
    sleep_balance: int | None = None
    sleep_regularity: int | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = _Fields(raw, "readiness contributors")
        return cls(
            activity_balance=f.whole("activity_balance"),
            body_temperature=f.whole("body_temperature"),
            hrv_balance=f.whole("hrv_balance"),
            previous_day_activity=f.whole("previous_day_activity"),
            previous_night=f.whole("previous_night"),
            recovery_index=f.whole("recovery_index"),
            resting_heart_rate=f.whole("resting_heart_rate"),
            sleep_balance=f.whole("sleep_balance"),
            sleep_regularity=f.whole("sleep_regularity"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class SleepReadiness:
    """The readiness a sleep period produced (inside a `SleepPeriod`)."""

    score: int | None = None
    temperature_deviation: float | None = None  # degrees Celsius
    temperature_trend_deviation: float | None = None  # degrees Celsius
    contributors: ReadinessContributors | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = _Fields(raw, "sleep readiness")
        return cls(
            score=f.whole("score"),
            temperature_deviation=f.number("temperature_deviation"),
            temperature_trend_deviation=f.number("temperature_trend_deviation"),
            contributors=f.nested("contributors", ReadinessContributors.from_dict),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class SleepPeriod:
    """One sleep period (`sleep`): a night, a nap or a rest; a day can have several.

    Durations are in seconds, heart rates in beats a minute, `average_breath` in breaths a minute.
    """

    id: str
    day: date
    type: str | None = None  # a SleepType
    bedtime_start: datetime | None = None
    bedtime_end: datetime | None = None
    time_in_bed: int | None = None
    total_sleep_duration: int | None = None
    deep_sleep_duration: int | None = None
    rem_sleep_duration: int | None = None
    light_sleep_duration: int | None = None
    awake_time: int | None = None
    efficiency: int | None = None  # 1-100
    latency: int | None = None
    average_heart_rate: float | None = None
    lowest_heart_rate: int | None = None
    average_hrv: int | None = None
    average_breath: float | None = None
    restless_periods: int | None = None
    period: int | None = None
    readiness: SleepReadiness | None = None
    readiness_score_delta: int | None = None
    sleep_score_delta: int | None = None
    low_battery_alert: bool | None = None
    sleep_phase_5_min: str | None = None  # per 5 min: 1 deep, 2 light, 3 REM, 4 awake
    movement_30_sec: str | None = None  # per 30 s: 1 still, 2 restless, 3 tossing, 4 active
    heart_rate: Sample | None = None
    hrv: Sample | None = None
    sleep_algorithm_version: str | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = _Fields(raw, "sleep")
        return cls(
            id=f.required_text("id"),
            day=f.required_day("day"),
            type=f.text("type"),
            bedtime_start=f.moment("bedtime_start"),
            bedtime_end=f.moment("bedtime_end"),
            time_in_bed=f.whole("time_in_bed"),
            total_sleep_duration=f.whole("total_sleep_duration"),
            deep_sleep_duration=f.whole("deep_sleep_duration"),
            rem_sleep_duration=f.whole("rem_sleep_duration"),
            light_sleep_duration=f.whole("light_sleep_duration"),
            awake_time=f.whole("awake_time"),
            efficiency=f.whole("efficiency"),
            latency=f.whole("latency"),
            average_heart_rate=f.number("average_heart_rate"),
            lowest_heart_rate=_unless(f.whole("lowest_heart_rate"), NO_LOWEST_HEART_RATE),
            average_hrv=f.whole("average_hrv"),
            average_breath=f.number("average_breath"),
            restless_periods=f.whole("restless_periods"),
            period=f.whole("period"),
            readiness=f.nested("readiness", SleepReadiness.from_dict),
            readiness_score_delta=f.whole("readiness_score_delta"),
            sleep_score_delta=f.whole("sleep_score_delta"),
            low_battery_alert=f.flag("low_battery_alert"),
            sleep_phase_5_min=f.text("sleep_phase_5_min"),
            movement_30_sec=f.text("movement_30_sec"),
            heart_rate=f.nested("heart_rate", Sample.from_dict),
            hrv=f.nested("hrv", Sample.from_dict),
            sleep_algorithm_version=f.text("sleep_algorithm_version"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DailyReadiness:
    """A day's readiness score (`daily_readiness`)."""

    id: str
    day: date
    score: int | None = None
    timestamp: datetime | None = None
    temperature_deviation: float | None = None  # degrees Celsius
    temperature_trend_deviation: float | None = None  # degrees Celsius
    contributors: ReadinessContributors | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = _Fields(raw, "daily_readiness")
        return cls(
            id=f.required_text("id"),
            day=f.required_day("day"),
            score=f.whole("score"),
            timestamp=f.moment("timestamp"),
            temperature_deviation=f.number("temperature_deviation"),
            temperature_trend_deviation=f.number("temperature_trend_deviation"),
            contributors=f.nested("contributors", ReadinessContributors.from_dict),
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
        f = _Fields(raw, "activity contributors")
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
        f = _Fields(raw, "daily_activity")
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
        return cls(average=_unless(_Fields(raw, "spo2_percentage").number("average"), NO_SPO2))


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
        f = _Fields(raw, "daily_spo2")
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
        f = _Fields(raw, "daily_stress")
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
        f = _Fields(raw, "heartrate")
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
        f = _Fields(raw, "workout")
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
class SleepTimeWindow:
    """Oura's optimal bedtime window: seconds from midnight, in a zone `day_tz` s east of UTC."""

    day_tz: int
    start_offset: int
    end_offset: int

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = _Fields(raw, "optimal_bedtime")
        return cls(
            day_tz=f.required_whole("day_tz"),
            start_offset=f.required_whole("start_offset"),
            end_offset=f.required_whole("end_offset"),
        )

    def bounds(self, day: date) -> tuple[datetime, datetime]:
        """The window as moments: offsets counted from the midnight that begins `day`.

        Offsets may be negative (a window starting before that midnight, the evening before).
        """
        midnight = datetime.combine(day, time(0), tzinfo=timezone(timedelta(seconds=self.day_tz)))
        return (
            midnight + timedelta(seconds=self.start_offset),
            midnight + timedelta(seconds=self.end_offset),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class SleepTime:
    """Oura's bedtime guidance for a day (`sleep_time`); no window until it has enough nights."""

    id: str
    day: date
    optimal_bedtime: SleepTimeWindow | None = None
    recommendation: str | None = None  # a SleepTimeRecommendation
    status: str | None = None  # a SleepTimeStatus

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = _Fields(raw, "sleep_time")
        return cls(
            id=f.required_text("id"),
            day=f.required_day("day"),
            optimal_bedtime=f.nested("optimal_bedtime", SleepTimeWindow.from_dict),
            recommendation=f.text("recommendation"),
            status=f.text("status"),
        )

    @property
    def optimal_bedtime_bounds(self) -> tuple[datetime, datetime] | None:
        """The optimal bedtime window as moments, or None without one."""
        return None if self.optimal_bedtime is None else self.optimal_bedtime.bounds(self.day)


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
        f = _Fields(raw, "personal_info")
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
