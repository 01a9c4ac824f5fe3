"""Setting LifeOps up from its add-on's discovery: the long-term store and sync in one step.

The add-on announces itself to the Supervisor (``addon/lifeops_sync/discovery.py``) with where
its sync service and its database are and how to sign in to both. Home Assistant hands that to
the config flow (``async_step_hassio``); the person confirms once and nothing is typed: the
site's entry is created, or an existing one for the same site is pointed at the add-on, with
the store and sync settings tried first, as the options steps do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.core import HomeAssistant

from .core.sites import MAX_SITE_NAME_LENGTH, Site, site_id
from .long_term.options import (
    CONF_STORE,
    DATABASE,
    HOST,
    PASSWORD,
    PORT,
    USER,
    store_config,
    store_options,
)
from .sync_link.flow import async_test_service
from .sync_link.options import CONF_SYNC, SYNC_SECRET, SYNC_URL, valid_url
from .timescale.errors import StoreError
from .timescale.migrate import check

STEP_ID = "hassio_confirm"

# The discovery payload's keys (the add-on's discovery.py writes them).
KEY_HOST = "host"
KEY_NODE_ID = "node_id"
KEY_SYNC_PORT = "sync_port"
KEY_API_SECRET = "api_secret"
KEY_DATABASE_PORT = "database_port"
KEY_DATABASE = "database"
KEY_DATABASE_USER = "database_user"
KEY_DATABASE_PASSWORD = "database_password"


@dataclass(frozen=True, slots=True)
class AddonSettings:
    """What the add-on announced, as LifeOps' options."""

    site: str
    site_name: str | None
    sync: dict[str, str]
    store: dict[str, Any]

    def options(self, current: Mapping[str, Any]) -> dict[str, Any]:
        """``current`` options using the add-on for both the store and sync."""
        store = {**store_options(current), **self.store}
        return {**current, CONF_STORE: store, CONF_SYNC: dict(self.sync)}


def _text(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _port(config: Mapping[str, Any], key: str) -> int | None:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        return None
    return value


def read_discovery(config: Mapping[str, Any]) -> AddonSettings | None:
    """The add-on's settings from its discovery payload; None when something is missing."""
    host, node_id = _text(config, KEY_HOST), _text(config, KEY_NODE_ID)
    secret = _text(config, KEY_API_SECRET)
    sync_port, db_port = _port(config, KEY_SYNC_PORT), _port(config, KEY_DATABASE_PORT)
    database, user = _text(config, KEY_DATABASE), _text(config, KEY_DATABASE_USER)
    password = _text(config, KEY_DATABASE_PASSWORD)
    if (
        host is None
        or node_id is None
        or secret is None
        or None in (sync_port, db_port, database, user, password)
    ):
        return None
    url = f"http://{host}:{sync_port}"
    if not valid_url(url):
        return None
    # The add-on's node id names the site: a preset one as is, any other as a named place.
    if node_id in {preset.value for preset in Site}:
        site, name = node_id, None
    else:
        site, name = site_id(node_id), node_id[:MAX_SITE_NAME_LENGTH]
        if not site:
            return None
    return AddonSettings(
        site=site,
        site_name=name,
        sync={SYNC_URL: url, SYNC_SECRET: secret},
        store={HOST: host, PORT: db_port, DATABASE: database, USER: user, PASSWORD: password},
    )


async def async_test_addon(hass: HomeAssistant, settings: AddonSettings) -> str | None:
    """Why the add-on's services do not work with its settings (an error key), else None."""
    if await async_test_service(hass, settings.sync[SYNC_URL], settings.sync[SYNC_SECRET]):
        return "addon_sync_unavailable"
    config = store_config(store_options({CONF_STORE: settings.store}))
    assert config is not None  # the host is set
    try:
        await check(config)
    except StoreError:
        return "addon_store_unavailable"
    return None
