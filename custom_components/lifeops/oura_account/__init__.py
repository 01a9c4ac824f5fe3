"""An Oura account's Home Assistant layer: its setup, coordinator, sensors, history and webhooks.

The root modules hand an Oura account's entry to this package once they know its kind
(`entry_kind`); the Oura API itself (HA-free) is the `oura` package beside this one.
"""

from __future__ import annotations

import contextlib

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.config_entry_oauth2_flow import (
    OAuth2Session,
    async_get_config_entry_implementation,
)

from ..const import CONF_HISTORY_DAYS, DOMAIN, OURA_PLATFORMS
from ..store import OuraStore
from .coordinator import OuraConfigEntry, OuraCoordinator, auth_issue_id
from .statistics import DEFAULT_HISTORY_DAYS
from .webhook import OuraWebhooks, async_remove_subscriptions


async def async_setup_entry(hass: HomeAssistant, entry: OuraConfigEntry) -> bool:
    """Sign in to Oura with the entry's OAuth2 token and poll the account."""
    implementation = await async_get_config_entry_implementation(hass, entry)
    coordinator = OuraCoordinator(hass, entry, OAuth2Session(hass, entry, implementation))
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, OURA_PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    # Months of history and webhook subscriptions take a while: neither holds up the setup.
    entry.async_create_background_task(
        hass,
        coordinator.async_backfill(entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS)),
        "lifeops Oura history",
    )
    webhooks = OuraWebhooks(hass, entry, coordinator, implementation)
    entry.async_create_background_task(hass, webhooks.async_start(), "lifeops Oura webhooks")
    return True


async def _async_entry_updated(hass: HomeAssistant, entry: OuraConfigEntry) -> None:
    """Reload for new options, or for a new sign-in after Oura refused the old one.

    A token refreshed on the way (also an entry update) changes nothing.
    """
    coordinator = entry.runtime_data
    signed_out = isinstance(coordinator.last_exception, ConfigEntryAuthFailed)
    if signed_out or dict(entry.options) != coordinator.options:
        hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: OuraConfigEntry) -> bool:
    """Save what the account keeps, then unload its sensors."""
    await entry.runtime_data.store.async_save()
    return await hass.config_entries.async_unload_platforms(entry, OURA_PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: OuraConfigEntry) -> None:
    """Delete the account's repair issue, webhook subscriptions and store."""
    ir.async_delete_issue(hass, DOMAIN, auth_issue_id(entry))
    store = OuraStore(hass, entry.entry_id)
    await store.async_load()
    with contextlib.suppress(ValueError):  # no implementation: nothing was subscribed
        implementation = await async_get_config_entry_implementation(hass, entry)
        await async_remove_subscriptions(hass, store, implementation)
    await store.async_remove()
