"""The person's targets: when to sleep, how long to work, how much screen time is enough.

`Settings` is what the options flow edits. `Settings.from_options` reads stored options (filling
defaults for what is missing, so older entries keep working), `validate` checks raw form input and
returns error keys per field without changing anything, `Settings.as_options` writes them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
import math
from typing import Any, Final

# Option keys: the same names in the options flow, strings.json and stored options.
BEDTIME: Final = "bedtime"
WAKE_TIME: Final = "wake_time"
WIND_DOWN_MINUTES: Final = "wind_down_minutes"
WIND_DOWN_LIGHTS: Final = "wind_down_lights"
WIND_DOWN_AREAS: Final = "wind_down_areas"
NOTIFY_TARGETS: Final = "notify_targets"
QUIET_HOURS_START: Final = "quiet_hours_start"
QUIET_HOURS_END: Final = "quiet_hours_end"
WEEKLY_WORK_TARGET_HOURS: Final = "weekly_work_target_hours"
WORK_CUTOFF: Final = "work_cutoff"
SCREEN_TIME_LIMIT_MINUTES: Final = "screen_time_limit_minutes"

MAX_WIND_DOWN_MINUTES: Final = 240
MAX_WEEKLY_WORK_HOURS: Final = 168
MAX_SCREEN_TIME_MINUTES: Final = 24 * 60

# Error keys, translated under config.error / options.error in strings.json.
ERROR_INVALID_TIME: Final = "invalid_time"
ERROR_WAKE_EQUALS_BEDTIME: Final = "wake_equals_bedtime"
ERROR_NOT_A_NUMBER: Final = "not_a_number"
ERROR_NEGATIVE: Final = "negative"
ERROR_NOT_WHOLE: Final = "not_whole"
ERROR_WIND_DOWN_TOO_LONG: Final = "wind_down_too_long"
ERROR_WIND_DOWN_OVERLAPS_WAKE: Final = "wind_down_overlaps_wake"
ERROR_QUIET_HOURS_EMPTY: Final = "quiet_hours_empty"
ERROR_WORK_TARGET_TOO_HIGH: Final = "work_target_too_high"
ERROR_SCREEN_TIME_TOO_HIGH: Final = "screen_time_too_high"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The person's targets, as the agents use them."""

    bedtime: time = time(22, 30)
    wake_time: time = time(6, 30)
    wind_down_minutes: int = 45
    wind_down_lights: tuple[str, ...] = ()
    wind_down_areas: tuple[str, ...] = ()
    notify_targets: tuple[str, ...] = ()
    quiet_hours_start: time = time(22, 0)
    quiet_hours_end: time = time(7, 0)
    weekly_work_target_hours: float = 40.0
    work_cutoff: time = time(18, 0)
    screen_time_limit_minutes: int = 120

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Settings:
        """Read settings from stored options; missing keys take their defaults.

        Stored options were validated when saved, so a value that cannot be read here means the
        storage was edited by hand: it raises ValueError rather than guessing.
        """
        defaults = cls()
        return cls(
            bedtime=_time_or(options.get(BEDTIME), defaults.bedtime),
            wake_time=_time_or(options.get(WAKE_TIME), defaults.wake_time),
            wind_down_minutes=int(options.get(WIND_DOWN_MINUTES, defaults.wind_down_minutes)),
            wind_down_lights=tuple(options.get(WIND_DOWN_LIGHTS, ())),
            wind_down_areas=tuple(options.get(WIND_DOWN_AREAS, ())),
            notify_targets=tuple(options.get(NOTIFY_TARGETS, ())),
            quiet_hours_start=_time_or(options.get(QUIET_HOURS_START), defaults.quiet_hours_start),
            quiet_hours_end=_time_or(options.get(QUIET_HOURS_END), defaults.quiet_hours_end),
            weekly_work_target_hours=float(
                options.get(WEEKLY_WORK_TARGET_HOURS, defaults.weekly_work_target_hours)
            ),
            work_cutoff=_time_or(options.get(WORK_CUTOFF), defaults.work_cutoff),
            screen_time_limit_minutes=int(
                options.get(SCREEN_TIME_LIMIT_MINUTES, defaults.screen_time_limit_minutes)
            ),
        )

    def as_options(self) -> dict[str, Any]:
        """Return the settings as storable options (times as HH:MM:SS strings)."""
        return {
            BEDTIME: self.bedtime.isoformat(),
            WAKE_TIME: self.wake_time.isoformat(),
            WIND_DOWN_MINUTES: self.wind_down_minutes,
            WIND_DOWN_LIGHTS: list(self.wind_down_lights),
            WIND_DOWN_AREAS: list(self.wind_down_areas),
            NOTIFY_TARGETS: list(self.notify_targets),
            QUIET_HOURS_START: self.quiet_hours_start.isoformat(),
            QUIET_HOURS_END: self.quiet_hours_end.isoformat(),
            WEEKLY_WORK_TARGET_HOURS: self.weekly_work_target_hours,
            WORK_CUTOFF: self.work_cutoff.isoformat(),
            SCREEN_TIME_LIMIT_MINUTES: self.screen_time_limit_minutes,
        }


