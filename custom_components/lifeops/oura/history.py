"""Oura documents as figures over time: one point a day, heart rate one point an hour.

No Home Assistant imports: the integration turns these points into long-term statistics, and the
same functions serve the API backfill, the regular polls and the import of Oura's own data export.
A point covers an hour that starts on a whole UTC hour (what long-term statistics store): a day's
figure sits at the hour holding the start of that day in the person's time zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

from .models import DailyActivity, DailySpO2, DailyStress, HeartRate, Workout
from .more_documents import DailyCardiovascularAge, VO2Max
from .sleep_documents import DailyReadiness, DailySleep, SleepPeriod, SleepType

SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600


@dataclass(slots=True)
class OuraDocuments:
    """Documents of every kind LifeOps keeps history of, as fetched or imported (any order)."""

    daily_sleep: list[DailySleep] = field(default_factory=list)
    sleep: list[SleepPeriod] = field(default_factory=list)
    daily_readiness: list[DailyReadiness] = field(default_factory=list)
    daily_activity: list[DailyActivity] = field(default_factory=list)
    daily_spo2: list[DailySpO2] = field(default_factory=list)
    daily_stress: list[DailyStress] = field(default_factory=list)
    heartrate: list[HeartRate] = field(default_factory=list)
    workout: list[Workout] = field(default_factory=list)
    vo2_max: list[VO2Max] = field(default_factory=list)
    daily_cardiovascular_age: list[DailyCardiovascularAge] = field(default_factory=list)
    # Heart rate already reduced to hourly points (a backfill reduces each fetched week at once,
    # so a year of samples is never held in memory); `build_series` adds them to the series.
    heartrate_hours: list[Point] = field(default_factory=list)

    def extend(self, other: OuraDocuments) -> None:
        """Add another batch's documents to these."""
        for name in _KINDS:
            getattr(self, name).extend(getattr(other, name))

    def counts(self) -> dict[str, int]:
        """How many documents of each kind."""
        return {name: len(getattr(self, name)) for name in _KINDS}


_KINDS = (
    "daily_sleep",
    "sleep",
    "daily_readiness",
    "daily_activity",
    "daily_spo2",
    "daily_stress",
    "heartrate",
    "workout",
    "vo2_max",
    "daily_cardiovascular_age",
)


@dataclass(frozen=True, slots=True)
class Point:
    """One hour's figure: its start (a whole UTC hour) and the mean, lowest and highest value."""

    start: datetime
    mean: float
    min: float
    max: float


@dataclass(frozen=True, slots=True)
class Metric:
    """A figure LifeOps keeps history of: its key (also its sensor's key) and its unit."""

    key: str
    unit: str | None


# Oura's own line between a nap and a night (`long_sleep` is a period of more than 3 hours).
MIN_NIGHT_SECONDS = 3 * SECONDS_PER_HOUR


def is_night(period: SleepPeriod) -> bool:
    """Whether a period is a night's sleep: a long sleep, or another one as long as a night.

    Naps and the minute-long periods Oura files before a night (efficiency 3, no heart rate)
    are not: shown as "last night" they would read as a night of 30 seconds.
    """
    if period.type in (SleepType.DELETED, SleepType.REST):
        return False
    if period.type == SleepType.LONG_SLEEP:
        return True
    return (period.total_sleep_duration or 0) >= MIN_NIGHT_SECONDS


def main_sleep_by_day(periods: Iterable[SleepPeriod]) -> dict[date, SleepPeriod]:
    """Each day's main sleep: its long sleep, else its longest night-long period.

    A day with only naps, rests or short periods has none (its sleep figures are unknown).
    """
    best: dict[date, SleepPeriod] = {}
    for period in periods:
        if not is_night(period):
            continue
        current = best.get(period.day)
        if current is None or _rank(period) > _rank(current):
            best[period.day] = period
    return best


def _rank(period: SleepPeriod) -> tuple[bool, int]:
    return period.type == SleepType.LONG_SLEEP, period.total_sleep_duration or 0


def _minutes(seconds: int | None) -> float | None:
    return None if seconds is None else seconds / SECONDS_PER_MINUTE


def _hours(seconds: int | None) -> float | None:
    return None if seconds is None else seconds / SECONDS_PER_HOUR


type _DayValue[T] = Callable[[T], float | int | None]

