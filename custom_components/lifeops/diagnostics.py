"""Diagnostics for a LifeOps entry: what a maintainer needs to help, without any secret."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from .data import LifeOpsConfigEntry
from .entry_kind import is_oura_entry
from .oura_account.diagnostics import coordinator_diagnostics

if TYPE_CHECKING:
    from .entry_kind import AnyLifeOpsEntry
    from .oura_account.coordinator import OuraConfigEntry

# Every key that holds a credential, now or in a later part of LifeOps (OAuth tokens, the
# TimescaleDB password, the sync secret, webhook ids). Redacted wherever it appears.
TO_REDACT = {
    "access_token",
    "api_key",
    "client_secret",
    "email",
    "password",
    "refresh_token",
    "secret",
    "sync_secret",
    "token",
    "webhook_id",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: AnyLifeOpsEntry
) -> dict[str, Any]:
    """Return the entry's configuration, state and entities, secrets redacted."""
    if is_oura_entry(entry):
        return _oura_diagnostics(hass, entry)
    return _site_diagnostics(hass, entry)


def _entities(hass: HomeAssistant, entry: AnyLifeOpsEntry) -> list[dict[str, Any]]:
    registry = er.async_get(hass)
    entities = []
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        state = hass.states.get(entity.entity_id)
        entities.append(
            {
                "entity_id": entity.entity_id,
                "unique_id": entity.unique_id,
                "disabled": entity.disabled,
                "state": state.state if state else None,
            }
        )
    return sorted(entities, key=lambda item: item["entity_id"])


def _entry_data(entry: AnyLifeOpsEntry) -> dict[str, Any]:
    return async_redact_data(
        {
            "title": entry.title,
            "unique_id": entry.unique_id,
            "version": f"{entry.version}.{entry.minor_version}",
            "data": dict(entry.data),
            "options": dict(entry.options),
        },
        TO_REDACT,
    )


def _oura_diagnostics(hass: HomeAssistant, entry: OuraConfigEntry) -> dict[str, Any]:
    """An Oura account: its entry (token and email redacted), which documents it has, entities."""
    return {
        "entry": _entry_data(entry),
        "coordinator": coordinator_diagnostics(entry.runtime_data),
        "entities": _entities(hass, entry),
    }


def _site_diagnostics(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> dict[str, Any]:
    runtime = entry.runtime_data
    return {
        "entry": _entry_data(entry),
        "runtime": {
            "site": runtime.site,
            "node_id": runtime.node_id,
            "settings": async_redact_data(runtime.settings.as_options(), TO_REDACT),
            "enabled": dict(runtime.enabled),
            "wind_down_active": runtime.sleep.is_wind_down_active(),
            "working": runtime.work.tracker.is_working(),
            "work_sessions": len(runtime.work.tracker.sessions()),
            "notifications": {
                status: sum(
                    1 for item in runtime.notifications.queue.all() if item.status == status
                )
                for status in ("pending", "delivered", "failed", "dismissed")
            },
            "gamification": {
                "habits": len(runtime.gamification.habits),
                "log_events": len(runtime.gamification.log),
                "total_xp": runtime.gamification.figures.total_xp,
                "level": runtime.gamification.figures.level.level,
                "achievements_unlocked": len(runtime.gamification.figures.unlocked),
            },
            # Never the secret: the service's address is in the options (its secret redacted).
            "sync": runtime.sync.info() if runtime.sync is not None else None,
        },
        "entities": _entities(hass, entry),
    }
