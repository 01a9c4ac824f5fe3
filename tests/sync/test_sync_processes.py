"""Three sync services as separate OS processes on 127.0.0.1 (home, and two cabins with clocks an
hour fast and an hour slow), the cabins reaching home through proxies this test controls:
seeded schedules of writes, partitions, lost answers, held-back deliveries released late and out
of order, duplicated deliveries, and kill -9 (also in the middle of applying a batch) with
restarts. After healing, all three converge on exactly the merge of every acknowledged write.

Reproduce a failing seed alone: ``pytest tests/sync/test_sync_processes.py -k seed_3``.
``LIFEOPS_SYNC_PROCESS_SCHEDULES`` sets how many seeds run (default 2).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
import os
from pathlib import Path
import random
import signal
import sqlite3
import subprocess
import sys
from typing import Any

from aiohttp import ClientConnectionError, ClientSession, web
import pytest

from lifeops_sync.crdt import Model
from lifeops_sync.ops import parse_operation
from lifeops_sync.service import ApiClient
from lifeops_sync.store import WriteAck
from tests.ports import free_port

from .nodes import API_SECRET, link_secret
from .replicas import expected_entries
from .test_sync_http import random_op

ROOT = Path(__file__).resolve().parents[2]
SCHEDULES = int(os.environ.get("LIFEOPS_SYNC_PROCESS_SCHEDULES", "2"))
SKEWS = {"home": 0, "cabin_a": 3600, "cabin_b": -3600}


@dataclass
class Proxy:
    """A cabin's way to home: up, cut, losing answers, holding back or duplicating deliveries."""

    target: str
    session: ClientSession
    rng: random.Random
    port: int = field(default_factory=free_port)
    cut: bool = False
    faults: bool = False
    held: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def forward(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        async with self.session.post(self.target + path, data=body, headers=headers) as r:
            keep = {
                k: v
                for k, v in r.headers.items()
                if k.lower().startswith(("x-lifeops", "content-type"))
            }
            return r.status, await r.read(), keep

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower().startswith(("x-lifeops", "content-type"))
        }
        if self.cut:
            return web.Response(status=503, text="partitioned")
        roll = self.rng.random() if self.faults else 1.0
        if roll < 0.15:
            self.held.append((request.path_qs, body, headers))
            return web.Response(status=504, text="held back")
        try:
            status, payload, reply_headers = await self.forward(request.path_qs, body, headers)
        except ClientConnectionError:
            return web.Response(status=502, text="home is down")
        if roll < 0.3:
            return web.Response(status=502, text="answer lost")
        if roll < 0.4:
            try:
                await self.forward(request.path_qs, body, headers)  # refused as a replay
            except ClientConnectionError:
                pass
        return web.Response(status=status, body=payload, headers=reply_headers)

    async def release(self) -> None:
        held, self.held = self.held, []
        self.rng.shuffle(held)
        for path, body, headers in held:
            try:
                await self.forward(path, body, headers)
            except ClientConnectionError:
                pass

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@dataclass
class Service:
    """One ``python -m lifeops_sync serve`` process."""

    node_id: str
    folder: Path
    args: list[str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "addon")}
        log = (self.folder / f"{self.node_id}.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lifeops_sync",
                "serve",
                "--node-id",
                self.node_id,
                "--data-dir",
                str(self.folder / self.node_id),
                "--port",
                str(self.port),
                "--api-secret",
                API_SECRET,
                "--clock-skew",
                str(SKEWS.get(self.node_id, 0)),
                *self.args,
            ],
            env=env,
            stdout=log,
            stderr=log,
        )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def wait_up(session: ClientSession, service: Service) -> None:
    for _ in range(300):
        try:
            async with session.get(service.url + "/v1/health") as r:
                if r.status == 200:
                    return
        except ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"{service.node_id} did not start; see {service.folder}/{service.node_id}.log"
    )


@dataclass
class Sites:
    session: ClientSession
    folder: Path
    services: dict[str, Service]
    proxies: dict[str, Proxy]

    def api(self, node: str) -> ApiClient:
        return ApiClient(self.services[node].url, API_SECRET, node, self.session)

    async def start(self, node: str) -> None:
        await asyncio.to_thread(self.services[node].start)
        await wait_up(self.session, self.services[node])


