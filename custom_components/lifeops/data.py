"""What a loaded LifeOps entry holds at run time."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .core.settings import Settings


@dataclass(kw_only=True)
class LifeOpsRuntimeData:
    """State of one LifeOps installation, kept in `entry.runtime_data`."""

    site: str
    node_id: str
    settings: Settings


type LifeOpsConfigEntry = ConfigEntry[LifeOpsRuntimeData]
