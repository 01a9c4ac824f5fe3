"""The long-term store's options: what the options step keeps, and the connection they make."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.util.ssl import client_context, client_context_no_verify

from ..timescale.migrate import TLS_PREFER, TLS_VERIFY, StoreConfig

CONF_STORE: Final = "long_term_store"
HOST: Final = "host"
PORT: Final = "port"
DATABASE: Final = "database"
USER: Final = "user"
PASSWORD: Final = "password"
ALLOW_POSTGRESQL: Final = "allow_postgresql"
TLS: Final = "tls"
HEALTH_ENTITIES: Final = "health_entities"
STATE_ENTITIES: Final = "state_entities"
RAW_DAYS: Final = "raw_days"
ROLLUP_DAYS: Final = "rollup_days"

DEFAULTS: Final[dict[str, Any]] = {
    HOST: "",
    PORT: 5432,
    DATABASE: "lifeops",
    USER: "lifeops",
    PASSWORD: "",
    ALLOW_POSTGRESQL: False,
    TLS: TLS_PREFER,
    HEALTH_ENTITIES: [],
    STATE_ENTITIES: [],
    RAW_DAYS: 90,
    ROLLUP_DAYS: 730,
}


def store_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The store's options with defaults filled in."""
    return {**DEFAULTS, **(options.get(CONF_STORE) or {})}


def store_config(values: Mapping[str, Any]) -> StoreConfig | None:
    """Connection settings from the store's options; None when no host is set (store off)."""
    if not str(values.get(HOST) or "").strip():
        return None
    return StoreConfig(
        host=str(values[HOST]).strip(),
        port=int(values[PORT]),
        database=str(values[DATABASE]),
        user=str(values[USER]),
        password=str(values[PASSWORD]),
        allow_postgresql=bool(values[ALLOW_POSTGRESQL]),
        tls=str(values[TLS]),
        # Home Assistant's own contexts, made at its start: nothing is read from disk on the loop.
        # Not get_default_context(): from 2026.x it offers ALPN http/1.1, which PostgreSQL
        # refuses (TLSV1_ALERT_NO_APPLICATION_PROTOCOL); client_context() offers no ALPN.
        ssl_context=client_context() if values[TLS] == TLS_VERIFY else client_context_no_verify(),
    )
