"""A peer with a valid secret that misbehaves (issue 16, items 1, 2, 3, 5 and 8), against real
``lifeops_sync serve`` processes: home, a cabin an hour slow and a cabin an hour fast calling it,
and ``cabin3``, whose secret home knows, sending hand-made batches. Each attack is refused or has
no effect on the other sites' data."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path
import time
import zlib

from aiohttp import ClientSession
import pytest

from lifeops_sync.crdt import Entry, Kind, Part
from lifeops_sync.hlc import pack, wall_ms
from lifeops_sync.wire import MAX_SEQ, Batch

from .sites import HOME, Sites, eventually, home_and_cabins

EVIL = "cabin3"
HOUR = 3_600_000


@pytest.fixture
async def net(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[Sites]:
    async with ClientSession() as session:
        sites = Sites(
            session,
            tmp_path,
            home_and_cabins(tmp_path, {"cabin1": -3600, "cabin2": 3600}, hostile=(EVIL,)),
        )
        try:
            for node in sites.sites:
                await sites.start(node)
            yield sites
        finally:
            for node in sites.sites:
                await sites.stop(node)


def note(key: str, value: object) -> dict[str, object]:
    return {"op": "set", "collection": "notes", "key": key, "fields": {"v": value}}


async def everywhere(net: Sites, key: str, value: object, timeout: float = 30) -> None:
    """Wait until every site shows ``notes/key`` with ``value``."""
    for node in net.sites:

        async def has(node: str = node) -> bool:
            return (await net.records(node, "notes")).get(key) == {"v": value}

        await eventually(has, f"{key}={value!r} at {node}", timeout)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def forged(seq: int, hlc: int, key: str = "evil") -> Entry:
    return Entry(Kind.FIELD, EVIL, seq, hlc, "notes", key, "v", "evil")


async def test_own_counter_and_cursor_survive_a_maximal_part(net: Sites) -> None:
    """Item 1: an empty part {o: home, a: 0, u: 2^62-1} moves nothing; home syncs on."""
    first = await net.write(HOME, note("a", 1))
    counter = (await net.vector(HOME))[HOME]
    for part in (Part(HOME, 0, MAX_SEQ, ()), Part(f"{HOME}~1", 0, MAX_SEQ, ())):
        status, _ = await net.hostile(
            Batch(EVIL, HOME, {HOME: MAX_SEQ, f"{HOME}~1": MAX_SEQ}, {}, [part])
        )
        assert status == 200
    assert (await net.vector(HOME)).get(HOME) == counter
    assert f"{HOME}~1" not in await net.vector(HOME)
    ack = await net.write(HOME, note("b", 2))
    assert ack["first_seq"] == first["last_seq"] + 1
    await everywhere(net, "b", 2)
    # The change feed takes any cursor up to the largest seq (19 digits), not one past it.
    api = net.api(HOME)
    status, doc = await api.request("GET", f"/v1/changes?after={HOME}:{MAX_SEQ}")
    assert status == 200, doc
    status, doc = await api.request("GET", f"/v1/changes?after={HOME}:{MAX_SEQ + 1}")
    assert (status, doc["error"]) == (400, "malformed")
    # A restart keeps the counter where home's own writes put it.
    await net.stop(HOME)
    await net.start(HOME)
    ack = await net.write(HOME, note("c", 3))
    assert ack["first_seq"] == counter + 2
    await everywhere(net, "c", 3)


async def test_a_relay_cannot_skip_another_sites_edits(net: Sites) -> None:
    """Item 2: moving home's watermark for cabin2 forward by 1000 loses none of its edits."""
    await net.write("cabin2", note("x", 0))
    await everywhere(net, "x", 0)
    mark = (await net.vector(HOME))["cabin2"]
    for vector in ({"cabin2": mark + 1000}, {}):
        status, _ = await net.hostile(
            Batch(EVIL, HOME, vector, {}, [Part("cabin2", mark, mark + 1000, ())])
        )
        assert status == 200
        assert (await net.vector(HOME))["cabin2"] == mark
    for n in range(1, 4):
        await net.write("cabin2", note(f"x{n}", n))
    for n in range(1, 4):
        await everywhere(net, f"x{n}", n)


async def test_forged_gossip_does_not_starve_a_cabin(net: Sites) -> None:
    """Item 3: known = {cabin1: {home: MAX}} from another peer does not stop home's pushes."""
    lie = {"cabin1": {HOME: MAX_SEQ, "cabin2": MAX_SEQ}, "cabin2": {HOME: MAX_SEQ}}
    status, _ = await net.hostile(Batch(EVIL, HOME, {}, lie, []))
    assert status == 200
    await net.write(HOME, note("g", 1))
    await everywhere(net, "g", 1)
    await net.stop(HOME)
    await net.start(HOME)
    await net.write(HOME, note("g", 2))
    await everywhere(net, "g", 2)

    async def nothing_pending() -> bool:
        status = await net.request(HOME, "GET", "/v1/status")
        return all(p["pending"] == 0 for p in status["peers"] if p["node_id"] != EVIL)

    await eventually(nothing_pending, "home has nothing pending for the cabins")


