"""Reading the store's change log: what a node with given watermarks lacks, origin by origin.

An origin's entries in a seq range come from the three tables through their ``(origin, seq)``
index, merged in seq order. :class:`LogReader` is a part of :class:`~lifeops_sync.store.Store`.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from . import origin as signed
from .crdt import Entry, Kind, Part
from .tables import loads_all


class LogReader:
    """The change log, read (a part of the store)."""

    _db: sqlite3.Connection
    _names: dict[int, str]
    site_key: signed.SiteKey | None

    if TYPE_CHECKING:

        def _watermarks(self) -> dict[int, int]:
            """The watermarks of this node, by origin number (the store's)."""

        def _proven(
            self, origin: int, name: str, after: int, mark: int, budget: int
        ) -> tuple[Part | None, bool]:
            """What can be proven of a range (the signed log's)."""

    def changes_since(self, vector: dict[str, int], limit: int) -> tuple[list[Part], bool]:
        """The entries a node with watermarks ``vector`` lacks, at most ``limit``; and whether more.

        Each origin's part runs from the asker's watermark up to ours (never beyond: what lies
        past a gap in our own knowledge is not ours to vouch for).
        """
        parts: list[Part] = []
        budget = limit
        more = False
        for origin, mark in sorted(self._watermarks().items()):
            name = self._names[origin]
            after = max(vector.get(name, 0), 0)
            if mark <= after:
                continue
            if self.site_key is not None:
                if budget <= 0:
                    more = True
                    break
                part, more = self._proven(origin, name, after, mark, budget)
                if part is not None:
                    parts.append(part)
                    budget -= len(part.entries)
                if more:
                    break
                continue
            entries = self._log(origin, name, after, mark, budget + 1)
            upto = mark
            if len(entries) > budget:
                upto = entries[budget].seq - 1
                entries = entries[:budget]
                more = True
            if upto > after:
                parts.append(Part(name, after, upto, tuple(entries)))
            budget -= len(entries)
            if more:
                break
        return parts, more

    def _log(self, origin: int, name: str, after: int, upto: int, limit: int) -> list[Entry]:
        db = self._db
        args = (origin, after, upto, limit)
        cell_rows = db.execute(
            "SELECT seq, hlc, coll, key, field, value FROM cells "
            "WHERE origin = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
            args,
        ).fetchall()
        cell_values = loads_all([v for *_, v in cell_rows if v is not None])
        values = iter(cell_values)
        cells = [
            Entry(Kind.FIELD, name, seq, hlc, coll, key, field, next(values))
            if field
            else Entry(Kind.DELETE, name, seq, hlc, coll, key)
            for seq, hlc, coll, key, field, _ in cell_rows
        ]
        item_rows = db.execute(
            "SELECT seq, hlc, coll, key, value FROM items "
            "WHERE origin = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
            args,
        ).fetchall()
        item_values = loads_all([v for *_, v in item_rows])
        items = [
            Entry(Kind.ITEM, name, seq, hlc, coll, key, "", value)
            for (seq, hlc, coll, key, _), value in zip(item_rows, item_values, strict=True)
        ]
        rows = [
            Entry(Kind.ROW, name, seq, 0, series, "", "", value, ts)
            for seq, series, ts, value in db.execute(
                "SELECT seq, series, ts, value FROM rows "
                "WHERE origin = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                args,
            )
        ]
        if not cells and not items:
            return rows
        if not items and not rows:
            return cells
        merged = sorted([*cells, *items, *rows], key=lambda e: e.seq)
        return merged[:limit]
