"""The replica: every current entry in SQLite (WAL), and what each node is known to have.

The store is its own change log. Each row holds the entry that is current for its cell together
with that entry's origin and seq, and an index on ``(origin, seq)`` answers "what do you hold from
origin O after seq N" in time proportional to the answer. An entry that a later one supersedes
simply leaves the log, so a round costs what changed since the last one, not what exists.

Watermarks: ``watermarks[O]`` is the seq up to which this node has everything from origin O (its
own counter for itself). A batch's part ``(after, upto]`` for origin O moves the watermark to
``upto`` only if the watermark was at least ``after``; entries of a part that arrives early are
merged all the same (merging is always safe) but the watermark waits, and entries at or below the
watermark are skipped (a duplicate changes nothing). All of a batch, its watermarks and what the
sender said it has are written in one transaction.

Its other parts are mixins, one job each: reading the log (:mod:`~lifeops_sync.logread`), the
signed log (:mod:`~lifeops_sync.signedlog`), restores (:mod:`~lifeops_sync.epochs`), what other
nodes hold (:mod:`~lifeops_sync.peerbook`), tombstones, retention and backups
(:mod:`~lifeops_sync.upkeep`), and reading the state (:mod:`~lifeops_sync.reading`); the tables
and the merging SQL are in :mod:`~lifeops_sync.tables`.

A Store is not thread-safe: the service drives it from one worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
import sqlite3
import time
from typing import Any

from . import epochs, origin as signed, stamps
from .crdt import Entry, Kind, Part, TipProof, epoch_of, site_of
from .epochs import RESTORED_COPY, Epochs
from .hlc import DEFAULT_MAX_OFFSET_MS, HybridClock, wall_ms
from .logread import LogReader
from .ops import AddItem, AppendRows, Delete, Known, Operation, SetFields
from .peerbook import PeerBook
from .reading import Reading
from .screening import Screening
from .signedlog import SCHEMA_VERSION, SignedLog
from .tables import (
    HIDE_FIELDS,
    INSERT_ROW,
    SCHEMA,
    UPSERT_FIELD,
    UPSERT_FIELD_NO_TOMBS,
    UPSERT_ITEM,
    UPSERT_TOMB,
    dumps,
)
from .upkeep import Upkeep
from .wire import MAX_SEQ


@dataclass(frozen=True, slots=True)
class Skipped:
    """Part of a local write left out: a later concurrent change holds the cell.

    ``fields`` names the fields of a ``set`` left out; empty for a ``delete``.
    """

    op: str
    collection: str
    key: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WriteAck:
    """A local write, committed: its timestamp, the seqs it took, and what it left out."""

    hlc: int
    first_seq: int
    last_seq: int
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a batch did.

    ``ahead``: entries refused for a stamp later than the sender's clock explains (they come
    again, and are taken once our clock has caught up with them); ``restored``: this site found
    it was restored from a backup and started a new epoch; ``backdated``: entries refused for a
    stamp below what their origin already wrote (:mod:`lifeops_sync.stamps`), a reason a part.
    """

    entries: int
    skipped: int
    gaps: int
    ahead: int = 0
    restored: bool = False
    refused: tuple[str, ...] = ()  # why each part refused by the origin check was refused
    refused_entries: int = 0
    backdated: tuple[str, ...] = ()  # why entries were refused by the stamp floor, by part
    backdated_entries: int = 0


def _vouched(
    part: Part,
    sender: str | None,
    sender_vector: dict[str, int] | None,
    direct: dict[str, dict[str, int]],
) -> int:
    """How far a part may move its origin's watermark: what the sender vouches for.

    A relay cannot take us past what the origin itself said it wrote.
    """
    upto = part.upto
    if sender_vector is not None:
        upto = min(upto, sender_vector.get(part.origin, 0))
        site = site_of(part.origin)
        if site != sender and part.origin in direct.get(site, {}):
            upto = min(upto, direct[site][part.origin])
    return upto


