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
#: Remote timestamps further ahead of our wall clock than this are refused (a node whose clock
#: says 2099 would otherwise drag every clock, and win every conflict, for decades).
DEFAULT_MAX_DRIFT_MS = 24 * 3600 * 1000


class ClockDriftError(ValueError):
    """A remote timestamp is implausibly far ahead of our wall clock."""


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
        max_drift_ms: int = DEFAULT_MAX_DRIFT_MS,
    ) -> None:
        """Start after ``last`` (the highest timestamp this node has issued or seen)."""
        self._wall = wall
        self.last = last
        self.max_drift_ms = max_drift_ms

    def now(self) -> int:
        """A timestamp for a local event: above every timestamp issued or observed so far."""
        physical = pack(self._wall())
        # When the wall clock is behind what we have seen, count up from the last timestamp; a
        # full counter carries into the milliseconds, which only moves time forward by 1 ms.
        self.last = physical if physical > self.last else self.last + 1
        return self.last

    def check(self, stamp: int) -> None:
        """Raise :class:`ClockDriftError` if ``stamp`` is too far ahead of our wall clock."""
        if wall_ms(stamp) > self._wall() + self.max_drift_ms:
            raise ClockDriftError(
                f"timestamp {wall_ms(stamp)} ms is more than {self.max_drift_ms} ms ahead"
            )

    def observe(self, stamp: int) -> None:
        """Take a received timestamp into account, so later local events order after it."""
        self.check(stamp)
        self.last = max(self.last, stamp)
