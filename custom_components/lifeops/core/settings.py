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

# What the agents watch and how they act, set in the options flow's other steps.
ACTIVITY_SOURCES: Final = "activity_sources"
SLEEP_SCORE_ENTITY: Final = "sleep_score_entity"
POOR_SLEEP_THRESHOLD: Final = "poor_sleep_threshold"
BEDTIME_SOURCE: Final = "bedtime_source"
RECOMMENDED_BEDTIME_ENTITY: Final = "recommended_bedtime_entity"
SCENE_MODE: Final = "scene_mode"
SCENE_BRIGHTNESS_PCT: Final = "scene_brightness_pct"
SCENE_COLOR_TEMP_KELVIN: Final = "scene_color_temp_kelvin"
SCENE_TRANSITION_SECONDS: Final = "scene_transition_seconds"
SCENE_RESTORE_ON_END: Final = "scene_restore_on_end"
WORK_SOURCES: Final = "work_sources"
WORK_CALENDARS: Final = "work_calendars"
WORK_KEYWORDS: Final = "work_keywords"
SCREEN_TIME_SOURCES: Final = "screen_time_sources"
READINESS_ENTITY: Final = "readiness_entity"
ACTIVITY_SCORE_ENTITY: Final = "activity_score_entity"
ACTIVE_CALORIES_ENTITY: Final = "active_calories_entity"
STEPS_ENTITY: Final = "steps_entity"
STEP_GOAL: Final = "step_goal"
OCCUPANCY_ENTITY: Final = "occupancy_entity"
IN_BED_ENTITY: Final = "in_bed_entity"
WORKOUT_ENTITY: Final = "workout_entity"

