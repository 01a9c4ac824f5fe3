"""What every LifeOps action shares: validating its data, finding its site, who may run it.

The actions (and the websocket commands) validate their data here rather than through the
service registry's schema, so each error is a `ServiceValidationError` with a translation key
that names the field. A field the action does not have is found by comparing the data's keys
with the schema's own, never by the schema library's wording: Home Assistant 2026.10 replaced
voluptuous with probatio, which words (and types) that error differently.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    Context,
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError, Unauthorized, UnknownUser
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import DOMAIN
from .data import LifeOpsConfigEntry
from .entry_kind import is_oura_entry, loaded_sites

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
# The field that picks the site an action is for; every site action's schema has it.
ENTRY_FIELD: Final[dict[Any, Any]] = {vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}

type ActionHandler = Callable[[dict[str, Any]], Awaitable[ServiceResponse]]
type EntryHandler = Callable[[LifeOpsConfigEntry, dict[str, Any]], Awaitable[ServiceResponse]]


def action_error(key: str, **placeholders: str) -> ServiceValidationError:
    """The translated error an action or a websocket command refuses its data with."""
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def utc_datetime(value: Any) -> datetime:
    """A schema's date and time field: in UTC; one with no time zone is in Home Assistant's."""
    if isinstance(value, datetime):
        parsed: datetime | None = value
    elif isinstance(value, str):
        parsed = dt_util.parse_datetime(value)
    else:
        parsed = None
    if parsed is None:
        raise vol.Invalid("not a date and time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(parsed)


def _fields(schema: vol.Schema) -> tuple[frozenset[str], bool]:
    """The schema's field names, and whether it takes only those."""
    names: set[str] = set()
    closed = schema.extra == vol.PREVENT_EXTRA
    for key in schema.schema:
        name = key.schema if isinstance(key, vol.Marker) else key
        if isinstance(name, str):
            names.add(name)
        else:  # a key that matches by type or validator: any name may be the schema's
            closed = False
    return frozenset(names), closed


def validate(
    schema: vol.Schema, data: Mapping[str, Any], *, named_fields: bool = True
) -> dict[str, Any]:
    """The data as `schema` makes it, or a translated error naming the field that is wrong.

    A field the schema does not have is `unknown_field`. A wrong value is
    `invalid_field_<field>`, or `invalid_data` when the action's fields have no texts of their
    own (`named_fields=False`) or the error belongs to no one field.
    """
    names, closed = _fields(schema)
    if closed:
        for key in data:
            if key not in names:
                raise action_error("unknown_field", field=str(key))
    try:
        validated: dict[str, Any] = schema(dict(data))
    except vol.Invalid as err:
        field = str(err.path[0]) if err.path else ""
        if named_fields and field in names:
            raise action_error(f"invalid_field_{field}", field=field) from err
        raise action_error("invalid_data", field=field or "-") from err
    return validated


def site_entry_for(hass: HomeAssistant, data: Mapping[str, Any]) -> LifeOpsConfigEntry:
    """The loaded site entry an action is for: the one `config_entry_id` names, or the only one."""
    entry_id = data.get(ATTR_CONFIG_ENTRY_ID)
    if entry_id is None:
        loaded = loaded_sites(hass)
        if len(loaded) != 1:
            raise action_error("entry_required")
        return loaded[0]
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or is_oura_entry(entry):
        raise action_error("entry_not_found", entry_id=entry_id)
    if entry.state is not ConfigEntryState.LOADED:
        raise action_error("entry_not_loaded", title=entry.title)
    return entry


async def async_check_admin(hass: HomeAssistant, context: Context) -> None:
    """Refuse a call made by a user who is not an administrator, or by a user who is not there.

    A call with no user (an automation, a script, Home Assistant itself) may run, as Home
    Assistant's own administrator-only actions allow (`async_register_admin_service`).
    """
    if context.user_id is None:
        return
    user = await hass.auth.async_get_user(context.user_id)
    if user is None:
        raise UnknownUser(context=context)
    if not user.is_admin:
        raise Unauthorized(context=context)


def for_entry(hass: HomeAssistant, handler: EntryHandler) -> ActionHandler:
    """A site action's handler: runs `handler` with the entry the data is for."""

    async def run(data: dict[str, Any]) -> ServiceResponse:
        return await handler(site_entry_for(hass, data), data)

    return run


@callback
def async_register_action(
    hass: HomeAssistant,
    name: str,
    schema: vol.Schema,
    handler: ActionHandler,
    *,
    supports_response: SupportsResponse = SupportsResponse.OPTIONAL,
    admin: bool = False,
    named_fields: bool = True,
) -> None:
    """Register `lifeops.<name>`: checked (`admin`), validated, then handled.

    Not `async_register_admin_service`: on Home Assistant 2025.4, the oldest LifeOps supports,
    it takes no `supports_response` and drops the handler's response, which export, purge and
    import answer with.
    """

    async def handle(call: ServiceCall) -> ServiceResponse:
        if admin:  # before validating: a refused caller learns nothing about the data
            await async_check_admin(hass, call.context)
        data = validate(schema, call.data, named_fields=named_fields)
        response = await handler(data)
        return response if call.return_response else None

    hass.services.async_register(DOMAIN, name, handle, supports_response=supports_response)
