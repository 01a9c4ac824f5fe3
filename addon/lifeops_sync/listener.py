"""The service's listening socket, held against strangers: a connection cap and a header deadline.

aiohttp serves the requests; this module only decides which connections it gets to see.

- At most ``max_connections`` are open. A new one beyond the cap takes the place of the oldest
  connection that is *waiting* (no request in progress: still sending its headers, or idle
  between requests); if every connection is busy with a request, the new one is refused with a
  503 and closed. So connections that drip their headers a byte at a time cannot hold the
  service: newer ones push them out, and ``/v1/health`` keeps answering.
- A waiting connection has ``header_timeout`` seconds to complete a request's headers, counted
  from when it opened or its last answer; then it is closed.

A request is *in progress* from the moment aiohttp hands it to the application (its headers are
complete) until the handler returns: :meth:`ConnectionGuard.attach` adds the middleware that
marks this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import logging
from typing import Any

from aiohttp import web

_LOGGER = logging.getLogger(__name__)

MAX_CONNECTIONS = 64
HEADER_TIMEOUT = 20.0
REFUSAL_LINGER = 1.0
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n"
    b"Connection: close\r\n\r\ntoo many connections\n"
)

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Connection(asyncio.Protocol):
    """One accepted connection: aiohttp's protocol inside, the guard's bookkeeping around it."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self.guard = guard
        self.inner = inner
        self.transport: asyncio.Transport | None = None
        self.busy = 0
        self.admitted = False
        self._timer: asyncio.TimerHandle | None = None

    # asyncio's protocol: everything goes on to aiohttp once admitted.
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self.guard.admit(self):
            # Answer, stop sending, and close once the client has (or after a second): closing
            # at once, with its request unread, would reset the connection before it reads this.
            transport.write(_REFUSAL)
            transport.write_eof()
            self._timer = asyncio.get_running_loop().call_later(REFUSAL_LINGER, transport.abort)
            return
        self.admitted = True
        self.inner.connection_made(transport)
        self.wait_for_headers()

    def data_received(self, data: bytes) -> None:
        if self.admitted:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        if not self.admitted:
            return False  # a refused connection: the client is done too, close it
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        if self.admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.admitted:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self.guard.forget(self)
        if self.admitted:
            self.inner.connection_lost(exc)

    # The guard's side.
    def wait_for_headers(self) -> None:
        """Start (again) the deadline for the next request's headers."""
        self._cancel_timer()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.guard.header_timeout, self.close)

    def request_started(self) -> None:
        self.busy += 1
        self._cancel_timer()

    def request_done(self) -> None:
        self.busy -= 1
        if self.busy == 0 and self.transport is not None and not self.transport.is_closing():
            self.wait_for_headers()

    def close(self) -> None:
        self._cancel_timer()
        if self.transport is not None:
            self.transport.close()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class ConnectionGuard:
    """Admits connections to an aiohttp server under a cap and a header deadline."""

    def __init__(
        self, max_connections: int = MAX_CONNECTIONS, header_timeout: float = HEADER_TIMEOUT
    ) -> None:
        """Allow ``max_connections`` at once, each ``header_timeout`` s for a request's headers."""
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        # Insertion order is age order: the first waiting one is the oldest.
        self._open: dict[_Connection, None] = {}
        self._by_transport: dict[Any, _Connection] = {}
        self.refused = 0
        self.pushed_out = 0

    @property
    def open_connections(self) -> int:
        """How many connections are open now."""
        return len(self._open)

    def attach(self, app: web.Application) -> None:
        """Add the middleware that tells the guard when a request is in progress."""

        @web.middleware
        async def track(request: web.Request, handler: Handler) -> web.StreamResponse:
            connection = self._by_transport.get(request.transport)
            if connection is None:
                return await handler(request)
            connection.request_started()
            try:
                return await handler(request)
            finally:
                connection.request_done()

        app.middlewares.append(track)

    def factory(self, server: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for ``loop.create_server`` wrapping aiohttp's ``runner.server``."""
        return lambda: _Connection(self, server())

    def admit(self, connection: _Connection) -> bool:
        """Whether a new connection may stay (pushing out the oldest waiting one if needed)."""
        if len(self._open) >= self.max_connections:
            oldest = next((c for c in self._open if c.busy == 0), None)
            if oldest is None:
                self.refused += 1
                if self.refused in (1, 10, 100) or self.refused % 1000 == 0:
                    _LOGGER.warning(
                        "%d connections are busy (the cap); refused %d new ones so far",
                        self.max_connections,
                        self.refused,
                    )
                return False
            self.pushed_out += 1
            self.forget(oldest)
            oldest.close()
        self._open[connection] = None
        self._by_transport[connection.transport] = connection
        return True

    def forget(self, connection: _Connection) -> None:
        """A connection closed (or was pushed out): no longer counted."""
        self._open.pop(connection, None)
        with contextlib.suppress(KeyError):
            if self._by_transport[connection.transport] is connection:
                del self._by_transport[connection.transport]


async def listen(
    runner: web.AppRunner, guard: ConnectionGuard, host: str, port: int
) -> asyncio.Server:
    """Listen on ``host:port`` for ``runner`` (set up already) through ``guard``."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        guard.factory(runner.server),  # type: ignore[arg-type]
        host,
        port,
        reuse_address=True,
    )
