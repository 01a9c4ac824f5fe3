"""The base of every LifeOps entity: naming, unique ids and the device it belongs to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .compat import link_to_hub
from .const import DOMAIN
from .core.agents import Agent
from .data import LifeOpsConfigEntry

HUB = "hub"


def device_info(entry: LifeOpsConfigEntry, agent: Agent | None) -> DeviceInfo:
    """The hub device of an entry, or one of its agents' devices (linked to the hub)."""
    node_id = entry.runtime_data.node_id
    hub_identifier = (DOMAIN, node_id)
    if agent is None:
        return DeviceInfo(
            identifiers={hub_identifier},
            entry_type=DeviceEntryType.SERVICE,
            manufacturer="LifeOps",
            model="LifeOps hub",
            translation_key=HUB,
            translation_placeholders={"site": entry.title},
        )
    info = DeviceInfo(
        identifiers={(DOMAIN, f"{node_id}_{agent}")},
        entry_type=DeviceEntryType.SERVICE,
        manufacturer="LifeOps",
        model="LifeOps agent",
        translation_key=agent.value,
    )
    return link_to_hub(info, hub_identifier, entry.runtime_data.hub_device_id)


class LifeOpsEntity(Entity):
    """An entity of one LifeOps entry, on the hub device or an agent's device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        entry: LifeOpsConfigEntry,
        description: EntityDescription,
        agent: Agent | None,
    ) -> None:
        """Name the entity after its description and attach it to its device."""
        self.entity_description = description
        self._entry = entry
        self._agent = agent
        scope = agent.value if agent is not None else HUB
        self._attr_unique_id = f"{entry.runtime_data.node_id}_{scope}_{description.key}"
        self._attr_device_info = device_info(entry, agent)


class LifeOpsClockEntity(LifeOpsEntity):
    """An entity whose state follows the clock.

    `_update_state(now)` sets the state for `now` and returns the next moment it changes; the
    entity recomputes itself then, so nothing polls.
    """

    _unsub_timer: Callable[[], None] | None = None

    def _update_state(self, now: datetime) -> datetime:
        raise NotImplementedError

    async def async_added_to_hass(self) -> None:
        """Compute the first state and schedule the next change; redo it when settings change."""
        await super().async_added_to_hass()
        self._schedule(dt_util.utcnow())
        self.async_on_remove(self._cancel_timer)
        self.async_on_remove(
            self._entry.runtime_data.async_add_settings_listener(self._on_settings_changed)
        )

    @callback
    def _on_settings_changed(self) -> None:
        self._schedule(dt_util.utcnow())
        self.async_write_ha_state()

    @callback
    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    @callback
    def _schedule(self, now: datetime) -> None:
        next_change = self._update_state(now)
        self._cancel_timer()
        self._unsub_timer = async_track_point_in_utc_time(self.hass, self._on_change, next_change)

    @callback
    def _on_change(self, now: datetime) -> None:
        self._unsub_timer = None
        self._schedule(now)
        self.async_write_ha_state()


class LifeOpsAgentEntity(LifeOpsEntity):
    """An entity showing an agent controller's state; it updates when the controller changes."""

    _last_shown: tuple[Any, ...] | None = None
    _next_shown: tuple[Any, ...] | None = None

    def __init__(
        self,
        entry: LifeOpsConfigEntry,
        description: EntityDescription,
        agent: Agent,
    ) -> None:
        """Attach the entity to its agent's device and controller."""
        super().__init__(entry, description, agent)
        self.agent = agent

    async def async_added_to_hass(self) -> None:
        """Follow the controller."""
        await super().async_added_to_hass()
        for controller in self._entry.runtime_data.controllers:
            if controller.agent is self.agent:
                self.async_on_remove(controller.async_add_listener(self._on_agent_changed))

    def _shown(self) -> tuple[Any, ...]:
        """What the entity shows, as plain values: its state's inputs and attributes."""
        return (
            self.available,
            self.extra_state_attributes,
            *(getattr(self, name) for name in _state_properties(type(self))),
        )

    @callback
    def _on_agent_changed(self) -> None:
        # The agents tell their entities about every change they make; most changes leave a
        # given entity as it was, and writing an unchanged state costs the loop for nothing.
        if (shown := self._shown()) != self._last_shown:
            self._next_shown = shown
            self.async_write_ha_state()

    @callback
    def _async_write_ha_state(self) -> None:
        """Write the state, remembering what it showed (however the write was asked for)."""
        shown, self._next_shown = self._next_shown, None
        self._last_shown = shown if shown is not None else self._shown()
        super()._async_write_ha_state()


@cache
def _state_properties(cls: type[Entity]) -> tuple[str, ...]:
    """The properties an entity class derives its state from (sensor, switch, calendar...)."""
    return tuple(name for name in ("native_value", "is_on", "event") if hasattr(cls, name))
