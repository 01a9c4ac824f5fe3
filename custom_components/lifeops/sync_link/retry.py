"""How long sync waits before trying the service again."""

from __future__ import annotations

import random
from typing import Final

RETRY_MIN: Final = 1.0
RETRY_MAX: Final = 300.0


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` failures in a row (doubling, capped, jittered)."""
    return min(RETRY_MAX, RETRY_MIN * 2.0 ** min(failures - 1, 20)) * random.uniform(0.8, 1.2)
