"""Set up LifeOps in the UI: the site this installation runs at, and the person's targets."""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_TOKEN
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import (
    area_registry as ar,
    config_entry_oauth2_flow,
    entity_registry as er,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    AreaSelector,
    AreaSelectorConfig,
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TimeSelector,
)
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from homeassistant.helpers.translation import async_get_translations

from .addon_flow import STEP_ID as ADDON_STEP, AddonSettings, async_test_addon, read_discovery
from .compat import vol
from .const import (
    CONF_HISTORY_DAYS,
    CONF_KIND,
    CONF_NODE_ID,
    CONF_SITE,
    CONF_SITE_NAME,
    DOMAIN,
    KIND_OURA,
    LOGGER,
    OURA_SCOPES,
    SITE_CUSTOM,
)
from .core import habits as h, settings as s
from .core.sites import MAX_SITE_NAME_LENGTH, Site, new_node_id, site_id
from .core.text import storable
from .data import LifeOpsConfigEntry, is_oura_entry
from .entry_update import async_update_entry_and_abort
from .long_term.flow import STEP_ID as LONG_TERM_STORE_STEP, async_step_long_term_store
from .oura import OuraAuthError, OuraClient, OuraError
from .oura_endpoints import OURA
from .oura_statistics import DEFAULT_HISTORY_DAYS, MAX_HISTORY_DAYS
from .sync_flow import STEP_ID as SYNC_STEP, async_step_reauth_sync, async_step_sync
from .sync_manager import SYNC_URL, sync_options

OURA_DEFAULT_TITLE = "Oura"
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


