"""The local client of a node's API: signed requests with the API secret, answers checked."""

from __future__ import annotations

from collections.abc import Callable
import json
from typing import Any

from aiohttp import ClientSession

from .auth import (
    API_KEY_ID,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIME,
    sign_request,
    verify_response,
)
from .gate import DRAIN_LIMIT
from .hlc import WallClock
from .peerlink import PeerError


class ApiClient:
    """The local client of a node's API (the command line, tests, the integration's model)."""

    def __init__(
        self,
        url: str,
        secret: str,
        node_id: str,
        session: ClientSession,
        wall: Callable[[], int] | None = None,
    ) -> None:
        """Talk to the node ``node_id`` at ``url`` with the API secret."""
        self.url = url.rstrip("/")
        self.secret = secret
        self.node_id = node_id
        self.session = session
        self.wall = wall or WallClock()
        self.offset_ms = 0

    async def request(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        """Send a signed request; return (status, decoded JSON)."""
        body = b"" if payload is None else json.dumps(payload).encode()
        for attempt in range(2):
            sent = self.wall()
            headers = sign_request(
                self.secret, method, path, API_KEY_ID, self.node_id, sent + self.offset_ms, body
            )
            headers["Content-Type"] = "application/json"
            async with self.session.request(
                method,
                self.url + path,
                data=body,
                headers=headers,
                expect100=len(body) > DRAIN_LIMIT,  # a refusal comes before a large body
            ) as r:
                data = await r.read()
                server_time = r.headers.get(HEADER_TIME)
                if server_time is not None:
                    self.offset_ms = int(server_time) - (sent + self.wall()) // 2
                status = r.status
                signature = r.headers.get(HEADER_SIGNATURE)
            doc = json.loads(data) if data else None
            if (
                status == 401
                and attempt == 0
                and isinstance(doc, dict)
                and doc.get("error") == "clock"
            ):
                continue
            if status == 200 and not verify_response(
                self.secret, headers[HEADER_NONCE], status, data, signature
            ):
                raise PeerError("the answer is not signed by the node")
            return status, doc
        raise AssertionError("unreachable")
