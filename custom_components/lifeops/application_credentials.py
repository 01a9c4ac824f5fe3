"""Oura's OAuth2 server, for Home Assistant's application credentials.

Oura has two developer portals. Applications made in the legacy one get their tokens from
`api.ouraring.com/oauth/token`; applications made in the newer one (developer.ouraring.com) are
refused there and get them from Oura's newer identity server. LifeOps asks the legacy endpoint
first and the newer one where the legacy one refuses, and keeps the endpoint that answered with
the token (`token_url`), so later refreshes go straight to it.
"""

from __future__ import annotations

from typing import Any, cast

from aiohttp import ClientResponseError
from homeassistant.components.application_credentials import (
    AuthImplementation,
    AuthorizationServer,
    ClientCredential,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import LOGGER
from .oura_account.endpoints import OURA

TOKEN_URL_KEY = "token_url"  # kept in the entry's token: the endpoint that issued it
REFUSED = (400, 401)  # what the legacy endpoint answers a newer portal's application


async def async_get_authorization_server(hass: HomeAssistant) -> AuthorizationServer:
    """Where Oura signs people in and hands out tokens (legacy portal)."""
    return AuthorizationServer(authorize_url=OURA.authorize, token_url=OURA.token)


async def async_get_auth_implementation(
    hass: HomeAssistant, auth_domain: str, credential: ClientCredential
) -> OuraAuthImplementation:
    """Oura's sign-in, asking each of its token endpoints in turn."""
    return OuraAuthImplementation(
        hass, auth_domain, credential, await async_get_authorization_server(hass)
    )


class OuraAuthImplementation(AuthImplementation):
    """Application credentials whose tokens come from the endpoint that accepts them."""

    _preferred: str | None = None

    async def _async_refresh_token(self, token: dict[str, Any]) -> dict[str, Any]:
        """Refresh at the endpoint that issued the token, then at the other one."""
        self._preferred = token.get(TOKEN_URL_KEY)
        return await super()._async_refresh_token(token)

    async def _token_request(self, data: dict[str, Any]) -> dict[str, Any]:
        """Ask each endpoint in turn until one does not refuse the application."""
        urls = [OURA.token, OURA.new_portal_token]
        if self._preferred in urls:
            urls.remove(self._preferred)
            urls.insert(0, self._preferred)
        for url in urls[:-1]:
            try:
                token = await self._quiet_token_request(url, data)
            except ClientResponseError as err:
                if err.status not in REFUSED:
                    raise
                continue
            return self._issued_by(url, token)
        # The last endpoint is asked the usual way: its refusal is Home Assistant's to report.
        self.token_url = urls[-1]
        return self._issued_by(urls[-1], await super()._token_request(dict(data)))

    async def _quiet_token_request(self, url: str, data: dict[str, Any]) -> dict[str, Any]:
        """One token request that raises on a refusal without logging it as an error.

        A refusal here is expected (the application belongs to the other portal).
        """
        body = {**data, "client_id": self.client_id, "client_secret": self.client_secret}
        response = await async_get_clientsession(self.hass).post(url, data=body)
        if response.status >= 400:
            LOGGER.debug("Oura's token endpoint %s refused (HTTP %s)", url, response.status)
            response.raise_for_status()
        return cast(dict[str, Any], await response.json())

    def _issued_by(self, url: str, token: dict[str, Any]) -> dict[str, Any]:
        self._preferred = url
        return {**token, TOKEN_URL_KEY: url}


async def async_get_description_placeholders(hass: HomeAssistant) -> dict[str, str]:
    """Links shown when adding Oura's client id and secret."""
    return {
        "oura_applications_url": "https://cloud.ouraring.com/oauth/applications",
        "redirect_url": "https://my.home-assistant.io/redirect/oauth",
    }
