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

from lifeops_sync.hlc import WallClock
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
    for node in net.sites:
        await net.stop(node)
    held = {node: entries_by_id(net.folder, node) for node in net.sites}
    seen: dict[tuple[str, int], tuple[Any, ...]] = {}
    for node, entries in held.items():
        for ident, entry in entries.items():
            assert seen.setdefault(ident, entry) == entry, (node, ident)


@pytest.mark.parametrize("restored", [HOME, "cabin1"])
async def test_a_restored_site_loses_nothing(net: Sites, restored: str) -> None:
    await restore_and_converge(net, restored)


async def test_home_restored_behind_the_services_back(net: Sites) -> None:
    """A copy the start path did not make: found when a cabin sends home's own later entries;
    what home wrote meanwhile moves to the new epoch."""
    await restore_and_converge(net, HOME, marked=False)
