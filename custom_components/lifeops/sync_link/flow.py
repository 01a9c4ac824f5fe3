"""Where this site's sync service is, and its API secret: the options step and the reauth step.

The address and secret are tried on submit (the service's health, then a signed status) and
saved only when they work; an empty address turns sync off. An empty secret keeps the stored one.
When the service refuses the saved secret (it was changed in the add-on), Home Assistant asks
for the new one (reauthentication), tried the same way before it is saved.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType

from ..compat import vol
from ..entry_update import async_update_entry_and_abort
from ..sync import SyncAuthError, SyncClient, SyncConnectionError, SyncError, SyncNotAServiceError
from .options import CONF_SYNC, SYNC_SECRET, SYNC_URL, sync_options, valid_url

STEP_ID = "sync"
REAUTH_STEP_ID = "reauth_sync"


async def async_test_service(hass: HomeAssistant, url: str, secret: str) -> str | None:
    """Why the service at `url` does not work with `secret` (an error key), None when it does."""
    client = SyncClient(async_get_clientsession(hass), url, secret)
    try:
        await client.connect()
    except SyncNotAServiceError:
        return "sync_not_a_service"
    except SyncAuthError:
        return "sync_invalid_auth"
    except SyncConnectionError:
        return "sync_cannot_connect"
    except SyncError:
        return "sync_not_a_service"
    return None


async def async_step_sync(flow: OptionsFlow, user_input: dict[str, Any] | None) -> ConfigFlowResult:
    """Show the form; on submit, test the service and save only settings that work."""
    options = flow.config_entry.options
    current = sync_options(options)
    errors: dict[str, str] = {}
    if user_input is not None:
        url = str(user_input.get(SYNC_URL) or "").strip().rstrip("/")
        secret = str(user_input.get(SYNC_SECRET) or "") or current[SYNC_SECRET]
        if not url:
            return flow.async_create_entry(data={**options, CONF_SYNC: {}})
        if not valid_url(url):
            errors[SYNC_URL] = "sync_invalid_url"
        elif not secret:
            errors[SYNC_SECRET] = "sync_secret_required"
        elif error := await async_test_service(flow.hass, url, secret):
            errors["base"] = error
        if not errors:
            return flow.async_create_entry(
                data={**options, CONF_SYNC: {SYNC_URL: url, SYNC_SECRET: secret}}
            )
    suggested = user_input.get(SYNC_URL) if user_input is not None else current[SYNC_URL]
    schema = vol.Schema(
        {
            vol.Optional(SYNC_URL, description={"suggested_value": suggested}): TextSelector(
                TextSelectorConfig(type=TextSelectorType.URL)
            ),
            vol.Optional(SYNC_SECRET): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
        }
    )
    return flow.async_show_form(step_id=STEP_ID, data_schema=schema, errors=errors)


async def async_step_reauth_sync(
    flow: ConfigFlow, entry: ConfigEntry[Any], user_input: dict[str, Any] | None
) -> ConfigFlowResult:
    """Ask for the sync service's new API secret; save it (and reload) once the service takes it."""
    current = sync_options(entry.options)
    if not current[SYNC_URL]:
        return flow.async_abort(reason="sync_not_set_up")
    errors: dict[str, str] = {}
    if user_input is not None:
        secret = str(user_input.get(SYNC_SECRET) or "")
        if not secret:
            errors[SYNC_SECRET] = "sync_secret_required"
        elif error := await async_test_service(flow.hass, current[SYNC_URL], secret):
            errors["base"] = error
        else:
            return async_update_entry_and_abort(
                flow,
                entry,
                options={
                    **entry.options,
                    CONF_SYNC: {SYNC_URL: current[SYNC_URL], SYNC_SECRET: secret},
                },
                reason="sync_reauth_successful",
            )
    return flow.async_show_form(
        step_id=REAUTH_STEP_ID,
        data_schema=vol.Schema(
            {
                vol.Required(SYNC_SECRET): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.PASSWORD)
                )
            }
        ),
        errors=errors,
        description_placeholders={"site": entry.title, "url": current[SYNC_URL]},
    )
