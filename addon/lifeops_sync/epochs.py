"""Epochs: how a site restored from a backup goes on without reusing a seq or losing an entry.

A site writes under its node id in epoch 0 and under ``<node_id>~<n>`` after its n-th detected
restore (see :func:`~lifeops_sync.crdt.site_of`). The replica copy a backup takes is marked
(:func:`mark_copy`); opened in place of the replica, it starts a new epoch at once, so the seqs
of the old origin that the site wrote after the backup are never issued again: the peers, who
hold them, send them back (they push by what this site reports it holds, which went down).
A restore the start path did not see is found when a peer sends entries of our current origin
beyond our counter (:meth:`~lifeops_sync.store.Store.apply`); entries written since then move
to the new epoch (:func:`restamp`), their stamps unchanged, so they are not lost either.

Each moved entry remembers where it came from (the table ``moves``, sent with the entry as the
part's ``moved``): its old stamp may lie far below what the peers took from the earlier epoch
since, and a receiver takes such a stamp only for an entry the earlier epoch signed, by the
same digest (:mod:`lifeops_sync.stamps`). Receivers keep the moves of the entries they take,
so a relay passes them on.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from . import stamps
from .crdt import Part, TipProof, epoch_of, site_of
from .origin import SiteKey, signed_unheld, tip_proof

#: The meta key a backup copy carries (and the live replica never does).
RESTORED_COPY = "restored_copy"
_TABLES = ("cells", "items", "rows")

SCHEMA = """
CREATE TABLE IF NOT EXISTS moves(
    origin INTEGER NOT NULL, seq INTEGER NOT NULL, src INTEGER NOT NULL, src_seq INTEGER NOT NULL,
    PRIMARY KEY(origin, seq, src)) WITHOUT ROWID;
"""


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
    Each move is kept (``moves``). Returns how many entries moved.
    """
    for table in (*_TABLES, "moves"):
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
    # Each names the entry it was, and what that one had been (moved before): a peer checks
    # whichever of them it keeps the digest and floor of (screening.py).
    before: dict[int, list[tuple[int, int]]] = {}
    for seq, src, src_seq in db.execute(
        "SELECT seq, src, src_seq FROM moves WHERE origin = ? AND seq > ?", (old, after)
    ):
        before.setdefault(int(seq), []).append((int(src), int(src_seq)))
    db.execute("DELETE FROM moves WHERE origin = ? AND seq > ?", (old, after))
    db.executemany(
        "INSERT OR IGNORE INTO moves(origin, seq, src, src_seq) VALUES(?, ?, ?, ?)",
        [
            (new, number, src, src_seq)
            for number, (seq, _) in enumerate(found, 1)
            for src, src_seq in [(old, seq), *before.get(seq, [])]
        ],
    )
    return len(found)


def moves_in(
    db: sqlite3.Connection, origin: int, after: int, upto: int, names: dict[int, str]
) -> tuple[tuple[int, str, int], ...]:
    """The moves kept for ``origin``'s seqs in ``(after, upto]``: (seq, from origin, from seq).

    An entry moved more than once has a row for each entry it was.
    """
    return tuple(
        (int(seq), names[src], int(src_seq))
        for seq, src, src_seq in db.execute(
            "SELECT seq, src, src_seq FROM moves WHERE origin = ? AND seq > ? AND seq <= ? "
            "ORDER BY seq, src",
            (origin, after, upto),
        )
    )


def keep_moves(db: sqlite3.Connection, rows: list[tuple[int, int, int, int]]) -> None:
    """Keep moves taken with their entries: ``(origin, seq, from origin, from seq)``."""
    db.executemany(
        "INSERT OR IGNORE INTO moves(origin, seq, src, src_seq) VALUES(?, ?, ?, ?)", rows
    )


