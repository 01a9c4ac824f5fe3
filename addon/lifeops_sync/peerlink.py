"""The sync loop: our side of the link to one peer, and the exchange that is one round of it.

An exchange is one signed request: we send what the peer lacks (by the watermarks the peer last
reported) with our own watermarks; the peer applies that in one transaction and answers with
what we lack, which we apply in one transaction. A link exchanges until neither side has more,
then waits for ``sync_interval`` or a change here, backing off after failures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
import json
import logging
import random
import time
from typing import TYPE_CHECKING, Any

from aiohttp import ClientError

from .auth import HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIME, sign_request, verify_response
from .config import PeerConfig
from .status import Figures, figures_status
from .wire import CONTENT_TYPE, ProtocolError, decode, encode

if TYPE_CHECKING:
    from .service import Node

_LOGGER = logging.getLogger(__name__)

SYNC_PATH = "/v1/sync"


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer as a peer link sees it."""

    status: int
    headers: Mapping[str, str]
    body: bytes


#: How a link sends a request: (url, body, headers) -> reply. Tests wrap it to lose, delay,
#: duplicate or reorder deliveries.
type Transport = Callable[[str, bytes, dict[str, str]], Awaitable[Reply]]


class PeerError(Exception):
    """An exchange with a peer failed; the message goes to the peer's status."""


class PeerLink:
    """Our side of the link to one peer: its status and the loop that calls it."""

    def __init__(self, node: Node, peer: PeerConfig, transport: Transport) -> None:
        """Link ``node`` to ``peer``, sending requests with ``transport``."""
        self.node = node
        self.peer = peer
        self.transport = transport
        self.offset_ms = 0
        self.last_attempt: int | None = None
        self.last_error: str | None = None
        self.failures = 0
        self.rounds = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.next_attempt: float | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        """Sync soon (something changed here)."""
        self._wake.set()

    async def exchange(self) -> bool:
        """One signed request and its answer, both applied; return whether more is waiting."""
        node = self.node
        config = node.config
        peer = self.peer.node_id
        if self.peer.url is None:
            raise PeerError("no url: this peer calls us")

        def build() -> tuple[bytes, bool, dict[str, int]]:
            # What to push: by what the peer itself last said it holds (never by gossip).
            theirs = node.store.known().get(peer, {})
            parts, more = node.store.changes_for(peer, theirs, config.batch_limit)
            batch = node.batch_for(peer, parts, more)
            return encode(batch), more, theirs

        body, pushing_more, assumed = await node.db(build)
        url = self.peer.url + SYNC_PATH
        for attempt in range(2):
            sent_at = node.wall()
            ts = sent_at + self.offset_ms
            headers = sign_request(
                self.peer.secret, "POST", SYNC_PATH, config.node_id, peer, ts, body
            )
            headers["Content-Type"] = CONTENT_TYPE
            try:
                reply = await self.transport(url, body, headers)
            except (ClientError, TimeoutError, OSError) as err:
                raise PeerError(f"unreachable: {type(err).__name__}: {err}") from err
            self.bytes_sent += len(body) + sum(len(k) + len(v) for k, v in headers.items())
            self.bytes_received += len(reply.body)
            received_at = node.wall()
            server_time = reply.headers.get(HEADER_TIME)
            if server_time is not None and server_time.lstrip("-").isdigit():
                self.offset_ms = int(server_time) - (sent_at + received_at) // 2
            if reply.status == 401 and attempt == 0 and _code(reply) == "clock":
                continue  # re-sign with the peer's time
            break
        if reply.status != 200:
            raise PeerError(f"HTTP {reply.status} {_code(reply) or ''}".strip())
        if not verify_response(
            self.peer.secret,
            headers[HEADER_NONCE],
            reply.status,
            reply.body,
            reply.headers.get(HEADER_SIGNATURE),
        ):
            raise PeerError("the answer is not signed by the peer")

        def apply() -> bool:
            store = node.store
            try:
                batch = decode(reply.body)
            except ProtocolError as err:
                raise PeerError(f"malformed answer: {err}") from err
            if batch.node != peer or batch.to != config.node_id:
                raise PeerError("the answer is addressed wrongly")
            node.take(peer, batch)
            store.note_success(peer, node.wall())
            return batch.more or _went_down(assumed, batch.vector, store.vector())

        receiving_more = await node.db(apply)
        node.notify_changed()
        self.rounds += 1
        return pushing_more or receiving_more

    async def sync(self, max_exchanges: int = 1000) -> None:
        """Exchange until neither side has more; update the status either way."""
        async with self._lock:
            self.last_attempt = self.node.wall()
            try:
                for _ in range(max_exchanges):
                    if not await self.exchange():
                        break
            except PeerError as err:
                self.failures += 1
                self.last_error = str(err)
                raise
            self.failures = 0
            self.last_error = None
        await self.node.db(self.node.store.collect_garbage, self.node.peer_ids, self.node.wall())

    def backoff(self) -> float:
        """Seconds to wait after ``failures`` failures in a row (exponential, jittered)."""
        if self.failures == 0:
            return self.node.config.sync_interval
        delay = min(self.node.config.retry_max, 2.0 ** min(self.failures - 1, 20))
        return delay * random.uniform(0.8, 1.2)

    async def run(self) -> None:
        """Sync now, then every ``sync_interval`` or soon after a change; back off on errors."""
        while True:
            try:
                await self.sync()
            except PeerError as err:
                _LOGGER.warning(
                    "sync with %s failed (%d in a row): %s", self.peer.node_id, self.failures, err
                )
            except Exception:
                self.failures += 1
                self.last_error = "internal error"
                _LOGGER.exception("sync with %s failed", self.peer.node_id)
            delay = self.backoff()
            self.next_attempt = time.monotonic() + delay
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
                await asyncio.sleep(min(0.2, delay))  # let a burst of writes settle
            except TimeoutError:
                pass

    def status(self, figures: Figures) -> dict[str, Any]:
        """The peer's status as the API shows it (the figures are read in the database thread)."""
        return {
            **figures_status(self.peer.node_id, figures, self.node),
            "url": self.peer.url,
            "last_attempt": self.last_attempt,
            "failures": self.failures,
            "last_error": self.last_error,
            "next_attempt_in": None
            if self.next_attempt is None
            else max(0.0, round(self.next_attempt - time.monotonic(), 3)),
            "clock_offset_ms": self.offset_ms,
            "exchanges": self.rounds,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
        }


def _went_down(assumed: dict[str, int], said: dict[str, int], ours: dict[str, int]) -> bool:
    """Whether a peer holds less than we pushed by (it was restored): push again at once."""
    return any(said.get(o, 0) < min(s, ours.get(o, 0)) for o, s in assumed.items())


def _code(reply: Reply) -> str | None:
    try:
        doc = json.loads(reply.body)
    except ValueError:
        return None
    return doc.get("error") if isinstance(doc, dict) else None