OPTION_KEYS: Final = frozenset(
    {
        BEDTIME,
        WAKE_TIME,
        WIND_DOWN_MINUTES,
        WIND_DOWN_LIGHTS,
        WIND_DOWN_AREAS,
        NOTIFY_TARGETS,
        QUIET_HOURS_START,
        QUIET_HOURS_END,
        WEEKLY_WORK_TARGET_HOURS,
        WORK_CUTOFF,
        SCREEN_TIME_LIMIT_MINUTES,
    }
)


def parse_time(value: Any) -> time | None:
    """Parse "HH:MM" or "HH:MM:SS" (what HA's time selector sends); None when it is not one."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        return None
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return None
    return parsed.replace(microsecond=0)


def _time_or(value: Any, default: time) -> time:
    if value is None:
        return default
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError(f"stored time {value!r} is not HH:MM[:SS]")
    return parsed


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _minutes_between(start: time, end: time) -> int:
    """Minutes from start forward to end on a 24-hour clock (0 when equal)."""
    return ((end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)) % (24 * 60)


def validate(  # noqa: PLR0912 - one branch per rule reads clearer than a table
    user_input: Mapping[str, Any],
) -> tuple[Settings | None, dict[str, str]]:
    """Check raw options-form input.

    Returns the settings and no errors, or None and an error key for each bad field. Nothing is
    stored here; the caller saves only when the error dict is empty. Entity and area existence is
    checked by the Home Assistant layer, which knows what exists.
    """
    errors: dict[str, str] = {}
    times: dict[str, time] = {}
    for key in (BEDTIME, WAKE_TIME, QUIET_HOURS_START, QUIET_HOURS_END, WORK_CUTOFF):
        parsed = parse_time(user_input.get(key))
        if parsed is None:
            errors[key] = ERROR_INVALID_TIME
        else:
            times[key] = parsed

    numbers: dict[str, float] = {}
    limits = {
        WIND_DOWN_MINUTES: (MAX_WIND_DOWN_MINUTES, ERROR_WIND_DOWN_TOO_LONG, True),
        WEEKLY_WORK_TARGET_HOURS: (MAX_WEEKLY_WORK_HOURS, ERROR_WORK_TARGET_TOO_HIGH, False),
        SCREEN_TIME_LIMIT_MINUTES: (MAX_SCREEN_TIME_MINUTES, ERROR_SCREEN_TIME_TOO_HIGH, True),
    }
    for key, (maximum, too_high, whole) in limits.items():
        number = _number(user_input.get(key))
        if number is None or math.isnan(number):
            errors[key] = ERROR_NOT_A_NUMBER
        elif number < 0:
            errors[key] = ERROR_NEGATIVE
        elif number > maximum:
            errors[key] = too_high
        elif whole and not number.is_integer():
            errors[key] = ERROR_NOT_WHOLE
        else:
            numbers[key] = number

    if BEDTIME in times and WAKE_TIME in times:
        sleep_window = _minutes_between(times[BEDTIME], times[WAKE_TIME])
        if sleep_window == 0:
            errors[WAKE_TIME] = ERROR_WAKE_EQUALS_BEDTIME
        elif WIND_DOWN_MINUTES in numbers and numbers[WIND_DOWN_MINUTES] >= 24 * 60 - sleep_window:
            errors[WIND_DOWN_MINUTES] = ERROR_WIND_DOWN_OVERLAPS_WAKE
    if (
        QUIET_HOURS_START in times
        and QUIET_HOURS_END in times
        and times[QUIET_HOURS_START] == times[QUIET_HOURS_END]
    ):
        errors[QUIET_HOURS_END] = ERROR_QUIET_HOURS_EMPTY

    if errors:
        return None, errors
    return (
        Settings(
            bedtime=times[BEDTIME],
            wake_time=times[WAKE_TIME],
            wind_down_minutes=int(numbers[WIND_DOWN_MINUTES]),
            wind_down_lights=tuple(user_input.get(WIND_DOWN_LIGHTS) or ()),
            wind_down_areas=tuple(user_input.get(WIND_DOWN_AREAS) or ()),
            notify_targets=tuple(user_input.get(NOTIFY_TARGETS) or ()),
            quiet_hours_start=times[QUIET_HOURS_START],
            quiet_hours_end=times[QUIET_HOURS_END],
            weekly_work_target_hours=numbers[WEEKLY_WORK_TARGET_HOURS],
            work_cutoff=times[WORK_CUTOFF],
            screen_time_limit_minutes=int(numbers[SCREEN_TIME_LIMIT_MINUTES]),
        ),
        {},
    )
