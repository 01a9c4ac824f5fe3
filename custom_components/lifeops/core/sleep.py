"""The sleep agent's rules: wind-down, minutes past bedtime, late-night and poor-sleep nudges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from .schedule import local_datetime, next_occurrence, wind_down_start


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment


def previous_occurrence(now: datetime, at: time, tz: tzinfo) -> datetime:
    """The last moment at or before `now` whose local wall time is `at`."""
    _aware(now)
    today = local_datetime(now, at, tz)
    if today <= now:
        return today
    yesterday_noon = datetime.combine(
        now.astimezone(tz).date() - timedelta(days=1), time(12)
    ).replace(tzinfo=tz)
    return local_datetime(yesterday_noon, at, tz)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(kw_only=True)
class SleepState:
    """What the sleep agent remembers across restarts."""

    wind_down_since: datetime | None = None
    wind_down_until: datetime | None = None
    wind_down_origin: str | None = None
    ended_early_for: datetime | None = None
    late_night_notified_for: datetime | None = None
    poor_sleep_notified_on: date | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-safe copy."""
        return {
            "wind_down_since": _iso(self.wind_down_since),
            "wind_down_until": _iso(self.wind_down_until),
            "wind_down_origin": self.wind_down_origin,
            "ended_early_for": _iso(self.ended_early_for),
            "late_night_notified_for": _iso(self.late_night_notified_for),
            "poor_sleep_notified_on": (
                self.poor_sleep_notified_on.isoformat() if self.poor_sleep_notified_on else None
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SleepState:
        """Read a stored state."""
        poor = data.get("poor_sleep_notified_on")
        return cls(
            wind_down_since=_dt(data.get("wind_down_since")),
            wind_down_until=_dt(data.get("wind_down_until")),
            wind_down_origin=data.get("wind_down_origin"),
            ended_early_for=_dt(data.get("ended_early_for")),
            late_night_notified_for=_dt(data.get("late_night_notified_for")),
            poor_sleep_notified_on=date.fromisoformat(poor) if poor else None,
        )


class SleepRules:
    """The sleep agent's rules as a state machine; every method takes the current time."""

    def __init__(self, state: SleepState | None = None) -> None:
        """Start from a stored state, or a fresh one."""
        self.state = state or SleepState()

    def is_wind_down_active(self, now: datetime) -> bool:
        """Whether wind-down is on at `now`."""
        since, until = self.state.wind_down_since, self.state.wind_down_until
        return since is not None and until is not None and since <= _aware(now) < until

    def start_wind_down(self, now: datetime, until: datetime, origin: str = "manual") -> bool:
        """Start wind-down until `until`; False when it is already on until that moment."""
        if _aware(until) <= _aware(now):
            raise ValueError("wind-down must end in the future")
        if self.is_wind_down_active(now) and self.state.wind_down_until == until:
            return False
        self.state.wind_down_since = now
        self.state.wind_down_until = until
        self.state.wind_down_origin = origin
        return True

    def end_wind_down(self, now: datetime) -> bool:
        """End wind-down now; False when it was not on."""
        if not self.is_wind_down_active(now):
            return False
        self.state.ended_early_for = self.state.wind_down_until
        self._clear()
        return True

    def expire(self, now: datetime) -> bool:
        """Clear a wind-down whose end has passed; True when it did."""
        until = self.state.wind_down_until
        if until is None or until > _aware(now):
            return False
        self._clear()
        return True

    def _clear(self) -> None:
        self.state.wind_down_since = None
        self.state.wind_down_until = None
        self.state.wind_down_origin = None

    def scheduled_start_due(self, now: datetime, bedtime: datetime, minutes: int) -> bool:
        """Whether the schedule should start wind-down now for this bedtime."""
        start = wind_down_start(_aware(bedtime), minutes)
        return (
            start <= _aware(now) < bedtime
            and not self.is_wind_down_active(now)
            and self.state.ended_early_for != bedtime
        )

    def minutes_past_bedtime(
        self, now: datetime, bedtime: time, wake_time: time, tz: tzinfo
    ) -> int | None:
        """Minutes since the last bedtime, while before the wake time that follows it."""
        last_bedtime = previous_occurrence(now, bedtime, tz)
        wake = next_occurrence(last_bedtime, wake_time, tz)
        if now >= wake:
            return None
        elapsed = now.astimezone(UTC) - last_bedtime.astimezone(UTC)
        return int(elapsed.total_seconds() // 60)

    def late_night_activity(
        self,
        now: datetime,
        *,
        bedtime: time,
        wake_time: time,
        tz: tzinfo,
        active: bool,
        threshold_minutes: int = 30,
    ) -> bool:
        """True once a night: a screen is in use more than `threshold_minutes` past bedtime."""
        if not active:
            return False
        if self.minutes_past_bedtime(now, bedtime, wake_time, tz) is None:
            return False
        night = previous_occurrence(now, bedtime, tz)
        # Compared to the second: whole minutes would make 30 min 59 s "not more than 30".
        if now.astimezone(UTC) - night.astimezone(UTC) <= timedelta(minutes=threshold_minutes):
            return False
        if self.state.late_night_notified_for == night:
            return False
        self.state.late_night_notified_for = night
        return True

    def poor_sleep(self, today: date, score: float | None, threshold: float) -> bool:
        """True at most once a day, when last night's score is under the threshold."""
        if score is None or score >= threshold or self.state.poor_sleep_notified_on == today:
            return False
        self.state.poor_sleep_notified_on = today
        return True
