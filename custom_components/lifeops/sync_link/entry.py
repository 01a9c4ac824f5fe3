"""Sync for a site entry: started when it has sync options, and the `lifeops.sync_now` action."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from homeassistant.core import HomeAssistant, ServiceResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util.json import JsonValueType

from ..const import DOMAIN
from ..data import LifeOpsConfigEntry
from ..sync import SyncError
from .manager import SyncManager
from .options import SYNC_SECRET, SYNC_URL, sync_options


async def async_setup_sync(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> None:
    """Start syncing when the entry has sync options; reload the entry when they change."""
    options = sync_options(entry.options)
    if options[SYNC_URL] and options[SYNC_SECRET]:
        manager = SyncManager(hass, entry, options[SYNC_URL], options[SYNC_SECRET])
        entry.runtime_data.sync = manager
        await manager.async_start()

    async def _options_updated(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> None:
        manager = entry.runtime_data.sync
        running = manager.options if manager is not None else None
        new = sync_options(entry.options)
        if (new if new[SYNC_URL] and new[SYNC_SECRET] else None) != running:
            hass.config_entries.async_schedule_reload(entry.entry_id)

    entry.async_on_unload(entry.add_update_listener(_options_updated))


async def async_sync_now(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    """lifeops.sync_now: write what waits and sync with every peer; per-peer results."""
    manager = entry.runtime_data.sync
    if manager is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="sync_not_configured",
            translation_placeholders={"site": entry.title},
        )
    try:
        results = await manager.async_sync_now()
    except SyncError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="sync_unavailable",
            translation_placeholders={"site": entry.title},
        ) from err
    peers: list[JsonValueType] = [
        {"peer": result.peer, "success": result.error is None, "error": result.error}
        for result in results
    ]
    # Peers that call this site (the cabins, at home) are synced by their own loops: listed
    # with when they last did, not as synced now.
    called = {result.peer for result in results}
    for peer, status in sorted((manager.coordinator.data or {}).items()):
        if peer in called or not status.get("calls_us"):
            continue
        success = status.get("last_success")
        peers.append(
            {
                "peer": peer,
                "success": None,
                "error": None,
                "calls_this_site": True,
                "last_success": datetime.fromtimestamp(success / 1000, UTC).isoformat()
                if isinstance(success, int) and not isinstance(success, bool)
                else None,
            }
        )
    return {"peers": peers, "queued": len(manager.queue)}
