"""What an adapter is: one synced collection wired to the agents, and what it sees of the link."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from homeassistant.core import HomeAssistant

from ...data import LifeOpsConfigEntry
from ...sync import Change, SyncClient, inbound
from ...sync.queue import OpQueue


class Link(Protocol):
    """What an adapter uses of the sync manager."""

    hass: HomeAssistant
    entry: LifeOpsConfigEntry
    client: SyncClient
    queue: OpQueue
    refusals: inbound.Refusals
    options: dict[str, str]
    last_error: str | None
    connected_event: asyncio.Event

    @property
    def writes(self) -> int:
        """How many writes the service acknowledged since start."""

    def enqueue(self, *ops: dict[str, Any]) -> None:
        """Queue local changes (a set or delete is stamped with when and what was seen)."""

    def save(self) -> None:
        """Keep the link's state (the cursor, what the service holds) in the entry's store."""


class Adapter:
    """One synced collection; the manager calls these in order, each a no-op here.

    Lifecycle: `load` what was kept, `start` following local changes; on each (re)connect
    `forget` (a new service only) then `reconcile`; before each change-feed request `reread`;
    each change of another site goes to `take`, then `taken` once per feed answer; each
    acknowledged operation to `acknowledged`; `skipped` when the service left out local edits
    (a later remote edit won); `unaccounted` when the feed moved past entries it did not show.
    """

    def __init__(self, link: Link) -> None:
        """Wire to the manager (nothing runs before `start`)."""
        self.link = link

    def load(self, stored: Mapping[str, Any]) -> None:
        """Take what the entry's store kept (the manager's part of it)."""

    def dump(self) -> dict[str, Any]:
        """What to keep in the entry's store."""
        return {}

    def start(self) -> None:
        """Follow local changes; queue those made while sync was not running."""

    def forget(self) -> None:
        """Another service (a new address): nothing is known to be held there."""

    async def reconcile(self) -> None:
        """After (re)connecting, before the change feed."""

    def take(self, change: Change) -> bool:
        """Take one change another site made; whether it was this collection's."""
        return False

    def taken(self, writes_before: int) -> None:
        """All changes of one feed answer were given to `take` (a read begun at `writes_before`)."""

    async def reread(self) -> None:
        """Read again what was left for a later read, before the next change-feed request."""

    def acknowledged(self, op: Mapping[str, Any], write: int) -> None:
        """The service took `op` in acknowledged write number `write`."""

    async def skipped(self, collections: set[Any]) -> None:
        """The service left out edits to these collections: a remote edit made after them won."""

    def unaccounted(self) -> None:
        """The feed moved past other sites' entries it did not show: read whole again."""
