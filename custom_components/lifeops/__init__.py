"""LifeOps: sleep, activity, work, screen time and habits as Home Assistant entities."""

from __future__ import annotations

import contextlib
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    issue_registry as ir,
)
from homeassistant.helpers.config_entry_oauth2_flow import (
    OAuth2Session,
    async_get_config_entry_implementation,
)
from homeassistant.helpers.typing import ConfigType

from .agents.base import AgentController
from .agents.fitness import FitnessController
from .agents.gamification import STORE_KEY as GAMIFICATION_KEY, GamificationController
from .agents.notifications import NotificationsController
from .agents.scenes import ScenesController
from .agents.screen_time import ScreenTimeController
from .agents.sleep import SleepController
from .agents.work import WorkController
from .const import CONF_HISTORY_DAYS, CONF_NODE_ID, CONF_SITE, DOMAIN, OURA_PLATFORMS, PLATFORMS
from .core.settings import Settings
from .dashboard import async_offer_dashboard, async_withdraw_dashboard
from .data import LifeOpsConfigEntry, LifeOpsRuntimeData, OuraConfigEntry, is_oura_entry
from .entity import device_info
from .intent import async_setup_sentences
from .llm import async_setup_llm_api
from .long_term.store import (
    async_setup_long_term_store,
    async_unload_long_term_store,
    buffer_path,
    remove_buffer,
)
from .oura_coordinator import OuraCoordinator, auth_issue_id
from .oura_services import async_setup_oura_services
from .oura_statistics import DEFAULT_HISTORY_DAYS
from .oura_webhook import OuraWebhooks, async_remove_subscriptions
from .privacy import async_setup_privacy_services
from .services import async_setup_services
from .store import LifeOpsStore, OuraStore
from .sync_manager import async_setup_sync, queue_path, remove_queue
from .texts import async_load as async_load_texts
from .websocket_api import async_setup_websocket_api

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
ENABLED_KEY = "enabled"


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register LifeOps' actions once, for every entry."""
    async_setup_services(hass)
    async_setup_oura_services(hass)
    # Voice: sentences for Assist (the intents come through the intent platform) and LLM tools.
    async_setup_sentences(hass)
    async_setup_llm_api(hass)
    async_setup_websocket_api(hass)
    async_setup_privacy_services(hass)
    return True


def _read_settings(entry: LifeOpsConfigEntry) -> Settings:
    try:
        return Settings.from_options(entry.options)
    except (TypeError, ValueError) as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_stored_options",
            translation_placeholders={"error": str(err)},
        ) from err


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry[Any]) -> bool:
    """Set up a site or an Oura account from its config entry."""
    if is_oura_entry(entry):
        return await _async_setup_oura(hass, entry)
    return await _async_setup_site(hass, entry)


async def _async_setup_oura(hass: HomeAssistant, entry: OuraConfigEntry) -> bool:
    """Sign in to Oura with the entry's OAuth2 token and poll the account."""
    implementation = await async_get_config_entry_implementation(hass, entry)
    coordinator = OuraCoordinator(hass, entry, OAuth2Session(hass, entry, implementation))
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, OURA_PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_oura_entry_updated))
    # Months of history and webhook subscriptions take a while: neither holds up the setup.
    entry.async_create_background_task(
        hass,
        coordinator.async_backfill(entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS)),
        "lifeops Oura history",
    )
    webhooks = OuraWebhooks(hass, entry, coordinator, implementation)
    entry.async_create_background_task(hass, webhooks.async_start(), "lifeops Oura webhooks")
    return True


async def _async_oura_entry_updated(hass: HomeAssistant, entry: OuraConfigEntry) -> None:
    """Reload for new options, or for a new sign-in after Oura refused the old one.

    A token refreshed on the way (also an entry update) changes nothing.
    """
    coordinator = entry.runtime_data
    signed_out = isinstance(coordinator.last_exception, ConfigEntryAuthFailed)
    if signed_out or dict(entry.options) != coordinator.options:
        hass.config_entries.async_schedule_reload(entry.entry_id)


