"""Reading the replica's state: records, items, pages of items, the whole visible state, counts.

:class:`Reading` is a part of :class:`~lifeops_sync.store.Store`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import TYPE_CHECKING, Any

from .crdt import Entry, Json, visible_state
from .tables import loads_all


class Reading:
    """The visible state (a part of the store)."""

    _db: sqlite3.Connection
    _names: dict[int, str]

    if TYPE_CHECKING:

        def _log(self, origin: int, name: str, after: int, upto: int, limit: int) -> list[Entry]:
            """An origin's entries in a seq range (the log reader's)."""

    def tombstones(self) -> int:
        """How many tombstones are held."""
        (count,) = self._db.execute("SELECT count(*) FROM cells WHERE field = ''").fetchone()
        return int(count)

    def entries(self) -> list[Entry]:
        """Every entry held (tests and small stores only)."""
        result: list[Entry] = []
        for origin, name in self._names.items():
            result.extend(self._log(origin, name, 0, 1 << 62, 1 << 62))
        return result

    def dump(self) -> dict[str, Any]:
        """The visible state (see :func:`~lifeops_sync.crdt.visible_state`)."""
        return visible_state(self.entries())

    def digest(self) -> str:
        """A hash of the visible state: equal digests, equal replicas."""
        canonical = json.dumps(self.dump(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def read(self, collection: str, key: str | None = None) -> dict[str, dict[str, Json]]:
        """The visible records of a collection (or one record): ``{key: {field: value}}``."""
        sql = "SELECT key, field, value, hlc, origin FROM cells WHERE coll = ?"
        args: tuple[str, ...] = (collection,)
        if key is not None:
            sql += " AND key = ?"
            args = (collection, key)
        records: dict[str, dict[str, Json]] = {}
        for k, field, value, _, _ in self._db.execute(sql + " ORDER BY key, field", args):
            if field:
                records.setdefault(k, {})[field] = json.loads(value)
        return records

    def items(self, collection: str) -> dict[str, Json]:
        """The items of an append-only set."""
        return {
            k: json.loads(v)
            for k, v in self._db.execute(
                "SELECT key, value FROM items WHERE coll = ? ORDER BY key", (collection,)
            )
        }

    def items_page(
        self, collection: str, after: str, limit: int
    ) -> tuple[list[tuple[str, Json, str]], bool]:
        """A page of a set: the items whose keys sort after ``after``, and whether more follow.

        At most ``limit``, in key order, each as ``(key, value, origin node)``.
        """
        found = self._db.execute(
            "SELECT key, value, origin FROM items WHERE coll = ? AND key > ? ORDER BY key LIMIT ?",
            (collection, after, limit + 1),
        ).fetchall()
        more = len(found) > limit
        del found[limit:]
        values = loads_all([value for _, value, _ in found])
        page = [
            (key, value, self._names[origin])
            for (key, _, origin), value in zip(found, values, strict=True)
        ]
        return page, more

    def stats(self) -> dict[str, int]:
        """Counts for the status page."""
        counts = {}
        for table in ("cells", "items", "rows"):
            (counts[table],) = self._db.execute(f"SELECT count(*) FROM {table}").fetchone()
        counts["tombstones"] = self.tombstones()
        return counts