class SeqExhaustedError(RuntimeError):
    """An origin has used every seq (never in practice: 2^62 writes)."""


class Store(SignedLog, Epochs, Screening, LogReader, PeerBook, Upkeep, Reading):
    """A node's replica in one SQLite file."""

    def __init__(
        self,
        path: str | Path,
        node_id: str,
        wall: Callable[[], int],
        *,
        max_offset_ms: int = DEFAULT_MAX_OFFSET_MS,
        durable: bool = True,
        apply_delay: float = 0.0,
        site_key: signed.SiteKey | None = None,
    ) -> None:
        """Open (or create) the replica of ``node_id`` at ``path``.

        ``durable`` commits with fsync (``synchronous=FULL``); off, a power cut can lose the
        last commits (a killed process cannot). ``apply_delay`` sleeps inside each batch's
        transaction before it commits, to test a crash in the middle of applying.

        With ``site_key`` (a service's replica) it signs its writes, serves only ranges it can
        prove and merges only parts that check out (:mod:`lifeops_sync.origin`); without, it is
        the bare CRDT (tests of the merge).
        """
        self.node_id = node_id
        self.path = str(path)
        self._apply_delay = apply_delay
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.create_function("node_gt", 2, self._node_gt, deterministic=True)
        self._names: dict[int, str] = {}
        self._index: dict[str, int] = {}
        self._db.executescript(SCHEMA)
        self._db.executescript(signed.SCHEMA)
        signed.add_floors(self._db)
        self._db.executescript(stamps.SCHEMA)
        self._db.executescript(epochs.SCHEMA)
        self.site_key = site_key
        self.tip_doubts: set[str] = set()
        self.proofs_asked: set[str] = set()
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(peers)")}
        if "last_inbound" not in columns:  # a replica made before inbound peers were recorded
            self._db.execute("ALTER TABLE peers ADD COLUMN last_inbound INTEGER")
        with self._tx():
            stored = self._meta("node_id")
            if stored is None:
                self._set_meta("node_id", node_id)
                self._set_meta("schema", str(SCHEMA_VERSION if site_key else 1))
            elif stored != node_id:
                raise ValueError(f"{self.path} holds node {stored!r}, not {node_id!r}")
            self._load_nodes()
            self.origin = self._meta("origin") or node_id
            self._self_idx = self._idx(self.origin)
            self.restored = False
            if site_key is not None:
                signed.set_key(self._db, site_of(node_id), site_key.public, "self")
                if self._meta("schema") == "1":
                    self._sign_upgrade(site_key)
            if self._meta(RESTORED_COPY) is not None:
                # The start path put a backup copy in place: what this site wrote after the
                # backup is only at the peers now. New seqs go to a new epoch; the old
                # origin's are the peers' to send back.
                self._db.execute("DELETE FROM meta WHERE k = ?", (RESTORED_COPY,))
                self._new_epoch(self._watermarks().get(self._self_idx, 0))
            if self._meta(stamps.FILLED) is None:
                stamps.fill(self._db, self._watermarks(), self._self_idx)
                self._set_meta(stamps.FILLED, "1")
            last = int(self._meta("hlc") or 0)
            for table in ("cells", "items"):
                (top,) = self._db.execute(f"SELECT coalesce(max(hlc), 0) FROM {table}").fetchone()
                last = max(last, top)
        self.clock = HybridClock(wall, last, max_offset_ms)
        self.acknowledged_at_open = self.acknowledged()

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            self._load_nodes()  # node numbers given inside the transaction are gone with it
            raise
        self._db.execute("COMMIT")

    def _load_nodes(self) -> None:
        self._names = dict(self._db.execute("SELECT idx, node FROM nodes"))
        self._index = {node: idx for idx, node in self._names.items()}

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(k, v) VALUES(?, ?)", (key, value))

    def _node_gt(self, a: int, b: int) -> bool:
        return self._names[a] > self._names[b]

    def _idx(self, node: str) -> int:
        """The local number of a node id (inside a transaction: may add it)."""
        idx = self._index.get(node)
        if idx is None:
            cursor = self._db.execute("INSERT INTO nodes(node) VALUES(?)", (node,))
            idx = int(cursor.lastrowid or 0)
            self._index[node] = idx
            self._names[idx] = node
        return idx

    def _watermarks(self) -> dict[int, int]:
        return dict(self._db.execute("SELECT origin, seq FROM watermarks"))

    def _set_watermark(self, origin: int, seq: int) -> None:
        self._db.execute(
            "INSERT INTO watermarks(origin, seq) VALUES(?, ?) "
            "ON CONFLICT(origin) DO UPDATE SET seq = max(seq, excluded.seq)",
            (origin, seq),
        )

    def _advance(
        self, origin: int, after: int, upto: int, entries: tuple[Entry, ...], mark: int
    ) -> int | None:
        """The one place a watermark for another origin moves: to ``upto``, or not at all.

        A part ``(after, upto]`` moves it only when it continues what we have (``after`` at or
        below the mark). ``upto`` has already been held back to what the sender vouches for (its
        own vector) and below any entry refused. The part passed the origin check before (its
        entries and its superseded seqs' digests against the origin's signature, in
        :meth:`apply`), so what it vouches for is the origin's word.
        """
        del entries  # checked, with the whole part, before the transaction
        if after > mark or upto <= mark:
            return None
        self._set_watermark(origin, upto)
        return upto

    # -- local writes -----------------------------------------------------------------------

    def write(self, operations: list[Operation]) -> WriteAck:
        """Apply local operations in one transaction; once this returns, they are durable.

        Everything is stamped now (after every change this node has seen), so a causally later
        edit wins even against a node whose clock is fast. A ``set`` or ``delete`` that says what
        its writer knew (``known``: an edit made earlier, while the service was away) leaves out
        each field whose current value, or whose record's tombstone, comes from a change the
        writer had not seen and whose stamp is later than the edit: that concurrent later change
        wins. A ``delete`` is left out whole when any cell of its record is such a change (an
        edit made after the delete elsewhere keeps the record, every field of it). Changes of
        this node count as seen.
        """
        with self._tx():
            seq = self._watermarks().get(self._self_idx, 0)
            first = seq + 1
            me = self.origin
            entries: list[Entry] = []
            skipped: list[Skipped] = []
            stamp = 0
            for op in operations:
                stamp = self.clock.now()
                match op:
                    case SetFields(collection, key, fields, known):
                        if known is not None:
                            later = self._later_unseen(collection, key, known)
                            left = tuple(n for n in fields if n in later or "" in later)
                            if left:
                                skipped.append(Skipped("set", collection, key, left))
                                fields = {n: v for n, v in fields.items() if n not in left}
                        for name, value in fields.items():
                            seq += 1
                            entries.append(
                                Entry(
                                    Kind.FIELD,
                                    me,
                                    seq,
                                    stamp,
                                    collection,
                                    key,
                                    name,
                                    value,
                                )
                            )
                    case Delete(collection, key, known):
                        if known is not None and self._later_unseen(collection, key, known):
                            skipped.append(Skipped("delete", collection, key))
                            continue
                        seq += 1
                        entries.append(Entry(Kind.DELETE, me, seq, stamp, collection, key))
                    case AddItem(collection, key, value):
                        seq += 1
                        entries.append(Entry(Kind.ITEM, me, seq, stamp, collection, key, "", value))
                    case AppendRows(series, rows):
                        for ts, value in rows:
                            seq += 1
                            entries.append(Entry(Kind.ROW, me, seq, 0, series, "", "", value, ts))
            if seq > MAX_SEQ:  # never in practice; the transaction is rolled back
                raise SeqExhaustedError(f"origin {self.origin} has used every seq")
            self._merge(entries)
            if self.site_key is not None and entries:
                previous = signed.last_link(self._db, self._self_idx, first - 1)
                groups = self.site_key.sign(entries, previous)
                signed.save_groups(self._db, self._self_idx, groups)
            self._set_watermark(self._self_idx, seq)
            self._set_meta("hlc", str(self.clock.last))
        return WriteAck(stamp, first, seq, tuple(skipped))

    def _later_unseen(self, collection: str, key: str, known: Known) -> set[str]:
        """The cells of a record (``""``: its tombstone) a concurrent later change holds.

        That is: the current entry comes from a change the writer had not seen when it made
        its edit, and its stamp is later than the edit.
        """
        later: set[str] = set()
        for field, hlc, origin, seq in self._db.execute(
            "SELECT field, hlc, origin, seq FROM cells WHERE coll = ? AND key = ?",
            (collection, key),
        ):
            name = self._names[origin]
            if site_of(name) == self.node_id or known.covers(name, seq):
                continue
            if wall_ms(hlc) > known.at:
                later.add(field)
        return later

    # -- merging ----------------------------------------------------------------------------

    def _merge(self, entries: Iterable[Entry]) -> None:
        fields: list[tuple[Any, ...]] = []
        tombs: list[tuple[Any, ...]] = []
        items: list[tuple[Any, ...]] = []
        rows: list[tuple[Any, ...]] = []
        index = self._index
        for e in entries:
            o = index.get(e.origin) or self._idx(e.origin)
            kind = e.kind
            if kind is Kind.ROW:
                rows.append((o, e.seq, e.coll, e.ts, e.value))
            elif kind is Kind.FIELD:
                fields.append((e.coll, e.key, e.field, dumps(e.value), e.hlc, o, e.seq))
            elif kind is Kind.DELETE:
                tombs.append((e.coll, e.key, e.hlc, o, e.seq))
            else:
                items.append((e.coll, e.key, dumps(e.value), e.hlc, o, e.seq))
        db = self._db
        if tombs:
            db.executemany(UPSERT_TOMB, tombs)
            db.executemany(HIDE_FIELDS, [(c, k, h, o) for c, k, h, o, _ in tombs])
        if fields:
            any_tomb = db.execute("SELECT 1 FROM cells WHERE field = '' LIMIT 1").fetchone()
            db.executemany(UPSERT_FIELD if any_tomb else UPSERT_FIELD_NO_TOMBS, fields)
        if items:
            db.executemany(UPSERT_ITEM, items)
        if rows:
            db.executemany(INSERT_ROW, rows)

    def apply(
        self,
        parts: list[Part],
        *,
        sender: str | None = None,
        sender_vector: dict[str, int] | None = None,
        gossip: dict[str, dict[str, int]] | None = None,
        now_ms: int | None = None,
        peer_clock: int | None = None,
        tips: dict[str, tuple[int, int]] | None = None,
        tip_proofs: dict[str, TipProof] | None = None,
    ) -> Applied:
        """Merge a batch in one transaction, with the watermarks it moves and what the sender has.

        ``sender_vector`` is the sender's watermarks (what it has); ``gossip`` what the sender
        knows other nodes to have; ``peer_clock`` the sender's clock (ms) when it sent; ``tips``
        the newest entry it holds of our origins (see :meth:`tips_for`), ``tip_proofs`` the
        proofs of them it was asked for (:meth:`tip_proofs_for`). Parts for
        this site's current origin (or a later epoch of it) are ignored: only its own writes move
        its counter, except that entries beyond it, backed by the sender's own report, mean this
        site was restored from a backup (a new epoch starts, see :meth:`_new_epoch`). An entry
        stamped later than the sender's clock explains is refused and counted; its part's
        watermark stops below it, so it comes again. With a site key, a part that fails the
        origin check (:mod:`lifeops_sync.origin`) is left out whole first, entries and
        watermark, and said in ``Applied.refused``; the others go on.
        """
        proven, refused, refused_entries, parts = self._verify_parts(parts)
        ceiling = (self.clock.limit(peer_clock) << 16) | 0xFFFF
        top = applied = skipped = gaps = ahead = backdated_entries = 0
        backdated: list[str] = []
        restored = False
        with self._tx():
            if sender is not None and sender_vector is not None:
                tip = (tips or {}).get(self.origin)
                proof = (tip_proofs or {}).get(self.origin)
                restored = self._check_restored(parts, sender, sender_vector, tip, proof)
                self._doubt(sender, sender_vector)
            marks = self._watermarks()
            # The stamp floor holds for signed replicas only (unsigned, anyone writes as anyone).
            highs = None if self.site_key is None else stamps.highest(self._db, self._names)
            # Kept first: a moved entry is checked against its earlier epoch's digests, which
            # may come in the same batch (screening.py).
            kept = self._keep_groups(proven, highs or {})
            direct = self.known()
            current = epoch_of(self.origin)
            todo: list[Entry] = []
            for part in parts:
                if site_of(part.origin) == self.node_id and epoch_of(part.origin) >= current:
                    skipped += len(part.entries)  # our counter moves by our own writes only
                    continue
                origin = self._idx(part.origin)
                mark = marks.get(origin, 0)
                upto = _vouched(part, sender, sender_vector, direct)
                found = self._screen(part, origin, mark, upto, ceiling, highs, kept)
                todo.extend(found.take)
                top = max(top, max((e.hlc for e in found.take), default=0))
                skipped += found.skipped
                ahead += found.ahead
                if found.low:
                    backdated_entries += len(found.low)
                    backdated.append(found.reason(part.origin))
                moved = self._advance(origin, part.after, found.upto, part.entries, mark)
                if moved is not None:
                    marks[origin] = moved
                    if found.high and highs is not None:
                        # Only entries now below the watermark count (the others come again).
                        stamps.raise_to(self._db, origin, found.high)
                        highs[part.origin] = max(found.high, highs.get(part.origin, 0))
                elif part.after > mark:
                    gaps += 1
            self._merge(todo)
            applied = len(todo)
            if top:
                self.clock.observe(top)
                self._set_meta("hlc", str(self.clock.last))
            if sender is not None and sender_vector is not None:
                self._take_report(sender, sender_vector, gossip or {}, now_ms, highs, marks)
            if self._apply_delay:
                time.sleep(self._apply_delay)
        return Applied(
            applied,
            skipped,
            gaps,
            ahead,
            restored,
            refused,
            refused_entries,
            tuple(backdated),
            backdated_entries,
        )

    def _take_report(
        self,
        sender: str,
        vector: dict[str, int],
        gossip: dict[str, dict[str, int]],
        now_ms: int | None,
        highs: dict[str, int] | None,
        marks: dict[int, int],
    ) -> None:
        """Note what a direct peer said it holds and knows, and what it writes next comes after.

        Its word on our origin waits while its tip is in doubt; the stamps of what it writes
        next are bound (with a site key) by what it said it holds (stamps.py).
        """
        report = self._report_in_doubt(sender, vector)
        self._note_sender(sender, report, gossip, now_ms)
        if highs is not None:
            self._note_seen(sender, report, highs, marks)

    # -- what we have ----------------------------------------------------------------------

    def vector(self) -> dict[str, int]:
        """The watermarks of this node, by origin node id."""
        return {self._names[o]: s for o, s in self._watermarks().items()}

    def clamp_cursor(self, cursor: dict[str, int]) -> dict[str, int]:
        """A change-feed cursor held to what this replica has (lower after a restore)."""
        marks = self.vector()
        return {origin: min(seq, marks.get(origin, 0)) for origin, seq in cursor.items()}
