"""LifeOps sync: a CRDT replica on SQLite that keeps home and the cabins in agreement.

An ordinary Python package with no Home Assistant imports. The add-on runs it with
``python -m lifeops_sync serve``; so can anyone without the add-on (HA Container users).
"""

from __future__ import annotations

__version__ = "0.4.2"
