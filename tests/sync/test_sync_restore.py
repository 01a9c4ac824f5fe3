"""A site restored from an earlier backup loses nothing and never reuses a seq (issue 16, item 6).

Real ``lifeops_sync serve`` processes in the documented topology (two cabins call home; home has
no peer URLs). Every site writes, one site's replica is copied as the add-on's backup_pre does,
every site writes more, that site is stopped and its live folder rebuilt from the copy as the
add-on's start path does, and every site writes again at once. After convergence every
acknowledged edit is at every site, and no (origin, seq) names two different entries anywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
import sqlite3
from typing import Any

from aiohttp import ClientSession
import pytest

from lifeops_sync.hlc import DEFAULT_MAX_OFFSET_MS, DRIFT_TOLERANCE_MS, WallClock
from lifeops_sync.store import Store

from .sites import HOME, Sites, eventually, home_and_cabins

CABINS = {"cabin1": 0.0, "cabin2": 0.0}


@pytest.fixture
async def net(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[Sites]:
    async with ClientSession() as session:
        sites = Sites(session, tmp_path, home_and_cabins(tmp_path, CABINS))
        try:
            for node in sites.sites:
                await sites.start(node)
            yield sites
        finally:
            for node in sites.sites:
                await sites.stop(node)


class Edits:
    """Acknowledged edits, each under its own key: a record field and an XP-like item."""

    def __init__(self, net: Sites) -> None:
        self.net = net
        self.expected: dict[str, int] = {}

    async def make(self, node: str, phase: str, count: int) -> None:
        for n in range(count):
            key = f"{node}-{phase}-{n}"
            value = len(self.expected)
            ops: list[dict[str, Any]] = [
                {"op": "set", "collection": "notes", "key": key, "fields": {"v": value}},
                {"op": "add", "collection": "xp", "key": key, "value": value},
            ]
            await self.net.write(node, *ops)
            self.expected[key] = value

    async def everywhere(self, timeout: float = 60) -> None:
        for node in self.net.sites:

            async def complete(node: str = node) -> bool:
                records = await self.net.records(node, "notes")
                doc = await self.net.request(node, "GET", "/v1/items?collection=xp")
                return all(
                    records.get(k) == {"v": v} and doc["items"].get(k) == v
                    for k, v in self.expected.items()
                )

            await eventually(complete, f"every acknowledged edit at {node}", timeout)


def raw_copy(live: Path, target: Path) -> None:
    """A copy of the replica made behind the service's back (a disk snapshot, say)."""
    source, copy = sqlite3.connect(live), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


def entries_by_id(folder: Path, node: str) -> dict[tuple[str, int], tuple[Any, ...]]:
    store = Store(folder / node / "sync.db", node, WallClock())
    try:
        return {(e.origin, e.seq): tuple(e) for e in store.entries()}
    finally:
        store.close()


async def stop_and_read(net: Sites) -> dict[str, dict[tuple[str, int], tuple[Any, ...]]]:
    """Stop every site and read its entries; no (origin, seq) names two entries anywhere."""
    for node in net.sites:
        await net.stop(node)
    held = {node: entries_by_id(net.folder, node) for node in net.sites}
    seen: dict[tuple[str, int], tuple[Any, ...]] = {}
    for node, entries in held.items():
        for ident, entry in entries.items():
            assert seen.setdefault(ident, entry) == entry, (node, ident)
    return held


async def restore_and_converge(net: Sites, restored: str, *, marked: bool = True) -> None:
    edits = Edits(net)
    for node in net.sites:
        await edits.make(node, "before", 2)
    await edits.everywhere()
    copy = net.folder / "backup.db"
    if marked:
        await asyncio.to_thread(net[restored].backup, copy)
    else:
        raw_copy(net[restored].data_dir / "sync.db", copy)
    for node in net.sites:
        await edits.make(node, "after-backup", 3)
    await edits.everywhere()  # the other sites hold what the restored one will lose
    await net.stop(restored)
    net[restored].restore(copy)
    await net.start(restored)
    await edits.make(restored, "after-restore", 3)  # at once, before it has synced
    for node in net.sites:
        if node != restored:
            await edits.make(node, "after-restore", 2)
    await edits.everywhere()
    assert f"{restored}~1" in await net.vector(restored)  # it writes under a new epoch
    await stop_and_read(net)


@pytest.mark.parametrize("restored", [HOME, "cabin1"])
async def test_a_restored_site_loses_nothing(net: Sites, restored: str) -> None:
    await restore_and_converge(net, restored)


async def test_home_restored_behind_the_services_back(net: Sites) -> None:
    """A copy the start path did not make: found when a cabin sends home's own later entries;
    what home wrote meanwhile moves to the new epoch."""
    await restore_and_converge(net, HOME, marked=False)


