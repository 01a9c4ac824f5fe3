"""Properties of the merge and of replicas exchanging batches, with hypothesis.

Merging is commutative, associative and idempotent; a store merges exactly like the reference
model, whatever the order, chunking and duplication of what it receives; and any interleaving of
writes and exchanges (lost answers, duplicated and late deliveries, restarts, tombstone
collection, clocks an hour off) across three replicas converges, after healing, to the merge of
every acknowledged write.
"""

from __future__ import annotations

import os
from pathlib import Path
import tempfile
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from lifeops_sync.crdt import Entry, Kind, Model, Part
from lifeops_sync.ops import AddItem, AppendRows, Delete, SetFields
from lifeops_sync.store import Store

from .replicas import ManualClock, star

ORIGINS = ["a", "b", "c"]
COLLS = ["habits", "settings"]
KEYS = ["k1", "k2", "k3"]
FIELDS = ["f1", "f2"]
# LIFEOPS_SYNC_EXAMPLES raises the number of examples for a longer hunt (CI keeps it short).
EXAMPLES = int(os.environ.get("LIFEOPS_SYNC_EXAMPLES", "80"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def entry_sets(draw: st.DrawFn) -> list[Entry]:
    """Entries as origins make them: seq 1, 2, 3... and increasing stamps, per origin."""
    entries: list[Entry] = []
    for origin in ORIGINS:
        hlc = draw(st.integers(1, 5))
        for seq in range(1, draw(st.integers(0, 6)) + 1):
            hlc += draw(st.integers(1, 3))
            kind = draw(st.sampled_from(list(Kind)))
            coll = draw(st.sampled_from(COLLS))
            key = draw(st.sampled_from(KEYS))
            if kind is Kind.FIELD:
                entry = Entry(
                    kind,
                    origin,
                    seq,
                    hlc,
                    coll,
                    key,
                    draw(st.sampled_from(FIELDS)),
                    draw(st.integers(0, 9)),
                )
            elif kind is Kind.DELETE:
                entry = Entry(kind, origin, seq, hlc, coll, key)
            elif kind is Kind.ITEM:
                entry = Entry(kind, origin, seq, hlc, "xp", key, "", draw(st.integers(0, 9)))
            else:
                entry = Entry(
                    kind, origin, seq, 0, "hr", "", "", float(draw(st.integers(0, 9))), hlc
                )
            entries.append(entry)
    return entries


def model_of(entries: list[Entry]) -> Model:
    model = Model()
    for entry in entries:
        model.apply(entry)
    return model


def canonical(model: Model) -> set[Entry]:
    return set(model.entries())


@SETTINGS
@given(entry_sets(), st.data())
def test_merge_is_commutative_associative_idempotent(
    entries: list[Entry], data: st.DataObject
) -> None:
    split = [data.draw(st.sampled_from([0, 1, 2])) for _ in entries]
    x, y, z = (
        model_of([e for e, s in zip(entries, split, strict=True) if s == i]) for i in range(3)
    )
    assert canonical(x.merge(y)) == canonical(y.merge(x))
    assert canonical(x.merge(y).merge(z)) == canonical(x.merge(y.merge(z)))
    assert canonical(x.merge(x)) == canonical(x)
    assert x.merge(y).visible() == y.merge(x).visible()


@SETTINGS
@given(entry_sets(), st.data())
def test_store_merges_like_the_model_in_any_order(
    entries: list[Entry], data: st.DataObject
) -> None:
    duplicates = data.draw(st.lists(st.sampled_from(entries), max_size=5)) if entries else []
    deliveries = data.draw(st.permutations(entries + duplicates))
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "r.db", "r", ManualClock(), durable=False)
        try:
            chunk = data.draw(st.integers(1, 4))
            for i in range(0, len(deliveries), chunk):
                parts = [Part(e.origin, e.seq - 1, e.seq, (e,)) for e in deliveries[i : i + chunk]]
                store.apply(parts)
            assert store.dump() == model_of(entries).visible()
            # A watermark never passes a gap; what arrived early is asked for again (and changes
            # nothing) by the next in-order delivery, which brings every watermark to the end.
            top = {o: max((e.seq for e in entries if e.origin == o), default=0) for o in ORIGINS}
            assert all(store.vector().get(o, 0) <= s for o, s in top.items())
            store.apply(
                [
                    Part(e.origin, e.seq - 1, e.seq, (e,))
                    for e in sorted(entries, key=lambda e: (e.origin, e.seq))
                ]
            )
            assert store.dump() == model_of(entries).visible()
            assert store.vector() == {o: s for o, s in top.items() if s}
        finally:
            store.close()


ops = st.one_of(
    st.builds(
        SetFields,
        st.sampled_from(COLLS),
        st.sampled_from(KEYS),
        st.dictionaries(st.sampled_from(FIELDS), st.integers(0, 99), min_size=1, max_size=2),
    ),
    st.builds(Delete, st.sampled_from(COLLS), st.sampled_from(KEYS)),
    st.builds(AddItem, st.just("xp"), st.sampled_from(["e1", "e2", "e3", "e4"]), st.integers(0, 9)),
    st.builds(
        AppendRows,
        st.just("hr"),
        st.lists(
            st.tuples(st.integers(0, 10**6), st.floats(0, 200, allow_nan=False)),
            min_size=1,
            max_size=3,
        ).map(tuple),
    ),
)
NODES = ["home", "cabin_a", "cabin_b"]
LINKS = [("cabin_a", "home"), ("cabin_b", "home"), ("home", "cabin_a"), ("home", "cabin_b")]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.sampled_from(NODES), ops),
        st.tuples(st.just("sync"), st.sampled_from(LINKS), st.integers(1, 4), st.booleans()),
        st.tuples(st.just("replay"), st.integers(0, 50)),
        st.tuples(st.just("gc"), st.sampled_from(NODES)),
        st.tuples(st.just("restart"), st.sampled_from(NODES)),
        st.tuples(st.just("time"), st.sampled_from(NODES), st.integers(1, 10**6)),
    ),
    max_size=40,
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_any_interleaving_converges_with_every_acknowledged_write(schedule: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cluster = star(Path(folder), {"home": 0, "cabin_a": 3_600_000, "cabin_b": -3_600_000})
        sent: list[tuple[str, bytes]] = []
        try:
            for step in schedule:
                match step:
                    case ("write", node, op):
                        cluster.write(node, op)
                    case ("sync", (caller, peer), limit, lose):
                        body, _ = cluster.exchange(caller, peer, limit, lose_answer=lose)
                        sent.append((peer, body))
                    case ("replay", index) if sent:
                        peer, body = sent[index % len(sent)]
                        cluster.serve(peer, body, 3)  # late, duplicated delivery
                    case ("gc", node):
                        cluster.stores[node].collect_garbage(cluster.peers[node])
                    case ("restart", node):
                        cluster.stores[node].close()
                        cluster.open(node)
                    case ("time", node, ms):
                        cluster.clocks[node].tick(ms)
            cluster.heal([("cabin_a", "home"), ("cabin_b", "home")], limit=3)
            cluster.check()
        finally:
            cluster.close()
