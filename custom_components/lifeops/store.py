"""Where the agents' state is kept between restarts: one Home Assistant Store per entry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store

from .const import DOMAIN

STORAGE_VERSION = 1
SAVE_DELAY = 2  # seconds: a burst of changes is written once


class LifeOpsStore:
    """The agents' persisted state, written shortly after each change and at shutdown."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Open the store of one entry."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}", private=True, atomic_writes=True
        )
        self._collectors: dict[str, Callable[[], Any]] = {}
        self._save_pending = False
        self.data: dict[str, Any] = {}

    async def async_load(self) -> dict[str, Any]:
        """Read what was saved; an empty dict on the first start."""
        self.data = await self._store.async_load() or {}
        return self.data

    @callback
    def register(self, key: str, collect: Callable[[], Any]) -> None:
        """Have `collect()` provide the value saved under `key`."""
        self._collectors[key] = collect

    def _collect(self) -> dict[str, Any]:
        self.data = {**self.data, **{key: collect() for key, collect in self._collectors.items()}}
        return self.data

    def _collect_pending(self) -> dict[str, Any]:
        self._save_pending = False
        return self._collect()

    @callback
    def async_schedule_save(self) -> None:
        """Save soon (also flushed when Home Assistant stops).

        A save already scheduled collects the state when it runs, so it covers later changes
        too: one timer per burst, not one per change.
        """
        if self._save_pending:
            return
        self._save_pending = True
        self._store.async_delay_save(self._collect_pending, SAVE_DELAY)

    def collect(self) -> dict[str, Any]:
        """A copy of everything the store holds now (the agents' current state included)."""
        return dict(self._collect())

    async def async_save(self) -> None:
        """Save now."""
        await self._store.async_save(self._collect_pending())

    async def async_remove(self) -> None:
        """Delete the file (the entry was removed)."""
        await self._store.async_remove()
