"""Switches: each agent can be turned off without removing LifeOps.

They are the person's choices, not the site's: with sync, an agent turned off at one site is
turned off at the others (the record `settings/agents`, last writer wins per agent).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

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


class LifeOpsAgentSwitch(LifeOpsEntity, SwitchEntity):
    """Whether an agent acts; on by default, kept in LifeOps' store across restarts.

    With sync, a flip at another site turns it here too.
    """

    def __init__(
        self, entry: LifeOpsConfigEntry, description: SwitchEntityDescription, agent: Agent
    ) -> None:
        """Bind the switch to its agent."""
        super().__init__(entry, description, agent)
        self.agent = agent

    async def async_added_to_hass(self) -> None:
        """Follow flips made elsewhere (another site's, through sync)."""
        self.async_on_remove(
            self._entry.runtime_data.async_add_enabled_listener(self.async_write_ha_state)
        )

    @property
    def is_on(self) -> bool:
        """Whether the agent may act."""
        return self._entry.runtime_data.is_enabled(self.agent)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Let the agent act."""
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop the agent acting until turned on again."""
        await self._async_set(False)

    async def _async_set(self, enabled: bool) -> None:
        self._entry.runtime_data.async_set_enabled({self.agent.value: enabled})
        self.async_write_ha_state()
