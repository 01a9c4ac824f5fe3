"""Seeded schedules through the real HTTP app: three nodes (home and two cabins, clocks +1 h and
-1 h), random writes through the local API, partitions, lost answers, deliveries held back and
released out of order, network duplicates (refused as replays), restarts and crashes inside an
apply. After healing, every node holds exactly the merge of every acknowledged write.

A failing seed reproduces alone: ``pytest tests/sync/test_sync_http.py -k 'seed_17'``.
``LIFEOPS_SYNC_SCHEDULES`` sets how many seeds run (default 60).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import random
from typing import Any

from aiohttp import ClientSession
import pytest

from lifeops_sync.crdt import Model
from lifeops_sync.ops import parse_operation
from lifeops_sync.service import PeerError
from lifeops_sync.store import WriteAck

from .nodes import Network, Running, api, start_node, stop_node
from .replicas import expected_entries

SCHEDULES = int(os.environ.get("LIFEOPS_SYNC_SCHEDULES", "60"))
SKEWS = {"home": 0.0, "cabin_a": 3600.0, "cabin_b": -3600.0}
PEERS = {
    "home": {"cabin_a": False, "cabin_b": False},
    "cabin_a": {"home": True},
    "cabin_b": {"home": True},
}


def random_op(rng: random.Random, node: str, n: int) -> dict[str, Any]:
    kind = rng.choice(["set", "set", "set", "delete", "add", "rows"])
    coll = rng.choice(["habits", "settings", "devices"])
    key = rng.choice(["k1", "k2", "k3", "k4"])
    if kind == "set":
        fields = dict.fromkeys(
            rng.sample(["name", "enabled", "target"], rng.randint(1, 2)), f"{node}-{n}"
        )
        return {"op": "set", "collection": coll, "key": key, "fields": fields}
    if kind == "delete":
        return {"op": "delete", "collection": coll, "key": key}
    if kind == "add":
        return {"op": "add", "collection": "xp", "key": f"{node}-{n}", "value": {"xp": n}}
    rows = [
        [rng.randint(0, 10**9), round(rng.uniform(40, 180), 2)] for _ in range(rng.randint(1, 30))
    ]
    return {"op": "rows", "series": "heart_rate", "rows": rows}


async def crash_next_apply(running: Running) -> None:
    """Make the next batch apply fail inside its transaction, after its writes."""
    store = running.node.store
    original = store._merge

    def crashing(entries: Any) -> None:
        original(entries)
        store._merge = original  # type: ignore[method-assign]
        raise RuntimeError("crash inside the transaction")

    store._merge = crashing  # type: ignore[method-assign]


async def state(running: Running) -> tuple[str, dict[str, int]]:
    doc = await api(running, "GET", "/v1/state")
    return doc["digest"], doc["vector"]


async def run_schedule(seed: int, folder: Path) -> None:
    rng = random.Random(seed)
    async with ClientSession() as session:
        net = Network(rng, session)
        nodes = {
            n: await start_node(net, folder, n, PEERS[n], SKEWS[n], limit=rng.choice([5, 50, 1000]))
            for n in PEERS
        }
        acknowledged = Model()
        try:
            for n in range(rng.randint(20, 60)):
                action = rng.random()
                node_id = rng.choice(list(nodes))
                running = nodes[node_id]
                if action < 0.45:
                    op = random_op(rng, node_id, n)
                    ack = await api(running, "POST", "/v1/write", {"ops": [op]})
                    for entry in expected_entries(
                        node_id,
                        parse_operation(op),
                        WriteAck(ack["hlc"], ack["first_seq"], ack["last_seq"]),
                    ):
                        acknowledged.apply(entry)
                elif action < 0.75 and node_id != "home":
                    try:
                        await running.node.links["home"].sync()
                    except PeerError:
                        pass
                elif action < 0.8:
                    cabin = rng.choice(["cabin_a", "cabin_b"])
                    net.cut ^= {frozenset(("home", cabin))}
                elif action < 0.85:
                    await net.release()
                elif action < 0.9:
                    await stop_node(net, running)
                    nodes[node_id] = await start_node(
                        net,
                        folder,
                        node_id,
                        PEERS[node_id],
                        SKEWS[node_id],
                        limit=rng.choice([5, 50, 1000]),
                    )
                elif node_id != "home":
                    # A crash in the middle of applying, on either side: nothing half-applied.
                    target = nodes[rng.choice([node_id, "home"])]
                    before = await state(target)
                    await crash_next_apply(target)
                    try:
                        await running.node.links["home"].sync()
                    except Exception:
                        pass
                    if target.node.store._merge.__name__ == "crashing":
                        target.node.store._merge = target.node.store.__class__._merge.__get__(
                            target.node.store
                        )  # type: ignore[method-assign]
                    else:
                        assert await state(target) == before
            # Heal: no faults, all links up, what was held back delivered, then sync to rest.
            net.faults = False
            net.cut.clear()
            await net.release()
            for _ in range(4):
                for cabin in ("cabin_a", "cabin_b"):
                    await nodes[cabin].node.links["home"].sync()
            expected = acknowledged.visible()
            for node_id, running in nodes.items():
                doc = await api(running, "GET", "/v1/state?full=1")
                assert doc["state"] == expected, (seed, node_id)
        finally:
            for running in nodes.values():
                await stop_node(net, running)


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed_{s}") for s in range(SCHEDULES)])
def test_schedule_converges_with_every_acknowledged_write(
    seed: int, tmp_path: Path, socket_enabled: None
) -> None:
    asyncio.run(run_schedule(seed, tmp_path))
