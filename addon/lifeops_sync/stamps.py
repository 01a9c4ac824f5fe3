"""The stamp floor: no site can stamp a change of its own back in time.

An honest site stamps its changes in the order it numbers them: its hybrid clock only moves
forward, across restarts too (it starts above the stamp kept in the replica's meta, which every
write and every observed stamp raise). The changes of one operation (the fields of one ``set``)
share a stamp; no later one is lower. So a receiver keeps, per origin, the highest stamp it has
accepted from it (for seqs up to its watermark) and refuses a record, delete or item entry of
that origin stamped lower: a site whose key was stolen still writes as itself, but it cannot
stamp an item below what it already wrote, so it cannot take the key of an item another site
wrote before (the least stamp wins items). Rows carry no stamp and are not checked.

An honest site's clock also moves past every stamp it takes, so what it writes after saying it
holds a change is stamped after that change: a direct peer's report of what it holds is kept
(``seen``: its counter then, and the highest stamp taken here of what it holds), and its later
entries stamped more than the largest believable clock offset (plus the drift tolerance) below
are refused (:class:`Bounds`); the margin leaves room for a change superseded before it
reached the peer, and for its clock. Without it, a stolen cabin away for weeks could stamp back
to its own last change taken, weeks old.

A site's later epoch (``<node>~<n>``, what a restore starts) is bound by its earlier ones too:
an entry of it stamped more than the largest believable clock offset (plus the drift
tolerance) below the highest stamp taken from an earlier epoch of the site is refused, unless
it is one the restore moved (:mod:`lifeops_sync.epochs`): its part names the earlier
``(origin, seq)`` it came from, the digest of the entry under that name is the one the
earlier epoch signed and this replica keeps, and its stamp is no lower than the floor that
group was kept with (a seq may have come as a digest only, its stamp never checked here; see
:mod:`lifeops_sync.screening`). So a made-up epoch can carry nothing older than the site's
clock explains but the site's own entries again, which change nothing.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
import sqlite3

from .crdt import Entry, Kind, epoch_of, site_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS stamps(origin INTEGER PRIMARY KEY, hlc INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seen(
    origin TEXT NOT NULL, after INTEGER NOT NULL, floor INTEGER NOT NULL,
    PRIMARY KEY(origin, after)) WITHOUT ROWID;
"""
#: How many of a site's reports are kept per origin (the newest; fewer only bind less).
SEEN_KEPT = 16
#: The meta key set once the table holds the stamps of the entries held before it existed.
FILLED = "stamps_filled"


def highest(db: sqlite3.Connection, names: dict[int, str]) -> dict[str, int]:
    """The highest stamp accepted from each origin, by origin name."""
    return {names[origin]: int(hlc) for origin, hlc in db.execute("SELECT origin, hlc FROM stamps")}


def raise_to(db: sqlite3.Connection, origin: int, hlc: int) -> None:
    """Record ``hlc`` as accepted from ``origin`` (the highest stays)."""
    db.execute(
        "INSERT INTO stamps(origin, hlc) VALUES(?, ?) "
        "ON CONFLICT(origin) DO UPDATE SET hlc = max(hlc, excluded.hlc)",
        (origin, hlc),
    )


def held_top(db: sqlite3.Connection, origin: int, upto: int) -> int:
    """The highest stamp among the record and item entries of ``origin`` held, up to ``upto``."""
    return max(
        int(
            db.execute(
                f"SELECT coalesce(max(hlc), 0) FROM {table} WHERE origin = ? AND seq <= ?",
                (origin, upto),
            ).fetchone()[0]
        )
        for table in ("cells", "items")
    )


def reset(db: sqlite3.Connection, origin: int, upto: int) -> None:
    """The watermark of ``origin`` went back to ``upto``: so does its floor.

    To the highest stamp held up to ``upto`` (what comes again after it must not be refused).
    """
    db.execute("DELETE FROM stamps WHERE origin = ?", (origin,))
    top = held_top(db, origin, upto)
    if top:
        raise_to(db, origin, top)


def fill(db: sqlite3.Connection, marks: dict[int, int], own: int) -> None:
    """Compute the floors of a replica made before they were kept, from the entries held.

    For each other origin, the highest stamp held up to its watermark (entries superseded since
    are gone: the floor may be lower than it was, never higher).
    """
    for origin, mark in marks.items():
        if origin != own and mark > 0:
            reset(db, origin, mark)


def seen_top(vector: dict[str, int], highs: dict[str, int], marks: dict[str, int]) -> int:
    """The highest stamp taken here of what a peer says it holds (``vector``).

    Of each origin it holds as far as this replica does, the highest stamp taken here.
    """
    held = (highs[o] for o, seq in vector.items() if o in highs and seq >= marks.get(o, 0))
    return max(held, default=0)


