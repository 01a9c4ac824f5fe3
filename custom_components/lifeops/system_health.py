"""System health: which long-term store edition each site uses, and whether it is reachable."""

from __future__ import annotations

from typing import Any

from homeassistant.components import system_health
from homeassistant.core import HomeAssistant, callback

from .const import DOMAIN
from .data import is_oura_entry


@callback
def async_register(hass: HomeAssistant, register: system_health.SystemHealthRegistration) -> None:
    """Register the info callback."""
    register.async_register_info(system_health_info)


async def system_health_info(hass: HomeAssistant) -> dict[str, Any]:
    """The long-term store's edition and state (never its address or credentials).

    With several sites in one Home Assistant, each value names its site.
    """
    sites = [
        entry
        for entry in hass.config_entries.async_loaded_entries(DOMAIN)
        if not is_oura_entry(entry)
    ]
    values: dict[str, list[str]] = {"long_term_store": [], "connected": [], "buffered_rows": []}
    for entry in sites:
        store = entry.runtime_data.long_term_store
        status = store.info() if store is not None else None
        found = {
            "long_term_store": (status["edition"] or "unknown") if status else "not_configured",
            "connected": str(status["connected"]).lower() if status else "-",
            "buffered_rows": str(status["buffered_rows"]) if status else "-",
        }
        for key, value in found.items():
            values[key].append(value if len(sites) == 1 else f"{entry.title}: {value}")
    return {key: ", ".join(found) for key, found in values.items() if found}