async def _async_setup_site(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> bool:
    """Set up LifeOps for one site from its config entry."""
    settings = _read_settings(entry)
    store = LifeOpsStore(hass, entry.entry_id)
    stored = await store.async_load()
    runtime = LifeOpsRuntimeData(
        site=entry.data[CONF_SITE],
        node_id=entry.data[CONF_NODE_ID],
        settings=settings,
        store=store,
        enabled=dict(stored.get(ENABLED_KEY) or {}),
        loaded_as=(entry.title, dict(entry.data)),
    )
    entry.runtime_data = runtime
    store.register(ENABLED_KEY, lambda: runtime.enabled)
    runtime.notifications = NotificationsController(hass, entry)
    runtime.scenes = ScenesController(hass, entry)
    runtime.sleep = SleepController(hass, entry)
    runtime.work = WorkController(hass, entry)
    runtime.screen_time = ScreenTimeController(hass, entry)
    runtime.fitness = FitnessController(hass, entry)
    runtime.gamification = GamificationController(hass, entry)
    persisted: tuple[tuple[str, AgentController], ...] = (
        ("notifications", runtime.notifications),
        ("scene_snapshot", runtime.scenes),
        ("sleep", runtime.sleep),
        ("work", runtime.work),
        ("screen_time", runtime.screen_time),
        (GAMIFICATION_KEY, runtime.gamification),
    )
    for key, controller in persisted:
        store.register(key, controller.as_dict)

    # The hub device first: every agent device is linked to it.
    runtime.hub_device_id = (
        dr.async_get(hass)
        .async_get_or_create(config_entry_id=entry.entry_id, **device_info(entry, None))
        .id
    )
    # Achievement and goal names are read from the translation cache by callbacks: load it first.
    await async_load_texts(hass)
    for controller in runtime.controllers:
        await controller.async_start()
    # Sync starts in the background: a service that is away holds nothing up.
    await async_setup_sync(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    async_offer_dashboard(hass)
    await async_setup_long_term_store(hass, entry)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry[Any]) -> bool:
    """Unload a site (saving the agents' state first) or an Oura account."""
    if is_oura_entry(entry):
        await entry.runtime_data.store.async_save()
        return await hass.config_entries.async_unload_platforms(entry, OURA_PLATFORMS)
    return await _async_unload_site(hass, entry)


async def _async_unload_site(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> bool:
    runtime = entry.runtime_data
    async_withdraw_dashboard(hass, entry)
    await async_unload_long_term_store(entry)
    for controller in runtime.controllers:
        controller.async_stop()
    await runtime.store.async_save()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    """Delete what an entry stored: a site's state, buffer and sync queue; Oura's subscriptions."""
    if is_oura_entry(entry):
        ir.async_delete_issue(hass, DOMAIN, auth_issue_id(entry))
        store = OuraStore(hass, entry.entry_id)
        await store.async_load()
        with contextlib.suppress(ValueError):  # no implementation: nothing was subscribed
            implementation = await async_get_config_entry_implementation(hass, entry)
            await async_remove_subscriptions(hass, store, implementation)
        await store.async_remove()
        return
    await LifeOpsStore(hass, entry.entry_id).async_remove()
    await hass.async_add_executor_job(remove_buffer, buffer_path(hass, entry.entry_id))
    await hass.async_add_executor_job(remove_queue, queue_path(hass, entry.entry_id))


async def _async_options_updated(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> None:
    """Apply saved options at once, without reloading: agents re-read their inputs.

    A renamed or moved site (reconfigure: new title or data) is reloaded instead.
    """
    runtime = entry.runtime_data
    if (entry.title, dict(entry.data)) != runtime.loaded_as:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    runtime.settings = _read_settings(entry)
    runtime.notifications.queue.set_quiet_hours(
        (runtime.settings.quiet_hours_start, runtime.settings.quiet_hours_end)
    )
    for controller in runtime.controllers:
        controller.async_stop()
    for controller in runtime.controllers:
        await controller.async_start()
    runtime.async_settings_changed()
