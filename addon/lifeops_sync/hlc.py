"""Hybrid logical clocks: wall-clock time that never goes backwards and respects causality.

A timestamp is one integer: milliseconds since the Unix epoch in the high bits and a 16-bit
counter in the low ones, so integers compare as (time, counter) do. Ties between nodes are broken
by node id (see :mod:`lifeops_sync.crdt`). A node whose clock is an hour slow still stamps a write
it makes after seeing another node's write later than that write, because observing a timestamp
moves the clock past it; that is what keeps a causally later write from losing to an earlier one.
"""

from __future__ import annotations

from collections.abc import Callable
import time

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1
#: The largest offset of a peer's clock from ours that is believed: sites an hour or so apart
#: are supported (a cabin an hour slow sees home's clock, pushed by a cabin an hour fast, two
#: hours ahead). A peer claiming more is taken at this much.
DEFAULT_MAX_OFFSET_MS = 3 * 3600 * 1000
#: How far beyond the peer's clock (as it said when it sent, within the offset above) a stamp may
#: be: its stamps are never later than its own clock, so this covers rounding and nothing more.
DRIFT_TOLERANCE_MS = 5 * 60 * 1000


def pack(wall_ms: int, counter: int = 0) -> int:
    """Make a timestamp from milliseconds and a counter."""
    return (wall_ms << COUNTER_BITS) | counter


def wall_ms(stamp: int) -> int:
    """The milliseconds part of a timestamp."""
    return stamp >> COUNTER_BITS


class WallClock:
    """The node's wall clock in milliseconds, optionally skewed (to test clock skew for real)."""

    def __init__(self, skew_seconds: float = 0.0) -> None:
        """Read the system clock plus ``skew_seconds``."""
        self.skew_ms = round(skew_seconds * 1000)

    def __call__(self) -> int:
        """Milliseconds since the epoch, as this node believes."""
        return time.time_ns() // 1_000_000 + self.skew_ms


class HybridClock:
    """An HLC: :meth:`now` for local events, :meth:`observe` for timestamps received."""

    def __init__(
        self,
        wall: Callable[[], int],
        last: int = 0,
        max_offset_ms: int = DEFAULT_MAX_OFFSET_MS,
    ) -> None:
        """Start after ``last`` (the highest timestamp this node has issued or seen)."""
        self._wall = wall
        self.last = last
        self.max_offset_ms = max_offset_ms

    def now(self) -> int:
        """A timestamp for a local event: above every timestamp issued or observed so far."""
        physical = pack(self._wall())
        # When the wall clock is behind what we have seen, count up from the last timestamp; a
        # full counter carries into the milliseconds, which only moves time forward by 1 ms.
        self.last = physical if physical > self.last else self.last + 1
        return self.last

    def reading(self) -> int:
        """The clock now, in ms: the wall clock, or the last stamp if that is later.

        Sent with every batch: no stamp this node sends is later than it.
        """
        return max(self._wall(), wall_ms(self.last))

    def limit(self, peer_clock: int | None) -> int:
        """The latest stamp (ms part) believable from a peer whose clock said ``peer_clock``.

        The peer's offset from our wall clock, limited to ``max_offset_ms`` either way, plus
        :data:`DRIFT_TOLERANCE_MS`; a peer that did not say is taken at the largest offset.
        """
        now = self._wall()
        offset = self.max_offset_ms if peer_clock is None else peer_clock - now
        offset = max(-self.max_offset_ms, min(self.max_offset_ms, offset))
        return now + offset + DRIFT_TOLERANCE_MS

    def observe(self, stamp: int) -> None:
        """Take a received timestamp into account, so later local events order after it.

        Never further than the largest believable offset ahead of our wall clock (the caller
        refuses stamps beyond :meth:`limit`; this holds even if it did not).
        """
        ceiling = pack(self._wall() + self.max_offset_ms + DRIFT_TOLERANCE_MS, COUNTER_MASK)
        self.last = max(self.last, min(stamp, ceiling))
