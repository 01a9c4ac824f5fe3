"""The options flow's sync step: where this site's sync service is, and its API secret.

The address and secret are tried on submit (the service's health, then a signed status) and
saved only when they work; an empty address turns sync off. An empty secret keeps the stored one.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType
import voluptuous as vol

from .sync import SyncAuthError, SyncClient, SyncConnectionError, SyncError, SyncNotAServiceError
from .sync_manager import CONF_SYNC, SYNC_SECRET, SYNC_URL, sync_options, valid_url

STEP_ID = "sync"


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
        else:
            client = SyncClient(async_get_clientsession(flow.hass), url, secret)
            try:
                await client.connect()
            except SyncNotAServiceError:
                errors["base"] = "sync_not_a_service"
            except SyncAuthError:
                errors["base"] = "sync_invalid_auth"
            except SyncConnectionError:
                errors["base"] = "sync_cannot_connect"
            except SyncError:
                errors["base"] = "sync_not_a_service"
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