@pytest.fixture
async def sites(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[Sites]:
    async with ClientSession() as session:
        rng = random.Random(0)
        home = Service("home", tmp_path, [])
        proxies = {c: Proxy(home.url, session, rng) for c in ("cabin_a", "cabin_b")}
        common = [
            "--sync-interval",
            "0.3",
            "--retry-max",
            "0.5",
            "--batch-limit",
            "40",
            "--no-fsync",
        ]
        home.args = [
            *common,
            *(a for c in proxies for a in ("--peer", f"{c},{link_secret(c, 'home')}")),
        ]
        services = {"home": home}
        for cabin, proxy in proxies.items():
            services[cabin] = Service(
                cabin,
                tmp_path,
                [
                    *common,
                    "--debug-apply-delay",
                    "0.05",
                    "--peer",
                    f"home,{link_secret(cabin, 'home')},http://127.0.0.1:{proxy.port}",
                ],
            )
        for proxy in proxies.values():
            await proxy.start()
        result = Sites(session, tmp_path, services, proxies)
        try:
            for node in services:
                await result.start(node)
            yield result
        finally:
            for service in services.values():
                await asyncio.to_thread(service.stop)
            for proxy in proxies.values():
                await proxy.stop()


async def write(sites: Sites, node: str, op: dict[str, Any], acknowledged: Model) -> None:
    try:
        status, doc = await sites.api(node).request("POST", "/v1/write", {"ops": [op]})
    except ClientConnectionError:
        return  # the node is down: not acknowledged
    if status == 200:
        ack = WriteAck(doc["hlc"], doc["first_seq"], doc["last_seq"])
        for entry in expected_entries(node, parse_operation(op), ack):
            acknowledged.apply(entry)


async def converge(sites: Sites, expected: dict[str, Any], timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    states: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        for node in sites.services:
            status, doc = await sites.api(node).request("GET", "/v1/state?full=1")
            assert status == 200
            states[node] = doc["state"]
        if all(state == expected for state in states.values()):
            return
        await asyncio.sleep(0.3)
    different = [n for n, s in states.items() if s != expected]
    raise AssertionError(f"not converged on the acknowledged writes: {different}")


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed_{s}") for s in range(SCHEDULES)])
async def test_processes_converge_after_partitions_kills_and_skew(sites: Sites, seed: int) -> None:
    rng = random.Random(seed)
    acknowledged = Model()
    for proxy in sites.proxies.values():
        proxy.rng = rng
        proxy.faults = True
    down: dict[str, int] = {}
    for n in range(40):
        action = rng.random()
        node = rng.choice(list(sites.services))
        if action < 0.55:
            if node not in down:
                await write(sites, node, random_op(rng, node, n), acknowledged)
        elif action < 0.7:
            cabin = rng.choice(list(sites.proxies))
            sites.proxies[cabin].cut = not sites.proxies[cabin].cut
        elif action < 0.8 and node not in down:
            await asyncio.to_thread(
                sites.services[node].kill
            )  # kill -9, wherever it is (applying, too)
            down[node] = n + rng.randint(1, 6)
        elif action < 0.85:
            await sites.proxies[rng.choice(list(sites.proxies))].release()
        await asyncio.sleep(rng.uniform(0, 0.08))
        for node, until in list(down.items()):
            if n >= until:
                await sites.start(node)
                del down[node]
    for node in down:
        await sites.start(node)
    for proxy in sites.proxies.values():
        proxy.cut = False
        proxy.faults = False
        await proxy.release()
    await converge(sites, acknowledged.visible())


def inspect_rows(path: Path) -> tuple[int, int]:
    """(rows held from home, watermark for home) in a stopped cabin's replica."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (mark,) = db.execute(
            "SELECT coalesce(max(w.seq), 0) FROM watermarks w JOIN nodes n ON n.idx = w.origin "
            "WHERE n.node = 'home'"
        ).fetchone()
        (count,) = db.execute(
            "SELECT count(*) FROM rows r JOIN nodes n ON n.idx = r.origin WHERE n.node = 'home'"
        ).fetchone()
    finally:
        db.close()
    return int(count), int(mark)


async def test_kill_during_apply_leaves_nothing_half_applied(
    tmp_path: Path, socket_enabled: None
) -> None:
    """A cabin killed while a batch is inside its transaction holds all of it or none of it."""
    async with ClientSession() as session:
        home = Service(
            "home", tmp_path, ["--peer", f"cabin_a,{link_secret('cabin_a', 'home')}", "--no-fsync"]
        )
        await asyncio.to_thread(home.start)
        cabin = Service(
            "cabin_a",
            tmp_path,
            [
                "--peer",
                f"home,{link_secret('cabin_a', 'home')},{home.url}",
                "--batch-limit",
                "700",
                "--sync-interval",
                "0.2",
                "--debug-apply-delay",
                "0.4",
                "--no-fsync",
            ],
        )
        try:
            await wait_up(session, home)
            api = ApiClient(home.url, API_SECRET, "home", session)
            rows = [[i, float(i)] for i in range(3000)]
            status, _ = await api.request(
                "POST", "/v1/write", {"ops": [{"op": "rows", "series": "steps", "rows": rows}]}
            )
            assert status == 200
            rng = random.Random(7)
            for _ in range(4):
                await asyncio.to_thread(cabin.start)
                await wait_up(session, cabin)
                await asyncio.sleep(rng.uniform(0.1, 0.9))
                await asyncio.to_thread(cabin.kill)
                count, mark = await asyncio.to_thread(
                    inspect_rows, tmp_path / "cabin_a" / "sync.db"
                )
                assert count == mark and (mark % 700 == 0 or mark == 3000), (count, mark)
            await asyncio.to_thread(cabin.start)
            await wait_up(session, cabin)
            for _ in range(100):
                status, doc = await ApiClient(cabin.url, API_SECRET, "cabin_a", session).request(
                    "GET", "/v1/state"
                )
                if doc["vector"].get("home") == 3000:
                    break
                await asyncio.sleep(0.2)
            assert doc["vector"]["home"] == 3000
        finally:
            await asyncio.to_thread(cabin.stop)
            await asyncio.to_thread(home.stop)
