"""The stamp checks of a part as this replica applies them (a mixin of the store).

The rules are :mod:`lifeops_sync.stamps`'s: the floor of the part's origin, and for a later
epoch the bound its earlier epochs set, which an entry a restore moved passes if its part says
which earlier entry it was (:mod:`lifeops_sync.epochs`). That entry is checked here against the
signed groups this replica keeps: the entry, named as it was, must have the digest kept for
that seq, and a stamp no lower than the group's *floor*, the least stamp an entry of that group
could have been taken with here when it was kept. A seq may have come as a digest only (an
entry superseded at the sender): its stamp was never checked here, and the floor stands in for
that check. An entry moved more than once names each entry it was (``restamp``): a replica may
keep one of them only as a digest, under a floor set for entries taken there first, while the
entry as first written met its floor when written.
"""

from __future__ import annotations

from collections.abc import Callable
import sqlite3
from typing import TYPE_CHECKING

from . import epochs, origin as signed, stamps
from .crdt import Entry, Part, epoch_of, site_of
from .hlc import DRIFT_TOLERANCE_MS, HybridClock


def _earlier_epoch(src: str, origin: str) -> bool:
    """Whether ``src`` names an earlier epoch of the site that writes as ``origin``."""
    return site_of(src) == site_of(origin) and epoch_of(src) < epoch_of(origin)


class Screening:
    """What :class:`~lifeops_sync.store.Store` adds to screen a part's stamps (a mixin)."""

    _db: sqlite3.Connection
    _index: dict[str, int]
    _names: dict[int, str]
    _self_idx: int
    origin: str
    clock: HybridClock

    if TYPE_CHECKING:  # the store's

        def _idx(self, node: str) -> int:
            """The local number of a node id (may add it)."""

    def _margin(self) -> int:
        """How far a bound lies below what sets it: the clock offset believed, and drift."""
        return (self.clock.max_offset_ms + DRIFT_TOLERANCE_MS) << 16

    def _keep_groups(
        self, proven: list[tuple[str, list[signed.Group]]], highs: dict[str, int]
    ) -> dict[str, list[signed.Group]]:
        """Keep a batch's checked groups, each with its floor; return those new here.

        The floor is what an entry of the group had to meet: its origin's floor and the bound
        at the group's last seq (an entry sent as a digest only met none of them here).
        """
        kept: dict[str, list[signed.Group]] = {}
        for name, groups in proven:
            if not groups:
                continue
            bound = self._bounds(highs, name)
            idx = self._idx(name)
            for group in groups:  # one write each: no report falls inside one
                floor = max(highs.get(name, 0), bound.at(group.last))
                kept.setdefault(name, []).extend(signed.save_groups(self._db, idx, [group], floor))
        return kept

    def _bounds(self, highs: dict[str, int], origin: str) -> stamps.Bounds:
        """The least stamps entries of ``origin`` may carry unless a restore moved them.

        Set by the site's earlier epochs and by what it had said it holds (stamps.py).
        """
        return stamps.bounds(self._db, highs, origin, self._margin())

    def _screen(
        self,
        part: Part,
        origin: int,
        mark: int,
        upto: int,
        ceiling: int,
        highs: dict[str, int] | None,
        kept: dict[str, list[signed.Group]],
    ) -> stamps.Screened:
        """A part's entries sorted by the stamp checks (none without a site key).

        The moves of the entries taken are kept, to pass on; the groups just ``kept`` for seqs
        refused go.
        """
        if highs is None:
            return stamps.screen(part.entries, mark, upto, ceiling, None)
        found = stamps.screen(
            part.entries,
            mark,
            upto,
            ceiling,
            highs.get(part.origin, 0),
            self._bounds(highs, part.origin),
            self._moved_check(part),
        )
        self._keep_moves(origin, part, found.take)
        self._forget_refused(origin, found, kept.get(part.origin, []))
        return found

    def _note_seen(
        self, sender: str, vector: dict[str, int], highs: dict[str, int], marks: dict[int, int]
    ) -> None:
        """A direct peer said what it holds: what it writes next is stamped after that."""
        by_name = {self._names[o]: seq for o, seq in marks.items()}
        top = stamps.seen_top(vector, highs, by_name)
        ours = epochs.newest(self._db, self._self_idx, vector.get(self.origin, 0))
        if ours is not None:  # our own entries: the newest it holds is stamped highest
            top = max(top, ours[1])
        stamps.note_seen(self._db, sender, vector, top)

    def _moved_check(self, part: Part) -> Callable[[Entry], bool]:
        """Whether an entry of ``part`` is one its site signed under an earlier epoch.

        The part names the entries it was (moved once or more); named as one of them, it must
        have the digest this replica keeps for that seq, and a stamp no lower than that
        group's floor.
        """
        sources: dict[int, list[tuple[str, int]]] = {}
        for seq, src, src_seq in part.moved:
            sources.setdefault(seq, []).append((src, src_seq))
        near: dict[str, tuple[signed.Group, int]] = {}  # moved entries come in runs

        def was(entry: Entry, src: str, src_seq: int) -> bool:
            if not _earlier_epoch(src, part.origin) or src not in self._index:
                return False
            found = near.get(src)
            if found is None or not found[0].first <= src_seq <= found[0].last:
                found = signed.kept_digests(self._db, self._index[src], src_seq)
                if found is None:
                    return False
                near[src] = found
            group, floor = found
            as_was = entry._replace(origin=src, seq=src_seq)
            return entry.hlc >= floor and group.digest_of(src_seq) == signed.entry_digest(as_was)

        def moved(entry: Entry) -> bool:
            return any(was(entry, src, src_seq) for src, src_seq in sources.get(entry.seq, ()))

        return moved

    def _forget_refused(
        self, origin: int, found: stamps.Screened, kept: list[signed.Group]
    ) -> None:
        """Drop the groups just kept (``kept``) for seqs of the part that were refused.

        This replica vouches for no version of those seqs yet: kept, another version (validly
        signed by a site whose key was stolen) taken later would be served with this proof,
        and refused by every peer each round.
        """
        if found.refused_from:
            late = [g for g in kept if g.last >= found.refused_from]
            signed.forget_groups(self._db, origin, late)

    def _keep_moves(self, origin: int, part: Part, taken: list[Entry]) -> None:
        """Keep where the entries taken were moved from, to pass on with them."""
        if not part.moved:
            return
        seqs = {e.seq for e in taken}
        epochs.keep_moves(
            self._db,
            [
                (origin, seq, self._idx(src), src_seq)
                for seq, src, src_seq in part.moved
                if seq in seqs and _earlier_epoch(src, part.origin)
            ],
        )
