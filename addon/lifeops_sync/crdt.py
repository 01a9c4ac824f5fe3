"""What is synced and how two versions of it merge.

Four kinds of entry, each stamped with the node that made it (its *origin*) and that node's change
number (*seq*, 1, 2, 3... per origin):

* ``FIELD``: one field of a record, a last-writer-wins register. Settings, agent state, habits,
  automation choices, the notification queue, the calendar cache and the device list are records.
* ``DELETE``: a record's tombstone. It hides every field written before it (by stamp) and is kept
  until every known node has it, so a delete cannot be undone by an old copy arriving late.
  A field written after the delete (a later stamp) brings the record back with that field only.
* ``ITEM``: an element of an append-only set (the XP log, habit completions, work sessions).
  Items never conflict; should two nodes ever write different values under one key, the first
  (lowest stamp) wins everywhere.
* ``ROW``: a time-series row (series, time, value), append-only and identified by (origin, seq).

Entries are ordered by stamp ``(hlc, origin)``: the hybrid logical clock first, the node id
breaking ties. Merging is taking, per cell, the greatest entry (the least for items), which is
commutative, associative and idempotent. :class:`Model` is the reference implementation that
the SQLite store is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from enum import StrEnum
import re
from typing import Any, NamedTuple

type Json = None | bool | int | float | str | list[Json] | dict[str, Json]

NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
#: An origin: a site's node id for its first epoch, ``<node_id>~<n>`` after its n-th restore.
ORIGIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.\-]{0,63})(?:~([1-9][0-9]{0,8}))?")


class Kind(StrEnum):
    """The kinds of entry."""

    FIELD = "f"
    DELETE = "d"
    ITEM = "i"
    ROW = "r"


class Entry(NamedTuple):
    """One change as it travels: stamped, numbered by its origin, immutable.

    ``coll`` is the collection (or the series, for rows); ``key`` the record or item key;
    ``field`` the field name (FIELD only, never empty); ``value`` the JSON value (a float for
    rows, None for deletes); ``ts`` the row's time in ms (rows only). Rows have ``hlc`` 0.
    """

    kind: Kind
    origin: str
    seq: int
    hlc: int
    coll: str
    key: str = ""
    field: str = ""
    value: Json = None
    ts: int = 0

    @property
    def stamp(self) -> tuple[int, str]:
        """The order in which conflicting entries win."""
        return (self.hlc, self.origin)


@dataclass(frozen=True, slots=True)
class Part:
    """An origin's entries with seq in ``(after, upto]`` (in no particular order).

    Entries superseded at the sender are left out, so the range may have gaps; ``upto`` is what
    the receiver may record as received from that origin once it has everything up to ``after``.
    ``moved``: ``(seq, from origin, from seq)`` for entries a restore moved into this epoch from
    an earlier epoch of the same site (see :mod:`lifeops_sync.epochs`), so a receiver can check
    an old stamp against the earlier epoch's signed digest of the same entry (an entry moved more
    than once: one for each entry it was).
    """

    origin: str
    after: int
    upto: int
    entries: tuple[Entry, ...]
    proof: Proof | None = None
    moved: tuple[tuple[int, str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Proof:
    """What lets a receiver check a part came from its origin (see :mod:`lifeops_sync.origin`).

    ``start``: the link before the part's first group; ``lasts``: where each of the origin's
    groups tiling ``(after, upto]`` ends (each starts after the previous one, the first after
    ``after``); ``signature``: the origin's Ed25519 signature of the last group's link;
    ``digests``: ``(seq, 16-byte digest)`` for each seq of the range not sent in full (an entry
    superseded, collected or pruned at the sender).
    """

    start: bytes
    lasts: tuple[int, ...]
    signature: bytes
    digests: tuple[tuple[int, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class TipProof:
    """That an origin's site signed a group of its seqs ``first..last`` (see epochs.py).

    What a peer holds of a site, shown to that site when it asks: ``previous``, the link before
    the group; ``digests_hash``, the SHA-256 of the group's entry digests; ``signature``, the
    site's over the group's link (origin.py). A site that signed a group it does not hold was
    restored from a backup.
    """

    first: int
    last: int
    previous: bytes
    digests_hash: bytes
    signature: bytes


def valid_node_id(node: str) -> bool:
    """Node ids are short names: letters, digits, ``_ . -``."""
    return NODE_ID.fullmatch(node) is not None


def valid_origin(origin: str) -> bool:
    """Origins are node ids, or ``<node_id>~<n>`` (``n`` from 1) for a site's later epochs."""
    return ORIGIN.fullmatch(origin) is not None


