"""Oura's OAuth2 server, for Home Assistant's application credentials."""

from __future__ import annotations

from homeassistant.components.application_credentials import AuthorizationServer
from homeassistant.core import HomeAssistant

from .const import OURA_AUTHORIZE_URL, OURA_TOKEN_URL


async def async_get_authorization_server(hass: HomeAssistant) -> AuthorizationServer:
    """Where Oura signs people in and hands out tokens."""
    return AuthorizationServer(authorize_url=OURA_AUTHORIZE_URL, token_url=OURA_TOKEN_URL)


async def async_get_description_placeholders(hass: HomeAssistant) -> dict[str, str]:
    """Links shown when adding Oura's client id and secret."""
    return {
        "oura_applications_url": "https://cloud.ouraring.com/oauth/applications",
        "redirect_url": "https://my.home-assistant.io/redirect/oauth",
    }
