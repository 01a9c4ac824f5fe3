"""LifeOps: sleep, activity, work, screen time and habits as Home Assistant entities."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import device_registry as dr

from .const import CONF_NODE_ID, CONF_SITE, DOMAIN, PLATFORMS
from .core.settings import Settings
from .data import LifeOpsConfigEntry, LifeOpsRuntimeData
from .entity import device_info


async def async_setup_entry(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> bool:
    """Set up LifeOps for one site from its config entry."""
    try:
        settings = Settings.from_options(entry.options)
    except (TypeError, ValueError) as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_stored_options",
            translation_placeholders={"error": str(err)},
        ) from err
    entry.runtime_data = LifeOpsRuntimeData(
        site=entry.data[CONF_SITE],
        node_id=entry.data[CONF_NODE_ID],
        settings=settings,
    )
    # The hub device first: every agent device is linked to it.
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **device_info(entry, None)
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> bool:
    """Unload a LifeOps entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def _async_options_updated(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> None:
    """Apply saved options at once: reload the entry, no restart of Home Assistant."""
    await hass.config_entries.async_reload(entry.entry_id)