def site_of(origin: str) -> str:
    """The site (node id) that writes under ``origin``, whichever epoch it names.

    A site's key signs for every epoch of it.
    """
    return origin.partition("~")[0]


def epoch_of(origin: str) -> int:
    """The epoch an origin names: 0 for a bare node id, ``n`` for ``<node_id>~<n>``."""
    _, sep, n = origin.partition("~")
    return int(n) if sep else 0


def epoch_origin(node: str, epoch: int) -> str:
    """The origin of ``node`` in ``epoch`` (the inverse of :func:`site_of`/:func:`epoch_of`)."""
    return node if epoch == 0 else f"{node}~{epoch}"


type Cell = tuple[str, str, str]


@dataclass
class Model:
    """The merge semantics in memory: a reference for the store and for property tests."""

    fields: dict[Cell, Entry] = dc_field(default_factory=dict)
    tombs: dict[tuple[str, str], Entry] = dc_field(default_factory=dict)
    items: dict[tuple[str, str], Entry] = dc_field(default_factory=dict)
    rows: dict[tuple[str, int], Entry] = dc_field(default_factory=dict)

    def apply(self, entry: Entry) -> None:
        """Merge one entry."""
        match entry.kind:
            case Kind.FIELD:
                cell = (entry.coll, entry.key, entry.field)
                tomb = self.tombs.get((entry.coll, entry.key))
                if tomb is not None and tomb.stamp > entry.stamp:
                    return
                current = self.fields.get(cell)
                if current is None or entry.stamp > current.stamp:
                    self.fields[cell] = entry
            case Kind.DELETE:
                record = (entry.coll, entry.key)
                tomb = self.tombs.get(record)
                if tomb is None or entry.stamp > tomb.stamp:
                    self.tombs[record] = entry
                    for cell in [c for c in self.fields if c[:2] == record]:
                        if self.fields[cell].stamp < entry.stamp:
                            del self.fields[cell]
            case Kind.ITEM:
                item = (entry.coll, entry.key)
                current = self.items.get(item)
                if current is None or entry.stamp < current.stamp:
                    self.items[item] = entry
            case Kind.ROW:
                self.rows.setdefault((entry.origin, entry.seq), entry)

    def merge(self, other: Model) -> Model:
        """A new model holding both (the join of the two states)."""
        result = Model(dict(self.fields), dict(self.tombs), dict(self.items), dict(self.rows))
        for entry in other.entries():
            result.apply(entry)
        return result

    def entries(self) -> list[Entry]:
        """Every entry held."""
        return [
            *self.fields.values(),
            *self.tombs.values(),
            *self.items.values(),
            *self.rows.values(),
        ]

    def visible(self) -> dict[str, Any]:
        """What a reader sees (tombstones and hidden fields left out); see :func:`visible_state`."""
        return visible_state(self.entries())


def visible_state(entries: list[Entry]) -> dict[str, Any]:
    """The readable state of a set of current entries, in a canonical, comparable form.

    ``{"records": {coll: {key: {field: value}}}, "items": {coll: {key: value}},
    "rows": [[origin, seq, series, ts, value], ...]}``, records without visible fields left out.
    """
    tombs = {(e.coll, e.key): e.stamp for e in entries if e.kind is Kind.DELETE}
    records: dict[str, dict[str, dict[str, Json]]] = {}
    items: dict[str, dict[str, Json]] = {}
    rows: list[list[Json]] = []
    for e in entries:
        if e.kind is Kind.FIELD:
            tomb = tombs.get((e.coll, e.key))
            if tomb is None or e.stamp > tomb:
                records.setdefault(e.coll, {}).setdefault(e.key, {})[e.field] = e.value
        elif e.kind is Kind.ITEM:
            items.setdefault(e.coll, {})[e.key] = e.value
        elif e.kind is Kind.ROW:
            rows.append([e.origin, e.seq, e.coll, e.ts, e.value])
    rows.sort(key=lambda r: (str(r[0]), int(r[1])))  # type: ignore[arg-type]
    return {
        "records": {c: dict(sorted(r.items())) for c, r in sorted(records.items())},
        "items": {c: dict(sorted(i.items())) for c, i in sorted(items.items())},
        "rows": rows,
    }
