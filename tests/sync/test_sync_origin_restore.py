"""Signatures across a restore (the epochs of epochs.py): a site restored from a backup takes
its lost entries back, checked with its own key, and signs on under its new epoch; entries it
wrote under the old origin before the restore was found are moved and signed again."""

from __future__ import annotations

from pathlib import Path
import shutil

from lifeops_sync.ops import AddItem, SetFields
from lifeops_sync.store import Store
from lifeops_sync.wire import Batch, decode, encode

from .test_sync_origin import introduce, keyed


def exchange(src: Store, dst: Store, limit: int = 25_000) -> int:
    """What ``dst`` lacks from ``src``, as a peer sends it; the parts refused."""
    refused = 0
    for _ in range(100):
        parts, more = src.changes_since(dst.vector(), limit)
        batch = decode(encode(Batch(src.node_id, dst.node_id, src.vector(), parts=parts)))
        applied = dst.apply(batch.parts, sender=src.node_id, sender_vector=batch.vector)
        refused += len(applied.refused)
        if not more:
            break
    return refused


def test_a_site_restored_from_a_backup_signs_on_under_a_new_epoch(tmp_path: Path) -> None:
    home, cabin = keyed(tmp_path, "home"), keyed(tmp_path, "cabin")
    introduce(home, cabin)
    home.write([SetFields("s", "a", {"x": 1})])
    home.backup(tmp_path / "backup.db")
    home.write([SetFields("s", "a", {"y": 2}), AddItem("xp", "e", 1)])
    assert exchange(home, cabin) == 0
    key = home.site_key
    home.close()
    shutil.copy(tmp_path / "backup.db", tmp_path / "home.db")
    home = keyed(tmp_path, "home", key)
    assert home.origin == "home~1"
    assert exchange(cabin, home) == 0  # its lost entries back, checked with its own key
    home.write([SetFields("s", "a", {"z": 3})])
    assert exchange(home, cabin) == 0
    assert exchange(cabin, home) == 0
    assert home.digest() == cabin.digest()
    assert cabin.read("s") == {"a": {"x": 1, "y": 2, "z": 3}}
    third = keyed(tmp_path, "third")
    introduce(home, cabin, third)
    assert exchange(home, third) == 0
    assert third.digest() == home.digest() and third.vector() == home.vector()


def test_a_restore_found_late_moves_the_entries_and_signs_them_again(tmp_path: Path) -> None:
    home, cabin = keyed(tmp_path, "home"), keyed(tmp_path, "cabin")
    introduce(home, cabin)
    key = home.site_key
    home.write([SetFields("s", "a", {"x": 1})])
    home.close()
    shutil.copy(tmp_path / "home.db", tmp_path / "saved.db")  # a copy made by hand: unmarked
    home = keyed(tmp_path, "home", key)
    home.write([SetFields("s", "a", {"y": 2})])
    home.write([SetFields("s", "a", {"v": 5})])
    assert exchange(home, cabin) == 0
    home.close()
    shutil.copy(tmp_path / "saved.db", tmp_path / "home.db")
    home = keyed(tmp_path, "home", key)
    home.write([SetFields("s", "b", {"w": 9})])  # seq 2 again, unaware
    assert exchange(cabin, home) == 0  # the cabin holds seq 3 of "home": a restore, found
    assert home.origin == "home~1"
    assert exchange(home, cabin) == 0
    assert exchange(cabin, home) == 0
    assert home.digest() == cabin.digest()
    assert cabin.read("s") == {"a": {"x": 1, "y": 2, "v": 5}, "b": {"w": 9}}
    third = keyed(tmp_path, "third")
    introduce(home, cabin, third)
    assert exchange(home, third) == 0
    assert third.digest() == home.digest()
