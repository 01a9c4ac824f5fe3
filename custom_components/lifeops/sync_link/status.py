"""The sync service's status per peer (`GET /v1/status`), for the peer sensors."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from ..const import DOMAIN
from ..data import LifeOpsConfigEntry
from ..sync import SyncClient, SyncError

_LOGGER = logging.getLogger(__name__)

# The status is read when the change feed answers (at most every STATUS_AFTER_FEED seconds),
# after each write, on connecting and losing the service; otherwise every STATUS_INTERVAL.
STATUS_INTERVAL: Final = timedelta(minutes=10)
STATUS_AFTER_FEED: Final = 20.0


class SyncStatusCoordinator(DataUpdateCoordinator[dict[str, dict[str, Any]]]):
    """The service's status per peer, by peer node id.

    Not polled every half minute: the sync manager refreshes it when the change feed answers,
    after each write and on (re)connecting; the interval is a fallback.
    """

    config_entry: LifeOpsConfigEntry

    def __init__(self, hass: HomeAssistant, entry: LifeOpsConfigEntry, client: SyncClient) -> None:
        """Read the status every ten minutes unless the sync manager refreshed it since."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"lifeops sync status {entry.title}",
            update_interval=STATUS_INTERVAL,
        )
        self.client = client
        self._read_at = 0.0  # the loop's time of the last refresh asked by the manager

    async def async_refresh_unless_fresh(self, unless_within: float = 0.0) -> None:
        """Read the status now, unless it was read less than `unless_within` seconds ago."""
        now = self.hass.loop.time()
        if unless_within and now - self._read_at < unless_within:
            return
        self._read_at = now
        await self.async_refresh()

    async def _async_update_data(self) -> dict[str, dict[str, Any]]:
        try:
            status = await self.client.status()
        except SyncError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN, translation_key="sync_status_failed"
            ) from err
        peers = status.get("peers")
        if not isinstance(peers, list):
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="sync_status_failed")
        return {
            str(peer["node_id"]): peer
            for peer in peers
            if isinstance(peer, dict) and isinstance(peer.get("node_id"), str)
        }
