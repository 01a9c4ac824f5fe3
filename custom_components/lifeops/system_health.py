"""System health: each site's long-term store edition and sync service, and whether they answer."""

from __future__ import annotations

from typing import Any

from homeassistant.components import system_health
from homeassistant.core import HomeAssistant, callback

from .entry_kind import loaded_sites
from .sync_link.manager import SyncManager


@callback
def async_register(hass: HomeAssistant, register: system_health.SystemHealthRegistration) -> None:
    """Register the info callback."""
    register.async_register_info(system_health_info)


async def system_health_info(hass: HomeAssistant) -> dict[str, Any]:
    """The long-term store's edition and state, and sync's (never an address or a credential).

    With several sites in one Home Assistant, each value names its site.
    """
    sites = loaded_sites(hass)
    values: dict[str, list[str]] = {
        "long_term_store": [],
        "connected": [],
        "buffered_rows": [],
        "sync": [],
        "sync_queued": [],
        "sync_dropped_rows": [],
    }
    for entry in sites:
        store = entry.runtime_data.long_term_store
        status = store.info() if store is not None else None
        found = {
            "long_term_store": (status["edition"] or "unknown") if status else "not_configured",
            "connected": str(status["connected"]).lower() if status else "-",
            "buffered_rows": str(status["buffered_rows"]) if status else "-",
            **_sync(entry.runtime_data.sync),
        }
        for key, value in found.items():
            values[key].append(value if len(sites) == 1 else f"{entry.title}: {value}")
    if all(entry.runtime_data.sync is None for entry in sites):
        # Shown once some site syncs.
        del values["sync"], values["sync_queued"], values["sync_dropped_rows"]
    return {key: ", ".join(found) for key, found in values.items() if found}


def _sync(manager: SyncManager | None) -> dict[str, str]:
    """Whether the site's sync service answers, what waits for it, what a full queue left out."""
    if manager is None:
        return {"sync": "not_configured", "sync_queued": "-", "sync_dropped_rows": "-"}
    state = {True: "connected", False: "unreachable", None: "connecting"}[manager.connected]
    return {
        "sync": state,
        "sync_queued": str(len(manager.queue)),
        "sync_dropped_rows": str(manager.queue.dropped),
    }
