"""Local writes: what a client (the integration, the command line) asks the store to do.

``{"op": "set", "collection": C, "key": K, "fields": {name: value}}`` writes fields of a record;
``{"op": "delete", "collection": C, "key": K}`` deletes a record;
``{"op": "add", "collection": C, "key": K, "value": V}`` adds an item to an append-only set;
``{"op": "rows", "series": S, "rows": [[ts_ms, value], ...]}`` appends time-series rows.

A ``set`` or ``delete`` may say what its writer knew when the edit was made (an edit queued while
the service was away is written later): ``"at"``, the edit's wall time in ms, and ``"seen"``, the
writer's change-feed cursor then (``{origin: seq}``). Both or neither. With them, a field (or a
delete) is skipped where the current entry comes from a change the writer had not seen that is
later than ``at``: the concurrent later edit wins (see :meth:`lifeops_sync.store.Store.write`).
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import math
from typing import Any

from .crdt import Json, valid_node_id
from .jsontext import MAX_DEPTH, within_depth

MAX_NAME = 200
MAX_KEY = 500
MAX_VALUE_BYTES = 256 * 1024
MAX_SEEN = 1000  # origins in a `seen` cursor
MAX_AT_MS = (1 << 47) - 1  # a timestamp's milliseconds fit in 47 bits
MAX_SEQ = (1 << 62) - 1


class InvalidOperation(ValueError):
    """A local write that cannot be accepted; nothing of the request is applied."""


@dataclass(frozen=True, slots=True)
class Known:
    """What the writer knew when it made an edit: its wall time (ms) and the changes it had seen.

    ``seen`` is a change-feed cursor: every change of origin O with seq at most ``seen[O]``.
    """

    at: int
    seen: dict[str, int]

    def covers(self, origin: str, seq: int) -> bool:
        """Whether the writer had seen the change ``(origin, seq)``."""
        return seq <= self.seen.get(origin, 0)


@dataclass(frozen=True, slots=True)
class SetFields:
    """Write fields of a record (``known``: what the writer knew, for an edit made earlier)."""

    collection: str
    key: str
    fields: dict[str, Json]
    known: Known | None = None


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete a record (a tombstone); ``known`` as for :class:`SetFields`."""

    collection: str
    key: str
    known: Known | None = None


@dataclass(frozen=True, slots=True)
class AddItem:
    """Add an item to an append-only set."""

    collection: str
    key: str
    value: Json


@dataclass(frozen=True, slots=True)
class AppendRows:
    """Append time-series rows ``(ts_ms, value)``."""

    series: str
    rows: tuple[tuple[int, float], ...]


type Operation = SetFields | Delete | AddItem | AppendRows


def _name(value: Any, what: str, limit: int = MAX_NAME) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidOperation(f"{what} must be a non-empty string of at most {limit} characters")
    return value


def _json_value(value: Any, what: str) -> Json:
    try:
        encoded = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InvalidOperation(f"{what} is not a JSON value") from err
    if len(encoded) > MAX_VALUE_BYTES:
        raise InvalidOperation(f"{what} is larger than {MAX_VALUE_BYTES} bytes")
    if not within_depth(value):
        raise InvalidOperation(f"{what} nests deeper than {MAX_DEPTH}")
    return value  # type: ignore[no-any-return]


def _known(raw: dict[str, Any]) -> Known | None:
    """The optional ``at`` and ``seen`` of a set or a delete."""
    if "at" not in raw and "seen" not in raw:
        return None
    at, seen = raw.get("at"), raw.get("seen")
    if not isinstance(at, int) or isinstance(at, bool) or not 0 <= at <= MAX_AT_MS:
        raise InvalidOperation("'at' must be the edit's time in ms (a non-negative integer)")
    if not isinstance(seen, dict) or len(seen) > MAX_SEEN:
        raise InvalidOperation(f"'seen' must be an object of at most {MAX_SEEN} origins")
    for origin, seq in seen.items():
        if not isinstance(origin, str) or not valid_node_id(origin):
            raise InvalidOperation("'seen' keys must be node ids")
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_SEQ:
            raise InvalidOperation("'seen' values must be non-negative integers")
    return Known(at, dict(seen))


def parse_operation(raw: Any) -> Operation:
    """Check one operation from a client and make it typed."""
    if not isinstance(raw, dict):
        raise InvalidOperation("an operation must be an object")
    kind = raw.get("op")
    if kind == "set":
        fields = raw.get("fields")
        if not isinstance(fields, dict) or not fields:
            raise InvalidOperation("set needs a non-empty 'fields' object")
        return SetFields(
            _name(raw.get("collection"), "collection"),
            _name(raw.get("key"), "key", MAX_KEY),
            {_name(k, "field name"): _json_value(v, f"field {k!r}") for k, v in fields.items()},
            _known(raw),
        )
    if kind == "delete":
        return Delete(
            _name(raw.get("collection"), "collection"),
            _name(raw.get("key"), "key", MAX_KEY),
            _known(raw),
        )
    if kind == "add":
        if "value" not in raw:
            raise InvalidOperation("add needs a 'value'")
        return AddItem(
            _name(raw.get("collection"), "collection"),
            _name(raw.get("key"), "key", MAX_KEY),
            _json_value(raw["value"], "value"),
        )
    if kind == "rows":
        rows = raw.get("rows")
        if not isinstance(rows, list) or not rows:
            raise InvalidOperation("rows needs a non-empty 'rows' list")
        parsed: list[tuple[int, float]] = []
        for row in rows:
            if (
                not isinstance(row, list | tuple)
                or len(row) != 2
                or not isinstance(row[0], int)
                or isinstance(row[0], bool)
                or not isinstance(row[1], int | float)
                or isinstance(row[1], bool)
                or not math.isfinite(row[1])
            ):
                raise InvalidOperation("each row must be [ts_ms (integer), value (finite number)]")
            parsed.append((row[0], float(row[1])))
        return AppendRows(_name(raw.get("series"), "series"), tuple(parsed))
    raise InvalidOperation("op must be one of set, delete, add, rows")


def parse_operations(raw: Any) -> list[Operation]:
    """Check a client's list of operations (all or nothing)."""
    if not isinstance(raw, list) or not raw:
        raise InvalidOperation("'ops' must be a non-empty list")
    if len(raw) > 10_000:
        raise InvalidOperation("at most 10,000 operations per request")
    return [parse_operation(item) for item in raw]
