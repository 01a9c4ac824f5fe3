"""The stamp floor (stamps.py) against real ``lifeops_sync serve`` processes: a stolen cabin
(cabin_a, with its pair secret and its own valid key) writes as itself, stamped back in time, an
item under the key of home's. It is refused and counted; home and cabin_b keep home's item, go
on syncing, and an honest restart is not refused. An epoch of the cabin that it makes up is
bound by its earlier ones: stamped long before the cabin's last change, an entry is refused
unless it names the cabin's entry it was moved from, with that entry's content (so it changes
nothing), and a claim of a digest home kept but never checked the stamp of lets nothing in: it
is held to the floor that entry would have had to meet. (See test_sync_stamps.py.)"""

from __future__ import annotations

import asyncio
import dataclasses

from lifeops_sync.crdt import Entry, Kind, Part
from lifeops_sync.hlc import WallClock, pack
from lifeops_sync.origin import proof_of

from .test_sync_origin_hostile import (
    HOSTILE,
    Net,
    net,  # noqa: F401 (the fixture)
    now,
    settle,
)
from .test_sync_processes import Service, wait_up

HOURS_4 = 4 * 3600 * 1000  # ms: more than a clock is believed off (3 h, plus 5 min)


class Chain:
    """The hostile cabin's signed log of its own origin (each part follows the last)."""

    def __init__(self, hostile: Net) -> None:
        self.net = hostile
        self.previous: dict[str, bytes] = {}

    def part(self, entry: Entry) -> Part:
        groups = self.net.key.sign([entry], self.previous.get(entry.origin))
        self.previous[entry.origin] = groups[-1].link
        return Part(entry.origin, entry.seq - 1, entry.seq, (entry,), proof_of(groups, [entry]))


async def wrote_hours_ago(on: Net, chain: Chain) -> Entry:
    """The hostile cabin's first change, item ``a1``, stamped 4 hours ago, taken by home."""
    old = Entry(Kind.ITEM, HOSTILE, 1, pack(WallClock()() - HOURS_4), "xp", "a1", "", 1)
    await on.send([chain.part(old)], keys={HOSTILE: on.key.public}, vector={HOSTILE: 1})
    return old


async def write(on: Net, service: Service, ops: list[dict[str, object]]) -> None:
    await on.call(service, "POST", "/v1/write", {"ops": ops})


async def test_a_stolen_cabin_cannot_stamp_an_item_back_in_time(
    net: Net,  # noqa: F811
) -> None:
    key = {HOSTILE: net.key.public}
    chain = Chain(net)
    # Before the theft: the cabin writes (its last honest change), then home adds an XP event.
    own = Entry(Kind.ITEM, HOSTILE, 1, now(), "xp", "cabin_a_1", "", {"amount": 1})
    await net.send([chain.part(own)], keys=key, vector={HOSTILE: 1})
    await write(net, net.home, [{"op": "add", "collection": "xp", "key": "e1", "value": 10}])
    await settle(net)
    before, vector = await net.state()
    assert vector[HOSTILE] == 1 and before["items"]["xp"]["e1"] == 10

    # Stolen: the same key, stamp 1, its next seq, its own valid signature.
    forged = Entry(Kind.ITEM, HOSTILE, 2, 1, "xp", "e1", "", -500)
    await net.send([chain.part(forged)], keys=key, vector={HOSTILE: 2})
    state, vector = await net.state()
    assert state == before and vector[HOSTILE] == 1
    check = await net.check()
    assert check["backdated_entries"] == 1 and check["refused_entries"] == 1
    assert HOSTILE in check["last_refusal"] and check["refused_parts"] == 0
    log = (net.home.folder / "home.log").read_text()
    assert "stamp check: 1 entries from cabin_a refused" in log

    # An epoch of the cabin that starts now (an honest restore) is taken.
    fresh = Entry(Kind.ITEM, f"{HOSTILE}~2", 1, now(), "xp", "cabin_a_2", "", {"amount": 2})
    await net.send([chain.part(fresh)], keys=key, vector={HOSTILE: 2, f"{HOSTILE}~2": 1})
    state, vector = await net.state()
    assert vector[f"{HOSTILE}~2"] == 1 and state["items"]["xp"]["cabin_a_2"] == {"amount": 2}

    # cabin_b (its clock an hour slow) writes after taking home's later stamps, restarts and
    # writes again: its stamps after the restart pass home's floor; both keep home's e1.
    await write(net, net.honest, [{"op": "add", "collection": "xp", "key": "b0", "value": 2}])
    await settle(net)
    await asyncio.to_thread(net.honest.stop)
    await asyncio.to_thread(net.honest.start)
    await wait_up(net.session, net.honest)
    await write(net, net.honest, [{"op": "add", "collection": "xp", "key": "b1", "value": 3}])
    await write(net, net.home, [{"op": "add", "collection": "xp", "key": "e2", "value": 4}])
    await settle(net)
    for service in (net.home, net.honest):
        items = (await net.call(service, "GET", "/v1/state?full=1"))["state"]["items"]["xp"]
        assert items["e1"] == 10 and items["b0"] == 2 and items["b1"] == 3 and items["e2"] == 4
        assert "cabin_a_2" in items
    assert (await net.check())["backdated_entries"] == 1
    honest = await net.call(net.honest, "GET", "/v1/status")
    assert honest["origin_check"]["backdated_entries"] == 0
    assert honest["origin_check"]["refused_entries"] == 0


