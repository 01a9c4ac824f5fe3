"""What an Oura account's diagnostics show of its coordinator: which documents it has, no data."""

from __future__ import annotations

from typing import Any

from .coordinator import OuraCoordinator


def coordinator_diagnostics(coordinator: OuraCoordinator) -> dict[str, Any]:
    """The last poll's outcome, its failed collections and the day of each latest document."""
    data = coordinator.data
    return {
        "last_update_success": coordinator.last_update_success,
        "last_sync": data.last_sync.isoformat() if data else None,
        # Collections that failed on the last poll (their sensors are unavailable).
        "failed": sorted(data.failed) if data else [],
        "days": {
            name: document.day.isoformat() if document is not None else None
            for name, document in (
                ("daily_sleep", data.daily_sleep if data else None),
                ("sleep", data.sleep if data else None),
                ("daily_readiness", data.readiness if data else None),
                ("daily_activity", data.activity if data else None),
                ("daily_spo2", data.spo2 if data else None),
                ("daily_stress", data.stress if data else None),
                ("sleep_time", data.sleep_time if data else None),
            )
        },
    }
