"""The change feed's format: the cursor the integration reads from, and the answer it gets."""

from __future__ import annotations

from typing import Any

from .crdt import Kind, Part, valid_origin
from .wire import MAX_SEQ

FEED_LIMIT = 1000
FEED_LIMIT_MAX = 25_000
FEED_MAX_WAIT = 60.0
_KIND_NAMES = {Kind.FIELD: "field", Kind.DELETE: "delete", Kind.ITEM: "item"}


def parse_cursor(raw: str) -> dict[str, int]:
    """A change-feed cursor, ``origin:seq`` pairs joined by commas (empty: from the start)."""
    cursor: dict[str, int] = {}
    for pair in raw.split(",") if raw else ():
        origin, sep, seq = pair.partition(":")
        if (
            not sep
            or not valid_origin(origin)
            or not seq.isascii()
            or not seq.isdigit()
            or len(seq) > len(str(MAX_SEQ))
            or int(seq) > MAX_SEQ
        ):
            raise ValueError(f"cursor entry {pair[:80]!r} is not origin:seq")
        if origin in cursor:
            raise ValueError(f"origin {origin!r} appears twice in the cursor")
        cursor[origin] = int(seq)
    return cursor


def feed_answer(after: dict[str, int], parts: list[Part], more: bool) -> dict[str, Any]:
    """The change feed's answer: current fields, tombstones and items past the cursor.

    Time-series rows are left out (the integration does not read them back); the cursor moves
    past them all the same.
    """
    cursor = dict(after)
    changes: list[dict[str, Any]] = []
    for part in parts:
        cursor[part.origin] = part.upto
        for entry in part.entries:
            kind = _KIND_NAMES.get(entry.kind)
            if kind is None:
                continue
            change: dict[str, Any] = {
                "kind": kind,
                "collection": entry.coll,
                "key": entry.key,
                "origin": entry.origin,
            }
            if entry.kind is Kind.FIELD:
                change["field"] = entry.field
            if entry.kind is not Kind.DELETE:
                change["value"] = entry.value
            changes.append(change)
    return {"cursor": cursor, "changes": changes, "more": more}
