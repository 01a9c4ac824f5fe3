"""The stamp floor (stamps.py) against real ``lifeops_sync serve`` processes: a stolen cabin
(cabin_a, with its pair secret and its own valid key) writes as itself, stamped back in time, an
item under the key of home's. It is refused and counted; home and cabin_b keep home's item, go
on syncing, and an honest restart is not refused. (A new epoch has no floor until its first
change is taken: see test_sync_stamps.py and addon/DOCS.md.)"""

from __future__ import annotations

import asyncio

from lifeops_sync.crdt import Entry, Kind, Part
from lifeops_sync.origin import proof_of

from .test_sync_origin_hostile import (
    HOSTILE,
    Net,
    net,  # noqa: F401 (the fixture)
    now,
    settle,
)
from .test_sync_processes import Service, wait_up


class Chain:
    """The hostile cabin's signed log of its own origin (each part follows the last)."""

    def __init__(self, hostile: Net) -> None:
        self.net = hostile
        self.previous: dict[str, bytes] = {}

    def part(self, entry: Entry) -> Part:
        groups = self.net.key.sign([entry], self.previous.get(entry.origin))
        self.previous[entry.origin] = groups[-1].link
        return Part(entry.origin, entry.seq - 1, entry.seq, (entry,), proof_of(groups, [entry]))


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
