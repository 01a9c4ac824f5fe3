"""The sync service's status without a half-minute poll: read after writes, on (re)connecting,
when the change feed answers, and otherwise every ten minutes.

Through the public surface, against the real home and cabin services of test_sync.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
import weakref

from aiohttp import ClientSession
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.lifeops.sync_link import manager as manager_module
from custom_components.lifeops.sync_link.status import STATUS_INTERVAL

from .sync_sites import (  # noqa: F401  (fixtures)
    Sites,
    _client,
    _connected,
    _teardown,
    _until,
    config_dir_per_test,
    fast_retries,
    session,
    sites,
)


async def test_the_status_is_read_after_a_write_not_every_half_minute(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    manager = entry.runtime_data.sync
    assert manager is not None
    coordinator = manager.coordinator
    # The fallback interval: six reads an idle hour at most, not 120.
    assert coordinator.update_interval == STATUS_INTERVAL >= timedelta(minutes=10)
    assert "cabin" in (coordinator.data or {})

    reads = 0
    read_status = manager.client.status

    async def counted() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return await read_status()

    monkeypatch.setattr(manager.client, "status", counted)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "quiet_hours_start": "21:30:00"}
    )
    await hass.async_block_till_done()
    # Written, then the status read again at once (what the cabin lacks has changed).
    await _until(lambda: not manager.queue and reads >= 1)
    assert coordinator.last_update_success
    assert "cabin" in (coordinator.data or {})
    await _teardown(hass, entry)


async def test_the_status_follows_the_change_feeds_answers(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The feed answers every half second here (25 s for real), the status read with each.
    monkeypatch.setattr(manager_module, "FEED_WAIT", 0.5)
    monkeypatch.setattr(manager_module, "STATUS_AFTER_FEED", 0.1)
    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    manager = entry.runtime_data.sync
    assert manager is not None
    reads = 0
    read_status = manager.client.status

    async def counted() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return await read_status()

    monkeypatch.setattr(manager.client, "status", counted)
    # Nothing is written or changed: only the feed's answers bring the status.
    await _until(lambda: reads >= 3)
    assert not manager.queue
    assert manager.coordinator.last_update_success
    await _teardown(hass, entry)


async def test_the_sync_clients_requests_leave_no_keep_alive_timer(
    sites: Sites,  # noqa: F811
) -> None:
    # A connection kept open after an answer waits in the session's pool, and the pool's clean-up
    # timer wakes the loop some seconds later: one wake-up per long poll of an idle change feed.
    # The client asks for one connection a request, so nothing waits.
    async with ClientSession() as own:
        client = _client(own, sites.home)
        await client.connect()
        await client.status()
        habit = {"op": "set", "collection": "habits", "key": "stretch", "fields": {"n": 1}}
        await client.write([habit])
        await client.changes({}, wait=0)
        connector = own.connector
        assert connector is not None
        assert not connector._conns  # type: ignore[attr-defined]  # nothing kept open
        # Nor a clean-up timer: it holds the connector through a weak reference.
        loop = asyncio.get_running_loop()
        waiting = [
            handle
            for handle in loop._scheduled  # type: ignore[attr-defined]
            if not handle.cancelled() and connector in _weakly_held(handle._args)
        ]
        assert waiting == []


def _weakly_held(args: Any) -> list[object]:
    """What the weak references among a timer's arguments (nested in tuples) point to."""
    held: list[object] = []
    for arg in args or ():
        if isinstance(arg, weakref.ref):
            held.append(arg())
        elif isinstance(arg, tuple):
            held.extend(_weakly_held(arg))
    return held
