"""Oura's webhook subscriptions: Oura calls a URL of ours when new data of a kind arrives.

No Home Assistant imports. Subscriptions belong to the OAuth application (they are made with its
client id and secret, not a person's token) and expire: they are listed, created, renewed before
they lapse and deleted here. When one is created, Oura first calls the URL with a GET carrying
the verification token given at creation and a challenge to echo back; afterwards it POSTs a small
notice per change (`event_type`, `data_type`, `object_id`, `event_time`, `user_id`), signed: the
`x-oura-signature` header is the HMAC-SHA256, keyed with the application's client secret, of the
`x-oura-timestamp` header followed by the raw body, in hexadecimal. LifeOps refuses a notice whose
signature does not match, and takes a genuine one only as a cue to poll at once; it never trusts
data from the notice itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
import hashlib
import hmac
import json
import logging
from typing import Self

import aiohttp

from .client import DEFAULT_BASE_URL, DEFAULT_TIMEOUT
from .exceptions import OuraAuthError, OuraConnectionError, OuraError, OuraPayloadError

_LOGGER = logging.getLogger(__name__)
SUBSCRIPTION_PATH = "/v2/webhook/subscription"
SIGNATURE_HEADER = "x-oura-signature"
TIMESTAMP_HEADER = "x-oura-timestamp"
EVENT_TYPES = ("create", "update")
# The kinds of data LifeOps reads; a notice about one of them triggers a poll.
DATA_TYPES = (
    "daily_sleep",
    "sleep",
    "daily_readiness",
    "daily_activity",
    "daily_spo2",
    "daily_stress",
    "workout",
    "sleep_time",
)


@dataclass(frozen=True, slots=True)
class Subscription:
    """One webhook subscription of the application."""

    id: str
    callback_url: str
    event_type: str
    data_type: str
    expiration_time: datetime | None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        if not isinstance(raw, Mapping):
            raise OuraPayloadError("webhook subscription is not a JSON object")
        values = {key: raw.get(key) for key in ("id", "callback_url", "event_type", "data_type")}
        if not all(isinstance(value, str) and value for value in values.values()):
            raise OuraPayloadError("webhook subscription lacks its id, URL or types")
        expires = raw.get("expiration_time")
        expiration: datetime | None = None
        if isinstance(expires, str):
            try:
                expiration = datetime.fromisoformat(expires)
            except ValueError:
                raise OuraPayloadError("webhook subscription has a bad expiration_time") from None
            if expiration.tzinfo is None:
                expiration = expiration.replace(tzinfo=UTC)
        return cls(
            id=str(values["id"]),
            callback_url=str(values["callback_url"]),
            event_type=str(values["event_type"]),
            data_type=str(values["data_type"]),
            expiration_time=expiration,
        )


@dataclass(frozen=True, slots=True)
class Notice:
    """What a webhook POST says changed (only used as a cue to poll)."""

    event_type: str
    data_type: str
    user_id: str | None


def notice_signature(client_secret: str, timestamp: str, body: bytes) -> str:
    """The signature Oura sends with a notice: HMAC-SHA256 of timestamp + body, upper-case hex."""
    digest = hmac.new(client_secret.encode(), timestamp.encode() + body, hashlib.sha256)
    return digest.hexdigest().upper()


def verify_notice(
    client_secret: str, timestamp: str | None, signature: str | None, body: bytes
) -> bool:
    """Whether a notice really comes from Oura (the application's client secret signed it).

    The hex digits are compared without regard to case, in constant time. A missing header is a
    failed check.
    """
    if not timestamp or not signature:
        return False
    expected = notice_signature(client_secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), signature.strip().upper().encode())


def parse_notice(body: bytes) -> Notice:
    """Read a webhook POST's body; raises `OuraPayloadError` for anything else."""
    try:
        raw = json.loads(body)
    except ValueError:
        raise OuraPayloadError("webhook notice is not JSON") from None
    if not isinstance(raw, Mapping):
        raise OuraPayloadError("webhook notice is not a JSON object")
    event_type, data_type, user_id = (raw.get(k) for k in ("event_type", "data_type", "user_id"))
    if not isinstance(event_type, str) or not isinstance(data_type, str):
        raise OuraPayloadError("webhook notice lacks its event or data type")
    return Notice(
        event_type=event_type,
        data_type=data_type,
        user_id=user_id if isinstance(user_id, str) else None,
    )


class OuraWebhookClient:
    """Manages the application's webhook subscriptions with its client id and secret."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        session: aiohttp.ClientSession,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Use an injected session (left open)."""
        self._client_secret = client_secret
        self._headers = {
            "x-client-id": client_id,
            "x-client-secret": client_secret,
            "Accept": "application/json",
        }
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout

    def __repr__(self) -> str:
        """Where the client points; never the secret."""
        return f"OuraWebhookClient(base_url={self._base_url!r})"

    def verify(self, timestamp: str | None, signature: str | None, body: bytes) -> bool:
        """Whether a notice POSTed to our URL was signed with this application's secret."""
        return verify_notice(self._client_secret, timestamp, signature, body)

    async def list(self) -> list[Subscription]:
        """Every subscription of the application."""
        body = await self._request("GET", SUBSCRIPTION_PATH)
        items = body.get("data", body) if isinstance(body, Mapping) else body
        if not isinstance(items, list):
            raise OuraPayloadError("webhook subscription list is not a list")
        return [Subscription.from_dict(item) for item in items]

    async def create(
        self, callback_url: str, verification_token: str, event_type: str, data_type: str
    ) -> Subscription:
        """Subscribe `callback_url` to one event of one data type (Oura verifies it first)."""
        body = await self._request(
            "POST",
            SUBSCRIPTION_PATH,
            {
                "callback_url": callback_url,
                "verification_token": verification_token,
                "event_type": event_type,
                "data_type": data_type,
            },
        )
        return Subscription.from_dict(body)

    async def renew(self, subscription_id: str) -> Subscription:
        """Push a subscription's expiration time further out."""
        body = await self._request("PUT", f"{SUBSCRIPTION_PATH}/renew/{subscription_id}")
        return Subscription.from_dict(body)

    async def delete(self, subscription_id: str) -> None:
        """Remove a subscription (one already gone counts as removed)."""
        try:
            await self._request("DELETE", f"{SUBSCRIPTION_PATH}/{subscription_id}")
        except OuraError as err:
            if err.status != 404:
                raise

    async def _request(
        self, method: str, path: str, payload: Mapping[str, str] | None = None
    ) -> object:
        url = f"{self._base_url}{path}"
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._session.request(method, url, json=payload, headers=self._headers) as response,
            ):
                status = response.status
                body = await response.read()
        except TimeoutError as err:
            raise OuraConnectionError(f"Oura did not answer {method} {path}") from err
        except aiohttp.ClientError as err:
            raise OuraConnectionError(
                f"Could not reach Oura for {method} {path}: {type(err).__name__}"
            ) from err
        _LOGGER.debug("Oura webhook %s %s: HTTP %s", method, path, status)
        if status in (401, 403):
            raise OuraAuthError(f"Oura refused the application's credentials (HTTP {status})")
        if status >= 500:
            raise OuraConnectionError(
                f"Oura failed on {method} {path} (HTTP {status})", status=status
            )
        if status >= 400:
            raise OuraError(f"Oura rejected {method} {path} (HTTP {status})", status=status)
        if not body:
            return {}
        try:
            return json.loads(body)
        except ValueError:
            raise OuraPayloadError(f"Oura's answer to {method} {path} is not JSON") from None
