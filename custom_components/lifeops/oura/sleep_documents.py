"""Oura's sleep documents: the night's periods, daily sleep and readiness, bedtime guidance.

Read as `models` reads the rest (see its docstring): Oura's field names, only a document's
identity required, an odd field left out, Oura's no-value markers read as None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Self

from .fields import Fields, unless
from .models import Sample


class SleepType(StrEnum):
    """What kind of sleep period a `SleepPeriod` is."""

    DELETED = "deleted"  # deleted by the user
    SLEEP = "sleep"  # a confirmed nap of 15 min to 3 h; counts for the day's scores
    LONG_SLEEP = "long_sleep"  # longer than 3 h; counts for the day's scores by itself
    LATE_NAP = "late_nap"  # a confirmed nap ending after 6 pm; counts for the next day
    REST = "rest"  # detected as sleep, but the user said it was not


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


NO_LOWEST_HEART_RATE = 255  # Oura's lowest_heart_rate of a period it could not measure


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
        f = Fields(raw, "sleep contributors")
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
        f = Fields(raw, "daily_sleep")
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
        f = Fields(raw, "readiness contributors")
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
        f = Fields(raw, "sleep readiness")
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
        f = Fields(raw, "sleep")
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
            lowest_heart_rate=unless(f.whole("lowest_heart_rate"), NO_LOWEST_HEART_RATE),
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
        f = Fields(raw, "daily_readiness")
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
class SleepTimeWindow:
    """Oura's optimal bedtime window: seconds from midnight, in a zone `day_tz` s east of UTC."""

    day_tz: int
    start_offset: int
    end_offset: int

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "optimal_bedtime")
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
        f = Fields(raw, "sleep_time")
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
