"""A running node: the replica, its HTTP API for peers and the local client, and the peer loops.

All database work runs in one worker thread, in the order it was asked for; the event loop only
moves bytes. An exchange is one signed request: the caller sends what the peer lacks (by the
watermarks the peer last reported) with its own watermarks, the peer applies that in one
transaction and answers with what the caller lacks, which the caller applies in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
import contextlib
from dataclasses import dataclass
import json
import logging
import os
from pathlib import Path
import random
import time
from typing import Any, ParamSpec, TypeVar

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from . import __version__
from .auth import (
    API_KEY_ID,
    HEADER_KEY,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIME,
    AuthError,
    Credentials,
    Verifier,
    response_signature,
    sign_request,
    verify_response,
)
from .config import NodeConfig, PeerConfig
from .crdt import Kind, Part, site_of, valid_origin
from .hlc import WallClock
from .jsontext import loads as strict_loads
from .ops import InvalidOperation, parse_operations
from .origin import SiteKey, encode_key
from .status import Figures, figures_status, inbound_status, peer_view
from .store import Applied, Store
from .wire import CONTENT_TYPE, MAX_BODY, MAX_SEQ, Batch, ProtocolError, decode, encode

_LOGGER = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

SYNC_PATH = "/v1/sync"
SERVICE_NAME = "lifeops_sync"
GC_IDLE_INTERVAL = 3600.0


def _private_folder(folder: Path) -> None:
    """The replica's folder, readable by its owner only."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)


def _private_file(path: Path) -> None:
    """Create ``path`` (if missing) readable by its owner only, before SQLite opens it.

    SQLite gives its journal and WAL files the database file's permissions.
    """
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    path.chmod(0o600)


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


def _error(status: int, code: str, message: str, now_ms: int) -> web.Response:
    return web.json_response(
        {"error": code, "message": message}, status=status, headers={HEADER_TIME: str(now_ms)}
    )


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
            store = node.store
            known = store.known()
            # What to push: by what the peer itself last said it holds (never by gossip).
            theirs = known.get(peer, {})
            parts, more = store.changes_since(theirs, config.batch_limit)
            batch = Batch(
                node=config.node_id,
                to=peer,
                vector=store.vector(),
                known={n: v for n, v in known.items() if n != peer},
                parts=parts,
                more=more,
                keys=node.keys_for(parts),
                clock=store.clock.reading(),
                tips=store.tips_for(peer),
            )
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


def _log_applied(peer: str, applied: Applied) -> None:
    if applied.ahead:
        _LOGGER.warning(
            "%d entries from %s are stamped later than its clock explains; taken once ours "
            "catches up",
            applied.ahead,
            peer,
        )
    if applied.restored:
        _LOGGER.warning(
            "%s holds changes of this site this replica lacks: it was restored from a backup; "
            "writing under a new epoch, the peers send the lost changes back",
            peer,
        )


def _code(reply: Reply) -> str | None:
    try:
        doc = json.loads(reply.body)
    except ValueError:
        return None
    return doc.get("error") if isinstance(doc, dict) else None


