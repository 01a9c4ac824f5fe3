"""Signed requests between peers, and replay protection that survives clock skew.

Every request carries ``X-LifeOps-Key`` (who signs: the sender's node id, or ``@api`` for the local
client), ``X-LifeOps-Time`` (ms), ``X-LifeOps-Nonce`` (random) and ``X-LifeOps-Signature``:
HMAC-SHA256 with the secret shared by the two ends over the method, the path and query, the key,
the receiver's node id, the time, the nonce and the SHA-256 of the body exactly as sent.
A response carries its own signature over the request's nonce, its status and its body's hash,
so a client only applies what its peer really sent.

Clock skew versus replay windows. A replay window is only as good as the clocks it compares, and a
cabin's clock may be an hour off. So the time in a request is the *receiver's* time as the sender
estimates it: every answer (a refusal too) says ``X-LifeOps-Time``, the sender keeps the offset
per peer, and a request refused for its time is re-signed with the corrected offset and sent once
more. The window can then stay tight (5 minutes) whatever the skew. Within the window, nonces are
remembered, and stored with the replica, so a request recorded before a restart cannot be replayed
after it; below the window nothing is accepted. (An earlier design stored only the newest accepted
time per key and refused anything at or before it after a restart: that also refused honest
requests signed a few milliseconds behind the last one, such as concurrent ones or the first after
a quick restart.) Unauthenticated (no or unknown key, bad headers) and out-of-window requests get
401; a forged signature or a replay gets 403. Everything but the signature is checked on the
headers alone, before a byte of the body is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import hashlib
import hmac
import re
import secrets as _secrets

HEADER_KEY = "X-LifeOps-Key"
HEADER_TIME = "X-LifeOps-Time"
HEADER_NONCE = "X-LifeOps-Nonce"
HEADER_SIGNATURE = "X-LifeOps-Signature"
API_KEY_ID = "@api"
WINDOW_MS = 5 * 60 * 1000
_NONCE = re.compile(r"[0-9a-f]{32}")
_TIME = re.compile(r"-?[0-9]{1,19}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class AuthError(Exception):
    """A request refused: ``status`` 401 or 403, ``code`` says why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        """Refuse with an HTTP status and a machine-readable code."""
        super().__init__(message)
        self.status = status
        self.code = code


def new_secret() -> str:
    """A fresh shared secret (256 bits, URL-safe)."""
    return _secrets.token_urlsafe(32)


def new_nonce() -> str:
    """A fresh request nonce."""
    return _secrets.token_hex(16)


def body_hash(body: bytes) -> str:
    """SHA-256 of a body, hex."""
    return hashlib.sha256(body).hexdigest()


