"""A bounded on-disk buffer for rows the database could not take yet.

An SQLite file (one per site) of batches in arrival order. It survives restarts; the writer replays
it oldest first and removes a batch only after the database committed it. When it holds
`max_rows`, further rows are refused and counted as dropped (the repair issue warns well before).
Blocking (file I/O): call it from a worker thread, never from the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
import json
from pathlib import Path
import sqlite3
import threading
from typing import Any
import uuid

from .schema import TABLES

DEFAULT_MAX_ROWS = 2_000_000

type Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch of rows of one table, as it was buffered."""

    seq: int
    table: str
    rows: list[Row]


def _encoder(kind: str) -> Any:
    if kind == "timestamptz":
        return lambda value: None if value is None else value.timestamp()
    if kind == "uuid":
        return lambda value: None if value is None else value.hex
    return None


def _decoder(kind: str) -> Any:
    if kind == "timestamptz":
        return lambda value: None if value is None else datetime.fromtimestamp(value, UTC)
    if kind == "uuid":
        return lambda value: None if value is None else uuid.UUID(hex=value)
    return None


_CODECS = {
    name: (
        [_encoder(kind) for _, kind in table.columns],
        [_decoder(kind) for _, kind in table.columns],
    )
    for name, table in TABLES.items()
}


def encode(table: str, rows: Sequence[Row]) -> str:
    """Rows of `table` as JSON (timestamps as epoch seconds, UUIDs as hex)."""
    encoders = _CODECS[table][0]
    return json.dumps(
        [[f(v) if f else v for f, v in zip(encoders, row, strict=True)] for row in rows],
        separators=(",", ":"),
    )


def decode(table: str, payload: str) -> list[Row]:
    """The rows encode() wrote."""
    decoders = _CODECS[table][1]
    return [
        tuple(f(v) if f else v for f, v in zip(decoders, row, strict=True))
        for row in json.loads(payload)
    ]


class DiskBuffer:
    """Batches waiting for the database, in an SQLite file."""

    def __init__(self, path: Path, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        """Open (or create) the buffer file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS batch (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "tbl TEXT NOT NULL, n INTEGER NOT NULL, payload TEXT NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER)")
        self._rows = int(self._db.execute("SELECT coalesce(sum(n), 0) FROM batch").fetchone()[0])
        found = self._db.execute("SELECT value FROM meta WHERE key = 'dropped'").fetchone()
        self._dropped = int(found[0]) if found else 0

    @property
    def rows(self) -> int:
        """How many rows wait."""
        return self._rows

    @property
    def dropped(self) -> int:
        """How many rows were refused because the buffer was full (since it was created)."""
        return self._dropped

    @property
    def fill(self) -> float:
        """How full it is, 0.0-1.0."""
        return min(1.0, self._rows / self.max_rows) if self.max_rows else 1.0

    def append(self, table: str, rows: Sequence[Row]) -> int:
        """Keep rows for later, up to the bound; returns how many were kept."""
        with self._lock:
            room = max(0, self.max_rows - self._rows)
            kept = list(rows[:room])
            refused = len(rows) - len(kept)
            self._db.execute("BEGIN")
            if kept:
                self._db.execute(
                    "INSERT INTO batch (tbl, n, payload) VALUES (?, ?, ?)",
                    (table, len(kept), encode(table, kept)),
                )
            if refused:
                self._db.execute(
                    "INSERT INTO meta VALUES ('dropped', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                    (refused,),
                )
            self._db.execute("COMMIT")
            self._rows += len(kept)
            self._dropped += refused
            return len(kept)

    def peek(self, limit: int = 16) -> list[Batch]:
        """The oldest batches, in order, without removing them."""
        with self._lock:
            found = self._db.execute(
                "SELECT seq, tbl, payload FROM batch ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [Batch(seq, table, decode(table, payload)) for seq, table, payload in found]

    def remove(self, seq: int) -> None:
        """Forget a batch the database committed."""
        with self._lock:
            found = self._db.execute("SELECT n FROM batch WHERE seq = ?", (seq,)).fetchone()
            if found is None:
                return
            self._db.execute("DELETE FROM batch WHERE seq = ?", (seq,))
            self._rows -= int(found[0])

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
