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

AGENTS: Final = tuple(Agent)
