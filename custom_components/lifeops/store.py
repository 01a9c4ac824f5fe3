"""What is kept between restarts: one Home Assistant Store per entry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
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


class OuraStore:
    """What an Oura account remembers between restarts.

    The last night announced (so `lifeops_sleep_updated` fires once per night, also across
    restarts), the first day of history already imported into the statistics, and the webhook's
    secrets.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Open the store of one Oura entry."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.oura.{entry_id}", private=True, atomic_writes=True
        )
        self.data: dict[str, Any] = {}

    async def async_load(self) -> None:
        """Read what was saved (nothing on the first start)."""
        self.data = await self._store.async_load() or {}

    def _day(self, key: str) -> date | None:
        value = self.data.get(key)
        try:
            return date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None

    def _set(self, key: str, value: Any) -> None:
        self.data = {**self.data, key: value}
        self._store.async_delay_save(lambda: self.data, SAVE_DELAY)

    @property
    def announced_night(self) -> date | None:
        """The day of the newest night announced."""
        return self._day("announced_night")

    def set_announced_night(self, day: date) -> None:
        """Remember the newest night announced."""
        self._set("announced_night", day.isoformat())

    @property
    def history_from(self) -> date | None:
        """The first day whose history is in the statistics (None: no backfill done yet)."""
        return self._day("history_from")

    def set_history_from(self, day: date) -> None:
        """Remember the first day whose history is in the statistics."""
        self._set("history_from", day.isoformat())

    @property
    def reconciled_on(self) -> date | None:
        """The day the last days' statistics were last compared with Oura's documents."""
        return self._day("reconciled_on")

    def set_reconciled_on(self, day: date) -> None:
        """Remember the day of the last reconcile."""
        self._set("reconciled_on", day.isoformat())

    def get(self, key: str) -> Any:
        """Another saved value (webhook secrets and subscriptions)."""
        return self.data.get(key)

    def set(self, key: str, value: Any) -> None:
        """Save another value soon."""
        self._set(key, value)

    async def async_save(self) -> None:
        """Save now (the entry is unloading)."""
        await self._store.async_save(self.data)

    async def async_remove(self) -> None:
        """Delete the file (the entry was removed)."""
        await self._store.async_remove()
