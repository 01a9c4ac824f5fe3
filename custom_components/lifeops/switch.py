"""Switches: each agent can be turned off without removing LifeOps."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import STATE_OFF, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .core.agents import Agent
from .data import LifeOpsConfigEntry
from .entity import LifeOpsEntity

PARALLEL_UPDATES = 0

AGENT_ENABLED = SwitchEntityDescription(
    key="enabled",
    translation_key="agent_enabled",
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LifeOpsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one enable switch per agent."""
    async_add_entities(LifeOpsAgentSwitch(entry, AGENT_ENABLED, agent) for agent in Agent)


class LifeOpsAgentSwitch(LifeOpsEntity, SwitchEntity, RestoreEntity):
    """Whether an agent acts; on by default, remembered across restarts."""

    _attr_is_on = True

    async def async_added_to_hass(self) -> None:
        """Take back the state the switch had before Home Assistant restarted."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None:
            self._attr_is_on = last.state != STATE_OFF

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Let the agent act."""
        self._attr_is_on = True
        self.async_write_ha_state()

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop the agent acting until turned on again."""
        self._attr_is_on = False
        self.async_write_ha_state()
