"""The options flow's long-term store step: where the database is, what to keep, for how long.

Settings are tried on submit (connect, log in, look for TimescaleDB) and saved only when they
work; an empty host turns the store off. An empty password keeps the stored one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from ..compat import vol
from ..timescale.errors import (
    ExtensionMissing,
    StoreAuthFailed,
    StoreError,
    TlsUnavailable,
    TlsUntrusted,
)
from ..timescale.migrate import TLS_MODES, check
from .options import (
    ALLOW_POSTGRESQL,
    CONF_STORE,
    DATABASE,
    HEALTH_ENTITIES,
    HOST,
    PASSWORD,
    PORT,
    RAW_DAYS,
    ROLLUP_DAYS,
    STATE_ENTITIES,
    TLS,
    USER,
    store_config,
    store_options,
)

STEP_ID = "long_term_store"
LIMITS = {PORT: (1, 65535), RAW_DAYS: (1, 3650), ROLLUP_DAYS: (1, 36500)}


def _number(low: int, high: int, unit: str | None = None) -> NumberSelector:
    config = NumberSelectorConfig(min=low, max=high, step=1, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _schema(values: Mapping[str, Any]) -> vol.Schema:
    text = TextSelector()
    return vol.Schema(
        {
            vol.Optional(HOST, description={"suggested_value": values[HOST]}): text,
            vol.Optional(PORT, default=values[PORT]): _number(*LIMITS[PORT]),
            vol.Optional(DATABASE, default=values[DATABASE]): text,
            vol.Optional(USER, default=values[USER]): text,
            vol.Optional(PASSWORD): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
            vol.Optional(TLS, default=values[TLS]): SelectSelector(
                SelectSelectorConfig(
                    options=list(TLS_MODES), mode=SelectSelectorMode.DROPDOWN, translation_key=TLS
                )
            ),
            vol.Optional(ALLOW_POSTGRESQL, default=values[ALLOW_POSTGRESQL]): BooleanSelector(),
            vol.Optional(
                HEALTH_ENTITIES, description={"suggested_value": values[HEALTH_ENTITIES]}
            ): EntitySelector(
                EntitySelectorConfig(domain=["sensor", "number", "input_number"], multiple=True)
            ),
            vol.Optional(
                STATE_ENTITIES, description={"suggested_value": values[STATE_ENTITIES]}
            ): EntitySelector(EntitySelectorConfig(multiple=True)),
            vol.Optional(RAW_DAYS, default=values[RAW_DAYS]): _number(*LIMITS[RAW_DAYS], "d"),
            vol.Optional(ROLLUP_DAYS, default=values[ROLLUP_DAYS]): _number(
                *LIMITS[ROLLUP_DAYS], "d"
            ),
        }
    )


def _read(
    flow: OptionsFlow, current: Mapping[str, Any], user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The store's new options and field errors (everything but the connection test)."""
    errors: dict[str, str] = {}
    values = dict(current)
    for key in (HOST, DATABASE, USER):
        values[key] = str(user_input.get(key) or "").strip()
    if user_input.get(PASSWORD):
        values[PASSWORD] = str(user_input[PASSWORD])
    values[ALLOW_POSTGRESQL] = bool(user_input.get(ALLOW_POSTGRESQL, False))
    tls = user_input.get(TLS, current[TLS])
    if tls in TLS_MODES:
        values[TLS] = tls
    else:
        errors[TLS] = "invalid_choice"
    for key, (low, high) in LIMITS.items():
        raw = user_input.get(key, current[key])
        try:
            number = float(raw)
        except (TypeError, ValueError):
            errors[key] = "not_a_number"
            continue
        if number != int(number):
            errors[key] = "not_whole_number"
        elif not low <= number <= high:
            errors[key] = "out_of_range"
        else:
            values[key] = int(number)
    registry = er.async_get(flow.hass)
    for key in (HEALTH_ENTITIES, STATE_ENTITIES):
        chosen = [str(entity_id) for entity_id in user_input.get(key) or ()]
        if any(
            flow.hass.states.get(entity_id) is None and registry.async_get(entity_id) is None
            for entity_id in chosen
        ):
            errors[key] = "unknown_entity"
        values[key] = chosen
    if values[HOST] and (not values[DATABASE] or not values[USER]):
        errors[DATABASE if not values[DATABASE] else USER] = "store_field_required"
    return values, errors


async def async_step_long_term_store(
    flow: OptionsFlow, user_input: dict[str, Any] | None
) -> ConfigFlowResult:
    """Show the form; on submit, test the database and save only settings that work."""
    options = flow.config_entry.options
    current = store_options(options)
    errors: dict[str, str] = {}
    placeholders = {"edition": "-"}
    if user_input is not None:
        values, errors = _read(flow, current, user_input)
        config = store_config(values)
        if not errors and config is not None:
            try:
                await check(config)
            except StoreAuthFailed:
                errors["base"] = "store_invalid_auth"
            except TlsUnavailable:
                errors["base"] = "store_tls_unavailable"
            except TlsUntrusted:
                errors["base"] = "store_tls_untrusted"
            except ExtensionMissing:
                errors["base"] = "store_extension_missing"
            except StoreError:
                errors["base"] = "store_cannot_connect"
        if not errors:
            return flow.async_create_entry(data={**options, CONF_STORE: values})
    schema = _schema(current)
    if user_input is not None:
        shown = {key: value for key, value in user_input.items() if key != PASSWORD}
        schema = flow.add_suggested_values_to_schema(schema, shown)
    return flow.async_show_form(
        step_id=STEP_ID, data_schema=schema, errors=errors, description_placeholders=placeholders
    )