class Node:
    """A sync node: store, HTTP app and peer loops. ``await start()``, then serve ``app``."""

    def __init__(
        self,
        config: NodeConfig,
        *,
        wall: Callable[[], int] | None = None,
        transport: Transport | None = None,
    ) -> None:
        """Set up (nothing opened until :meth:`start`)."""
        self.config = config
        self.wall = wall or WallClock(config.clock_skew)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"sync-db-{config.node_id}")
        self._transport = transport
        self._session: ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.store: Store
        self.verifier: Verifier
        self.links: dict[str, PeerLink] = {}
        self.peer_ids = [p.node_id for p in config.peers]
        self._stopped = False
        # Set (and replaced) whenever the replica changes: wakes the change feed's waiters.
        self._changed = asyncio.Event()
        self._closing = False
        self._dirty = True  # tombstones may be collectable: look at the next round
        self._large_bodies = asyncio.Semaphore(1)
        self.site_key: SiteKey
        # The origin check's refusals since the start (see origin.py), for the status page.
        self.refused_parts = 0
        self.refused_entries = 0
        self.backdated_entries = 0  # of refused_entries, those refused by the stamp floor
        self.key_conflicts: set[str] = set()
        self.last_refusal: str | None = None

    async def db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` in the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def start(self, *, loops: bool = True) -> None:
        """Open the replica and, with ``loops``, start calling the peers that have a URL."""
        config = self.config
        _private_folder(config.data_dir)
        _private_file(config.database)

        def open_store() -> Store:
            self.site_key = SiteKey.load_or_create(config.secrets_dir)
            store = Store(
                config.database,
                config.node_id,
                self.wall,
                max_offset_ms=int(config.max_clock_offset_hours * 3600_000),
                durable=config.durable,
                apply_delay=config.apply_delay,
                site_key=self.site_key,
            )
            pins = {p.node_id: p.public_key for p in config.peers if p.public_key is not None}
            store.pin_keys(pins)
            return store

        self.store = await self.db(open_store)
        nonces = await self.db(self.store.auth_nonces)
        self.verifier = Verifier(config.node_id, config.secrets(), nonces)
        transport = self._transport or self._http_transport
        for peer in config.peers:
            self.links[peer.node_id] = PeerLink(self, peer, transport)
        if loops:
            for link in self.links.values():
                if link.peer.url is not None:
                    self._tasks.append(asyncio.create_task(link.run()))
            if config.retention_days > 0:
                self._tasks.append(asyncio.create_task(self._retention()))
            self._tasks.append(asyncio.create_task(self._collect()))

    async def stop(self) -> None:
        """Stop the loops, close the session and the replica (once; again does nothing)."""
        if self._stopped:
            return
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if hasattr(self, "store"):
            await self.db(self.store.close)
        self._executor.shutdown(wait=True)

    async def _http_transport(self, url: str, body: bytes, headers: dict[str, str]) -> Reply:
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=120, connect=10))
        # Expect: 100-continue: a refusal (a clock off, say) comes before the batch is sent.
        async with self._session.post(url, data=body, headers=headers, expect100=True) as response:
            payload = await response.read()
            return Reply(response.status, dict(response.headers), payload)

    async def _retention(self) -> None:
        while True:
            cutoff = self.wall() - self.config.retention_days * 86_400_000
            dropped = await self.db(self.store.prune_rows, cutoff)
            if dropped:
                _LOGGER.info("retention: dropped %d time-series rows", dropped)
            await asyncio.sleep(3600)

    async def _collect(self) -> None:
        """Drop the tombstones every node has, whichever side calls (home included).

        After a change, at most once per ``sync_interval``; else once an hour (the change
        feed's reader may have gone quiet, which lets its tombstones go).
        """
        interval = self.config.sync_interval
        idle = 0.0
        while True:
            await asyncio.sleep(interval)
            idle += interval
            if not self._dirty and idle < GC_IDLE_INTERVAL:
                continue
            self._dirty, idle = False, 0.0
            dropped = await self.db(self.store.collect_garbage, self.peer_ids, self.wall())
            if dropped:
                _LOGGER.debug("collected %d tombstones", dropped)

    def keys_for(self, parts: list[Part]) -> dict[str, bytes]:
        """The keys to offer with a batch: those of its parts' sites (db thread).

        Nothing when it carries no part (an idle round stays small).
        """
        if not parts:
            return {}
        known = self.store.site_keys()
        sites = {site_of(p.origin) for p in parts}
        return {site: known[site] for site in sorted(sites) if site in known}

    def take(self, peer: str, batch: Batch) -> Applied:
        """Apply a batch from the authenticated direct peer ``peer`` (db thread).

        The keys it offers first (origin.py's rules), then its parts, each checked against its
        origin's key; refusals are counted and logged.
        """
        # Keys come with the parts they sign: a key for a site the batch carries nothing of
        # is not taken (a peer cannot plant keys for sites that may join later).
        carried = {site_of(p.origin) for p in batch.parts}
        offered = {site: key for site, key in batch.keys.items() if site in carried}
        conflicts = self.store.offer_keys(peer, offered, set(self.peer_ids))
        applied = self.store.apply(
            batch.parts,
            sender=peer,
            sender_vector=batch.vector,
            gossip=batch.known,
            now_ms=self.wall(),
            peer_clock=batch.clock,
            tips=batch.tips,
        )
        _log_applied(peer, applied)
        self.note_origin_check(peer, applied, conflicts)
        return applied

    def note_origin_check(self, peer: str, applied: Applied, conflicts: list[str]) -> None:
        """Count what the origin check refused in a batch from ``peer``; one warning a batch."""
        if applied.backdated:
            # Entries stamped below what their origin already wrote (stamps.py): refused like
            # the parts that fail the check, with the reasons said the same way.
            self.backdated_entries += applied.backdated_entries
            self.refused_entries += applied.backdated_entries
            self.last_refusal = f"from {peer}: " + "; ".join(applied.backdated[:3])
            _LOGGER.warning(
                "stamp check: %d entries from %s refused: %s",
                applied.backdated_entries,
                peer,
                "; ".join(applied.backdated[:3]),
            )
        if not applied.refused and not conflicts:
            return
        self.refused_parts += len(applied.refused)
        self.refused_entries += applied.refused_entries
        self.key_conflicts.update(conflicts)
        reasons = list(applied.refused[:3])
        if conflicts:
            reasons.append("a different key offered for " + ", ".join(conflicts))
        self.last_refusal = f"from {peer}: " + "; ".join(reasons)
        _LOGGER.warning(
            "origin check: %d parts (%d entries) from %s refused: %s",
            len(applied.refused),
            applied.refused_entries,
            peer,
            "; ".join(reasons),
        )

    def notify_changed(self) -> None:
        """Wake every change-feed request waiting for news."""
        self._dirty = True
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def wake_peers(self) -> None:
        """Ask every peer loop to sync soon."""
        for link in self.links.values():
            link.wake()

    async def sync_now(self) -> dict[str, str | None]:
        """Sync with every peer that has a URL now; ``{peer: error or None}``."""

        async def one(link: PeerLink) -> str | None:
            try:
                await link.sync()
            except PeerError as err:
                return str(err)
            return None

        links = [link for link in self.links.values() if link.peer.url is not None]
        results = await asyncio.gather(*(one(link) for link in links))
        return {link.peer.node_id: result for link, result in zip(links, results, strict=True)}

    async def status(self) -> dict[str, Any]:
        """The node's status: watermarks, counts and every peer's sync status.

        Peers are the configured ones and every node that exchanged with this one (a cabin
        calling home), each once, whichever side called.
        """

        def read() -> tuple[dict[str, Any], dict[str, Figures]]:
            store = self.store
            ours = store.vector()
            known = store.known()
            counts: dict[str, Any] = {"vector": ours, "stats": store.stats()}
            times = store.peer_times()
            figures = {}
            for peer in sorted({*self.links, *times} - {self.config.node_id}):
                # Pending: what we hold that the peer is not known to have. Behind: what the
                # peer said it has that we do not (in change numbers, an upper bound).
                behind = sum(max(0, s - ours.get(o, 0)) for o, s in known.get(peer, {}).items())
                success, contact, inbound = times.get(peer, (None, None, None))
                figures[peer] = Figures(success, contact, inbound, store.pending_for(peer), behind)
            return counts, figures

        counts, figures = await self.db(read)
        peers = []
        for peer, figure in figures.items():
            link = self.links.get(peer)
            peers.append(
                link.status(figure) if link is not None else inbound_status(peer, figure, self)
            )
        return {
            "node_id": self.config.node_id,
            "version": __version__,
            **counts,
            "origin_check": {
                "public_key": encode_key(self.site_key.public),
                "refused_parts": self.refused_parts,
                "refused_entries": self.refused_entries,
                "backdated_entries": self.backdated_entries,
                "key_conflicts": sorted(self.key_conflicts),
                "last_refusal": self.last_refusal,
            },
            "peers": peers,
        }

    # -- HTTP -------------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application: the peer endpoint and the local API."""
        app = web.Application(client_max_size=MAX_BODY)
        peer, local = self._expect(api_only=False), self._expect(api_only=True)
        app.router.add_post(SYNC_PATH, self._handle_sync, expect_handler=peer)
        app.router.add_get("/v1/health", self._handle_health)
        app.router.add_get("/v1/status", self._handle_status, expect_handler=peer)
        app.router.add_post("/v1/write", self._handle_write, expect_handler=local)
        app.router.add_get("/v1/records", self._handle_records, expect_handler=local)
        app.router.add_get("/v1/items", self._handle_items, expect_handler=local)
        app.router.add_get("/v1/state", self._handle_state, expect_handler=local)
        app.router.add_post("/v1/sync_now", self._handle_sync_now, expect_handler=local)
        app.router.add_get("/v1/changes", self._handle_changes, expect_handler=local)
        # aiohttp 3.11 annotates its signals in the older aiosignal's terms; the call is right.
        app.on_shutdown.append(self._on_shutdown)  # type: ignore[arg-type,unused-ignore]
        return app

    async def _on_shutdown(self, app: web.Application) -> None:
        # Change-feed requests answer now rather than hold the shutdown for their wait.
        self._closing = True
        self.notify_changed()

    def _check_headers(self, request: web.Request, api_only: bool) -> Credentials | web.Response:
        """What can be refused on the headers alone: the key, the time, the formats, the size."""
        try:
            credentials = self.verifier.check_headers(request.headers, self.wall())
        except AuthError as err:
            return _error(err.status, err.code, str(err), self.wall())
        if api_only and credentials.key_id != API_KEY_ID:
            return _error(403, "forbidden", "this endpoint is for the local client", self.wall())
        limit = BODY_LIMITS.get(request.path, BODY_LIMIT_OTHER)
        if request.content_length is not None and request.content_length > limit:
            return _error(413, "too_large", f"the body is limited to {limit} bytes", self.wall())
        return credentials

    def _expect(self, api_only: bool) -> Callable[[web.Request], Awaitable[web.Response | None]]:
        """The answer to ``Expect: 100-continue``: a refusal before the body is sent, or go on."""

        async def expect(request: web.Request) -> web.Response | None:
            checked = self._check_headers(request, api_only)
            if isinstance(checked, web.Response):
                checked.force_close()
                return checked
            if request.headers.get("Expect", "").lower() != "100-continue":
                return _error(417, "expectation_failed", "only 100-continue", self.wall())
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
            return await _refuse_unread(request, checked)
        credentials = checked
        limit = BODY_LIMITS.get(request.path, BODY_LIMIT_OTHER)
        if (request.content_length or limit) > LARGE_BODY:
            # One large body at a time: its signature can only be checked once it is read, and
            # a peer's node id is no secret, so strangers could otherwise make many at once.
            async with self._large_bodies:
                body = await _read_body(request, limit)
        else:
            body = await _read_body(request, limit)
        if body is None:
            refusal = _error(413, "too_large", f"the body is limited to {limit} bytes", self.wall())
            refusal.force_close()
            return refusal
        try:
            self.verifier.check_body(request.method, request.path_qs, credentials, body)
        except AuthError as err:
            return _error(err.status, err.code, str(err), self.wall())
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

    async def _handle_health(self, request: web.Request) -> web.Response:
        # Unauthenticated: tells a client which service this is and the node id it signs for.
        return web.json_response(
            {"ok": True, "service": SERVICE_NAME, "node_id": self.config.node_id},
            headers={HEADER_TIME: str(self.wall())},
        )

    async def _handle_sync(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=False)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, body = guarded
        if key_id == API_KEY_ID:
            return _error(403, "forbidden", "the local client does not sync", self.wall())
        config = self.config

        def handle() -> bytes | web.Response:
            store = self.store
            try:
                batch = decode(body)
            except ProtocolError as err:
                return _error(400, "malformed", str(err), self.wall())
            if batch.node != key_id:
                return _error(403, "wrong_sender", "the batch is not from the signer", self.wall())
            if batch.to != config.node_id:
                return _error(400, "wrong_receiver", "the batch is for another node", self.wall())
            self.take(key_id, batch)
            parts, more = store.changes_since(batch.vector, config.batch_limit)
            store.note_inbound(key_id, self.wall())
            known = store.known()
            answer = Batch(
                node=config.node_id,
                to=key_id,
                vector=store.vector(),
                known={n: v for n, v in known.items() if n != key_id},
                parts=parts,
                more=more,
                keys=self.keys_for(parts),
                clock=store.clock.reading(),
                tips=store.tips_for(key_id),
            )
            return encode(answer)

        result = await self.db(handle)
        if isinstance(result, web.Response):
            return result
        self.notify_changed()
        secret = self.verifier.secrets[key_id]
        return web.Response(
            body=result,
            content_type=CONTENT_TYPE,
            headers={
                HEADER_TIME: str(self.wall()),
                HEADER_SIGNATURE: response_signature(secret, nonce, 200, result),
            },
        )

    async def _handle_status(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=False)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, _ = guarded
        status = await self.status()
        if key_id != API_KEY_ID:
            status = peer_view(status, key_id)
        return self._signed_json(key_id, nonce, status)

    async def _handle_write(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=True)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, body = guarded
        try:
            doc = strict_loads(body)
            operations = parse_operations(doc.get("ops") if isinstance(doc, dict) else None)
        except (ValueError, InvalidOperation) as err:
            return _error(400, "malformed", str(err), self.wall())
        ack = await self.db(self.store.write, operations)
        self.notify_changed()
        self.wake_peers()
        skipped = [
            {"op": s.op, "collection": s.collection, "key": s.key}
            | ({"fields": list(s.fields)} if s.op == "set" else {})
            for s in ack.skipped
        ]
        return self._signed_json(
            key_id,
            nonce,
            {
                "hlc": ack.hlc,
                "first_seq": ack.first_seq,
                "last_seq": ack.last_seq,
                "skipped": skipped,
            },
        )

    async def _handle_records(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=True)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, _ = guarded
        collection = request.query.get("collection")
        if not collection:
            return _error(400, "malformed", "collection is required", self.wall())
        records = await self.db(self.store.read, collection, request.query.get("key"))
        return self._signed_json(key_id, nonce, {"records": records})

    async def _handle_items(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=True)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, _ = guarded
        collection = request.query.get("collection")
        if not collection:
            return _error(400, "malformed", "collection is required", self.wall())
        after, limit = request.query.get("after"), request.query.get("limit")
        if after is None and limit is None:  # the whole set in one answer
            items = await self.db(self.store.items, collection)
            return self._signed_json(key_id, nonce, {"items": items})
        try:
            size = int(limit) if limit is not None else FEED_LIMIT
        except ValueError:
            size = 0
        if not 1 <= size <= FEED_LIMIT_MAX:
            return _error(400, "malformed", f"limit must be 1-{FEED_LIMIT_MAX}", self.wall())
        page, more = await self.db(self.store.items_page, collection, after or "", size)
        return self._signed_json(
            key_id,
            nonce,
            {
                "items": {key: value for key, value, _ in page},
                "origins": {key: origin for key, _, origin in page},
                "more": more,
                "next": page[-1][0] if page else None,
            },
        )

    async def _handle_state(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=True)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, _ = guarded

        def read() -> dict[str, Any]:
            store = self.store
            result: dict[str, Any] = {"digest": store.digest(), "vector": store.vector()}
            if request.query.get("full"):
                result["state"] = store.dump()
            return result

        return self._signed_json(key_id, nonce, await self.db(read))

    async def _handle_sync_now(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=True)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, _ = guarded
        return self._signed_json(key_id, nonce, {"results": await self.sync_now()})

    async def _handle_changes(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=True)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, _ = guarded
        try:
            after = parse_cursor(request.query.get("after", ""))
            wait = float(request.query.get("wait", "0"))
            limit = int(request.query.get("limit", str(FEED_LIMIT)))
        except ValueError as err:
            return _error(400, "malformed", f"bad change-feed parameters: {err}", self.wall())
        if not 0 <= wait <= FEED_MAX_WAIT or not 1 <= limit <= FEED_LIMIT_MAX:
            return _error(
                400,
                "malformed",
                f"wait must be 0-{FEED_MAX_WAIT:g} s and limit 1-{FEED_LIMIT_MAX}",
                self.wall(),
            )
        # A cursor past what we hold (this replica was restored from a backup) reads again from
        # what we hold, so the changes the peers send back reach the reader.
        after = await self.db(self.store.clamp_cursor, after)
        # The reader has applied everything up to `after`: tombstones past it wait for it.
        await self.db(self.store.note_reader, after, self.wall())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            changed = self._changed  # taken before reading: a change after the read wakes us
            parts, more = await self.db(self.store.changes_since, after, limit)
            remaining = deadline - loop.time()
            if parts or remaining <= 0 or self._closing:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
        answer = feed_answer(after, parts, more)
        answer["origin"] = self.store.origin  # the origin this replica writes under now
        return self._signed_json(key_id, nonce, answer)


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


async def _refuse_unread(request: web.Request, response: web.Response) -> web.Response:
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


async def _read_body(request: web.Request, limit: int) -> bytes | None:
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


FEED_LIMIT = 1000
FEED_LIMIT_MAX = 25_000
FEED_MAX_WAIT = 60.0
_KIND_NAMES = {Kind.FIELD: "field", Kind.DELETE: "delete", Kind.ITEM: "item"}


def parse_cursor(raw: str) -> dict[str, int]:
    """A change-feed cursor, ``origin:seq`` pairs joined by commas (empty: from the start)."""
    cursor: dict[str, int] = {}
    for pair in raw.split(",") if raw else ():
        origin, sep, seq = pair.partition(":")
        if (
            not sep
            or not valid_origin(origin)
            or not seq.isascii()
            or not seq.isdigit()
            or len(seq) > len(str(MAX_SEQ))
            or int(seq) > MAX_SEQ
        ):
            raise ValueError(f"cursor entry {pair[:80]!r} is not origin:seq")
        if origin in cursor:
            raise ValueError(f"origin {origin!r} appears twice in the cursor")
        cursor[origin] = int(seq)
    return cursor


def feed_answer(after: dict[str, int], parts: list[Part], more: bool) -> dict[str, Any]:
    """The change feed's answer: current fields, tombstones and items past the cursor.

    Time-series rows are left out (the integration does not read them back); the cursor moves
    past them all the same.
    """
    cursor = dict(after)
    changes: list[dict[str, Any]] = []
    for part in parts:
        cursor[part.origin] = part.upto
        for entry in part.entries:
            kind = _KIND_NAMES.get(entry.kind)
            if kind is None:
                continue
            change: dict[str, Any] = {
                "kind": kind,
                "collection": entry.coll,
                "key": entry.key,
                "origin": entry.origin,
            }
            if entry.kind is Kind.FIELD:
                change["field"] = entry.field
            if entry.kind is not Kind.DELETE:
                change["value"] = entry.value
            changes.append(change)
    return {"cursor": cursor, "changes": changes, "more": more}


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


__all__ = ["HEADER_KEY", "ApiClient", "Node", "PeerError", "PeerLink", "Reply", "Transport"]
