"""A site's options: the person's targets, what each agent watches, habits, store and sync.

Nothing is saved while a field is wrong; each part of the options is its own step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, entity_registry as er
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

from .compat import vol
from .core import habits as h, settings as s
from .data import LifeOpsConfigEntry
from .long_term.flow import STEP_ID as LONG_TERM_STORE_STEP, async_step_long_term_store
from .sync_link.flow import STEP_ID as SYNC_STEP, async_step_sync


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