class Epochs:
    """The store's part in restores (a mixin of :class:`~lifeops_sync.store.Store`)."""

    node_id: str
    origin: str
    restored: bool
    site_key: SiteKey | None
    #: Peers whose tip said we were restored, unproven: we ask them for a proof.
    tip_doubts: set[str]
    #: Peers that asked us to prove the tips we send them.
    proofs_asked: set[str]
    #: :meth:`acknowledged` when the replica was opened (or the epoch started).
    acknowledged_at_open: int
    _db: sqlite3.Connection
    _self_idx: int
    _names: dict[int, str]
    _index: dict[str, int]

    def _idx(self, node: str) -> int:
        raise NotImplementedError

    if TYPE_CHECKING:  # the log reader's

        def changes_since(self, vector: dict[str, int], limit: int) -> tuple[list[Part], bool]:
            """The entries a node with watermarks ``vector`` lacks."""

    def _watermarks(self) -> dict[int, int]:
        raise NotImplementedError

    def _set_watermark(self, origin: int, seq: int) -> None:
        raise NotImplementedError

    def _set_meta(self, key: str, value: str) -> None:
        raise NotImplementedError

    def _sign_epoch(self, old: int, new: int, keep_upto: int, moved: int) -> None:
        """Sign the moved entries as the new origin's (the signed log's, signedlog.py)."""
        raise NotImplementedError

    def _reset_watermark(self, origin: int, seq: int) -> None:
        """Move a watermark back (a restore, or a mark nothing vouches for); its stamp floor too."""
        self._db.execute(
            "INSERT OR REPLACE INTO watermarks(origin, seq) VALUES(?, ?)", (origin, seq)
        )
        stamps.reset(self._db, origin, seq)

    def _new_epoch(self, keep_upto: int) -> None:
        """Write under ``<node_id>~<n+1>`` from now on (inside a transaction).

        Our entries of the current origin after ``keep_upto`` (written since the restore, or
        possibly so) move to the new origin, same stamps, seqs from 1, so none is lost and no
        (origin, seq) ever names two entries; our watermark for the old origin goes back to
        ``keep_upto`` so the peers can send back what we wrote there after the backup.
        """
        old = self._self_idx
        origin = f"{self.node_id}~{epoch_of(self.origin) + 1}"
        new = self._idx(origin)
        moved = restamp(self._db, old, new, keep_upto)
        self._sign_epoch(old, new, keep_upto, moved)
        self._db.execute("DELETE FROM watermarks WHERE origin = ?", (new,))
        self._db.execute("DELETE FROM stamps WHERE origin = ?", (new,))
        if moved:
            self._set_watermark(new, moved)
        self._reset_watermark(old, keep_upto)
        self._set_meta("origin", origin)
        self.origin, self._self_idx, self.restored = origin, new, True
        self.acknowledged_at_open = 0
        self.tip_doubts.clear()  # they were of the origin left: what it lost comes back now

    def _check_restored(
        self,
        parts: list[Part],
        sender: str,
        sender_vector: dict[str, int],
        tip: tuple[int, int] | None,
        proof: TipProof | None,
    ) -> bool:
        """Start a new epoch if a peer holds entries of our current origin we did not write.

        That is a restore the start path did not see (the replica copied back by hand, a
        snapshot): the peer sends our entries beyond our counter (signed: checked already), or
        shows a group of our origin signed with our key that we do not hold (its
        :class:`~lifeops_sync.crdt.TipProof`). A ``tip`` (the newest entry of ours the peer
        holds: past our counter, or not the entry we hold under that seq) is only the peer's
        word: with a site key it makes us ask that peer for a proof (:attr:`tip_doubts`), it
        never starts an epoch itself, so a lying peer cannot make us start one per exchange.
        Our entries after what the peers had said they hold when this replica was opened (a
        copy's record of that is as old as the copy; the peers' reports since may count the
        entries we lost) move to the new epoch.
        """
        counter = self._watermarks().get(self._self_idx, 0)
        said = self.acknowledged()
        keep = min(counter, said, self.acknowledged_at_open)
        beyond = sender_vector.get(self.origin, 0) > counter and any(
            e.seq > counter for p in parts if p.origin == self.origin for e in p.entries
        )
        if beyond:
            self._new_epoch(keep)
            return True
        if proof is not None and self.site_key is not None:
            lost = signed_unheld(self._db, self._self_idx, self.origin, proof, self.site_key.public)
            if lost is not None:
                self.tip_doubts.discard(sender)
                if lost:
                    self._new_epoch(keep)
                return bool(lost)
        if tip is None:
            return False
        seq, hlc = tip
        if seq <= counter:
            mine = stamp_at(self._db, self._self_idx, seq)
            if seq <= said or mine is None or mine == hlc:
                return False
            keep = min(keep, seq - 1)
        if self.site_key is not None:
            self.tip_doubts.add(sender)
            return False
        self._new_epoch(keep)  # unsigned: anyone writes as anyone, a tip is taken at its word
        return True

    def _report_in_doubt(self, sender: str, vector: dict[str, int]) -> dict[str, int]:
        """What to note of ``sender``'s report: its word on our origin waits for a proof.

        A peer whose tip we doubt may hold entries of ours we lost: until it proves otherwise,
        what it holds of our origin stays what it said before, so they never count as
        acknowledged (what stays put when a new epoch starts).
        """
        if sender not in self.tip_doubts:
            return vector
        (before,) = self._db.execute(
            "SELECT coalesce(max(seq), 0) FROM known WHERE node = ? AND origin = ?",
            (sender, self.origin),
        ).fetchone()
        return {**vector, self.origin: min(vector.get(self.origin, 0), int(before))}

    def acknowledged(self) -> int:
        """The highest seq of our current origin a peer has said it holds, up to our counter."""
        counter = self._watermarks().get(self._self_idx, 0)
        (said,) = self._db.execute(
            "SELECT coalesce(max(seq), 0) FROM known WHERE origin = ? AND seq <= ?",
            (self.origin, counter),
        ).fetchone()
        return int(said)

    def tips_for(self, node: str) -> dict[str, tuple[int, int]]:
        """The newest entry held of ``node``'s latest origin, ``{origin: (seq, hlc)}``.

        Sent to ``node``: if it holds a different entry under that seq, or none up to it, it
        was restored from a backup.
        """
        marks = {self._names[o]: s for o, s in self._watermarks().items()}
        origins = [o for o in marks if site_of(o) == node]
        if not origins:
            return {}
        origin = max(origins, key=epoch_of)
        tip = newest(self._db, self._index[origin], marks[origin])
        return {} if tip is None else {origin: tip}

    def changes_for(self, node: str, vector: dict[str, int], limit: int) -> tuple[list[Part], bool]:
        """What to send ``node`` (its watermarks ``vector``).

        Our current origin's entries wait while its tip is in doubt: a peer holding entries of
        ours we lost would take ours under the same seqs (two versions of them), and its proof
        would then match.
        """
        if node in self.tip_doubts:
            vector = {**vector, self.origin: self._watermarks().get(self._self_idx, 0)}
        return self.changes_since(vector, limit)

    def tip_proofs_for(self, node: str) -> dict[str, TipProof]:
        """Proofs of what we hold of ``node``'s origins, if ``node`` asked (once per ask)."""
        if node not in self.proofs_asked:
            return {}
        self.proofs_asked.discard(node)
        marks = self._watermarks()
        proofs = {
            origin: tip_proof(self._db, self._index[origin], marks.get(self._index[origin], 0))
            for origin in self.tips_for(node)
        }
        return {origin: proof for origin, proof in proofs.items() if proof is not None}

    def _doubt(self, sender: str, sender_vector: dict[str, int]) -> None:
        """Roll back a watermark for the sender's own origin above what the sender says it wrote.

        A site's word on its own counter is the best there is: a mark above it, with no entry of
        that origin held above it, was moved by someone else over seqs no entry vouches for. It
        goes back to the last entry held (the seqs after it come again; merging twice is safe).
        """
        marks = self._watermarks()
        for name, said in sender_vector.items():
            if site_of(name) != sender or name not in self._index:
                continue
            origin = self._index[name]
            if marks.get(origin, 0) > said:
                top = top_seq(self._db, origin)
                if top <= said:
                    self._reset_watermark(origin, top)
