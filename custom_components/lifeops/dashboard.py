"""The LifeOps dashboard in Home Assistant's sidebar, offered with no YAML to write.

When a site is set up and the frontend is loaded, LifeOps adds a read-only dashboard at
`/lifeops` ("LifeOps" in the sidebar), unless a dashboard with that path exists already. Its
configuration is generated each time it is opened (`core.dashboard.build`) from the entity
registry, so it always shows this installation's entity ids (a second site's suffixes, an Oura
account added later) and follows the settings (work target, screen-time limit). It is removed
when the last site is unloaded.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components import frontend
from homeassistant.components.lovelace.const import LOVELACE_DATA, MODE_YAML
from homeassistant.components.lovelace.dashboard import LovelaceConfig
from homeassistant.components.recorder.statistics import async_list_statistic_ids
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.json import json_bytes, json_fragment
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN, LOGGER
from .core import dashboard
from .core.agents import Agent
from .data import LifeOpsConfigEntry
from .entity import HUB
from .entry_kind import loaded_sites, oura_accounts
from .oura_account.coordinator import account_id
from .oura_account.services import EXPORT_ACCOUNT
from .oura_account.statistics import recorder_running, statistic_id
from .texts import async_texts

URL_PATH: Final = "lifeops"
SIDEBAR_TITLE: Final = "LifeOps"  # the product's name, the same in every language
ICON: Final = "mdi:heart-pulse"

# role -> (agent, entity description key) of a site's own entities.
_SITE_ENTITIES: Final[dict[str, tuple[Agent, str]]] = {
    "next_wind_down": (Agent.SLEEP, "next_wind_down"),
    "next_bedtime": (Agent.SLEEP, "next_bedtime"),
    "wind_down_active": (Agent.SLEEP, "wind_down_active"),
    "bedtime": (Agent.SLEEP, "bedtime"),
    "wake_time": (Agent.SLEEP, "wake_time"),
    "quiet_hours": (Agent.NOTIFICATIONS, "quiet_hours"),
    "working": (Agent.WORK_LIFE, "working"),
    "work_today": (Agent.WORK_LIFE, "work_today"),
    "work_this_week": (Agent.WORK_LIFE, "work_this_week"),
    "overtime_this_week": (Agent.WORK_LIFE, "overtime_this_week"),
    "screen_time_today": (Agent.SCREEN_TIME, "screen_time_today"),
    "total_xp": (Agent.GAMIFICATION, "total_xp"),
    "level": (Agent.GAMIFICATION, "level"),
    "xp_today": (Agent.GAMIFICATION, "xp_today"),
    "achievements": (Agent.GAMIFICATION, "achievements"),
    "habits_today": (Agent.GAMIFICATION, "habits_today"),
    "pending_notifications": (Agent.NOTIFICATIONS, "pending_notifications"),
}
# The sync status sensors the sync card shows for each other site, in order.
_SYNC_KEYS: Final = ("sync_last_success", "sync_pending")
# role -> the Oura sensor used when the settings name no entity of their own.
_OURA_KEYS: Final = {
    "sleep_score": "sleep_score",
    "readiness": "readiness_score",
    "total_sleep": "total_sleep",
    "recommended_bedtime": "recommended_bedtime_start",
}


def _registered(hass: HomeAssistant) -> list[er.RegistryEntry]:
    return [
        item
        for item in er.async_get(hass).entities.values()
        if item.platform == DOMAIN and not item.disabled
    ]


async def _short_names(hass: HomeAssistant) -> dict[str, str]:
    """LifeOps' entities' own names (without their device's), in Home Assistant's language."""
    translations = await async_get_translations(hass, hass.config.language, "entity", [DOMAIN])
    names: dict[str, str] = {}
    for item in _registered(hass):
        key = f"component.{DOMAIN}.entity.{item.domain}.{item.translation_key}.name"
        if item.name:
            names[item.entity_id] = item.name
        elif item.translation_key and (name := translations.get(key)):
            # A name with placeholders (a sync peer's): as the entity filled them in.
            filled = item.original_name if "{" in name else None
            names[item.entity_id] = filled or name
    return names


def _entities(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> dict[str, str | None]:
    """Each role's entity id, from the registry (None when there is none)."""
    by_unique_id = {item.unique_id: item.entity_id for item in _registered(hass)}
    runtime = entry.runtime_data
    node_id = runtime.node_id
    entities: dict[str, str | None] = {
        role: by_unique_id.get(f"{node_id}_{agent.value}_{key}")
        for role, (agent, key) in _SITE_ENTITIES.items()
    }
    oura: dict[str, str | None] = dict.fromkeys(_OURA_KEYS)
    for oura_entry in oura_accounts(hass):
        account = account_id(oura_entry)
        for role, key in _OURA_KEYS.items():
            oura[role] = oura[role] or by_unique_id.get(f"oura_{account}_{key}")
        break
    settings = runtime.settings
    entities["sleep_score"] = settings.sleep_score_entity or oura["sleep_score"]
    entities["readiness"] = settings.readiness_entity or oura["readiness"]
    entities["total_sleep"] = oura["total_sleep"]
    entities["recommended_bedtime"] = (
        settings.recommended_bedtime_entity or oura["recommended_bedtime"]
    )
    return entities


async def _trend(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> list[str] | None:
    """Oura's long-term history for the 30-day graph, unless the options chose other entities.

    The account's statistics (backfilled months); with no account, those of an imported export.
    """
    settings = entry.runtime_data.settings
    if settings.sleep_score_entity or settings.readiness_entity:
        return None
    keys = ("sleep_score", "readiness_score")
    for oura_entry in oura_accounts(hass):
        account = account_id(oura_entry)
        return [statistic_id(account, key) for key in keys]
    if not recorder_running(hass):
        return None
    wanted = {statistic_id(EXPORT_ACCOUNT, key) for key in keys}
    found = await async_list_statistic_ids(hass, statistic_ids=wanted)
    present = {item["statistic_id"] for item in found}
    return [
        statistic_id(EXPORT_ACCOUNT, key)
        for key in keys
        if statistic_id(EXPORT_ACCOUNT, key) in present
    ] or None


def _sync_sensors(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> list[str]:
    """The sync status sensors per other site: last sync, then changes waiting, by site."""
    prefix = f"{entry.runtime_data.node_id}_{HUB}_"
    found: list[tuple[str, int, str]] = []
    for item in _registered(hass):
        if item.config_entry_id != entry.entry_id or not item.unique_id.startswith(prefix):
            continue
        rest = item.unique_id.removeprefix(prefix)
        for order, key in enumerate(_SYNC_KEYS):
            if rest.startswith(f"{key}_"):
                found.append((rest.removeprefix(f"{key}_"), order, item.entity_id))
    return [entity_id for _peer, _order, entity_id in sorted(found)]


async def async_dashboard_config(hass: HomeAssistant) -> dict[str, Any]:
    """The dashboard of the first loaded site, in Home Assistant's language."""
    titles = await async_texts(hass, "dashboard", dashboard.TITLES)
    entries = loaded_sites(hass)
    if not entries:
        return {"title": titles["title"], "views": []}
    entry = entries[0]
    settings = entry.runtime_data.settings
    return dashboard.build(
        _entities(hass, entry),
        titles,
        names=await _short_names(hass),
        weekly_work_target_hours=settings.weekly_work_target_hours,
        screen_time_limit_minutes=settings.screen_time_limit_minutes,
        trend=await _trend(hass, entry),
        sync=_sync_sensors(hass, entry),
    )


class LifeOpsDashboard(LovelaceConfig):
    """A read-only dashboard whose configuration LifeOps generates."""

    def __init__(self, hass: HomeAssistant) -> None:
        """A dashboard at /lifeops, shown in the sidebar to every user."""
        super().__init__(
            hass,
            URL_PATH,
            {
                "mode": MODE_YAML,
                "title": SIDEBAR_TITLE,
                "icon": ICON,
                "show_in_sidebar": True,
                "require_admin": False,
            },
        )

    @property
    def mode(self) -> str:
        """Generated, so not editable in the UI (Home Assistant's YAML mode)."""
        return MODE_YAML

    async def async_get_info(self) -> dict[str, Any]:
        """The mode and the number of views."""
        config = await async_dashboard_config(self.hass)
        return {"mode": self.mode, "views": len(config["views"])}

    async def async_load(self, force: bool) -> dict[str, Any]:
        """The configuration, generated now."""
        return await async_dashboard_config(self.hass)

    async def async_json(self, force: bool) -> json_fragment:
        """The configuration as JSON, for the frontend."""
        return json_fragment(json_bytes(await self.async_load(force)))


@callback
def async_offer_dashboard(hass: HomeAssistant) -> None:
    """Add the dashboard and its sidebar entry, once, when the frontend is there."""
    if "frontend" not in hass.config.components or LOVELACE_DATA not in hass.data:
        return
    dashboards = hass.data[LOVELACE_DATA].dashboards
    if URL_PATH in dashboards:
        return  # ours already, or the person's own dashboard at /lifeops: keep it
    try:
        frontend.async_register_built_in_panel(
            hass,
            "lovelace",
            sidebar_title=SIDEBAR_TITLE,
            sidebar_icon=ICON,
            frontend_url_path=URL_PATH,
            config={"mode": MODE_YAML},
            require_admin=False,
        )
    except ValueError:
        LOGGER.info("A panel at /%s exists already; LifeOps adds no dashboard", URL_PATH)
        return
    dashboards[URL_PATH] = LifeOpsDashboard(hass)


@callback
def async_withdraw_dashboard(hass: HomeAssistant, unloading: LifeOpsConfigEntry) -> None:
    """Remove the dashboard when the last site goes."""
    if any(entry is not unloading for entry in loaded_sites(hass)):
        return
    if LOVELACE_DATA not in hass.data:
        return
    dashboards = hass.data[LOVELACE_DATA].dashboards
    if isinstance(dashboards.get(URL_PATH), LifeOpsDashboard):
        dashboards.pop(URL_PATH)
        frontend.async_remove_panel(hass, URL_PATH)
