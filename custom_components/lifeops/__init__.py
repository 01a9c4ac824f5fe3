"""LifeOps: sleep, activity, work, screen time and habits as Home Assistant entities."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from . import oura_account
from .agents.base import AgentController
from .agents.fitness import FitnessController
from .agents.gamification import STORE_KEY as GAMIFICATION_KEY, GamificationController
from .agents.notifications import NotificationsController
from .agents.scenes import ScenesController
from .agents.screen_time import ScreenTimeController
from .agents.sleep import SleepController
from .agents.work import WorkController
from .const import CONF_NODE_ID, CONF_SITE, DOMAIN, PLATFORMS
from .core.changes import ChangeHub
from .core.settings import Settings
from .dashboard import async_offer_dashboard, async_withdraw_dashboard
from .data import LifeOpsConfigEntry, LifeOpsRuntimeData
from .entity import device_info
from .entry_kind import is_oura_entry
from .intent import async_setup_sentences
from .llm import async_setup_llm_api
from .long_term.store import (
    async_setup_long_term_store,
    async_unload_long_term_store,
    buffer_path,
    remove_buffer,
)
from .oura_account.services import async_setup_oura_services
from .privacy import async_setup_privacy_services
from .services import async_setup_services
from .store import LifeOpsStore
from .sync_link.entry import async_setup_sync
from .sync_link.manager import queue_path, remove_queue
from .texts import async_load as async_load_texts
from .websocket_api import async_setup_websocket_api

if TYPE_CHECKING:
    from .entry_kind import AnyLifeOpsEntry

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


async def async_setup_entry(hass: HomeAssistant, entry: AnyLifeOpsEntry) -> bool:
    """Set up a site, or hand an Oura account to its package."""
    if is_oura_entry(entry):
        return await oura_account.async_setup_entry(hass, entry)
    return await _async_setup_site(hass, entry)


async def _async_setup_site(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> bool:
    """Set up LifeOps for one site from its config entry."""
    settings = _read_settings(entry)
    store = LifeOpsStore(hass, entry.entry_id)
    stored = await store.async_load()
    # The controllers read their stored state from the store; they reach the other agents and
    # the settings through `entry.runtime_data` only once they start.
    # What the agents' state objects changed, for the long-term store (and whoever subscribes).
    changes = ChangeHub()
    runtime = LifeOpsRuntimeData(
        site=entry.data[CONF_SITE],
        node_id=entry.data[CONF_NODE_ID],
        settings=settings,
        store=store,
        enabled=dict(stored.get(ENABLED_KEY) or {}),
        loaded_as=(entry.title, dict(entry.data)),
        changes=changes,
        notifications=NotificationsController(hass, entry, store, settings, changes),
        scenes=ScenesController(hass, entry, store),
        sleep=SleepController(hass, entry, store),
        work=WorkController(hass, entry, store, changes),
        screen_time=ScreenTimeController(hass, entry, store, changes),
        fitness=FitnessController(hass, entry, store),
        gamification=GamificationController(hass, entry, store, changes),
    )
    entry.runtime_data = runtime
    store.register(ENABLED_KEY, lambda: runtime.enabled)
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


async def async_unload_entry(hass: HomeAssistant, entry: AnyLifeOpsEntry) -> bool:
    """Unload a site (saving the agents' state first) or an Oura account."""
    if is_oura_entry(entry):
        return await oura_account.async_unload_entry(hass, entry)
    return await _async_unload_site(hass, entry)


async def _async_unload_site(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> bool:
    runtime = entry.runtime_data
    async_withdraw_dashboard(hass, entry)
    await async_unload_long_term_store(entry)
    for controller in runtime.controllers:
        controller.async_stop()
    await runtime.store.async_save()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: AnyLifeOpsEntry) -> None:
    """Delete what an entry stored: a site's state, buffer and sync queue; Oura's subscriptions."""
    if is_oura_entry(entry):
        await oura_account.async_remove_entry(hass, entry)
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
