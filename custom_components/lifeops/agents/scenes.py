"""Home scenes: wind-down dims (or turns off) the chosen lights, whatever brand they are."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.light import (
    ATTR_BRIGHTNESS,
    ATTR_COLOR_MODE,
    ATTR_COLOR_TEMP_KELVIN,
    ATTR_HS_COLOR,
    ATTR_MAX_COLOR_TEMP_KELVIN,
    ATTR_MIN_COLOR_TEMP_KELVIN,
    ATTR_RGB_COLOR,
    ATTR_SUPPORTED_COLOR_MODES,
    ATTR_XY_COLOR,
)
from homeassistant.components.light.const import ColorMode, LightEntityFeature
from homeassistant.const import ATTR_SUPPORTED_FEATURES, STATE_ON
from homeassistant.core import HomeAssistant, State, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util

from ..const import LOGGER
from ..core.agents import Agent
from ..core.scenes import LightCall, LightInfo, SceneOptions, plan_wind_down
from ..data import LifeOpsConfigEntry
from ..store import LifeOpsStore
from .base import AgentController

STORE_KEY = "scene_snapshot"
OCCUPIED_STATES = {"home", "on", "true"}
_COLOR_ATTRS = {
    ColorMode.HS: ATTR_HS_COLOR,
    ColorMode.RGB: ATTR_RGB_COLOR,
    ColorMode.XY: ATTR_XY_COLOR,
}


def light_info(state: State) -> LightInfo:
    """What a light can do, read from its state (any integration's light looks the same)."""
    modes = set(state.attributes.get(ATTR_SUPPORTED_COLOR_MODES) or ())
    features = int(state.attributes.get(ATTR_SUPPORTED_FEATURES) or 0)
    return LightInfo(
        entity_id=state.entity_id,
        is_on=state.state == STATE_ON,
        supports_brightness=bool(modes - {ColorMode.ONOFF, ColorMode.UNKNOWN}),
        supports_color_temp=ColorMode.COLOR_TEMP in modes,
        min_kelvin=state.attributes.get(ATTR_MIN_COLOR_TEMP_KELVIN),
        max_kelvin=state.attributes.get(ATTR_MAX_COLOR_TEMP_KELVIN),
        supports_transition=bool(features & LightEntityFeature.TRANSITION),
        brightness=state.attributes.get(ATTR_BRIGHTNESS),
    )


def snapshot_of(state: State) -> dict[str, Any]:
    """Enough of a light's state to put it back as it was."""
    snapshot: dict[str, Any] = {"state": state.state}
    if state.state != STATE_ON:
        return snapshot
    if (brightness := state.attributes.get(ATTR_BRIGHTNESS)) is not None:
        snapshot[ATTR_BRIGHTNESS] = brightness
    mode = state.attributes.get(ATTR_COLOR_MODE)
    if mode == ColorMode.COLOR_TEMP:
        snapshot[ATTR_COLOR_TEMP_KELVIN] = state.attributes.get(ATTR_COLOR_TEMP_KELVIN)
    elif mode in _COLOR_ATTRS and state.attributes.get(_COLOR_ATTRS[mode]) is not None:
        snapshot[_COLOR_ATTRS[mode]] = list(state.attributes[_COLOR_ATTRS[mode]])
    return snapshot


class ScenesController(AgentController):
    """Runs the wind-down scene and restores the lights when wind-down ends early."""

    agent = Agent.HOME_SCENES

    def __init__(self, hass: HomeAssistant, entry: LifeOpsConfigEntry, store: LifeOpsStore) -> None:
        """Load the last snapshot (so a restore works after a restart too)."""
        super().__init__(hass, entry, store)
        self.snapshot: dict[str, dict[str, Any]] = dict(store.data.get(STORE_KEY) or {})

    def as_dict(self) -> Any:
        """The snapshot taken when the scene last ran."""
        return self.snapshot

    @property
    def occupied(self) -> bool | None:
        """Whether someone is at this site (None when no occupancy entity is set)."""
        entity_id = self.runtime.settings.occupancy_entity
        if not entity_id or (state := self.hass.states.get(entity_id)) is None:
            return None
        if state.domain == "zone":
            # A zone's state is how many people are in it.
            try:
                return int(state.state) > 0
            except ValueError:
                return None
        return state.state in OCCUPIED_STATES

    def lights(self) -> list[str]:
        """The lights taking part: the chosen ones plus every light in the chosen areas."""
        settings = self.runtime.settings
        chosen = dict.fromkeys(settings.wind_down_lights)
        if settings.wind_down_areas:
            entities = er.async_get(self.hass)
            devices = dr.async_get(self.hass)
            for entry in entities.entities.values():
                if entry.domain != "light" or entry.disabled:
                    continue
                area = entry.area_id
                if area is None and entry.device_id:
                    device = devices.async_get(entry.device_id)
                    area = device.area_id if device else None
                if area in settings.wind_down_areas:
                    chosen[entry.entity_id] = None
        return list(chosen)

    async def async_run_wind_down(self) -> bool:
        """Dim or turn off the lights; False when the agent is off or nobody is here."""
        if not self.enabled or self.occupied is False:
            return False
        states = [s for e in self.lights() if (s := self.hass.states.get(e)) is not None]
        if not states:
            return False
        self.snapshot = {state.entity_id: snapshot_of(state) for state in states}
        self.async_changed()
        settings = self.runtime.settings
        options = SceneOptions(
            mode=settings.scene_mode,
            brightness_pct=settings.scene_brightness_pct,
            color_temp_kelvin=settings.scene_color_temp_kelvin,
            transition_seconds=settings.scene_transition_seconds,
        )
        plan = plan_wind_down([light_info(state) for state in states], options)
        start = dt_util.utcnow()
        for index, call in enumerate(plan):
            if call.delay <= 0:
                await self._async_call(call)
            else:
                self.async_set_timer(
                    f"fade_{index}",
                    start + timedelta(seconds=call.delay),
                    self._caller(call),
                )
        return True

    def _caller(self, call: LightCall) -> Any:
        async def run(now: datetime) -> None:
            await self._async_call(call)

        return run

    async def _async_call(self, call: LightCall) -> None:
        try:
            await self.hass.services.async_call(
                "light",
                call.action,
                {**call.data},
                target={"entity_id": list(call.entity_ids)},
                blocking=True,
            )
        except Exception as err:
            LOGGER.warning("Wind-down could not set %s: %s", call.entity_ids, err)

    @callback
    def async_cancel_fade(self) -> None:
        """Stop a stepped fade that is still under way."""
        for name in [name for name in self._timers if name.startswith("fade_")]:
            self.async_cancel_timer(name)

    async def async_restore(self) -> bool:
        """Put the lights back as they were before the scene; False when there is nothing."""
        self.async_cancel_fade()
        if not self.snapshot:
            return False
        snapshot, self.snapshot = self.snapshot, {}
        for entity_id, saved in snapshot.items():
            if saved["state"] == STATE_ON:
                # None (a light in colour-temperature mode reporting no temperature) would make
                # light.turn_on refuse the whole call and leave the light unrestored.
                data = {k: v for k, v in saved.items() if k != "state" and v is not None}
                call = LightCall(delay=0, action="turn_on", entity_ids=(entity_id,), data=data)
            else:
                call = LightCall(delay=0, action="turn_off", entity_ids=(entity_id,), data={})
            await self._async_call(call)
        self.async_changed()
        return True
