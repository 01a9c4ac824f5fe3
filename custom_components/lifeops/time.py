"""Time entities: bedtime and wake time, editable from a dashboard or an automation."""

from __future__ import annotations

from datetime import time

from homeassistant.components.time import TimeEntity, TimeEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .core.agents import Agent
from .core.settings import BEDTIME, WAKE_TIME
from .data import LifeOpsConfigEntry
from .entity import LifeOpsEntity
from .settings_update import async_update_setting

PARALLEL_UPDATES = 0

TIMES: tuple[TimeEntityDescription, ...] = (
    TimeEntityDescription(
        key=BEDTIME, translation_key=BEDTIME, entity_category=EntityCategory.CONFIG
    ),
    TimeEntityDescription(
        key=WAKE_TIME, translation_key=WAKE_TIME, entity_category=EntityCategory.CONFIG
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LifeOpsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sleep agent's bedtime and wake time."""
    async_add_entities(LifeOpsTime(entry, description, Agent.SLEEP) for description in TIMES)


class LifeOpsTime(LifeOpsEntity, TimeEntity):
    """A target time, stored in the entry's options like the options flow stores it."""

    async def async_added_to_hass(self) -> None:
        """Follow changes made in the options flow."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self._entry.runtime_data.async_add_settings_listener(self.async_write_ha_state)
        )

    @property
    def native_value(self) -> time:
        """The target time."""
        value: time = getattr(self._entry.runtime_data.settings, self.entity_description.key)
        return value

    async def async_set_value(self, value: time) -> None:
        """Change the target; refused (translated, nothing saved) if it breaks a rule."""
        await async_update_setting(
            self.hass, self._entry, self.entity_description.key, value.isoformat()
        )