BEDTIME_FROM_SCHEDULE: Final = "schedule"
BEDTIME_FROM_RECOMMENDATION: Final = "recommended"
SCENE_DIM: Final = "dim"
SCENE_OFF: Final = "off"

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
ERROR_OUT_OF_RANGE: Final = "out_of_range"
ERROR_INVALID_CHOICE: Final = "invalid_choice"
ERROR_RECOMMENDED_BEDTIME_ENTITY_REQUIRED: Final = "recommended_bedtime_entity_required"
ERROR_INVALID_KEYWORDS: Final = "invalid_keywords"


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
    # Sleep agent
    activity_sources: tuple[str, ...] = ()
    sleep_score_entity: str | None = None
    poor_sleep_threshold: int = 70
    bedtime_source: str = BEDTIME_FROM_SCHEDULE
    recommended_bedtime_entity: str | None = None
    in_bed_entity: str | None = None
    # Home scenes
    scene_mode: str = SCENE_DIM
    scene_brightness_pct: int = 30
    scene_color_temp_kelvin: int = 2200
    scene_transition_seconds: int = 60
    scene_restore_on_end: bool = True
    # Work-life and screen time
    work_sources: tuple[str, ...] = ()
    work_calendars: tuple[str, ...] = ()
    work_keywords: tuple[str, ...] = ()
    screen_time_sources: tuple[str, ...] = ()
    # Fitness
    readiness_entity: str | None = None
    activity_score_entity: str | None = None
    active_calories_entity: str | None = None
    steps_entity: str | None = None
    step_goal: int = 8000
    workout_entity: str | None = None
    # Site
    occupancy_entity: str | None = None

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
            activity_sources=tuple(options.get(ACTIVITY_SOURCES, ())),
            sleep_score_entity=options.get(SLEEP_SCORE_ENTITY) or None,
            poor_sleep_threshold=int(
                options.get(POOR_SLEEP_THRESHOLD, defaults.poor_sleep_threshold)
            ),
            bedtime_source=str(options.get(BEDTIME_SOURCE, defaults.bedtime_source)),
            recommended_bedtime_entity=options.get(RECOMMENDED_BEDTIME_ENTITY) or None,
            in_bed_entity=options.get(IN_BED_ENTITY) or None,
            scene_mode=str(options.get(SCENE_MODE, defaults.scene_mode)),
            scene_brightness_pct=int(
                options.get(SCENE_BRIGHTNESS_PCT, defaults.scene_brightness_pct)
            ),
            scene_color_temp_kelvin=int(
                options.get(SCENE_COLOR_TEMP_KELVIN, defaults.scene_color_temp_kelvin)
            ),
            scene_transition_seconds=int(
                options.get(SCENE_TRANSITION_SECONDS, defaults.scene_transition_seconds)
            ),
            scene_restore_on_end=bool(
                options.get(SCENE_RESTORE_ON_END, defaults.scene_restore_on_end)
            ),
            work_sources=tuple(options.get(WORK_SOURCES, ())),
            work_calendars=tuple(options.get(WORK_CALENDARS, ())),
            work_keywords=tuple(options.get(WORK_KEYWORDS, ())),
            screen_time_sources=tuple(options.get(SCREEN_TIME_SOURCES, ())),
            readiness_entity=options.get(READINESS_ENTITY) or None,
            activity_score_entity=options.get(ACTIVITY_SCORE_ENTITY) or None,
            active_calories_entity=options.get(ACTIVE_CALORIES_ENTITY) or None,
            steps_entity=options.get(STEPS_ENTITY) or None,
            step_goal=int(options.get(STEP_GOAL, defaults.step_goal)),
            workout_entity=options.get(WORKOUT_ENTITY) or None,
            occupancy_entity=options.get(OCCUPANCY_ENTITY) or None,
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
            ACTIVITY_SOURCES: list(self.activity_sources),
            SLEEP_SCORE_ENTITY: self.sleep_score_entity,
            POOR_SLEEP_THRESHOLD: self.poor_sleep_threshold,
            BEDTIME_SOURCE: self.bedtime_source,
            RECOMMENDED_BEDTIME_ENTITY: self.recommended_bedtime_entity,
            IN_BED_ENTITY: self.in_bed_entity,
            SCENE_MODE: self.scene_mode,
            SCENE_BRIGHTNESS_PCT: self.scene_brightness_pct,
            SCENE_COLOR_TEMP_KELVIN: self.scene_color_temp_kelvin,
            SCENE_TRANSITION_SECONDS: self.scene_transition_seconds,
            SCENE_RESTORE_ON_END: self.scene_restore_on_end,
            WORK_SOURCES: list(self.work_sources),
            WORK_CALENDARS: list(self.work_calendars),
            WORK_KEYWORDS: list(self.work_keywords),
            SCREEN_TIME_SOURCES: list(self.screen_time_sources),
            READINESS_ENTITY: self.readiness_entity,
            ACTIVITY_SCORE_ENTITY: self.activity_score_entity,
            ACTIVE_CALORIES_ENTITY: self.active_calories_entity,
            STEPS_ENTITY: self.steps_entity,
            STEP_GOAL: self.step_goal,
            WORKOUT_ENTITY: self.workout_entity,
            OCCUPANCY_ENTITY: self.occupancy_entity,
        }