def note_seen(db: sqlite3.Connection, site: str, vector: dict[str, int], top: int) -> None:
    """The site ``site`` said it holds ``vector``: what it writes next comes after ``top``.

    Kept for the origin it writes under, with its counter then (the seqs after it were written
    later), if it binds more than the last report kept; a report of a lower counter is not
    kept (a site put back from a copy: what it wrote before is still to come).
    """
    own = [o for o in vector if site_of(o) == site]
    origin = max(own, key=epoch_of, default=site)
    after = vector.get(origin, 0)
    last = db.execute(
        "SELECT after, floor FROM seen WHERE origin = ? ORDER BY after DESC LIMIT 1", (origin,)
    ).fetchone()
    if top <= 0 or (last is not None and (after < last[0] or top <= last[1])):
        return
    db.execute(
        "INSERT OR REPLACE INTO seen(origin, after, floor) VALUES(?, ?, ?)", (origin, after, top)
    )
    db.execute(
        "DELETE FROM seen WHERE origin = ? AND after NOT IN "
        "(SELECT after FROM seen WHERE origin = ? ORDER BY after DESC LIMIT ?)",
        (origin, origin, SEEN_KEPT),
    )


@dataclass(frozen=True, slots=True)
class Bounds:
    """The least stamp an entry of one origin may carry, by seq, unless a restore moved it.

    ``base``: from the site's earlier epochs (the highest stamp taken from them, and what the
    site said it holds while writing under them); ``afters``/``tops``: the origin's own
    reports kept, each binding the seqs after its counter. All already ``margin`` below.
    """

    base: int
    afters: tuple[int, ...]
    tops: tuple[int, ...]

    def at(self, seq: int) -> int:
        """The bound of the entry ``seq`` (the last report made before it was written)."""
        i = bisect_left(self.afters, seq)
        return max(self.base, self.tops[i - 1] if i else 0)


def bounds(db: sqlite3.Connection, highs: dict[str, int], origin: str, margin: int) -> Bounds:
    """The :class:`Bounds` of ``origin``: ``margin`` below what its site took or had seen."""
    site, epoch = site_of(origin), epoch_of(origin)
    earlier = [h for o, h in highs.items() if site_of(o) == site and epoch_of(o) < epoch]
    rows: list[tuple[int, int]] = []
    for name, after, top in db.execute(
        "SELECT origin, after, floor FROM seen WHERE origin = ? OR origin LIKE ? ORDER BY after",
        (site, f"{site}~%"),
    ):
        if name == origin:
            rows.append((int(after), max(int(top) - margin, 0)))
        elif site_of(name) == site and epoch_of(name) < epoch:
            earlier.append(int(top))
    base = max(max(earlier, default=0) - margin, 0)
    return Bounds(base, tuple(a for a, _ in rows), tuple(t for _, t in rows))


@dataclass(slots=True)
class Screened:
    """A part's entries sorted by the stamp checks (see :func:`screen`)."""

    upto: int  # the part's end, held below any entry refused
    take: list[Entry] = field(default_factory=list)
    skipped: int = 0  # at or below the watermark: held already
    ahead: int = 0  # stamped later than the sender's clock explains
    low: list[int] = field(default_factory=list)  # the seqs stamped below a bound
    unmoved: int = 0  # of those, how many only below the ``bound`` (earlier epochs, reports)
    high: int = 0  # the highest stamp taken at or below ``upto``
    refused_from: int = 0  # the lowest seq refused (ahead or low), 0 if none

    def refuse(self, seq: int) -> None:
        """Hold ``upto`` below a seq refused."""
        self.upto = min(self.upto, seq - 1)
        self.refused_from = min(self.refused_from or seq, seq)

    def reason(self, origin: str) -> str:
        """Why the entries below the floor were refused."""
        if self.unmoved == len(self.low):
            return (
                f"{origin}: {len(self.low)} entries from seq {self.low[0]} stamped long before a "
                "change of that site already taken or said to be held, and not moved from an "
                "earlier epoch"
            )
        return (
            f"{origin}: {len(self.low)} entries from seq {self.low[0]} stamped before a change "
            "of that origin already taken"
        )


def screen(
    entries: tuple[Entry, ...],
    mark: int,
    upto: int,
    ceiling: int,
    floor: int | None,
    bound: Bounds | None = None,
    moved: Callable[[Entry], bool] | None = None,
) -> Screened:
    """Sort a part's entries: held already, too late, too early (below ``floor``), or taken.

    An entry refused holds ``upto`` below it (so it comes again). With a ``floor`` (a signed
    replica), stamped entries are taken in seq order only if none is lower than the floor or
    than one taken before it, nor lower than ``bound`` at its seq unless ``moved`` vouches for
    it (see :func:`bounds`); rows carry no stamp and are exempt. Without, nothing is checked.
    """
    result = Screened(upto)
    if floor is not None:
        entries = tuple(sorted(entries, key=lambda e: e.seq))
    taken: list[tuple[int, int]] = []
    for entry in entries:
        if entry.seq <= mark:
            result.skipped += 1
        elif entry.hlc > ceiling:
            result.ahead += 1
            result.refuse(entry.seq)
        elif floor is None or entry.kind is Kind.ROW:
            result.take.append(entry)
        elif entry.hlc < floor:
            result.low.append(entry.seq)
            result.refuse(entry.seq)
        elif bound is not None and entry.hlc < bound.at(entry.seq) and not (moved and moved(entry)):
            result.low.append(entry.seq)
            result.unmoved += 1
            result.refuse(entry.seq)
        else:
            result.take.append(entry)
            floor = entry.hlc  # one origin's entries come in stamp order
            taken.append((entry.seq, entry.hlc))
    result.high = max((h for s, h in taken if s <= result.upto), default=0)
    return result
