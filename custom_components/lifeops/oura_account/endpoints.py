"""Where LifeOps reaches Oura: its API and its OAuth2 endpoints, read once at startup.

Always Oura's own servers, unless the development-only environment variable
`LIFEOPS_DEV_OURA_URL` names a stand-in on this machine (`scripts/develop` runs one, serving
recorded answers). Only a loopback address is taken, so the variable cannot send anyone's Oura
sign-in or token elsewhere; any other value is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import os
from typing import Final

from yarl import URL

from ..const import OURA_AUTHORIZE_URL, OURA_NEW_PORTAL_TOKEN_URL, OURA_TOKEN_URL
from ..oura import DEFAULT_BASE_URL

DEV_OURA_URL_ENV: Final = "LIFEOPS_DEV_OURA_URL"
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True, kw_only=True)
class OuraEndpoints:
    """The base URL of Oura's API and the URLs of its OAuth2 endpoints."""

    api: str
    authorize: str
    token: str
    new_portal_token: str


OURA_CLOUD: Final = OuraEndpoints(
    api=DEFAULT_BASE_URL,
    authorize=OURA_AUTHORIZE_URL,
    token=OURA_TOKEN_URL,
    new_portal_token=OURA_NEW_PORTAL_TOKEN_URL,
)


def oura_endpoints(environ: Mapping[str, str]) -> OuraEndpoints:
    """Oura's servers, or a development stand-in on a loopback address named in `environ`."""
    configured = environ.get(DEV_OURA_URL_ENV, "").strip()
    if not configured:
        return OURA_CLOUD
    url = URL(configured)
    if url.scheme not in ("http", "https") or url.host not in LOOPBACK_HOSTS:
        return OURA_CLOUD
    base = str(url.with_path("").with_query(None).with_fragment(None))
    return OuraEndpoints(
        api=base,
        authorize=f"{base}/oauth/authorize",
        token=f"{base}/oauth/token",
        new_portal_token=f"{base}/oauth/v2/ext/oauth-token",
    )


OURA: Final = oura_endpoints(os.environ)
