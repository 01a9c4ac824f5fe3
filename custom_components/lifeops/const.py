"""Constants shared by the LifeOps Home Assistant layer."""

from __future__ import annotations

import logging
from typing import Final

from homeassistant.const import Platform

from .core.agents import Agent

DOMAIN: Final = "lifeops"
LOGGER = logging.getLogger(__package__)

PLATFORMS: Final = [
    Platform.BINARY_SENSOR,
    Platform.CALENDAR,
    Platform.NUMBER,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TIME,
    Platform.TODO,
]

# Config entry data keys.
CONF_SITE: Final = "site"
CONF_SITE_NAME: Final = "site_name"
CONF_NODE_ID: Final = "node_id"

SITE_CUSTOM: Final = "custom"

# An entry is a site (no kind, as every entry made before Oura) or an Oura account.
CONF_KIND: Final = "kind"
KIND_OURA: Final = "oura"
OURA_PLATFORMS: Final = [Platform.SENSOR]
CONF_HISTORY_DAYS: Final = "history_days"  # Oura entry option: days put into statistics at first

# Oura's OAuth2 endpoints and the scopes LifeOps asks for (https://cloud.ouraring.com/docs/authentication).
OURA_AUTHORIZE_URL: Final = "https://cloud.ouraring.com/oauth/authorize"
OURA_TOKEN_URL: Final = "https://api.ouraring.com/oauth/token"
# Applications made in Oura's newer developer portal (developer.ouraring.com) get tokens here.
OURA_NEW_PORTAL_TOKEN_URL: Final = "https://moi.ouraring.com/oauth/v2/ext/oauth-token"
OURA_SCOPES: Final = (
    "personal",
    "daily",
    "heartrate",
    "workout",
    "spo2Daily",
    "tag",
    "session",
)

AGENTS: Final = tuple(Agent)
