"""Epochs: how a site restored from a backup goes on without reusing a seq or losing an entry.

A site writes under its node id in epoch 0 and under ``<node_id>~<n>`` after its n-th detected
restore (see :func:`~lifeops_sync.crdt.site_of`). The replica copy a backup takes is marked
(:func:`mark_copy`); opened in place of the replica, it starts a new epoch at once, so the seqs
of the old origin that the site wrote after the backup are never issued again: the peers, who
hold them, send them back (they push by what this site reports it holds, which went down).
A restore the start path did not see is found when a peer sends entries of our current origin
beyond our counter (:meth:`~lifeops_sync.store.Store.apply`); entries written since then move
to the new epoch (:func:`restamp`), their stamps unchanged, so they are not lost either.
"""

from __future__ import annotations

import sqlite3

#: The meta key a backup copy carries (and the live replica never does).
RESTORED_COPY = "restored_copy"
_TABLES = ("cells", "items", "rows")


def mark_copy(copy: sqlite3.Connection) -> None:
    """Mark a backup copy of the replica: opened as the replica, it starts a new epoch."""
    copy.execute("INSERT OR REPLACE INTO meta(k, v) VALUES(?, '1')", (RESTORED_COPY,))
    copy.commit()


def top_seq(db: sqlite3.Connection, origin: int) -> int:
    """The highest seq of ``origin`` among the entries held (0: none)."""
    return max(
        int(
            db.execute(
                f"SELECT coalesce(max(seq), 0) FROM {table} WHERE origin = ?", (origin,)
            ).fetchone()[0]
        )
        for table in _TABLES
    )


def stamp_at(db: sqlite3.Connection, origin: int, seq: int) -> int | None:
    """The stamp of the record or item entry ``(origin, seq)`` held, or None."""
    for table in ("cells", "items"):
        row = db.execute(
            f"SELECT hlc FROM {table} WHERE origin = ? AND seq = ?", (origin, seq)
        ).fetchone()
        if row is not None:
            return int(row[0])
    return None


def newest(db: sqlite3.Connection, origin: int, upto: int) -> tuple[int, int] | None:
    """The record or item entry of ``origin`` with the highest seq up to ``upto``: (seq, hlc)."""
    found = [
        (int(row[0]), int(row[1]))
        for table in ("cells", "items")
        for row in db.execute(
            f"SELECT seq, hlc FROM {table} WHERE origin = ? AND seq <= ? ORDER BY seq DESC LIMIT 1",
            (origin, upto),
        )
    ]
    return max(found, default=None)


def restamp(db: sqlite3.Connection, old: int, new: int, after: int) -> int:
    """Move ``old``'s entries with seq above ``after`` to origin ``new``, seqs 1, 2, ... in order.

    Anything already under ``new`` was not written by us (the epoch was not ours yet): it goes.
    Returns how many entries moved.
    """
    for table in _TABLES:
        db.execute(f"DELETE FROM {table} WHERE origin = ?", (new,))
    found = sorted(
        (seq, table)
        for table in _TABLES
        for (seq,) in db.execute(
            f"SELECT seq FROM {table} WHERE origin = ? AND seq > ?", (old, after)
        ).fetchall()
    )
    for number, (seq, table) in enumerate(found, 1):
        db.execute(
            f"UPDATE {table} SET origin = ?, seq = ? WHERE origin = ? AND seq = ?",
            (new, number, old, seq),
        )
    return len(found)