def _mac(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def request_signature(
    secret: str, method: str, path: str, key_id: str, target: str, ts: int, nonce: str, body: bytes
) -> str:
    """The signature of a request."""
    text = "\n".join(
        ("LIFEOPS-REQUEST-1", method.upper(), path, key_id, target, str(ts), nonce, body_hash(body))
    )
    return _mac(secret, text)


def response_signature(secret: str, nonce: str, status: int, body: bytes) -> str:
    """The signature of a response to the request that carried ``nonce``."""
    return _mac(secret, "\n".join(("LIFEOPS-RESPONSE-1", nonce, str(status), body_hash(body))))


def sign_request(
    secret: str, method: str, path: str, key_id: str, target: str, ts: int, body: bytes
) -> dict[str, str]:
    """Headers that authenticate a request."""
    nonce = new_nonce()
    return {
        HEADER_KEY: key_id,
        HEADER_TIME: str(ts),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: request_signature(secret, method, path, key_id, target, ts, nonce, body),
    }


def verify_response(
    secret: str, nonce: str, status: int, body: bytes, signature: str | None
) -> bool:
    """Whether a response really comes from the holder of ``secret``."""
    if signature is None:
        return False
    return hmac.compare_digest(response_signature(secret, nonce, status, body), signature)


@dataclass(frozen=True, slots=True)
class Credentials:
    """A request's authentication headers, well formed and inside the time window."""

    key_id: str
    ts: int
    nonce: str
    signature: str


class Verifier:
    """Checks requests for one node: signatures, the time window, nonces, the restart floor."""

    def __init__(
        self,
        node_id: str,
        secrets: Mapping[str, str],
        nonces: Mapping[str, Mapping[str, int]] | None = None,
        window_ms: int = WINDOW_MS,
    ) -> None:
        """``secrets`` maps key ids to secrets; ``nonces`` are the stored recent nonces per key."""
        self.node_id = node_id
        self.secrets = dict(secrets)
        self.window_ms = window_ms
        # Nothing at or before a key's floor is accepted: the bottom of the nonce memory as it is
        # trimmed (always older than the window, so it only matters to a far-off clock).
        self._floors: dict[str, int] = {}
        self._nonces: dict[str, dict[str, int]] = {
            key: dict(seen) for key, seen in (nonces or {}).items()
        }
        self._newest: dict[str, int] = {}

    def check_headers(self, headers: Mapping[str, str], now_ms: int) -> Credentials:
        """Everything that can be checked before the body is read, or :class:`AuthError`.

        The key must be known, the headers well formed and the time inside the window, so a
        stranger is refused on its headers alone, whatever body it announces.
        """
        key_id = headers.get(HEADER_KEY)
        raw_ts = headers.get(HEADER_TIME)
        nonce = headers.get(HEADER_NONCE)
        signature = headers.get(HEADER_SIGNATURE)
        if key_id is None or raw_ts is None or nonce is None or signature is None:
            raise AuthError(401, "unauthenticated", "request is not signed")
        if key_id not in self.secrets:
            raise AuthError(401, "unknown_key", "unknown key")
        if not _TIME.fullmatch(raw_ts) or not _NONCE.fullmatch(nonce):
            raise AuthError(401, "unauthenticated", "malformed authentication headers")
        if not _SIGNATURE.fullmatch(signature):
            raise AuthError(403, "bad_signature", "malformed signature")
        ts = int(raw_ts)
        if abs(ts - now_ms) > self.window_ms:
            raise AuthError(401, "clock", "request time is outside the window; see X-LifeOps-Time")
        return Credentials(key_id, ts, nonce, signature)

    def check_body(self, method: str, path: str, credentials: Credentials, body: bytes) -> None:
        """Accept the signed request or raise :class:`AuthError` (403: forged or replayed).

        Nothing is remembered unless the request is accepted, so a forged request cannot use up
        a nonce or move a floor.
        """
        key_id, ts, nonce = credentials.key_id, credentials.ts, credentials.nonce
        secret = self.secrets[key_id]
        expected = request_signature(secret, method, path, key_id, self.node_id, ts, nonce, body)
        if not hmac.compare_digest(expected, credentials.signature):
            raise AuthError(403, "bad_signature", "signature does not match")
        if ts <= self._floors.get(key_id, -(1 << 62)):
            raise AuthError(403, "replayed", "request is older than what was already accepted")
        seen = self._nonces.setdefault(key_id, {})
        if nonce in seen:
            raise AuthError(403, "replayed", "nonce already used")
        seen[nonce] = ts
        newest = max(self._newest.get(key_id, ts), ts)
        self._newest[key_id] = newest
        if len(seen) > 256:
            self._trim(key_id, newest - 2 * self.window_ms)

    def verify(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, now_ms: int
    ) -> tuple[str, int, str]:
        """Both checks at once; return (key id, its time, its nonce)."""
        credentials = self.check_headers(headers, now_ms)
        self.check_body(method, path, credentials, body)
        return credentials.key_id, credentials.ts, credentials.nonce

    def _trim(self, key_id: str, bound: int) -> None:
        seen = self._nonces[key_id]
        for nonce in [n for n, t in seen.items() if t <= bound]:
            del seen[nonce]
        self._floors[key_id] = max(self._floors.get(key_id, bound), bound)
