"""What the store knows of other nodes: what each holds, when it synced, the auth nonces.

A node's own report of what it holds replaces the last one (it may go down after a restore);
what a node says of others is kept apart, as a hint for collecting tombstones only.
:class:`PeerBook` is a part of :class:`~lifeops_sync.store.Store`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
import sqlite3
from typing import TYPE_CHECKING


class PeerBook:
    """Peer bookkeeping (a part of the store)."""

    node_id: str
    _db: sqlite3.Connection
    _names: dict[int, str]

    if TYPE_CHECKING:

        def _tx(self) -> AbstractContextManager[None]:
            """A transaction (the store's)."""

        def _watermarks(self) -> dict[int, int]:
            """The watermarks of this node, by origin number (the store's)."""

    def _note_sender(
        self,
        sender: str,
        vector: dict[str, int],
        gossip: dict[str, dict[str, int]],
        now_ms: int | None,
    ) -> None:
        """What a batch's sender said it holds, what it said others hold, and when."""
        self._note_known(sender, vector)
        self._note_gossip(sender, gossip)
        self._db.execute(
            "INSERT INTO peers(node, last_contact) VALUES(?, ?) "
            "ON CONFLICT(node) DO UPDATE SET last_contact = excluded.last_contact",
            (sender, now_ms),
        )

    def _note_known(self, node: str, vector: dict[str, int]) -> None:
        """A node's own report of what it holds: it replaces the last (it may go down)."""
        self._db.execute("DELETE FROM known WHERE node = ?", (node,))
        self._db.executemany(
            "INSERT INTO known(node, origin, seq) VALUES(?, ?, ?)",
            [(node, origin, seq) for origin, seq in vector.items()],
        )

    def _note_gossip(self, sender: str, gossip: dict[str, dict[str, int]]) -> None:
        """What ``sender`` says others hold: a hint for collecting tombstones, never for pushing.

        Kept per node as the latest word of any sender; it never overrides a node's own report.
        """
        for node, vector in gossip.items():
            if node in (self.node_id, sender):
                continue
            self._db.execute("DELETE FROM gossip WHERE node = ?", (node,))
            self._db.executemany(
                "INSERT INTO gossip(node, origin, seq) VALUES(?, ?, ?)",
                [(node, origin, seq) for origin, seq in vector.items()],
            )

    def known(self, *, gossip: bool = False) -> dict[str, dict[str, int]]:
        """What each other node said it has, the last time it said so itself.

        With ``gossip``, also what others said of the nodes that never told us themselves.
        """
        result: dict[str, dict[str, int]] = {}
        for node, origin, seq in self._db.execute("SELECT node, origin, seq FROM known"):
            result.setdefault(node, {})[origin] = seq
        if gossip:
            relayed: dict[str, dict[str, int]] = {}
            for node, origin, seq in self._db.execute("SELECT node, origin, seq FROM gossip"):
                if node not in result:
                    relayed.setdefault(node, {})[origin] = seq
            result.update(relayed)
        return result

    def note_success(self, peer: str, now_ms: int) -> None:
        """Record a completed exchange with ``peer``."""
        self._db.execute(
            "INSERT INTO peers(node, last_success, last_contact) VALUES(?, ?, ?) "
            "ON CONFLICT(node) DO UPDATE SET "
            "last_success = excluded.last_success, last_contact = excluded.last_contact",
            (peer, now_ms, now_ms),
        )

    def note_inbound(self, peer: str, now_ms: int) -> None:
        """Record an exchange ``peer`` started and we answered (it syncs with us)."""
        self._db.execute(
            "INSERT INTO peers(node, last_success, last_contact, last_inbound) VALUES(?, ?, ?, ?) "
            "ON CONFLICT(node) DO UPDATE SET last_success = excluded.last_success, "
            "last_contact = excluded.last_contact, last_inbound = excluded.last_inbound",
            (peer, now_ms, now_ms, now_ms),
        )

    def peer_times(self) -> dict[str, tuple[int | None, int | None, int | None]]:
        """``{peer: (last_success_ms, last_contact_ms, last_inbound_ms)}`` as stored.

        Every node that exchanged with this one, whichever side called.
        """
        return {
            node: (success, contact, inbound)
            for node, success, contact, inbound in self._db.execute(
                "SELECT node, last_success, last_contact, last_inbound FROM peers"
            )
        }

    def pending_for(self, peer: str) -> int:
        """How many entries this node holds that ``peer`` is not known to have."""
        theirs = self.known().get(peer, {})
        total = 0
        for origin, mark in self._watermarks().items():
            after = theirs.get(self._names[origin], 0)
            if mark <= after:
                continue
            for table in ("cells", "items", "rows"):
                (count,) = self._db.execute(
                    f"SELECT count(*) FROM {table} WHERE origin = ? AND seq > ? AND seq <= ?",
                    (origin, after, mark),
                ).fetchone()
                total += count
        return int(total)

    # -- auth replay floor ------------------------------------------------------------------

    def auth_nonces(self) -> dict[str, dict[str, int]]:
        """The nonces accepted recently from each key, with their request times, as stored."""
        nonces: dict[str, dict[str, int]] = {}
        for key_id, nonce, ts in self._db.execute("SELECT key_id, nonce, ts FROM auth_nonce"):
            nonces.setdefault(key_id, {})[nonce] = ts
        return nonces

    def note_auth(self, key_id: str, ts: int, nonce: str, forget_before: int) -> None:
        """Remember an accepted request's nonce; forget those too old to be accepted anyway."""
        with self._tx():
            self._db.execute(
                "INSERT OR IGNORE INTO auth_nonce(key_id, nonce, ts) VALUES(?, ?, ?)",
                (key_id, nonce, ts),
            )
            self._db.execute(
                "DELETE FROM auth_nonce WHERE key_id = ? AND ts < ?", (key_id, forget_before)
            )
