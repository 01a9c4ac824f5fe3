"""Local writes: what a client (the integration, the command line) asks the store to do.

``{"op": "set", "collection": C, "key": K, "fields": {name: value}}`` writes fields of a record;
``{"op": "delete", "collection": C, "key": K}`` deletes a record;
``{"op": "add", "collection": C, "key": K, "value": V}`` adds an item to an append-only set;
``{"op": "rows", "series": S, "rows": [[ts_ms, value], ...]}`` appends time-series rows.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import math
from typing import Any

from .crdt import Json

MAX_NAME = 200
MAX_KEY = 500
MAX_VALUE_BYTES = 256 * 1024


class InvalidOperation(ValueError):
    """A local write that cannot be accepted; nothing of the request is applied."""


@dataclass(frozen=True, slots=True)
class SetFields:
    """Write fields of a record."""

    collection: str
    key: str
    fields: dict[str, Json]


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete a record (a tombstone)."""

    collection: str
    key: str


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
    return value  # type: ignore[no-any-return]


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
        )
    if kind == "delete":
        return Delete(
            _name(raw.get("collection"), "collection"), _name(raw.get("key"), "key", MAX_KEY)
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
