"""Set up LifeOps in the UI: a site (where this installation runs), or an Oura account.

Home Assistant finds the handler here; the site's steps are in this module, the Oura account's
sign-in in `oura_account/flow.py`, and each kind's options flow in its own module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from homeassistant.helpers.translation import async_get_translations

from .addon_flow import STEP_ID as ADDON_STEP, AddonSettings, async_test_addon, read_discovery
from .compat import vol
from .const import CONF_NODE_ID, CONF_SITE, CONF_SITE_NAME, DOMAIN, KIND_OURA, SITE_CUSTOM
from .core import settings as s
from .core.sites import MAX_SITE_NAME_LENGTH, Site, new_node_id, site_id
from .core.text import storable
from .data import LifeOpsConfigEntry
from .entry_kind import is_oura_entry, is_site_entry
from .entry_update import async_update_entry_and_abort
from .oura_account.flow import OuraAccountFlow, OuraOptionsFlow
from .site_options_flow import LifeOpsOptionsFlow
from .sync_link.flow import async_step_reauth_sync
from .sync_link.options import SYNC_URL, sync_options

if TYPE_CHECKING:
    from .entry_kind import AnyLifeOpsEntry

SITE_SCHEMA_OPTIONS = [*(site.value for site in Site), SITE_CUSTOM]


def _site_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_SITE, default=defaults.get(CONF_SITE, Site.HOME)): SelectSelector(
                SelectSelectorConfig(
                    options=SITE_SCHEMA_OPTIONS,
                    translation_key=CONF_SITE,
                    mode=SelectSelectorMode.LIST,
                )
            ),
            vol.Optional(
                CONF_SITE_NAME, description={"suggested_value": defaults.get(CONF_SITE_NAME)}
            ): TextSelector(),
        }
    )


def _read_site(user_input: Mapping[str, Any]) -> tuple[str, str | None, dict[str, str]]:
    """Return (site id, custom name or None, errors) from the site form."""
    site = user_input[CONF_SITE]
    if site != SITE_CUSTOM:
        return site, None, {}
    name = (user_input.get(CONF_SITE_NAME) or "").strip()
    identifier = site_id(name)
    error: str | None = None
    if not name:
        error = "site_name_required"
    elif len(name) > MAX_SITE_NAME_LENGTH:
        error = "site_name_too_long"
    elif not storable(name):  # a lone surrogate: Home Assistant could not store the entry
        error = "site_name_not_text"
    elif not identifier:
        error = "site_name_invalid"
    if error is not None:
        return "", None, {CONF_SITE_NAME: error}
    if identifier in {preset.value for preset in Site}:
        # "Home" typed by hand is the preset home site.
        return identifier, None, {}
    return identifier, name, {}


async def _site_title(hass: HomeAssistant, site: str, name: str | None) -> str:
    """The entry's title: the custom name, or the preset site's name in HA's language."""
    if name:
        return name
    translations = await async_get_translations(hass, hass.config.language, "selector", [DOMAIN])
    return translations.get(f"component.{DOMAIN}.selector.{CONF_SITE}.options.{site}", site)


