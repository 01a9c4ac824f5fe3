"""Oura's OAuth2 server, for Home Assistant's application credentials.

Oura has two developer portals. Applications made in the legacy one get their tokens from
`api.ouraring.com/oauth/token`; applications made in the newer one (developer.ouraring.com) are
refused there and get them from Oura's newer identity server. LifeOps asks the legacy endpoint
first and the newer one where the legacy one refuses, and keeps the endpoint that answered with
the token (`token_url`), so later refreshes go straight to it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponseError
from homeassistant.components.application_credentials import (
    AuthImplementation,
    AuthorizationServer,
    ClientCredential,
)
from homeassistant.core import HomeAssistant

from .const import OURA_AUTHORIZE_URL, OURA_NEW_PORTAL_TOKEN_URL, OURA_TOKEN_URL

TOKEN_URL_KEY = "token_url"  # kept in the entry's token: the endpoint that issued it
REFUSED = (400, 401)  # what the legacy endpoint answers a newer portal's application


async def async_get_authorization_server(hass: HomeAssistant) -> AuthorizationServer:
    """Where Oura signs people in and hands out tokens (legacy portal)."""
    return AuthorizationServer(authorize_url=OURA_AUTHORIZE_URL, token_url=OURA_TOKEN_URL)


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
        urls = [OURA_TOKEN_URL, OURA_NEW_PORTAL_TOKEN_URL]
        if self._preferred in urls:
            urls.remove(self._preferred)
            urls.insert(0, self._preferred)
        for url in urls[:-1]:
            try:
                return await self._token_request_at(url, data)
            except ClientResponseError as err:
                if err.status not in REFUSED:
                    raise
        return await self._token_request_at(urls[-1], data)

    async def _token_request_at(self, url: str, data: dict[str, Any]) -> dict[str, Any]:
        self.token_url = url
        token = await super()._token_request(dict(data))
        self._preferred = url
        return {**token, TOKEN_URL_KEY: url}


async def async_get_description_placeholders(hass: HomeAssistant) -> dict[str, str]:
    """Links shown when adding Oura's client id and secret."""
    return {
        "oura_applications_url": "https://cloud.ouraring.com/oauth/applications",
        "redirect_url": "https://my.home-assistant.io/redirect/oauth",
    }
