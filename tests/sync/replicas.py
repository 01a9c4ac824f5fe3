"""Replicas without HTTP: stores that exchange batches the way the service does, for fast tests.

``exchange`` does what one signed request does (the caller pushes what the peer lacks, the peer
applies and answers, the caller applies), through the real wire encoding, optionally losing the
answer, or handing back the pushed batch for a later, duplicated or reordered, delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lifeops_sync.crdt import Entry, Kind, Model
from lifeops_sync.ops import AddItem, AppendRows, Delete, Operation, SetFields
from lifeops_sync.store import Store, WriteAck
from lifeops_sync.wire import Batch, decode, encode


class ManualClock:
    """A wall clock the test moves; ``skew_ms`` makes a node's clock wrong."""

    def __init__(self, start_ms: int = 1_750_000_000_000, skew_ms: int = 0) -> None:
        self.base = start_ms
        self.skew_ms = skew_ms

    def __call__(self) -> int:
        return self.base + self.skew_ms

    def tick(self, ms: int = 1) -> None:
        self.base += ms


def expected_entries(node: str, op: Operation, ack: WriteAck) -> list[Entry]:
    """The entries one acknowledged single-operation write made (the store's numbering)."""
    seq = ack.first_seq
    out: list[Entry] = []
    left = {name for skipped in ack.skipped for name in skipped.fields}
    match op:
        case SetFields(coll, key, fields):
            for name, value in fields.items():
                if name in left:
                    continue
                out.append(Entry(Kind.FIELD, node, seq, ack.hlc, coll, key, name, value))
                seq += 1
        case Delete(coll, key):
            if not ack.skipped:
                out.append(Entry(Kind.DELETE, node, seq, ack.hlc, coll, key))
                seq += 1
        case AddItem(coll, key, value):
            out.append(Entry(Kind.ITEM, node, seq, ack.hlc, coll, key, "", value))
            seq += 1
        case AppendRows(series, rows):
            for ts, value in rows:
                out.append(Entry(Kind.ROW, node, seq, 0, series, "", "", value, ts))
                seq += 1
    assert seq - 1 == ack.last_seq or not out
    return out


@dataclass
class Cluster:
    """Replicas in a folder, with the reference model of every acknowledged write."""

    folder: Path
    clocks: dict[str, ManualClock]
    stores: dict[str, Store] = field(default_factory=dict)
    acknowledged: Model = field(default_factory=Model)
    peers: dict[str, list[str]] = field(default_factory=dict)

    def open(self, node: str) -> Store:
        self.stores[node] = Store(
            self.folder / f"{node}.db", node, self.clocks[node], durable=False
        )
        return self.stores[node]

    def close(self) -> None:
        for store in self.stores.values():
            store.close()

    def write(self, node: str, op: Operation) -> WriteAck:
        self.clocks[node].tick()
        ack = self.stores[node].write([op])
        for entry in expected_entries(node, op, ack):
            self.acknowledged.apply(entry)
        return ack

    def request(self, caller: str, peer: str, limit: int) -> tuple[bytes, bool]:
        store = self.stores[caller]
        known = store.known()
        parts, more = store.changes_since(known.get(peer, {}), limit)
        batch = Batch(
            caller, peer, store.vector(), {n: v for n, v in known.items() if n != peer}, parts, more
        )
        return encode(batch), more

    def serve(self, peer: str, body: bytes, limit: int) -> bytes:
        store = self.stores[peer]
        batch = decode(body)
        store.apply(batch.parts, sender=batch.node, sender_vector=batch.vector, gossip=batch.known)
        parts, more = store.changes_since(batch.vector, limit)
        known = store.known()
        answer = Batch(
            peer,
            batch.node,
            store.vector(),
            {n: v for n, v in known.items() if n != batch.node},
            parts,
            more,
        )
        return encode(answer)

    def receive(self, caller: str, body: bytes) -> bool:
        batch = decode(body)
        self.stores[caller].apply(
            batch.parts, sender=batch.node, sender_vector=batch.vector, gossip=batch.known
        )
        return batch.more

    def exchange(
        self, caller: str, peer: str, limit: int = 1000, lose_answer: bool = False
    ) -> tuple[bytes, bool]:
        """One exchange; returns the request (to deliver again later) and whether more waits."""
        body, more = self.request(caller, peer, limit)
        answer = self.serve(peer, body, limit)
        if lose_answer:
            return body, True
        return body, self.receive(caller, answer) or more

    def sync(self, caller: str, peer: str, limit: int = 1000) -> None:
        for _ in range(10_000):
            _, more = self.exchange(caller, peer, limit)
            if not more:
                break
        else:  # pragma: no cover
            raise AssertionError("sync did not finish")

    def heal(self, links: list[tuple[str, str]], limit: int = 1000, gc: bool = True) -> None:
        """Sync every link until every replica holds the same visible state."""
        for _ in range(len(self.stores) + 2):
            for caller, peer in links:
                self.sync(caller, peer, limit)
            if gc:
                for node, store in self.stores.items():
                    store.collect_garbage(self.peers.get(node, []))
            if len({s.digest() for s in self.stores.values()}) == 1:
                return
        raise AssertionError("replicas did not converge")

    def check(self) -> None:
        """Every replica shows exactly the merge of every acknowledged write."""
        expected = self.acknowledged.visible()
        for node, store in self.stores.items():
            assert store.dump() == expected, node


def star(folder: Path, skews: dict[str, int], hub: str = "home") -> Cluster:
    clocks = {n: ManualClock(skew_ms=s) for n, s in skews.items()}
    cluster = Cluster(folder, clocks)
    for node in skews:
        cluster.open(node)
    spokes = [n for n in skews if n != hub]
    cluster.peers = {hub: spokes, **{n: [hub] for n in spokes}}
    return cluster


type Step = Callable[[Cluster], None]
