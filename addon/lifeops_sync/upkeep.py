"""Keeping the replica small and safe: collecting stable tombstones, retention, backups.

Tombstones are collected once they are *stable*: every known node has them, and this node has
everything each of those nodes had written when it reported so; no write older than the
tombstone can arrive after that. The local reader of the change feed (the integration) counts
too, while it reads. :class:`Upkeep` is a part of :class:`~lifeops_sync.store.Store`.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
import os
from pathlib import Path
import sqlite3
from typing import TYPE_CHECKING

from .crdt import site_of
from .epochs import mark_copy

READER_TTL_MS = 30 * 86_400_000  # a feed reader silent this long no longer holds tombstones


class Upkeep:
    """Tombstone collection, retention and backups (a part of the store)."""

    node_id: str
    _db: sqlite3.Connection
    _names: dict[int, str]
    _index: dict[str, int]

    if TYPE_CHECKING:

        def _tx(self) -> AbstractContextManager[None]:
            """A transaction (the store's)."""

        def _watermarks(self) -> dict[int, int]:
            """The watermarks of this node, by origin number (the store's)."""

        def _meta(self, key: str) -> str | None:
            """A meta value (the store's)."""

        def _set_meta(self, key: str, value: str) -> None:
            """Set a meta value (the store's)."""

        def known(self, *, gossip: bool = False) -> dict[str, dict[str, int]]:
            """What each node said it has (the peer book's)."""

    def note_reader(self, cursor: dict[str, int], now_ms: int) -> None:
        """Remember where the local change-feed reader is (it asked for what follows `cursor`)."""
        with self._tx():
            self._db.execute("DELETE FROM reader")
            self._db.executemany(
                "INSERT INTO reader(origin, seq) VALUES(?, ?)", list(cursor.items())
            )
            self._set_meta("reader_seen", str(now_ms))

    def _reader(self, now_ms: int | None) -> dict[str, int] | None:
        """The local reader's cursor, unless it never read or stopped reading long ago."""
        seen = self._meta("reader_seen")
        if seen is None or (now_ms is not None and now_ms - int(seen) > READER_TTL_MS):
            return None
        return dict(self._db.execute("SELECT origin, seq FROM reader").fetchall())

    def collect_garbage(self, peers: Iterable[str] = (), now_ms: int | None = None) -> int:
        """Drop the tombstones every known node has; return how many went.

        Known nodes: the configured peers, every node some node reported on, every origin; and
        the local change-feed reader, unless it has not read for `READER_TTL_MS` (an
        integration that stopped syncing does not hold tombstones forever).
        """
        with self._tx():
            marks = {self._names[o]: s for o, s in self._watermarks().items()}
            reader = self._reader(now_ms)
            known = self.known(gossip=True)
            nodes = (set(peers) | set(known) | {site_of(o) for o in marks}) - {self.node_id}
            for node in nodes:
                row = known.get(node)
                if row is None or any(
                    site_of(o) == node and marks.get(o, 0) < s for o, s in row.items()
                ):
                    return 0
            dropped = 0
            for origin, mark in marks.items():
                stable = min([mark, *(known[n].get(origin, 0) for n in nodes)])
                if reader is not None:
                    stable = min(stable, reader.get(origin, 0))
                if stable > 0:
                    cursor = self._db.execute(
                        "DELETE FROM cells WHERE field = '' AND origin = ? AND seq <= ?",
                        (self._index[origin], stable),
                    )
                    dropped += cursor.rowcount
        return dropped

    def backup(self, target: str | Path) -> None:
        """Write a consistent copy of the replica to ``target`` (SQLite's online backup).

        The copy is readable by its owner only, as the replica is.
        """
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
        Path(target).chmod(0o600)
        copy = sqlite3.connect(str(target))
        try:
            self._db.backup(copy)
            mark_copy(copy)  # put back in place, it starts a new epoch (see _new_epoch)
        finally:
            copy.close()

    def prune_rows(self, before_ts: int) -> int:
        """Drop time-series rows older than ``before_ts`` (retention); they do not come back.

        Long-term store rows carried as items (collections ``longterm.*``) go by the same
        retention, by when they were written (their stamp).
        """
        with self._tx():
            dropped = self._db.execute("DELETE FROM rows WHERE ts < ?", (before_ts,)).rowcount
            dropped += self._db.execute(
                "DELETE FROM items WHERE coll >= 'longterm.' AND coll < 'longterm/' AND hlc < ?",
                (max(0, before_ts) << 16,),
            ).rowcount
            return int(dropped)
