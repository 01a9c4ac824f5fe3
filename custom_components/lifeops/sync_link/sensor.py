"""The sync service's status per peer as diagnostic sensors on the hub device.

Three per peer the service reports (added as peers appear): the last successful sync, the
changes this site holds that the peer is not known to have, and the last error. They are
unavailable while the service does not answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from ..data import LifeOpsConfigEntry
from ..entity import HUB, device_info
from .status import SyncStatusCoordinator


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _error(value: Any) -> str | None:
    return value[:255] if isinstance(value, str) else None


@dataclass(frozen=True, kw_only=True)
class SyncPeerSensorDescription(SensorEntityDescription):
    """A figure of one peer's status (`GET /v1/status`)."""

    value_fn: Callable[[dict[str, Any]], datetime | int | str | None]


SYNC_PEER_SENSORS: tuple[SyncPeerSensorDescription, ...] = (
    SyncPeerSensorDescription(
        key="sync_last_success",
        translation_key="sync_last_success",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda peer: _timestamp(peer.get("last_success")),
    ),
    SyncPeerSensorDescription(
        key="sync_pending",
        translation_key="sync_pending",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda peer: _count(peer.get("pending")),
    ),
    SyncPeerSensorDescription(
        key="sync_last_error",
        translation_key="sync_last_error",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda peer: _error(peer.get("last_error")),
    ),
)


@callback
def async_setup_sync_sensors(
    entry: LifeOpsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the sensors of each peer the service reports, now and as peers appear."""
    manager = entry.runtime_data.sync
    if manager is None:
        return
    coordinator = manager.coordinator
    shown: set[str] = set()

    @callback
    def add_new() -> None:
        new = [peer for peer in coordinator.data or {} if peer not in shown]
        shown.update(new)
        async_add_entities(
            SyncPeerSensor(entry, coordinator, peer, description)
            for peer in new
            for description in SYNC_PEER_SENSORS
        )

    add_new()
    entry.async_on_unload(coordinator.async_add_listener(add_new))


class SyncPeerSensor(CoordinatorEntity[SyncStatusCoordinator], SensorEntity):
    """One figure of one peer's sync status."""

    _attr_has_entity_name = True
    entity_description: SyncPeerSensorDescription

    def __init__(
        self,
        entry: LifeOpsConfigEntry,
        coordinator: SyncStatusCoordinator,
        peer: str,
        description: SyncPeerSensorDescription,
    ) -> None:
        """Name the sensor after the peer; put it on the hub device."""
        super().__init__(coordinator)
        self.entity_description = description
        self.peer = peer
        node_id = entry.runtime_data.node_id
        self._attr_unique_id = f"{node_id}_{HUB}_{description.key}_{peer}"
        self._attr_translation_placeholders = {"peer": peer}
        self._attr_device_info = device_info(entry, None)

    @property
    def available(self) -> bool:
        """Unavailable while the service does not answer or no longer reports the peer."""
        return super().available and self.peer in (self.coordinator.data or {})

    @property
    def native_value(self) -> datetime | int | str | None:
        """The figure from the last status."""
        peer = (self.coordinator.data or {}).get(self.peer)
        return None if peer is None else self.entity_description.value_fn(peer)