class LifeOpsConfigFlow(config_entry_oauth2_flow.AbstractOAuth2FlowHandler, domain=DOMAIN):
    """Create one LifeOps entry per site, and one per Oura account (signed in with OAuth2)."""

    DOMAIN = DOMAIN
    VERSION = 1
    MINOR_VERSION = 1
    _addon: AddonSettings | None = None
    _addon_name: str = ""

    @property
    def logger(self) -> logging.Logger:
        """The logger the OAuth2 steps write to."""
        return LOGGER

    @property
    def extra_authorize_data(self) -> dict[str, str]:
        """The Oura scopes LifeOps reads."""
        return {"scope": " ".join(OURA_SCOPES)}

    @classmethod
    @callback
    def async_supports_options_flow(cls, config_entry: ConfigEntry[Any]) -> bool:
        """Sites have targets to configure, Oura accounts how much history to import."""
        return True

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

    def _site_entry(self, site: str) -> ConfigEntry[Any] | None:
        """The entry of `site`, if it is set up."""
        for entry in self._async_current_entries(include_ignore=False):
            if entry.unique_id == site and not is_oura_entry(entry):
                return entry
        return None

    async def async_step_oura(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Sign in to Oura with the application credentials added to Home Assistant."""
        return await self.async_step_pick_implementation()

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

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm signing in to Oura again."""
        if user_input is None:
            return self.async_show_form(
                step_id="reauth_confirm",
                description_placeholders={"account": self._get_reauth_entry().title},
            )
        return await self.async_step_pick_implementation()

    async def async_oauth_create_entry(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Identify the Oura account, then create its entry or renew its token."""
        client = OuraClient(
            str(data[CONF_TOKEN][CONF_ACCESS_TOKEN]),
            session=async_get_clientsession(self.hass),
            base_url=OURA.api,
        )
        try:
            person = await client.get_personal_info()
        except OuraAuthError:
            return self.async_abort(reason="oura_auth_failed")
        except OuraError as err:
            LOGGER.warning("Could not read the Oura account after signing in: %s", err)
            return self.async_abort(reason="cannot_connect")
        await self.async_set_unique_id(person.id)
        if self.source == SOURCE_REAUTH:
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            entry = self._get_reauth_entry()
            return async_update_entry_and_abort(
                self, entry, reason="reauth_successful", data={**entry.data, **data}
            )
        self._abort_if_unique_id_configured()
        return self.async_create_entry(
            title=OURA_DEFAULT_TITLE, data={**data, CONF_KIND: KIND_OURA}
        )

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
    def async_get_options_flow(config_entry: ConfigEntry[Any]) -> OptionsFlow:
        """Return the flow that edits a site's targets or an Oura account's history."""
        if is_oura_entry(config_entry):
            return OuraOptionsFlow()
        return LifeOpsOptionsFlow()


def _minutes_selector(unit: str) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(mode=NumberSelectorMode.BOX, step=1, unit_of_measurement=unit)
    )


def _notify_targets(hass: HomeAssistant) -> list[str]:
    """The notify actions and notify entities that exist now."""
    services = {f"notify.{name}" for name in hass.services.async_services_for_domain("notify")}
    entities = set(hass.states.async_entity_ids("notify"))
    return sorted(services | entities)


def _options_schema(hass: HomeAssistant, current: s.Settings) -> vol.Schema:
    defaults = current.as_options()
    return vol.Schema(
        {
            vol.Required(s.BEDTIME, default=defaults[s.BEDTIME]): TimeSelector(),
            vol.Required(s.WAKE_TIME, default=defaults[s.WAKE_TIME]): TimeSelector(),
            vol.Required(
                s.WIND_DOWN_MINUTES, default=defaults[s.WIND_DOWN_MINUTES]
            ): _minutes_selector("min"),
            vol.Optional(s.WIND_DOWN_LIGHTS, default=defaults[s.WIND_DOWN_LIGHTS]): EntitySelector(
                EntitySelectorConfig(domain="light", multiple=True)
            ),
            vol.Optional(s.WIND_DOWN_AREAS, default=defaults[s.WIND_DOWN_AREAS]): AreaSelector(
                AreaSelectorConfig(multiple=True)
            ),
            vol.Optional(s.NOTIFY_TARGETS, default=defaults[s.NOTIFY_TARGETS]): SelectSelector(
                SelectSelectorConfig(
                    options=_notify_targets(hass),
                    multiple=True,
                    custom_value=True,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Required(
                s.QUIET_HOURS_START, default=defaults[s.QUIET_HOURS_START]
            ): TimeSelector(),
            vol.Required(s.QUIET_HOURS_END, default=defaults[s.QUIET_HOURS_END]): TimeSelector(),
            vol.Required(
                s.WEEKLY_WORK_TARGET_HOURS, default=defaults[s.WEEKLY_WORK_TARGET_HOURS]
            ): NumberSelector(
                NumberSelectorConfig(mode=NumberSelectorMode.BOX, step=0.5, unit_of_measurement="h")
            ),
            vol.Required(s.WORK_CUTOFF, default=defaults[s.WORK_CUTOFF]): TimeSelector(),
            vol.Required(
                s.SCREEN_TIME_LIMIT_MINUTES, default=defaults[s.SCREEN_TIME_LIMIT_MINUTES]
            ): _minutes_selector("min"),
        }
    )


def _check_references(hass: HomeAssistant, user_input: Mapping[str, Any]) -> dict[str, str]:
    """Error keys for lights, areas and notify targets that do not exist in this HA."""
    errors: dict[str, str] = {}
    registry = er.async_get(hass)
    for entity_id in user_input.get(s.WIND_DOWN_LIGHTS) or ():
        known = hass.states.get(entity_id) is not None or registry.async_get(entity_id)
        if not known or not entity_id.startswith("light."):
            errors[s.WIND_DOWN_LIGHTS] = "unknown_light"
            break
    areas = ar.async_get(hass)
    if any(areas.async_get_area(area) is None for area in user_input.get(s.WIND_DOWN_AREAS) or ()):
        errors[s.WIND_DOWN_AREAS] = "unknown_area"
    available = set(_notify_targets(hass))
    if any(target not in available for target in user_input.get(s.NOTIFY_TARGETS) or ()):
        errors[s.NOTIFY_TARGETS] = "unknown_notify_target"
    return errors


def _entity(domains: list[str], *, multiple: bool = False) -> EntitySelector:
    return EntitySelector(EntitySelectorConfig(domain=domains, multiple=multiple))


def _whole(low: int, high: int, unit: str | None = None) -> NumberSelector:
    config = NumberSelectorConfig(min=low, max=high, step=1, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


SCORE_DOMAINS = ["sensor", "input_number", "number"]
ACTIVE_DOMAINS = ["binary_sensor", "switch", "input_boolean", "media_player", "device_tracker"]


def _section_fields() -> dict[str, dict[str, Any]]:
    """The selector of each field of the options flow's other steps."""
    return {
        "sleep": {
            s.ACTIVITY_SOURCES: _entity(ACTIVE_DOMAINS, multiple=True),
            s.SLEEP_SCORE_ENTITY: _entity(SCORE_DOMAINS),
            s.POOR_SLEEP_THRESHOLD: _whole(0, 100),
            s.BEDTIME_SOURCE: SelectSelector(
                SelectSelectorConfig(
                    options=[s.BEDTIME_FROM_SCHEDULE, s.BEDTIME_FROM_RECOMMENDATION],
                    translation_key=s.BEDTIME_SOURCE,
                )
            ),
            s.RECOMMENDED_BEDTIME_ENTITY: _entity(["sensor", "input_datetime"]),
            # Bed occupancy (on = in bed), or a timestamp of going to bed (e.g. Oura's).
            s.IN_BED_ENTITY: EntitySelector(
                EntitySelectorConfig(
                    filter=[
                        {"domain": "binary_sensor"},
                        {"domain": "sensor", "device_class": "timestamp"},
                    ]
                )
            ),
        },
        "scene": {
            s.SCENE_MODE: SelectSelector(
                SelectSelectorConfig(
                    options=[s.SCENE_DIM, s.SCENE_OFF], translation_key=s.SCENE_MODE
                )
            ),
            s.SCENE_BRIGHTNESS_PCT: _whole(1, 100, "%"),
            s.SCENE_COLOR_TEMP_KELVIN: _whole(1500, 6500, "K"),
            s.SCENE_TRANSITION_SECONDS: _whole(0, 600, "s"),
            s.SCENE_RESTORE_ON_END: BooleanSelector(),
        },
        "work": {
            s.WORK_SOURCES: _entity(ACTIVE_DOMAINS, multiple=True),
            s.WORK_CALENDARS: _entity(["calendar"], multiple=True),
            s.WORK_KEYWORDS: TextSelector(),
        },
        "screen_time": {s.SCREEN_TIME_SOURCES: _entity(ACTIVE_DOMAINS, multiple=True)},
        "fitness": {
            s.READINESS_ENTITY: _entity(SCORE_DOMAINS),
            s.ACTIVITY_SCORE_ENTITY: _entity(SCORE_DOMAINS),
            s.ACTIVE_CALORIES_ENTITY: _entity(SCORE_DOMAINS),
            s.STEPS_ENTITY: _entity(SCORE_DOMAINS),
            s.STEP_GOAL: _whole(1, 100_000),
            # Any entity whose state changes when a workout is logged.
            s.WORKOUT_ENTITY: EntitySelector(EntitySelectorConfig()),
        },
        "site": {
            s.OCCUPANCY_ENTITY: _entity(["person", "zone", "binary_sensor", "device_tracker"])
        },
    }


def _section_schema(section: str, current: Mapping[str, Any]) -> vol.Schema:
    fields: dict[Any, Any] = {}
    for key, selector in _section_fields()[section].items():
        value = current.get(key)
        if key == s.WORK_KEYWORDS:
            value = ", ".join(value or ())
        if key in s.ENTITY_KEYS or key == s.WORK_KEYWORDS:
            fields[vol.Optional(key, description={"suggested_value": value})] = selector
        else:
            fields[vol.Optional(key, default=value)] = selector
    return vol.Schema(fields)


def _check_entities(hass: HomeAssistant, user_input: Mapping[str, Any]) -> dict[str, str]:
    """Error keys for chosen entities that do not exist."""
    registry = er.async_get(hass)
    errors: dict[str, str] = {}
    for key, value in user_input.items():
        if key in s.ENTITY_KEYS:
            chosen = [value] if value else []
        elif key in s.ENTITY_LIST_KEYS:
            chosen = list(value or ())
        else:
            continue
        for entity_id in chosen:
            if hass.states.get(entity_id) is None and registry.async_get(entity_id) is None:
                errors[key] = "unknown_entity"
                break
    return errors


REMOVE_HABITS = "remove_habits"
# validate_habit's error keys, as the habits form shows them.
HABIT_ERRORS = {s.ERROR_NOT_WHOLE: "not_whole_number"}


def _habits_schema(own: Mapping[str, h.Habit]) -> vol.Schema:
    fields: dict[Any, Any] = {
        vol.Optional(h.HABIT_NAME): TextSelector(),
        vol.Optional(h.HABIT_SCHEDULE, default=h.Schedule.DAILY.value): SelectSelector(
            SelectSelectorConfig(
                options=[schedule.value for schedule in h.Schedule],
                translation_key=h.HABIT_SCHEDULE,
            )
        ),
        vol.Optional(h.HABIT_TIMES_PER_WEEK, default=3): _whole(1, 7),
        vol.Optional(h.HABIT_XP, default=10): _whole(0, h.MAX_HABIT_XP, "XP"),
        vol.Optional(h.HABIT_GRACE_DAYS, default=0): _whole(0, h.MAX_GRACE_DAYS),
    }
    if own:
        fields[vol.Optional(REMOVE_HABITS, default=[])] = SelectSelector(
            SelectSelectorConfig(
                options=[
                    SelectOptionDict(value=habit.id, label=habit.name) for habit in own.values()
                ],
                multiple=True,
            )
        )
    return vol.Schema(fields)


class LifeOpsOptionsFlow(OptionsFlow):
    """Edit the person's targets and what the agents watch; nothing saved while a field is wrong."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the parts of the options."""
        return self.async_show_menu(
            step_id="init",
            menu_options=[
                "targets",
                *s.SECTION_KEYS,
                "habits",
                LONG_TERM_STORE_STEP,
                SYNC_STEP,
            ],
        )

    async def async_step_targets(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and validate the targets form."""
        current = s.Settings.from_options(self.config_entry.options)
        errors: dict[str, str] = {}
        if user_input is not None:
            settings, errors = s.validate(user_input)
            errors = {**_check_references(self.hass, user_input), **errors}
            if settings is not None and not errors:
                return self.async_create_entry(
                    data=s.merge_targets(self.config_entry.options, settings)
                )
        schema = _options_schema(self.hass, current)
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(step_id="targets", data_schema=schema, errors=errors)

    async def _async_section(
        self, section: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        current = s.Settings.from_options(self.config_entry.options).as_options()
        errors: dict[str, str] = {}
        if user_input is not None:
            values, errors = s.validate_section(section, user_input)
            errors = {**_check_entities(self.hass, user_input), **errors}
            if values is not None and not errors:
                return self.async_create_entry(data={**self.config_entry.options, **values})
        schema = _section_schema(section, current)
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(step_id=section, data_schema=schema, errors=errors)

    async def async_step_sleep(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Activity sources, sleep score and where bedtime comes from."""
        return await self._async_section("sleep", user_input)

    async def async_step_scene(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """How wind-down sets the lights."""
        return await self._async_section("scene", user_input)

    async def async_step_work(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Work sources, calendars and keywords."""
        return await self._async_section("work", user_input)

    async def async_step_screen_time(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Screens to count."""
        return await self._async_section("screen_time", user_input)

    async def async_step_fitness(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Readiness and activity inputs."""
        return await self._async_section("fitness", user_input)

    async def async_step_site(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Who is at this site."""
        return await self._async_section("site", user_input)

    async def async_step_habits(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add a habit and remove existing ones.

        Habits live in LifeOps' store, beside the XP log, where lifeops.create_habit and
        lifeops.remove_habit change them too; so this step needs the entry loaded, and changes
        them at once, leaving the options as they are.
        """
        entry: LifeOpsConfigEntry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="not_loaded")
        controller = entry.runtime_data.gamification
        errors: dict[str, str] = {}
        if user_input is not None:
            remove = [str(habit_id) for habit_id in user_input.get(REMOVE_HABITS) or ()]
            habit: h.Habit | None = None
            if str(user_input.get(h.HABIT_NAME) or "").strip():
                habit, found = h.validate_habit(user_input, existing=controller.habits)
                errors = {field: HABIT_ERRORS.get(error, error) for field, error in found.items()}
            if not errors and all(habit_id in controller.habits for habit_id in remove):
                controller.async_remove_habits(remove)
                if habit is not None:
                    controller.async_add_habit(habit)
                await controller.async_figures()
                return self.async_create_entry(data=dict(entry.options))
            errors = errors or {REMOVE_HABITS: "unknown_habit"}
        schema = _habits_schema(controller.habits)
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(step_id="habits", data_schema=schema, errors=errors)

    async def async_step_long_term_store(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Where the long-term store (TimescaleDB) is and what it keeps."""
        return await async_step_long_term_store(self, user_input)

    async def async_step_sync(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Where this site's sync service is, and its API secret."""
        return await async_step_sync(self, user_input)


class OuraOptionsFlow(OptionsFlow):
    """How many days of an Oura account's history go into the long-term statistics."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Go to the one step (a site's options start with a menu at `init`)."""
        return await self.async_step_history()

    async def async_step_history(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the number of days (more imports the older days too; fewer keeps what is in)."""
        if user_input is not None:
            return self.async_create_entry(
                data={
                    **self.config_entry.options,
                    CONF_HISTORY_DAYS: int(user_input[CONF_HISTORY_DAYS]),
                }
            )
        current = self.config_entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS)
        return self.async_show_form(
            step_id="history",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_HISTORY_DAYS, default=current): NumberSelector(
                        NumberSelectorConfig(
                            min=0,
                            max=MAX_HISTORY_DAYS,
                            step=1,
                            mode=NumberSelectorMode.BOX,
                            unit_of_measurement="d",
                        )
                    )
                }
            ),
        )
