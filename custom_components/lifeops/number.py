"""Number entities: how long wind-down lasts, editable from a dashboard or an automation."""

from __future__ import annotations

from homeassistant.components.number import NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .core.agents import Agent
from .core.settings import MAX_WIND_DOWN_MINUTES, WIND_DOWN_MINUTES
from .data import LifeOpsConfigEntry
from .entity import LifeOpsEntity
from .settings_update import async_update_setting

PARALLEL_UPDATES = 0

WIND_DOWN = NumberEntityDescription(
    key=WIND_DOWN_MINUTES,
    translation_key=WIND_DOWN_MINUTES,
    entity_category=EntityCategory.CONFIG,
    native_min_value=0,
    native_max_value=MAX_WIND_DOWN_MINUTES,
    native_step=5,
    native_unit_of_measurement=UnitOfTime.MINUTES,
    mode=NumberMode.SLIDER,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LifeOpsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the wind-down length."""
    async_add_entities([LifeOpsNumber(entry, WIND_DOWN, Agent.SLEEP)])


class LifeOpsNumber(LifeOpsEntity, NumberEntity):
    """A number target, stored in the entry's options like the options flow stores it."""

    async def async_added_to_hass(self) -> None:
        """Follow changes made in the options flow."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self._entry.runtime_data.async_add_settings_listener(self.async_write_ha_state)
        )

    @property
    def native_value(self) -> float:
        """The current value."""
        return float(getattr(self._entry.runtime_data.settings, self.entity_description.key))

    async def async_set_native_value(self, value: float) -> None:
        """Change the value; refused (translated, nothing saved) if it breaks a rule."""
        if not value.is_integer():
            value = round(value)
        await async_update_setting(self.hass, self._entry, self.entity_description.key, int(value))
