"""Finishing a flow that changed an existing entry (reauthentication, reconfiguration).

Home Assistant's `async_update_reload_and_abort` reloads the entry itself, which 2026.x reports
for entries with update listeners (an error from 2026.12): their listeners are to apply the
change. LifeOps' entries have such listeners (a site's options, sync, the long-term store; an
Oura account's options), and each reloads when what it depends on changed. An entry that is
not loaded has no listeners, and may have failed for exactly what the flow fixed: it is reloaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlow, ConfigFlowResult

if TYPE_CHECKING:
    from .entry_kind import AnyLifeOpsEntry


def async_update_entry_and_abort(
    flow: ConfigFlow,
    entry: AnyLifeOpsEntry,
    *,
    reason: str,
    unique_id: str | None = None,
    title: str | None = None,
    data: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> ConfigFlowResult:
    """Save the changes given, have them applied, and end the flow with `reason`."""
    changes: dict[str, Any] = {}
    if unique_id is not None:
        changes["unique_id"] = unique_id
    if title is not None:
        changes["title"] = title
    if data is not None:
        changes["data"] = data
    if options is not None:
        changes["options"] = options
    hass = flow.hass
    hass.config_entries.async_update_entry(entry, **changes)
    if entry.state is not ConfigEntryState.LOADED:
        hass.config_entries.async_schedule_reload(entry.entry_id)
    return flow.async_abort(reason=reason)
