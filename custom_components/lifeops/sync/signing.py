"""Signing requests to the sync service and checking its answers (HMAC-SHA256).

The integration is installed apart from the add-on, so this is its own implementation of the
service's scheme (``addon/README.md``, "Transport and security"): a request is signed over its
method, path and query, the key id, the service's node id, the time, a fresh nonce and the
SHA-256 of its body; an answer is signed over the request's nonce, its status and its body's
hash, so nothing a third party sends is taken for the service's answer.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER_KEY = "X-LifeOps-Key"
HEADER_TIME = "X-LifeOps-Time"
HEADER_NONCE = "X-LifeOps-Nonce"
HEADER_SIGNATURE = "X-LifeOps-Signature"
#: The key id of the local client (Home Assistant, the command line).
API_KEY_ID = "@api"


def _digest(secret: str, lines: tuple[str, ...]) -> str:
    return hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, method: str, path_qs: str, target: str, time_ms: int, body: bytes
) -> dict[str, str]:
    """The headers that authenticate one request to node ``target`` (a new nonce each time)."""
    nonce = secrets.token_hex(16)
    signature = _digest(
        secret,
        (
            "LIFEOPS-REQUEST-1",
            method.upper(),
            path_qs,
            API_KEY_ID,
            target,
            str(time_ms),
            nonce,
            hashlib.sha256(body).hexdigest(),
        ),
    )
    return {
        HEADER_KEY: API_KEY_ID,
        HEADER_TIME: str(time_ms),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature,
    }


def answer_is_genuine(
    secret: str, nonce: str, status: int, body: bytes, signature: str | None
) -> bool:
    """Whether an answer to the request that carried ``nonce`` was signed with ``secret``."""
    if not signature:
        return False
    expected = _digest(
        secret, ("LIFEOPS-RESPONSE-1", nonce, str(status), hashlib.sha256(body).hexdigest())
    )
    return hmac.compare_digest(expected, signature)