class LifeOpsConfigFlow(OuraAccountFlow, domain=DOMAIN):
    """Create one LifeOps entry per site, and one per Oura account (signed in with OAuth2).

    The site's steps are here; the Oura account's come from `OuraAccountFlow`.
    """

    DOMAIN = DOMAIN
    VERSION = 1
    MINOR_VERSION = 1
    _addon: AddonSettings | None = None
    _addon_name: str = ""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask what to add: this installation's site, or an Oura account."""
        return self.async_show_menu(step_id="user", menu_options=["site", KIND_OURA])

    async def async_step_site(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask which site this Home Assistant runs at."""
        errors: dict[str, str] = {}
        if user_input is not None:
            site, name, errors = _read_site(user_input)
            if not errors:
                await self.async_set_unique_id(site)
                self._abort_if_unique_id_configured()
                data = {CONF_SITE: site, CONF_NODE_ID: new_node_id()}
                if name:
                    data[CONF_SITE_NAME] = name
                return self.async_create_entry(
                    title=await _site_title(self.hass, site, name),
                    data=data,
                    options=s.Settings().as_options(),
                )
        return self.async_show_form(
            step_id="site",
            data_schema=self.add_suggested_values_to_schema(_site_schema({}), user_input),
            errors=errors,
        )

    async def async_step_hassio(self, discovery_info: HassioServiceInfo) -> ConfigFlowResult:
        """The LifeOps add-on announced itself: offer to use it for the store and sync."""
        settings = read_discovery(discovery_info.config)
        if settings is None:
            return self.async_abort(reason="addon_invalid_discovery")
        await self.async_set_unique_id(settings.site)
        entry = self._site_entry(settings.site)
        if entry is not None and sync_options(entry.options)[SYNC_URL] == settings.sync[SYNC_URL]:
            # The add-on again (it announces itself at every start): keep its secrets current.
            options = settings.options(entry.options)
            if options != dict(entry.options):
                self.hass.config_entries.async_update_entry(entry, options=options)
            return self.async_abort(reason="already_configured")
        self._addon, self._addon_name = settings, discovery_info.name
        self.context["title_placeholders"] = {"name": discovery_info.name}
        return await self.async_step_hassio_confirm()

    async def async_step_hassio_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One confirmation: the site's entry uses the add-on's database and sync service."""
        settings = self._addon
        assert settings is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            if error := await async_test_addon(self.hass, settings):
                errors["base"] = error
            elif (entry := self._site_entry(settings.site)) is not None:
                return async_update_entry_and_abort(
                    self, entry, reason="addon_connected", options=settings.options(entry.options)
                )
            else:
                data = {CONF_SITE: settings.site, CONF_NODE_ID: new_node_id()}
                if settings.site_name:
                    data[CONF_SITE_NAME] = settings.site_name
                return self.async_create_entry(
                    title=await _site_title(self.hass, settings.site, settings.site_name),
                    data=data,
                    options=settings.options(s.Settings().as_options()),
                )
        return self.async_show_form(
            step_id=ADDON_STEP,
            errors=errors,
            description_placeholders={
                "addon": self._addon_name,
                "site": await _site_title(self.hass, settings.site, settings.site_name),
            },
        )

    def _site_entry(self, site: str) -> LifeOpsConfigEntry | None:
        """The entry of `site`, if it is set up."""
        for entry in self._async_current_entries(include_ignore=False):
            if entry.unique_id == site and is_site_entry(entry):
                return entry
        return None

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Oura refused the token, or a site's sync service its secret: ask again."""
        if not is_oura_entry(self._get_reauth_entry()):
            return await self.async_step_reauth_sync()
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_sync(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the site's sync service's new API secret."""
        return await async_step_reauth_sync(self, self._get_reauth_entry(), user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Rename or move the site; the node id stays, so synced history stays this node's."""
        entry = self._get_reconfigure_entry()
        if is_oura_entry(entry):
            return self.async_abort(reason="reconfigure_not_supported")
        errors: dict[str, str] = {}
        if user_input is not None:
            site, name, errors = _read_site(user_input)
            if (
                not errors
                and site != entry.unique_id
                and any(
                    other.unique_id == site
                    for other in self._async_current_entries(include_ignore=False)
                    if other.entry_id != entry.entry_id
                )
            ):
                return self.async_abort(reason="already_configured")
            if not errors:
                data = {k: v for k, v in entry.data.items() if k != CONF_SITE_NAME}
                data[CONF_SITE] = site
                if name:
                    data[CONF_SITE_NAME] = name
                return async_update_entry_and_abort(
                    self,
                    entry,
                    reason="reconfigure_successful",
                    unique_id=site,
                    title=await _site_title(self.hass, site, name),
                    data=data,
                )
        defaults = {
            CONF_SITE: SITE_CUSTOM if CONF_SITE_NAME in entry.data else entry.data[CONF_SITE],
            CONF_SITE_NAME: entry.data.get(CONF_SITE_NAME),
        }
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _site_schema(defaults), user_input or defaults
            ),
            errors=errors,
        )

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: AnyLifeOpsEntry) -> OptionsFlow:
        """Return the flow that edits a site's targets or an Oura account's history."""
        if is_oura_entry(config_entry):
            return OuraOptionsFlow()
        return LifeOpsOptionsFlow()
