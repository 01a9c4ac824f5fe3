"""The sync options of a site entry: where its sync service is and its API secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

# Options: one nested dict, so its "secret" is redacted wherever options are shown.
CONF_SYNC: Final = "sync"
SYNC_URL: Final = "url"
SYNC_SECRET: Final = "secret"


def sync_options(options: Mapping[str, Any]) -> dict[str, str]:
    """The sync options (URL and secret), empty strings when not set."""
    values = options.get(CONF_SYNC) or {}
    return {
        SYNC_URL: str(values.get(SYNC_URL) or ""),
        SYNC_SECRET: str(values.get(SYNC_SECRET) or ""),
    }


def valid_url(url: str) -> bool:
    """Whether a URL is http(s)://host[:port] with nothing else (no credentials, no path)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.username
        and not parts.password
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
        and (port is None or 0 < port < 65536)
    )
