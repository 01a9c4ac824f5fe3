"""A running node: the replica, its HTTP API for peers and the local client, and the peer loops.

All database work runs in one worker thread, in the order it was asked for; the event loop only
moves bytes. The parts are in their own modules: the peer links and their exchanges
(:mod:`~lifeops_sync.peerlink`), authenticating requests (:mod:`~lifeops_sync.gate`), the peer
endpoint (:mod:`~lifeops_sync.peer_api`), the local API (:mod:`~lifeops_sync.local_api`) and its
client (:mod:`~lifeops_sync.apiclient`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
import contextlib
import logging
import os
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from aiohttp import ClientSession, ClientTimeout, web

from . import __version__
from .apiclient import ApiClient
from .auth import HEADER_KEY, Verifier
from .config import NodeConfig
from .crdt import Part, site_of
from .feed import parse_cursor
from .hlc import WallClock
from .local_api import LocalApi
from .origin import SiteKey, encode_key
from .peer_api import SERVICE_NAME, PeerApi
from .peerlink import SYNC_PATH, PeerError, PeerLink, Reply, Transport
from .status import Figures, inbound_status
from .store import Applied, Store
from .wire import MAX_BODY, Batch

_LOGGER = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

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


class Node(PeerApi, LocalApi):
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

    def batch_for(self, peer: str, parts: list[Part], more: bool) -> Batch:
        """A batch to the direct peer ``peer`` carrying ``parts`` (db thread), either way.

        With what this node has and knows others to have (not ``peer`` itself), its clock, the
        newest entries it holds of ``peer`` (tips), and the restore proofs asked or to ask.
        """
        store = self.store
        known = store.known()
        return Batch(
            node=self.config.node_id,
            to=peer,
            vector=store.vector(),
            known={n: v for n, v in known.items() if n != peer},
            parts=parts,
            more=more,
            keys=self.keys_for(parts),
            clock=store.clock.reading(),
            tips=store.tips_for(peer),
            ask_proofs=peer in store.tip_doubts,
            tip_proofs=store.tip_proofs_for(peer),
        )

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
        doubted = peer in self.store.tip_doubts
        applied = self.store.apply(
            batch.parts,
            sender=peer,
            sender_vector=batch.vector,
            gossip=batch.known,
            now_ms=self.wall(),
            peer_clock=batch.clock,
            tips=batch.tips,
            tip_proofs=batch.tip_proofs,
        )
        if batch.ask_proofs:
            self.store.proofs_asked.add(peer)  # proofs go with the next batch to it
        if not doubted and peer in self.store.tip_doubts:
            _LOGGER.info(
                "%s says it holds changes of this site this replica lacks; asked it for proof "
                "(a restore from a backup is confirmed by it)",
                peer,
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


__all__ = [
    "HEADER_KEY",
    "SERVICE_NAME",
    "SYNC_PATH",
    "ApiClient",
    "Node",
    "PeerError",
    "PeerLink",
    "Reply",
    "Transport",
    "parse_cursor",
]
