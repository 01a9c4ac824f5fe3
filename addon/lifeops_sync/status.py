"""What ``/v1/status`` shows of the peers: the local client sees all, a peer its own link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .service import Node


@dataclass(frozen=True, slots=True)
class Figures:
    """A peer's figures from the replica: times (ms) and counts."""

    last_success: int | None
    last_contact: int | None
    last_inbound: int | None
    pending: int
    behind: int


def figures_status(peer: str, figures: Figures, node: Node) -> dict[str, Any]:
    """A peer's status from the replica's figures (times, counts)."""
    now = node.wall()
    success = figures.last_success
    return {
        "node_id": peer,
        "configured": peer in node.links,
        "calls_us": figures.last_inbound is not None,
        "last_success": success,
        "last_contact": figures.last_contact,
        "last_inbound": figures.last_inbound,
        "lag_seconds": None if success is None else max(0, now - success) / 1000,
        "pending": figures.pending,
        "behind": figures.behind,
    }


def inbound_status(peer: str, figures: Figures, node: Node) -> dict[str, Any]:
    """A node that is not (or no longer) configured but exchanged with us: what the replica says."""
    return {
        **figures_status(peer, figures, node),
        "url": None,
        "last_attempt": None,
        "failures": 0,
        "last_error": None,
        "next_attempt_in": None,
        "clock_offset_ms": None,
        "exchanges": 0,
        "bytes_sent": 0,
        "bytes_received": 0,
    }


#: What a peer sees of its own entry in our status: how the link between us stands.
_PEER_FIELDS = ("node_id", "last_success", "last_contact", "pending", "behind")


def peer_view(status: dict[str, Any], peer: str) -> dict[str, Any]:
    """The status a peer gets: ours and the link with it, nothing of the other peers."""
    mine = [{k: p.get(k) for k in _PEER_FIELDS} for p in status["peers"] if p["node_id"] == peer]
    return {
        "node_id": status["node_id"],
        "version": status["version"],
        "vector": status["vector"],
        "peers": mine,
    }