async def test_a_stolen_cabin_cannot_make_up_an_epoch_to_stamp_back_in_time(
    net: Net,  # noqa: F811
) -> None:
    key = {HOSTILE: net.key.public}
    chain = Chain(net)
    # Before the theft: the cabin wrote 4 hours ago (more than a clock is believed off) and now.
    old = await wrote_hours_ago(net, chain)
    latest = Entry(Kind.ITEM, HOSTILE, 2, now(), "xp", "a2", "", 2)
    await net.send([chain.part(latest)], keys=key, vector={HOSTILE: 2})
    await write(net, net.home, [{"op": "add", "collection": "xp", "key": "e1", "value": 10}])
    await settle(net)
    before, vector = await net.state()
    assert vector[HOSTILE] == 2 and before["items"]["xp"] == {"a1": 1, "a2": 2, "e1": 10}

    # Stolen: an epoch of the cabin no restore started, its seq 1 an item under home's key,
    # stamped 1, validly signed: first as it is, then claiming to be moved from the cabin's
    # real seq 1 (a different entry), then its real seq 1 again without the claim.
    epoch = f"{HOSTILE}~5"
    forged = Entry(Kind.ITEM, epoch, 1, 1, "xp", "e1", "", -500)
    claim = ((1, HOSTILE, 1),)
    again = old._replace(origin=epoch)
    for n, (entry, moved) in enumerate(((forged, ()), (forged, claim), (again, ())), 1):
        chain.previous.pop(epoch, None)  # each a first part of the epoch
        part = dataclasses.replace(chain.part(entry), moved=moved)
        await net.send([part], keys=key, vector={HOSTILE: 2, epoch: 1})
        state, vector = await net.state()
        assert state == before and epoch not in vector, n
        check = await net.check()
        assert check["backdated_entries"] == n and check["refused_parts"] == 0, n
        assert f"{epoch}: 1 entries from seq 1" in check["last_refusal"], n
        assert "not moved from an earlier epoch" in check["last_refusal"], n

    # Its real seq 1 again with the claim: the site's own signed entry, taken; it changes
    # nothing (the same item, the same value).
    chain.previous.pop(epoch, None)
    await net.send(
        [dataclasses.replace(chain.part(again), moved=claim)],
        keys=key,
        vector={HOSTILE: 2, epoch: 1},
    )
    state, vector = await net.state()
    assert state == before and vector[epoch] == 1
    assert (await net.check())["backdated_entries"] == 3

    # A claim of a digest home keeps but never checked the stamp of: of its next seq, first
    # refused as backdated (its digest is not kept), then sent as a digest only (as if
    # superseded: kept, with the floor its entry would have had to meet, and the watermark
    # passes it). Moved, it is refused both times.
    link = chain.previous[HOSTILE]
    third = forged._replace(origin=HOSTILE, seq=3)
    await net.send([chain.part(third)], keys=key, vector={HOSTILE: 3})
    assert (await net.check())["backdated_entries"] == 4
    claim = ((1, HOSTILE, 3),)
    other = f"{HOSTILE}~6"
    made_up = third._replace(origin=other, seq=1)
    for sent in ("refused", "digest only"):
        if sent == "digest only":
            digest = Part(HOSTILE, 2, 3, (), proof_of(net.key.sign([third], link), []))
            await net.send([digest], keys=key, vector={HOSTILE: 3})
        chain.previous.pop(other, None)
        part = dataclasses.replace(chain.part(made_up), moved=claim)
        await net.send([part], keys=key, vector={HOSTILE: 3, other: 1})
        state, vector = await net.state()
        assert state == before and vector[HOSTILE] == (3 if sent == "digest only" else 2), sent
        assert other not in vector, sent
    assert (await net.check())["backdated_entries"] == 6

    await settle(net)  # cabin_b takes what home took through home, and keeps home's e1
    items = (await net.call(net.honest, "GET", "/v1/state?full=1"))["state"]["items"]["xp"]
    assert items == {"a1": 1, "a2": 2, "e1": 10}
    honest = (await net.call(net.honest, "GET", "/v1/status"))["origin_check"]
    assert honest["backdated_entries"] == 0 and honest["refused_entries"] == 0


async def test_a_stolen_cabin_cannot_stamp_before_what_it_said_it_holds(
    net: Net,  # noqa: F811
) -> None:
    # The cabin's last change home took is 4 hours old; since, it said it holds home's e1.
    # Stolen, it stamps an item under e1's key after its own last change, 3.5 hours back:
    # refused, as it is more than the clock offset believed (3 h 5 min) before what it said
    # it holds. Home and cabin_b keep home's e1.
    key = {HOSTILE: net.key.public}
    chain = Chain(net)
    await wrote_hours_ago(net, chain)
    await write(net, net.home, [{"op": "add", "collection": "xp", "key": "e1", "value": 10}])
    await settle(net)
    before, vector = await net.state()
    await net.send([], vector={**vector, HOSTILE: 1})  # it says it holds all home holds
    back = pack(WallClock()() - HOURS_4 + HOURS_4 // 8)  # 3.5 hours ago
    forged = Entry(Kind.ITEM, HOSTILE, 2, back, "xp", "e1", "", -500)
    await net.send([chain.part(forged)], keys=key, vector={**vector, HOSTILE: 2})
    state, after = await net.state()
    assert state == before and after[HOSTILE] == 1
    check = await net.check()
    assert check["backdated_entries"] == 1 and "said to be held" in check["last_refusal"]
    await settle(net)
    honest = (await net.call(net.honest, "GET", "/v1/state?full=1"))["state"]["items"]["xp"]
    assert honest["e1"] == 10 and "a1" in honest
