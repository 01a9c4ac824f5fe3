"""Adding an Oura account in the UI: signing in with OAuth2, signing in again, its options.

`OuraAccountFlow` holds the Oura account's steps of LifeOps' one config flow (the root
`config_flow.py` builds its handler on it); `OuraOptionsFlow` asks how much history to import.
"""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_TOKEN
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import NumberSelector, NumberSelectorConfig, NumberSelectorMode

from ..compat import vol
from ..const import CONF_HISTORY_DAYS, CONF_KIND, KIND_OURA, LOGGER, OURA_SCOPES
from ..entry_update import async_update_entry_and_abort
from ..oura import OuraAuthError, OuraClient, OuraError
from .endpoints import OURA
from .statistics import DEFAULT_HISTORY_DAYS, MAX_HISTORY_DAYS

OURA_DEFAULT_TITLE = "Oura"


class OuraAccountFlow(config_entry_oauth2_flow.AbstractOAuth2FlowHandler):
    """The Oura account's steps: sign in (OAuth2), identify the account, sign in again."""

    @property
    def logger(self) -> logging.Logger:
        """The logger the OAuth2 steps write to."""
        return LOGGER

    @property
    def extra_authorize_data(self) -> dict[str, str]:
        """The Oura scopes LifeOps reads."""
        return {"scope": " ".join(OURA_SCOPES)}

    async def async_step_oura(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Sign in to Oura with the application credentials added to Home Assistant."""
        return await self.async_step_pick_implementation()

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