TARGET_KEYS: Final = frozenset(
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


def merge_targets(options: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Stored options with the targets replaced and every other option kept as it was.

    `validate` reads only the targets; the rest of the `Settings` it returns holds defaults,
    which must not overwrite what the options flow's other steps stored.
    """
    targets = {k: v for k, v in settings.as_options().items() if k in TARGET_KEYS}
    return {**options, **targets}


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
    try:
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except (ValueError, OverflowError):  # not a number, or an integer beyond any float
        return None
    return None


def _minutes_between(start: time, end: time) -> int:
    """Minutes from start forward to end on a 24-hour clock (0 when equal)."""
    return ((end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)) % (24 * 60)


def validate(
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


# The options flow's other steps, and the keys each one edits.
SECTION_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "sleep": (
        ACTIVITY_SOURCES,
        SLEEP_SCORE_ENTITY,
        POOR_SLEEP_THRESHOLD,
        BEDTIME_SOURCE,
        RECOMMENDED_BEDTIME_ENTITY,
        IN_BED_ENTITY,
    ),
    "scene": (
        SCENE_MODE,
        SCENE_BRIGHTNESS_PCT,
        SCENE_COLOR_TEMP_KELVIN,
        SCENE_TRANSITION_SECONDS,
        SCENE_RESTORE_ON_END,
    ),
    "work": (WORK_SOURCES, WORK_CALENDARS, WORK_KEYWORDS),
    "screen_time": (SCREEN_TIME_SOURCES,),
    "fitness": (
        READINESS_ENTITY,
        ACTIVITY_SCORE_ENTITY,
        ACTIVE_CALORIES_ENTITY,
        STEPS_ENTITY,
        STEP_GOAL,
        WORKOUT_ENTITY,
    ),
    "site": (OCCUPANCY_ENTITY,),
}

# Keys holding one entity id, and keys holding a list of them (checked to exist by the HA layer).
ENTITY_KEYS: Final = frozenset(
    {
        SLEEP_SCORE_ENTITY,
        RECOMMENDED_BEDTIME_ENTITY,
        READINESS_ENTITY,
        ACTIVITY_SCORE_ENTITY,
        ACTIVE_CALORIES_ENTITY,
        STEPS_ENTITY,
        OCCUPANCY_ENTITY,
        IN_BED_ENTITY,
        WORKOUT_ENTITY,
    }
)
ENTITY_LIST_KEYS: Final = frozenset(
    {ACTIVITY_SOURCES, WORK_SOURCES, WORK_CALENDARS, SCREEN_TIME_SOURCES}
)

# Whole-number options with their allowed range (inclusive).
_RANGES: Final[dict[str, tuple[int, int]]] = {
    POOR_SLEEP_THRESHOLD: (0, 100),
    SCENE_BRIGHTNESS_PCT: (1, 100),
    SCENE_COLOR_TEMP_KELVIN: (1500, 6500),
    SCENE_TRANSITION_SECONDS: (0, 600),
    STEP_GOAL: (1, 100_000),
}
_CHOICES: Final[dict[str, frozenset[str]]] = {
    BEDTIME_SOURCE: frozenset({BEDTIME_FROM_SCHEDULE, BEDTIME_FROM_RECOMMENDATION}),
    SCENE_MODE: frozenset({SCENE_DIM, SCENE_OFF}),
}
MAX_KEYWORD_LENGTH: Final = 64


def parse_keywords(value: Any) -> tuple[str, ...] | None:
    """Keywords from a list or a comma-separated text; None when they cannot be read."""
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return None
    keywords: list[str] = []
    for item in items:
        if not isinstance(item, str) or len(item.strip()) > MAX_KEYWORD_LENGTH:
            return None
        if item.strip() and item.strip().casefold() not in {k.casefold() for k in keywords}:
            keywords.append(item.strip())
    return tuple(keywords)


def validate_section(
    section: str, user_input: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Check one options step's input.

    Returns the options to store for that step (merged by the caller over the stored ones) and
    no errors, or None and an error key per bad field. Entity existence is the HA layer's check.
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key in SECTION_KEYS[section]:
        raw = user_input.get(key)
        if key in _RANGES:
            low, high = _RANGES[key]
            number = _number(raw)
            if number is None or math.isnan(number):
                errors[key] = ERROR_NOT_A_NUMBER
            elif not number.is_integer():
                errors[key] = ERROR_NOT_WHOLE
            elif not low <= number <= high:
                errors[key] = ERROR_OUT_OF_RANGE
            else:
                values[key] = int(number)
        elif key in _CHOICES:
            if raw not in _CHOICES[key]:
                errors[key] = ERROR_INVALID_CHOICE
            else:
                values[key] = raw
        elif key == SCENE_RESTORE_ON_END:
            values[key] = bool(raw)
        elif key == WORK_KEYWORDS:
            keywords = parse_keywords(raw)
            if keywords is None:
                errors[key] = ERROR_INVALID_KEYWORDS
            else:
                values[key] = list(keywords)
        elif key in ENTITY_LIST_KEYS:
            values[key] = list(raw or ())
        elif key in ENTITY_KEYS:
            values[key] = raw or None
    if (
        section == "sleep"
        and values.get(BEDTIME_SOURCE) == BEDTIME_FROM_RECOMMENDATION
        and not values.get(RECOMMENDED_BEDTIME_ENTITY)
    ):
        errors[RECOMMENDED_BEDTIME_ENTITY] = ERROR_RECOMMENDED_BEDTIME_ENTITY_REQUIRED
    if errors:
        return None, errors
    return values, {}
