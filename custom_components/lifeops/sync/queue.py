"""The write queue: this site's changes waiting for its sync service, kept in an SQLite file.

Two halves. :class:`OpQueue` is the queue as the event loop sees it: what waits, in order, the
small operations (settings, habits, work sessions, dismissals, XP) held in memory for the checks
the sync manager makes, the long-term row items only counted. :class:`QueueFile` is its copy on
disk, one SQLite file per site, written from a worker thread. An operation goes to the file as
soon as the manager gets to it and always before it is sent; a batch leaves the file only after
the service acknowledged it, so a crash in between sends it again (the service's writes are
idempotent for that: a `set` re-stamps the same values, items are keyed).

Coalescing: a `set` of a record takes its fields out of the earlier `set`s of the same record
still waiting (back to the last `delete` of it, and never out of a batch being sent); an earlier
`set` left with no field goes. Each `set` keeps its own `at` and `seen` (when its edit was made,
what its writer had seen), so the service judges every field by the edit that last carried it.

The bound: at `max_ops` operations, long-term row items are refused and counted as dropped
(those rows are in this site's own long-term store all the same); every other operation is small
and always kept.

No Home Assistant imports; :class:`QueueFile` is blocking (call it from a worker thread).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
import hashlib
import json
from pathlib import Path
import sqlite3
import threading
from typing import Any, Final

from .long_term_rows import COLLECTION_PREFIX

DEFAULT_MAX_OPS: Final = 1_000_000
WARN_FILL: Final = 0.8  # the repair issue's threshold: this full

type Op = dict[str, Any]


def is_row(op: Mapping[str, Any]) -> bool:
    """Whether an operation carries a long-term row (an item of ``longterm.<table>``)."""
    collection = op.get("collection")
    return (
        op.get("op") == "add"
        and isinstance(collection, str)
        and collection.startswith(COLLECTION_PREFIX)
    )


def fingerprint(ops: list[Any]) -> str:
    """A digest of a list of operations (to know an old queue already moved into the file)."""
    text = json.dumps(ops, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a queue file held when it was opened."""

    small: list[tuple[int, Op]]
    rows: int
    last_id: int
    dropped: int
    migrated: str | None


@dataclass(slots=True)
class Changes:
    """What the file must be told: operations written or rewritten, ids gone, counters."""

    put: dict[int, tuple[bool, Op]] = field(default_factory=dict)
    remove: list[int] = field(default_factory=list)
    dropped: int = 0
    migrated: str | None = None
    versions: dict[int, int] = field(default_factory=dict)