# What each daily figure is read from. Units are those Home Assistant's statistics know.
_SLEEP_METRICS: tuple[tuple[Metric, _DayValue[SleepPeriod]], ...] = (
    (Metric("total_sleep", "h"), lambda p: _hours(p.total_sleep_duration)),
    (Metric("deep_sleep", "min"), lambda p: _minutes(p.deep_sleep_duration)),
    (Metric("rem_sleep", "min"), lambda p: _minutes(p.rem_sleep_duration)),
    (Metric("light_sleep", "min"), lambda p: _minutes(p.light_sleep_duration)),
    (Metric("awake_time", "min"), lambda p: _minutes(p.awake_time)),
    (Metric("sleep_efficiency", "%"), lambda p: p.efficiency),
    (Metric("sleep_latency", "min"), lambda p: _minutes(p.latency)),
    (Metric("lowest_heart_rate", "bpm"), lambda p: p.lowest_heart_rate),
    (Metric("average_hrv", "ms"), lambda p: p.average_hrv),
)
_DAILY_SLEEP_METRICS: tuple[tuple[Metric, _DayValue[DailySleep]], ...] = (
    (Metric("sleep_score", None), lambda d: d.score),
)
_READINESS_METRICS: tuple[tuple[Metric, _DayValue[DailyReadiness]], ...] = (
    (Metric("readiness_score", None), lambda d: d.score),
    (Metric("temperature_deviation", "°C"), lambda d: d.temperature_deviation),
)
_ACTIVITY_METRICS: tuple[tuple[Metric, _DayValue[DailyActivity]], ...] = (
    (Metric("activity_score", None), lambda d: d.score),
    (Metric("steps", "steps"), lambda d: d.steps),
    (Metric("active_calories", "kcal"), lambda d: d.active_calories),
)
_SPO2_METRICS: tuple[tuple[Metric, _DayValue[DailySpO2]], ...] = (
    (Metric("spo2", "%"), lambda d: d.spo2_percentage.average if d.spo2_percentage else None),
)
_STRESS_METRICS: tuple[tuple[Metric, _DayValue[DailyStress]], ...] = (
    (Metric("stress_high", "min"), lambda d: _minutes(d.stress_high)),
)
_VO2_MAX_METRICS: tuple[tuple[Metric, _DayValue[VO2Max]], ...] = (
    (Metric("vo2_max", "mL/(kg·min)"), lambda d: d.vo2_max),
)
_CARDIOVASCULAR_AGE_METRICS: tuple[tuple[Metric, _DayValue[DailyCardiovascularAge]], ...] = (
    (Metric("cardiovascular_age", "y"), lambda d: d.vascular_age),
)
HEART_RATE = Metric("heart_rate", "bpm")

METRICS: tuple[Metric, ...] = (
    *(metric for metric, _ in _DAILY_SLEEP_METRICS),
    *(metric for metric, _ in _READINESS_METRICS),
    *(metric for metric, _ in _ACTIVITY_METRICS),
    *(metric for metric, _ in _SLEEP_METRICS),
    *(metric for metric, _ in _SPO2_METRICS),
    *(metric for metric, _ in _STRESS_METRICS),
    *(metric for metric, _ in _VO2_MAX_METRICS),
    *(metric for metric, _ in _CARDIOVASCULAR_AGE_METRICS),
    HEART_RATE,
)


class _Dated(Protocol):
    @property
    def day(self) -> date: ...


def day_start(day: date, zone: tzinfo) -> datetime:
    """The whole UTC hour holding the first moment of `day` in `zone`."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    return start.replace(minute=0, second=0, microsecond=0)


def _daily[T: _Dated](
    series: dict[str, list[Point]],
    documents: Iterable[T],
    metrics: Sequence[tuple[Metric, _DayValue[T]]],
    zone: tzinfo,
) -> None:
    # A later document for the same day replaces an earlier one (Oura revises a day's figures).
    by_day: dict[date, T] = {}
    for document in documents:
        by_day[document.day] = document
    for day in sorted(by_day):
        start = day_start(day, zone)
        for metric, value_fn in metrics:
            value = value_fn(by_day[day])
            if value is not None:
                series[metric.key].append(Point(start, value, value, value))


def hourly_heart_rate(samples: Iterable[HeartRate]) -> list[Point]:
    """Heart-rate samples as one point an hour: mean, lowest and highest bpm of that hour."""
    total: dict[datetime, int] = defaultdict(int)
    count: dict[datetime, int] = defaultdict(int)
    low: dict[datetime, int] = {}
    high: dict[datetime, int] = {}
    for sample in samples:
        moment = sample.timestamp.astimezone(UTC)
        hour = moment.replace(minute=0, second=0, microsecond=0)
        bpm = sample.bpm
        total[hour] += bpm
        count[hour] += 1
        if hour not in low or bpm < low[hour]:
            low[hour] = bpm
        if hour not in high or bpm > high[hour]:
            high[hour] = bpm
    return [Point(hour, total[hour] / count[hour], low[hour], high[hour]) for hour in sorted(total)]


def build_series(documents: OuraDocuments, zone: tzinfo) -> dict[str, list[Point]]:
    """Every metric's points, oldest first; a metric without data has an empty list."""
    series: dict[str, list[Point]] = {metric.key: [] for metric in METRICS}
    _daily(series, documents.daily_sleep, _DAILY_SLEEP_METRICS, zone)
    _daily(series, documents.daily_readiness, _READINESS_METRICS, zone)
    _daily(series, documents.daily_activity, _ACTIVITY_METRICS, zone)
    _daily(series, main_sleep_by_day(documents.sleep).values(), _SLEEP_METRICS, zone)
    _daily(series, documents.daily_spo2, _SPO2_METRICS, zone)
    _daily(series, documents.daily_stress, _STRESS_METRICS, zone)
    _daily(series, documents.vo2_max, _VO2_MAX_METRICS, zone)
    _daily(series, documents.daily_cardiovascular_age, _CARDIOVASCULAR_AGE_METRICS, zone)
    series[HEART_RATE.key] = sorted(
        [*documents.heartrate_hours, *hourly_heart_rate(documents.heartrate)],
        key=lambda point: point.start,
    )
    return series


def split_range(start: datetime, end: datetime, step: timedelta) -> list[tuple[datetime, datetime]]:
    """`start`..`end` cut into consecutive pieces no longer than `step` (for ranged requests)."""
    pieces: list[tuple[datetime, datetime]] = []
    while start < end:
        piece_end = min(start + step, end)
        pieces.append((start, piece_end))
        start = piece_end
    return pieces
