"""HTTP requests to a node: who may send them, how large, and how their bodies are read.

Headers are checked first (the key, the time, the formats, the announced size), and only then
is the body read, within the route's limit and a deadline that grows with its size; answers to
authenticated requests are signed. :class:`Gate` is a part of :class:`~lifeops_sync.service.Node`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import json
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from aiohttp import web

from .auth import (
    API_KEY_ID,
    HEADER_SIGNATURE,
    HEADER_TIME,
    AuthError,
    Credentials,
    Verifier,
    response_signature,
)
from .peerlink import SYNC_PATH
from .store import Store
from .wire import MAX_BODY

P = ParamSpec("P")
T = TypeVar("T")

#: The largest body each route takes: a peer's batch may be large, the local API's is small
#: (the integration writes at most a thousand operations at a time) and a GET has none.
BODY_LIMITS = {SYNC_PATH: MAX_BODY, "/v1/write": 8 * 1024 * 1024}
BODY_LIMIT_OTHER = 4096
#: Reading a body may take this long, plus a second per ``BODY_MIN_RATE`` bytes announced.
BODY_TIMEOUT = 30.0
BODY_MIN_RATE = 32 * 1024


#: A refused request's body up to this size is read and thrown away, so the refusal reaches
#: the client intact and the connection stays open; a larger one is never read.
DRAIN_LIMIT = 256 * 1024
DRAIN_TIMEOUT = 2.0
#: Bodies larger than this are read one at a time.
LARGE_BODY = 1024 * 1024


async def refuse_unread(request: web.Request, response: web.Response) -> web.Response:
    """A refusal decided on the headers: drain a small body, else close after answering.

    Closing with a large unread body may reset the connection before the client has read the
    answer; clients that care (the peers, the local client) send ``Expect: 100-continue`` and
    get the refusal before sending the body.
    """
    length = request.content_length or 0
    if request.body_exists and length <= DRAIN_LIMIT and length > 0:
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT):
                while await request.content.readany():
                    pass
        except TimeoutError:
            response.force_close()
    elif request.body_exists:
        response.force_close()
    return response


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The request's body, or None when it is larger than ``limit``.

    Raises :class:`web.HTTPRequestTimeout` when it does not arrive in time (a slow sender holds
    a connection no longer than a fair rate allows).
    """
    expected = request.content_length or limit
    deadline = BODY_TIMEOUT + min(expected, limit) / BODY_MIN_RATE
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(deadline):
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
    except TimeoutError:
        raise web.HTTPRequestTimeout(headers={"Connection": "close"}) from None
    return b"".join(chunks)


def error_response(status: int, code: str, message: str, now_ms: int) -> web.Response:
    """A refusal: ``{"error": code, "message": message}`` with the node's time."""
    return web.json_response(
        {"error": code, "message": message}, status=status, headers={HEADER_TIME: str(now_ms)}
    )


class Gate:
    """Authenticating a request and signing its answer (a part of the node)."""

    store: Store
    verifier: Verifier
    wall: Callable[[], int]
    _large_bodies: asyncio.Semaphore

    if TYPE_CHECKING:

        async def db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
            """Run ``fn`` in the database thread (the node's)."""

    def _check_headers(self, request: web.Request, api_only: bool) -> Credentials | web.Response:
        """What can be refused on the headers alone: the key, the time, the formats, the size."""
        try:
            credentials = self.verifier.check_headers(request.headers, self.wall())
        except AuthError as err:
            return error_response(err.status, err.code, str(err), self.wall())
        if api_only and credentials.key_id != API_KEY_ID:
            return error_response(
                403, "forbidden", "this endpoint is for the local client", self.wall()
            )
        limit = BODY_LIMITS.get(request.path, BODY_LIMIT_OTHER)
        if request.content_length is not None and request.content_length > limit:
            return error_response(
                413, "too_large", f"the body is limited to {limit} bytes", self.wall()
            )
        return credentials

    def _expect(self, api_only: bool) -> Callable[[web.Request], Awaitable[web.Response | None]]:
        """The answer to ``Expect: 100-continue``: a refusal before the body is sent, or go on."""

        async def expect(request: web.Request) -> web.Response | None:
            checked = self._check_headers(request, api_only)
            if isinstance(checked, web.Response):
                checked.force_close()
                return checked
            if request.headers.get("Expect", "").lower() != "100-continue":
                return error_response(417, "expectation_failed", "only 100-continue", self.wall())
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0  # the answer's own size starts after this line
            return None

        return expect

    async def _guard(
        self, request: web.Request, api_only: bool
    ) -> tuple[str, str, bytes] | web.Response:
        """Authenticate a request: its headers first, then (only then) its body.

        A request refused on its headers has its body read only when that is small (up to
        ``DRAIN_LIMIT``, discarded, so the connection stays usable); a larger one is left unread
        and the connection closed after the answer. The body is read up to the route's limit and
        within a deadline that grows with its size.
        """
        checked = self._check_headers(request, api_only)
        if isinstance(checked, web.Response):
            return await refuse_unread(request, checked)
        credentials = checked
        limit = BODY_LIMITS.get(request.path, BODY_LIMIT_OTHER)
        if (request.content_length or limit) > LARGE_BODY:
            # One large body at a time: its signature can only be checked once it is read, and
            # a peer's node id is no secret, so strangers could otherwise make many at once.
            async with self._large_bodies:
                body = await read_body(request, limit)
        else:
            body = await read_body(request, limit)
        if body is None:
            refusal = error_response(
                413, "too_large", f"the body is limited to {limit} bytes", self.wall()
            )
            refusal.force_close()
            return refusal
        try:
            self.verifier.check_body(request.method, request.path_qs, credentials, body)
        except AuthError as err:
            return error_response(err.status, err.code, str(err), self.wall())
        key_id, ts, nonce = credentials.key_id, credentials.ts, credentials.nonce
        await self.db(self.store.note_auth, key_id, ts, nonce, ts - 2 * self.verifier.window_ms)
        return key_id, nonce, body

    def _signed_json(
        self, key_id: str, nonce: str, payload: Any, status: int = 200
    ) -> web.Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        secret = self.verifier.secrets[key_id]
        return web.Response(
            body=body,
            status=status,
            content_type="application/json",
            headers={
                HEADER_TIME: str(self.wall()),
                HEADER_SIGNATURE: response_signature(secret, nonce, status, body),
            },
        )
