"""The wind-down scene as a plan of light actions, for lights of any brand.

Lights that can take a colour temperature get one; the others get brightness only. Lights that
honour `transition` fade by themselves; for lights that ignore it (Plejd's, for one) the plan
fades in steps. Wind-down never turns on a light that is off and never brightens a light.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

MIN_KELVIN = 1000
MAX_KELVIN = 10000
MODES = ("dim", "off")


@dataclass(frozen=True, kw_only=True)
class LightInfo:
    """What a light is doing and can do."""

    entity_id: str
    is_on: bool
    supports_brightness: bool
    supports_color_temp: bool
    min_kelvin: int | None
    max_kelvin: int | None
    supports_transition: bool
    brightness: int | None


@dataclass(frozen=True, kw_only=True)
class SceneOptions:
    """How wind-down sets the lights."""

    mode: str = "dim"
    brightness_pct: int = 30
    color_temp_kelvin: int = 2200
    transition_seconds: int = 60
    fade_steps: int = 6

    def check(self) -> None:
        """Raise ValueError when an option is out of range."""
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}")
        if not 1 <= self.brightness_pct <= 100:
            raise ValueError("brightness_pct must be 1-100")
        if not MIN_KELVIN <= self.color_temp_kelvin <= MAX_KELVIN:
            raise ValueError("color_temp_kelvin out of range")
        if self.transition_seconds < 0:
            raise ValueError("transition_seconds cannot be negative")
        if self.fade_steps < 1:
            raise ValueError("fade_steps must be at least 1")


@dataclass(frozen=True, kw_only=True)
class LightCall:
    """One `light.turn_on` / `light.turn_off` call, `delay` seconds after the scene starts."""

    delay: float
    action: str
    entity_ids: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)


def _kelvin(light: LightInfo, wanted: int) -> int:
    clamped = wanted
    if light.min_kelvin is not None:
        clamped = max(clamped, light.min_kelvin)
    if light.max_kelvin is not None:
        clamped = min(clamped, light.max_kelvin)
    return clamped


def _steps(start: int, target: int, options: SceneOptions) -> list[tuple[float, int]]:
    """(delay, brightness) pairs from `start` down to `target`, evenly spread."""
    steps = options.fade_steps if options.transition_seconds > 0 else 1
    pairs = []
    for index in range(1, steps + 1):
        delay = options.transition_seconds * (index - 1) / steps if steps > 1 else 0.0
        level = round(start + (target - start) * index / steps)
        pairs.append((round(delay, 3), level))
    return pairs


def plan_wind_down(lights: list[LightInfo], options: SceneOptions) -> list[LightCall]:
    """The calls that take the lights into wind-down, grouped and ordered by delay."""
    options.check()
    target = round(options.brightness_pct * 255 / 100)
    grouped: dict[tuple[float, str, tuple[tuple[str, Any], ...]], list[str]] = defaultdict(list)

    def add(delay: float, action: str, light: LightInfo, data: dict[str, Any]) -> None:
        grouped[(delay, action, tuple(sorted(data.items())))].append(light.entity_id)

    for light in lights:
        if not light.is_on:
            continue
        transition = {"transition": options.transition_seconds} if light.supports_transition else {}
        current = light.brightness if light.brightness is not None else 255
        if options.mode == "off":
            if light.supports_transition or not light.supports_brightness:
                add(0.0, "turn_off", light, transition)
                continue
            for delay, level in _steps(current, 0, options)[:-1]:
                add(delay, "turn_on", light, {"brightness": max(level, 1)})
            add(float(options.transition_seconds), "turn_off", light, {})
            continue
        data: dict[str, Any] = {}
        if light.supports_color_temp:
            data["color_temp_kelvin"] = _kelvin(light, options.color_temp_kelvin)
        if not light.supports_brightness:
            if data:
                add(0.0, "turn_on", light, {**data, **transition})
            continue
        level = min(target, current)
        if light.supports_transition or level == current:
            add(0.0, "turn_on", light, {**data, "brightness": level, **transition})
            continue
        for index, (delay, step_level) in enumerate(_steps(current, level, options)):
            add(delay, "turn_on", light, {**(data if index == 0 else {}), "brightness": step_level})
    calls = [
        LightCall(delay=delay, action=action, entity_ids=tuple(sorted(ids)), data=dict(data))
        for (delay, action, data), ids in grouped.items()
    ]
    return sorted(calls, key=lambda call: (call.delay, call.action, call.entity_ids))
