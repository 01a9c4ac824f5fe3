"""The store's side of origin authentication (see :mod:`lifeops_sync.origin`).

:class:`SignedLog` is a part of :class:`~lifeops_sync.store.Store`: serving the ranges it can
prove, converting an unsigned replica, signing again after a restore moved entries to a new
epoch, and the site keys. The checks themselves (digests, links, signatures, key rules) are
in :mod:`lifeops_sync.origin`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
import sqlite3
from typing import TYPE_CHECKING

from . import origin as signed
from .crdt import Entry, Part, site_of
from .epochs import moves_in

SCHEMA_VERSION = 2  # 2: signed groups and site keys


class SignedLog:
    """What :class:`~lifeops_sync.store.Store` adds for signed entries (a mixin)."""

    _db: sqlite3.Connection
    _names: dict[int, str]
    _self_idx: int
    node_id: str
    site_key: signed.SiteKey | None

    if TYPE_CHECKING:  # the store's, and its log reader's

        def _log(self, origin: int, name: str, after: int, upto: int, limit: int) -> list[Entry]:
            """An origin's entries in a seq range."""

        def _watermarks(self) -> dict[int, int]:
            """The watermarks of this node, by origin number."""

        def _tx(self) -> AbstractContextManager[None]:
            """A transaction."""

        def _set_meta(self, key: str, value: str) -> None:
            """Set a meta value."""

    def _verify_parts(
        self, parts: list[Part]
    ) -> tuple[list[tuple[str, list[signed.Group]]], tuple[str, ...], int, list[Part]]:
        """Check each part against its origin's key (before anything of a batch is applied).

        Returns the checked groups by origin (to keep), why each refused part was refused, how
        many entries those held, and the parts that passed. Without a site key: all pass.
        """
        if self.site_key is None:
            return [], (), 0, parts
        keys = signed.stored_keys(self._db)
        proven: list[tuple[str, list[signed.Group]]] = []
        refused: list[str] = []
        refused_entries = 0
        good: list[Part] = []
        for part in parts:
            try:
                groups = signed.check_part(part, keys.get(site_of(part.origin)))
            except signed.Refused as err:
                refused.append(str(err))
                refused_entries += len(part.entries)
                continue
            good.append(part)
            proven.append((part.origin, groups))
        return proven, tuple(refused), refused_entries, good

    def _proven(
        self, origin: int, name: str, after: int, mark: int, budget: int
    ) -> tuple[Part | None, bool]:
        """What we can prove of ``(after, mark]``, and whether the budget cut it short.

        Whole signed groups from the one holding ``after + 1``, up to the first that is not
        kept (entries from before the upgrade) and as many as fit in ``budget`` entries (at
        least one group). No part if we can prove nothing.
        """
        groups = signed.chain(self._db, origin, name, after, mark)
        if not groups:
            return None, False
        start = groups[0].first - 1
        entries = self._log(origin, name, start, groups[-1].last, budget + 1)
        cut = len(entries) > budget
        if cut:
            # Cut after the last signed group that fits, else after the first signed one.
            beyond = entries[budget].seq
            fitting = [g for g in groups if g.last < beyond]
            while fitting and fitting[-1].signature is None:
                fitting.pop()
            if not fitting:
                end = next(i for i, g in enumerate(groups) if g.signature is not None)
                fitting = groups[: end + 1]
                entries = self._log(origin, name, start, fitting[-1].last, 1 << 62)
            cut = fitting[-1].last < groups[-1].last
            groups = fitting
            entries = [e for e in entries if e.seq <= groups[-1].last]
        proof = signed.proof_of(groups, entries)
        sent = {e.seq for e in entries}
        kept = moves_in(self._db, origin, start, groups[-1].last, self._names)
        moved = tuple(m for m in kept if m[0] in sent)
        return Part(name, start, groups[-1].last, tuple(entries), proof, moved), cut

    def _sign_upgrade(self, key: signed.SiteKey) -> None:
        """Schema 1 to 2: sign our own entries, and take everything else again, signed.

        Our seqs whose entries are gone (superseded before the upgrade) are signed as
        :data:`~lifeops_sync.origin.ABSENT`. Other sites' entries are kept but were never
        signed: we can neither prove them to others nor tell them from forgeries, so their
        watermarks go back to 0 and what we know of others is forgotten. Each site sends its
        own entries again, signed (a merge of what we hold changes nothing), once.
        """
        me = self._self_idx
        name = self._names[me]
        mark = self._watermarks().get(me, 0)
        previous = None
        for first in range(1, mark + 1, signed.GROUP_MAX):
            last = min(mark, first + signed.GROUP_MAX - 1)
            held = {e.seq: e for e in self._log(me, name, first - 1, last, 1 << 62)}
            digests = b"".join(
                signed.entry_digest(held[s]) if s in held else signed.ABSENT
                for s in range(first, last + 1)
            )
            group = key.sign_digests(name, first, digests, previous)
            signed.save_groups(self._db, me, [group])
            previous = group.link
        self._db.execute("DELETE FROM watermarks WHERE origin <> ?", (me,))
        self._db.execute("DELETE FROM stamps WHERE origin <> ?", (me,))
        self._db.execute("DELETE FROM known")
        self._set_meta("schema", str(SCHEMA_VERSION))

    def _sign_epoch(self, old: int, new: int, keep_upto: int, moved: int) -> None:
        """Our entries of ``old`` past ``keep_upto`` moved to ``new`` (seqs 1..moved): re-sign.

        The groups of ``old`` past ``keep_upto`` go (the peers hold the originals and send them
        back with their proofs); the moved entries are signed as ``new``'s. Inside a tx.
        """
        if self.site_key is None:
            return
        self._db.execute("DELETE FROM sig_groups WHERE origin = ? AND last > ?", (old, keep_upto))
        self._db.execute("DELETE FROM sig_groups WHERE origin = ?", (new,))
        entries = self._log(new, self._names[new], 0, moved, 1 << 62)
        if entries:
            signed.save_groups(self._db, new, self.site_key.sign(entries))

    # -- site keys ---------------------------------------------------------------------------

    def site_keys(self) -> dict[str, bytes]:
        """The public key of each site known, ours included."""
        return signed.stored_keys(self._db)

    def pin_keys(self, pins: dict[str, bytes]) -> None:
        """Keys set in the configuration: used as given (they replace a key learned)."""
        with self._tx():
            for site, key in pins.items():
                signed.set_key(self._db, site, key, "config")

    def offer_keys(self, sender: str, offered: dict[str, bytes], direct: set[str]) -> list[str]:
        """Take the keys an authenticated direct peer offers; return the conflicting sites.

        The rules are :func:`~lifeops_sync.origin.offer_keys`'s.
        """
        if not offered:
            return []
        take, conflicts = signed.offer_keys(
            signed.stored_keys(self._db),
            offered,
            own_site=site_of(self.node_id),
            sender=sender,
            direct=direct,
        )
        if not take:
            return conflicts
        with self._tx():
            for site, key in take.items():
                signed.set_key(self._db, site, key, "peer" if site == sender else f"via {sender}")
        return conflicts