#: How far cabin1's clock is off, first slow then fast: its changes before and after the clock
#: moved are 200 min apart, more than a receiver believes a clock can be off (3 h, plus 5 min
#: of drift: stamps.bounds), without waiting hours or changing that setting.
SKEW = 100 * 60
MARGIN = (DEFAULT_MAX_OFFSET_MS + DRIFT_TOLERANCE_MS) << 16


def moves_at(folder: Path, node: str) -> dict[tuple[str, int], tuple[str, int]]:
    """The moves a stopped site keeps: (origin, seq) to where the entry was moved from."""
    db = sqlite3.connect(folder / node / "sync.db")
    try:
        rows = db.execute(
            "SELECT a.node, m.seq, b.node, m.src_seq FROM moves m "
            "JOIN nodes a ON a.idx = m.origin JOIN nodes b ON b.idx = m.src"
        ).fetchall()
    finally:
        db.close()
    return {(origin, seq): (src, src_seq) for origin, seq, src, src_seq in rows}


async def test_a_restore_found_late_carries_entries_stamped_long_before_those_it_lost(
    net: Sites,
) -> None:
    """cabin1's clock is 100 min slow; it writes, some of it while home is away (no peer has
    acknowledged that: "pending"), and a snapshot of its replica is taken. Its clock is set
    100 min fast and it writes more ("lost"), which reaches everyone; then the snapshot is put
    back behind the service's back and it writes at once. Found late, the restore moves the
    pending entries to cabin1~1 with their old stamps, now 200 min below the lost ones: home
    takes them because each names the entry cabin1 signed that it was, which home holds, and
    cabin2 (which hears of cabin1 only through home) because home passes on where they were
    moved from. Nothing is refused as backdated, and no (origin, seq) names two entries
    anywhere."""
    cabin = "cabin1"
    edits = Edits(net)
    await net.stop(cabin)
    net[cabin].skew = -SKEW
    await net.start(cabin)
    await edits.make(cabin, "before", 2)
    await edits.everywhere()
    await net.stop(HOME)
    await edits.make(cabin, "pending", 2)  # nobody acknowledges these
    snapshot = net.folder / "snapshot.db"
    raw_copy(net[cabin].data_dir / "sync.db", snapshot)  # not the add-on's marked backup
    await net.start(HOME)
    await edits.everywhere()
    await net.stop(cabin)
    net[cabin].skew = SKEW
    await net.start(cabin)
    await edits.make(cabin, "lost", 3)
    await edits.everywhere()  # home and cabin2 hold what cabin1 will lose
    await net.stop(cabin)
    net[cabin].restore(snapshot)
    await net.start(cabin)
    await edits.make(cabin, "after-restore", 2)  # at once, before it has synced
    await edits.everywhere()

    epoch = f"{cabin}~1"

    async def epoch_everywhere() -> bool:
        counter = (await net.vector(cabin)).get(epoch)
        if counter is None:
            return False
        return all([(await net.vector(n)).get(epoch) == counter for n in (HOME, "cabin2")])

    await eventually(epoch_everywhere, f"{epoch} at home and cabin2 up to cabin1's counter")
    for node in net.sites:
        check = (await net.request(node, "GET", "/v1/status"))["origin_check"]
        assert check["backdated_entries"] == 0, (node, check)
    held = await stop_and_read(net)
    # The pending entries moved with their old stamps, far below what cabin1 wrote before the
    # restore: only the moved-entry check lets them in (stamps.bounds). (A moved entry
    # and the original, back from the peers, share a cell and a stamp: one of them is current.)
    snapped = Store(snapshot, cabin, WallClock())
    try:
        stamped = {e.seq: e.hlc for e in snapped.entries() if e.origin == cabin}
    finally:
        snapped.close()
    lost_top = max(e[3] for (origin, _), e in held[HOME].items() if origin == cabin)
    moved = moves_at(net.folder, cabin)
    assert moved and all(src == cabin for src, _ in moved.values())
    old = {
        ident for ident, (_, seq) in moved.items() if stamped.get(seq, lost_top) < lost_top - MARGIN
    }
    assert len(old) == 4  # the two pending writes: a field and an item each
    # Home kept the moves of those it holds and passed them on: cabin2 hears of cabin1 only
    # through home. (One the original superseded at cabin1 before it sent it went as a digest.)
    for node in (HOME, "cabin2"):
        at, holds = moves_at(net.folder, node), old & held[node].keys()
        assert holds, node
        assert {ident: at.get(ident) for ident in holds} == {i: moved[i] for i in holds}, node
