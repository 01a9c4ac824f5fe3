"""Real sync nodes in this process: the real aiohttp app on 127.0.0.1, links through a network
the test controls (partitions, lost answers, late, duplicated and reordered deliveries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import random
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientConnectionError, ClientSession, web

from lifeops_sync.config import NodeConfig, PeerConfig
from lifeops_sync.hlc import WallClock
from lifeops_sync.service import ApiClient, Node, Reply, Transport

API_SECRET = "api-secret-0123456789abcdef"


def link_secret(a: str, b: str) -> str:
    return "secret-" + "-".join(sorted((a, b))) + "-0123456789"


@dataclass
class Network:
    """Where each node listens, which links are cut, and the deliveries held back."""

    rng: random.Random
    session: ClientSession
    addresses: dict[str, str] = field(default_factory=dict)
    cut: set[frozenset[str]] = field(default_factory=set)
    held: list[tuple[str, str, bytes, dict[str, str]]] = field(default_factory=list)
    faults: bool = True
    lose: float = 0.1
    hold: float = 0.1
    duplicate: float = 0.1
    replays_refused: int = 0

    async def post(self, dst: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        async with self.session.post(self.addresses[dst] + path, data=body, headers=headers) as r:
            return Reply(r.status, dict(r.headers), await r.read())

    def transport(self, src: str) -> Transport:
        async def send(url: str, body: bytes, headers: dict[str, str]) -> Reply:
            parts = urlsplit(url)
            dst = str(parts.hostname).removesuffix(".test")
            if frozenset((src, dst)) in self.cut:
                raise ClientConnectionError("partitioned")
            roll = self.rng.random() if self.faults else 1.0
            if roll < self.hold:
                self.held.append((dst, parts.path, body, headers))
                raise ClientConnectionError("delivery held back")
            reply = await self.post(dst, parts.path, body, headers)
            if roll < self.hold + self.lose:
                raise ClientConnectionError("answer lost")
            if roll < self.hold + self.lose + self.duplicate:
                again = await self.post(dst, parts.path, body, headers)
                assert again.status in (401, 403), again  # a network duplicate is refused
                self.replays_refused += 1
            return reply

        return send

    async def release(self) -> None:
        """Deliver what was held back, in a random order (answers go nowhere)."""
        held, self.held = self.held, []
        self.rng.shuffle(held)
        for dst, path, body, headers in held:
            if dst in self.addresses:
                await self.post(dst, path, body, headers)


@dataclass
class Running:
    node: Node
    runner: web.AppRunner
    api: ApiClient


async def start_node(
    net: Network,
    folder: Path,
    node_id: str,
    peers: dict[str, bool],
    skew_s: float = 0.0,
    limit: int = 25_000,
) -> Running:
    """Start ``node_id``; ``peers`` maps peer ids to whether this node calls them."""
    config = NodeConfig(
        node_id=node_id,
        data_dir=folder / node_id,
        peers=tuple(
            PeerConfig(p, link_secret(node_id, p), f"http://{p}.test" if calls else None)
            for p, calls in peers.items()
        ),
        api_secret=API_SECRET,
        batch_limit=limit,
        durable=False,
        clock_skew=skew_s,
    )
    wall = WallClock(skew_s)
    node = Node(config, wall=wall, transport=net.transport(node_id))
    await node.start(loops=False)
    runner = web.AppRunner(node.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    net.addresses[node_id] = f"http://127.0.0.1:{port}"
    api = ApiClient(net.addresses[node_id], API_SECRET, node_id, net.session, wall)
    return Running(node, runner, api)


async def stop_node(net: Network, running: Running) -> None:
    net.addresses.pop(running.node.config.node_id, None)
    await running.runner.cleanup()
    await running.node.stop()


async def api(running: Running, method: str, path: str, payload: Any = None) -> Any:
    status, doc = await running.api.request(method, path, payload)
    assert status == 200, doc
    return doc