class QueueFile:
    """The queue on disk. Blocking; one writer at a time (a lock guards the connection)."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            # WAL with NORMAL: a commit survives the process being killed (not a power cut).
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS op (id INTEGER PRIMARY KEY, row INTEGER NOT NULL, "
                "body TEXT NOT NULL)"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)")
            self._db.execute("SELECT count(*) FROM op").fetchone()
        except sqlite3.DatabaseError:
            self._db.close()
            raise

    def load(self) -> Loaded:
        """Everything the file holds: small operations in full, long-term rows counted."""
        with self._lock:
            small = [
                (int(op_id), json.loads(body))
                for op_id, body in self._db.execute(
                    "SELECT id, body FROM op WHERE row = 0 ORDER BY id"
                )
            ]
            rows = int(self._db.execute("SELECT count(*) FROM op WHERE row = 1").fetchone()[0])
            last = int(self._db.execute("SELECT coalesce(max(id), 0) FROM op").fetchone()[0])
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        return Loaded(
            small,
            rows,
            max(last, int(meta.get("last_id") or 0)),
            int(meta.get("dropped") or 0),
            meta.get("migrated"),
        )

    def apply(self, changes: Changes, last_id: int) -> None:
        """Write changes in one transaction."""
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            try:
                db.executemany(
                    "INSERT OR REPLACE INTO op (id, row, body) VALUES (?, ?, ?)",
                    [
                        (op_id, int(row), json.dumps(op, separators=(",", ":")))
                        for op_id, (row, op) in changes.put.items()
                    ],
                )
                db.executemany("DELETE FROM op WHERE id = ?", [(i,) for i in changes.remove])
                meta: list[tuple[str, int | str]] = [("last_id", last_id)]
                if changes.migrated is not None:
                    meta.append(("migrated", changes.migrated))
                db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta)
                if changes.dropped:
                    db.execute(
                        "INSERT INTO meta VALUES ('dropped', ?) ON CONFLICT (key) "
                        "DO UPDATE SET value = value + excluded.value",
                        (changes.dropped,),
                    )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def oldest(self, limit: int, upto: int) -> list[tuple[int, Op]]:
        """The oldest operations (ids up to `upto`), in order, without removing them."""
        with self._lock:
            found = self._db.execute(
                "SELECT id, body FROM op WHERE id <= ? ORDER BY id LIMIT ?", (upto, limit)
            ).fetchall()
        return [(int(op_id), json.loads(body)) for op_id, body in found]

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()


def open_queue_file(path: Path) -> tuple[QueueFile, Loaded, bool]:
    """Open a queue file and read it; and whether it had to be set aside.

    A file SQLite cannot read is renamed ``.broken`` and a new one started, so a damaged file
    never keeps the integration from starting.
    """
    try:
        file = QueueFile(path)
    except sqlite3.DatabaseError:
        for suffix in ("-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        path.replace(path.with_name(path.name + ".broken"))
        file = QueueFile(path)
        return file, file.load(), True
    return file, file.load(), False


class OpQueue:
    """The queue as the event loop sees it; changes reach the file through :meth:`changes`."""

    def __init__(self, loaded: Loaded | None = None, max_ops: int = DEFAULT_MAX_OPS) -> None:
        """Start from what a file held (or empty)."""
        loaded = loaded or Loaded([], 0, 0, 0, None)
        self.max_ops = max_ops
        self.dropped = loaded.dropped
        self.migrated = loaded.migrated
        self._small: dict[int, Op] = {}
        self._records: dict[tuple[str, str], list[int]] = {}
        for op_id, op in loaded.small:
            self._keep(op_id, op)
        self._rows = loaded.rows
        self._last = loaded.last_id
        self._frozen = 0  # ids up to this are being sent: never rewritten meanwhile
        # Not in the file yet: ids to write (with a version), rows, the dropped count.
        self._dirty: dict[int, int] = {}
        self._new_rows: dict[int, Op] = {}
        self._unsaved_dropped = 0
        self._new_migrated: str | None = None
        self._version = 0

    def __len__(self) -> int:
        """How many operations wait."""
        return len(self._small) + self._rows

    def __bool__(self) -> bool:
        """Whether anything waits."""
        return len(self) > 0

    def __iter__(self) -> Iterator[Op]:
        """The small operations waiting, in order (long-term rows are not held in memory)."""
        return iter(list(self._small.values()))

    @property
    def fill(self) -> float:
        """How full the queue is, 0.0-1.0 and beyond (small operations are never refused)."""
        return len(self) / self.max_ops if self.max_ops else 1.0

    @property
    def last_id(self) -> int:
        """The id of the newest operation ever queued."""
        return self._last

    # -- adding -------------------------------------------------------------------------------

    def add(self, op: Op, *, force: bool = False) -> bool:
        """Queue an operation; False when it is a long-term row refused for the bound."""
        if is_row(op):
            if len(self) >= self.max_ops and not force:
                self.dropped += 1
                self._unsaved_dropped += 1
                return False
            self._last += 1
            self._rows += 1
            self._new_rows[self._last] = op
            self._touch(self._last)
            return True
        if op.get("op") == "set":
            self._coalesce(op)
        self._last += 1
        self._keep(self._last, op)
        self._touch(self._last)
        return True

    def _keep(self, op_id: int, op: Op) -> None:
        self._small[op_id] = op
        if op.get("op") in ("set", "delete"):
            record = (str(op.get("collection")), str(op.get("key")))
            self._records.setdefault(record, []).append(op_id)

    def _coalesce(self, op: Op) -> None:
        """Take the fields `op` sets out of the same record's earlier sets still waiting."""
        record = (str(op.get("collection")), str(op.get("key")))
        ids = self._records.get(record)
        if not ids:
            return
        fields = set(op.get("fields") or ())
        for op_id in reversed(list(ids)):
            earlier = self._small[op_id]
            if op_id <= self._frozen or earlier.get("op") != "set":
                break  # being sent, or a delete: what came before stays as it is
            kept = {k: v for k, v in (earlier.get("fields") or {}).items() if k not in fields}
            if kept == earlier.get("fields"):
                continue
            if kept:
                self._small[op_id] = {**earlier, "fields": kept}
            else:
                del self._small[op_id]
                ids.remove(op_id)
            self._touch(op_id)
        if not ids:
            del self._records[record]

    def note_migrated(self, digest: str) -> None:
        """Remember (in the file, with the next changes) which old queue was moved in."""
        self.migrated = self._new_migrated = digest

    # -- what waits ---------------------------------------------------------------------------

    def pending_keys(self, collection: str) -> set[str]:
        """Keys of a collection's operations waiting."""
        return {
            str(op.get("key")) for op in self._small.values() if op.get("collection") == collection
        }

    def pending_fields(self, collection: str, key: str | None = None) -> set[str]:
        """Fields that `set`s of a collection (of one record, with `key`) waiting carry."""
        return {
            name
            for op in self._small.values()
            if op.get("collection") == collection
            and op.get("op") == "set"
            and (key is None or op.get("key") == key)
            for name in op.get("fields") or ()
        }

    # -- the file -----------------------------------------------------------------------------

    def _touch(self, op_id: int) -> None:
        self._version += 1
        self._dirty[op_id] = self._version

    def changes(self) -> Changes | None:
        """What the file lacks now (None: nothing); hand it to :meth:`saved` once written."""
        if not self._dirty and not self._unsaved_dropped and self._new_migrated is None:
            return None
        changes = Changes(
            dropped=self._unsaved_dropped, migrated=self._new_migrated, versions=dict(self._dirty)
        )
        for op_id in self._dirty:
            if op_id in self._small:
                changes.put[op_id] = (False, self._small[op_id])
            elif op_id in self._new_rows:
                changes.put[op_id] = (True, self._new_rows[op_id])
            else:
                changes.remove.append(op_id)
        return changes

    def saved(self, changes: Changes) -> None:
        """The file holds `changes`: forget what has not changed again since."""
        for op_id, version in changes.versions.items():
            if self._dirty.get(op_id) == version:
                del self._dirty[op_id]
                self._new_rows.pop(op_id, None)
        self._unsaved_dropped -= changes.dropped
        if changes.migrated is not None and self._new_migrated == changes.migrated:
            self._new_migrated = None

    # -- sending ------------------------------------------------------------------------------

    def freeze(self) -> int:
        """A batch is about to be taken from the file: leave what waits now as it is.

        Returns the newest id the batch may hold.
        """
        self._frozen = self._last
        return self._frozen

    def thaw(self) -> None:
        """The batch is done (acknowledged or not)."""
        self._frozen = 0

    def acknowledged(self, ids: list[int]) -> list[Op]:
        """The service took these operations: they go (from the file with the next changes).

        Returns the small ones among them.
        """
        done: list[Op] = []
        for op_id in ids:
            op = self._small.pop(op_id, None)
            if op is None:
                self._rows -= 1  # a long-term row (read back from the file)
            else:
                done.append(op)
                record = (str(op.get("collection")), str(op.get("key")))
                if op_id in self._records.get(record, ()):
                    self._records[record].remove(op_id)
                    if not self._records[record]:
                        del self._records[record]
            self._touch(op_id)
        return done