async def test_stamps_from_the_future_are_refused_and_do_not_drag_the_clock(net: Sites) -> None:
    """Item 5: stamps 23 h ahead are refused; home's stamps stay at real time; cabins an hour
    off either way sync without a clock error."""
    ahead = now_ms() + 23 * HOUR
    for clock, stamp in ((ahead, ahead), (now_ms(), now_ms() + 2 * HOUR)):
        entry = forged(1, pack(stamp))
        status, answer = await net.hostile(
            Batch(EVIL, HOME, {EVIL: 1}, {}, [Part(EVIL, 0, 1, (entry,))], clock=clock)
        )
        assert status == 200
        assert "evil" not in await net.records(HOME, "notes")
        assert (await net.vector(HOME)).get(EVIL, 0) == 0  # it comes again; taken in time
        assert answer.clock - now_ms() < 60_000
    ack = await net.write(HOME, note("t", 1))
    assert abs(wall_ms(ack["hlc"]) - now_ms()) < 60_000
    # An entry its sender's clock explains is taken (the check is not a blanket refusal).
    entry = forged(1, pack(now_ms()), "fair")
    status, _ = await net.hostile(
        Batch(EVIL, HOME, {EVIL: 1}, {}, [Part(EVIL, 0, 1, (entry,))], clock=now_ms())
    )
    assert status == 200
    assert "fair" in await net.records(HOME, "notes")
    # The slow cabin takes the fast cabin's changes (relayed by home) and the reverse.
    await net.write("cabin2", note("fast", 1))
    await net.write("cabin1", note("slow", 1))
    await everywhere(net, "fast", 1)
    await everywhere(net, "slow", 1)
    for cabin in ("cabin1", "cabin2"):
        await net.request(cabin, "POST", "/v1/sync_now")
        status = await net.request(cabin, "GET", "/v1/status")
        (link,) = status["peers"]
        assert (link["failures"], link["last_error"]) == (0, None), link


async def test_bad_json_is_400_and_peers_get_a_reduced_status(net: Sites) -> None:
    """Item 8: huge integers, deep nesting, invalid UTF-8 and lone surrogates are 400 on every
    route that takes a body; a peer's /v1/status shows nothing of the other peers."""
    good = b'{"ops": [{"op": "set", "collection": "c", "key": "k", "fields": {"v": 1}}]}'
    bad = {
        "5000-digit integer": good.replace(b'"v": 1', b'"v": ' + b"7" * 5000),
        "nested 50,000 deep": good.replace(b'"v": 1', b'"v": ' + b"[" * 50_000 + b"]" * 50_000),
        "invalid UTF-8": good.replace(b'"k"', b'"\xc3"'),
        "encoded surrogate": good.replace(b'"k"', b'"\xed\xa0\x80"'),
        "lone surrogate": good.replace(b'"v": 1', b'"v": "\\ud800"'),
        "lone low surrogate": good.replace(b'"k"', b'"a\\udc00"'),
    }
    for name, body in bad.items():
        status, doc = await net.raw(HOME, "POST", "/v1/write", body)
        assert (status, (doc or {}).get("error")) == (400, "malformed"), (name, status, doc)
        status, doc = await net.raw(HOME, "POST", "/v1/sync", zlib.compress(body), key_id=EVIL)
        assert (status, doc["error"]) == (400, "malformed"), name
    status, doc = await net.raw(
        HOME, "POST", "/v1/write", good.replace(b'"v": 1', b'"v": "\\ud83d\\ude00"')
    )
    assert status == 200, doc  # a surrogate pair is a character like any other
    assert (await net.records(HOME, "c"))["k"] == {"v": "\U0001f600"}
    full = await net.request(HOME, "GET", "/v1/status")
    assert {p["node_id"] for p in full["peers"]} >= {"cabin1", "cabin2"}
    status, reduced = await net.raw(HOME, "GET", "/v1/status", b"", key_id=EVIL)
    assert status == 200
    assert [p["node_id"] for p in reduced["peers"]] in ([], [EVIL])
    assert "url" not in str(reduced) and "cabin1" not in str(reduced["peers"])
    assert reduced["node_id"] == HOME


async def test_a_lying_tip_starts_no_epoch_once_the_peers_have_acknowledged(net: Sites) -> None:
    """A tip claiming another entry under one of home's acknowledged seqs changes nothing; one
    beyond home's counter starts a new epoch, which costs a resend, never data or duplicates."""
    for n in range(3):
        rows = {"op": "rows", "series": "steps", "rows": [[n, float(n)]]}
        await net.write(HOME, note(f"r{n}", n), rows)
    await everywhere(net, "r2", 2)
    counter = (await net.vector(HOME))[HOME]

    async def acknowledged() -> bool:
        status = await net.request(HOME, "GET", "/v1/status")
        return all(p["pending"] == 0 for p in status["peers"] if p["node_id"] != EVIL)

    await eventually(acknowledged, "the cabins report holding all of home's changes")
    status, _ = await net.hostile(Batch(EVIL, HOME, {}, {}, [], tips={HOME: (counter, 12345)}))
    assert status == 200
    assert f"{HOME}~1" not in await net.vector(HOME)
    status, _ = await net.hostile(Batch(EVIL, HOME, {}, {}, [], tips={HOME: (counter + 9, 1)}))
    assert status == 200
    assert (await net.vector(HOME)).get(f"{HOME}~1", 0) == 0  # nothing to move: all acknowledged
    await net.write(HOME, note("after", 1))
    await everywhere(net, "after", 1)
    for n in range(3):
        await everywhere(net, f"r{n}", n)
    for node in net.sites:
        state = (await net.request(node, "GET", "/v1/state?full=1"))["state"]
        assert sorted(row[3] for row in state["rows"]) == [0, 1, 2], node
