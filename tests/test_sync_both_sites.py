"""Sync where both sites' agents matter: the notification queue and the agents' switches.

The same Home Assistant runs the home and the cabin site entries, each talking to its own real
sync service (`sync_sites`); partitions are made with the proxies and a gate between them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import (
    WebSocketGenerator,
)

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.core.agents import Agent
from custom_components.lifeops.core.notifications import Status

from .sync_sites import (  # noqa: F401  (fixtures)
    Gate,
    Sites,
    _client,
    _home_entry,
    _read_again,
    _setup,
    _sync_options,
    _teardown,
    _until,
    config_dir_per_test,
    fast_retries,
    session,
    sites,
)

CABIN_NODE_ID = "fedcba9876543210fedcba9876543210"
BEDTIME_NOTICE = {"title": "Bedtime", "message": "Lights out in 30 minutes"}


async def _site(
    hass: HomeAssistant,
    url: str,
    template: MockConfigEntry,
    options: dict[str, Any],
    *,
    site: str,
    phone: str,
) -> MockConfigEntry:
    """A site's entry (home or cabin, in one Home Assistant) syncing through ``url``.

    Each site delivers to its own phone service (`notify.<phone>`), as each site's Home
    Assistant has its own.
    """
    node_id = template.data["node_id"] if site == "home" else CABIN_NODE_ID
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=site.capitalize(),
        unique_id=site,
        data={**template.data, "site": site, "node_id": node_id},
        options={**options, "notify_targets": [f"notify.{phone}"], **_sync_options(url)},
    )
    await _setup(hass, entry)
    manager = entry.runtime_data.sync
    assert manager is not None
    await _until(lambda: manager.connected is True and not manager.queue)
    return entry


def _quiet_now(options: dict[str, Any], quiet: bool) -> dict[str, Any]:
    """Options whose quiet hours hold normal notifications now (or not)."""
    now = dt_util.now().replace(second=0, microsecond=0)
    start = now - timedelta(hours=1) if quiet else now + timedelta(hours=2)
    return {
        **options,
        "quiet_hours_start": start.time().isoformat(),
        "quiet_hours_end": (start + timedelta(hours=3)).time().isoformat(),
    }


async def _call(hass: HomeAssistant, service: str, entry: MockConfigEntry, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=True,
    )


@dataclass
class HomeAndCabin:
    """Home's and the cabin's entries (one Home Assistant plays both) and their phones."""

    home: MockConfigEntry
    cabin: MockConfigEntry
    home_phone: list[ServiceCall]
    cabin_phone: list[ServiceCall]


@pytest.fixture
async def home_and_cabin(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> AsyncGenerator[HomeAndCabin]:
    """Both sites in quiet hours (normal notifications are held), through their services."""
    phones = (
        async_mock_service(hass, "notify", "home_phone"),
        async_mock_service(hass, "notify", "cabin_phone"),
    )
    quiet = _quiet_now(options, True)
    home = await _site(
        hass, sites.home.url, mock_config_entry, quiet, site="home", phone="home_phone"
    )
    cabin = await _site(
        hass, sites.cabin.url, mock_config_entry, quiet, site="cabin", phone="cabin_phone"
    )
    yield HomeAndCabin(home, cabin, *phones)
    await _teardown(hass, home)
    await _teardown(hass, cabin)


async def test_a_notification_is_delivered_by_its_own_site_only_and_followed_at_the_other(
    hass: HomeAssistant, home_and_cabin: HomeAndCabin, hass_ws_client: WebSocketGenerator
) -> None:
    home, cabin = home_and_cabin.home, home_and_cabin.cabin
    home_queue = home.runtime_data.notifications.queue
    cabin_queue = cabin.runtime_data.notifications.queue

    # Made at home in quiet hours: held there, and shown at the cabin as home's.
    made = await _call(hass, "notify", home, **BEDTIME_NOTICE)
    bedtime = made["notification_id"]
    await _until(lambda: cabin_queue.get(bedtime) is not None)
    mirrored = cabin_queue.get(bedtime)
    assert mirrored is not None
    assert (mirrored.site, mirrored.status, mirrored.title) == ("home", Status.PENDING, "Bedtime")
    assert home_queue.get(bedtime).site is None
    pending = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{CABIN_NODE_ID}_notifications_pending_notifications"
    )
    assert pending is not None
    state = hass.states.get(pending)
    assert state is not None and state.state == "1"
    assert [(n["id"], n["site"]) for n in state.attributes["notifications"]] == [(bedtime, "home")]
    listed = await _call(hass, "notify", cabin, title="Stretch", message="Stand up")
    own = hass.states.get(pending).attributes["notifications"]
    assert {n["id"]: n["site"] for n in own} == {bedtime: "home", listed["notification_id"]: None}
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "lifeops/notifications", "config_entry_id": cabin.entry_id}
    )
    answer = await client.receive_json()
    shown = {n["id"]: n["site"] for n in answer["result"]["notifications"]}
    assert shown == {bedtime: "home", listed["notification_id"]: None}

    # The cabin's own agents raise the same notification meanwhile: merged into home's.
    again = await _call(hass, "notify", cabin, **BEDTIME_NOTICE)
    assert (again["notification_id"], again["created"]) == (bedtime, False)

    # Quiet hours end: home delivers it, once; the cabin follows and sends nothing itself.
    hass.config_entries.async_update_entry(home, options={**home.options, **_quiet_now({}, False)})
    await hass.async_block_till_done()
    await _until(lambda: home_queue.get(bedtime).status is Status.DELIVERED)
    await _until(lambda: cabin_queue.get(bedtime).status is Status.DELIVERED)
    assert cabin_queue.get(bedtime).delivered_at == home_queue.get(bedtime).delivered_at
    assert [call.data["title"] for call in home_and_cabin.home_phone] == ["Bedtime"]
    # Raised at the cabin again within the dedupe window: still home's, still not sent here.
    again = await _call(hass, "notify", cabin, **BEDTIME_NOTICE)
    assert (again["notification_id"], again["created"]) == (bedtime, False)
    await _until(lambda: "Stretch" in {n.title for n in home_queue.all() if n.site == "cabin"})
    await asyncio.sleep(0.5)
    # The cabin sent only its own (its quiet hours ended too: settings are synced).
    assert [call.data["title"] for call in home_and_cabin.cabin_phone] == ["Stretch"]
    assert len(home_and_cabin.home_phone) == 1


async def test_another_sites_notification_dismissed_here_is_dismissed_there_and_pruned_with_it(
    hass: HomeAssistant,
    home_and_cabin: HomeAndCabin,
    sites: Sites,  # noqa: F811
) -> None:
    home, cabin = home_and_cabin.home, home_and_cabin.cabin
    home_queue = home.runtime_data.notifications.queue
    cabin_queue = cabin.runtime_data.notifications.queue
    bedtime = (await _call(hass, "notify", home, **BEDTIME_NOTICE))["notification_id"]
    await _until(lambda: cabin_queue.get(bedtime) is not None)

    # Home's notification dismissed at the cabin: dismissed at home, and stays so at the cabin.
    await _call(hass, "dismiss_notification", cabin, notification_id=bedtime)
    await _until(lambda: home_queue.get(bedtime).status is Status.DISMISSED)
    home_api = _client(sites.session, sites.home)
    deadline = asyncio.get_running_loop().time() + 8
    while (await home_api.records("notifications", bedtime))[bedtime]["status"] != "dismissed":
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    assert cabin_queue.get(bedtime).status is Status.DISMISSED
    dismissals = await home_api.records("notification_dismissals")
    assert dismissals[home_queue.get(bedtime).dedupe_key]["site"] == "cabin"

    # A week on, home forgets it (the next time its queue is processed): so does the cabin.
    home_queue.keep_finished = timedelta(0)
    await _call(hass, "notify", home, title="Walk", message="Outside")
    await _until(lambda: home_queue.get(bedtime) is None)
    await _until(lambda: cabin_queue.get(bedtime) is None)
    assert bedtime not in await home_api.records("notifications")
    await _until(lambda: any(n.title == "Walk" and n.site == "home" for n in cabin_queue.all()))
    assert home_and_cabin.home_phone == [] and home_and_cabin.cabin_phone == []


async def test_the_queue_and_switches_are_written_once_after_upgrading_and_not_again_on_restart(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
    hass_storage: dict[str, Any],
) -> None:
    # Stored by a version that synced, but neither the queue nor the switches.
    now = dt_util.utcnow().replace(microsecond=0)
    waiting = {
        "id": "waiting",
        **BEDTIME_NOTICE,
        "priority": 3,
        "agent": "sleep",
        "url": None,
        "targets": ["notify.home_phone"],
        "created": (now - timedelta(hours=1)).isoformat(),
        "scheduled": (now + timedelta(days=1)).isoformat(),
        "status": "pending",
        "attempts": 0,
        "next_attempt": None,
        "last_error": None,
        "delivered_at": None,
        "dedupe_key": "bedtime:tomorrow",
        "count": 1,
    }
    key = f"lifeops.{mock_config_entry.entry_id}"
    sync = {"node_id": "home", "cursor": {}, "queue": [], "settings": {}, "dismissed": []}
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {
            "notifications": {"items": [waiting]},
            "enabled": {"fitness": False},
            "sync": sync,
        },
    }
    entry = _home_entry(
        mock_config_entry, options, sites.home.url, entry_id=mock_config_entry.entry_id
    )
    await _setup(hass, entry)
    manager = entry.runtime_data.sync
    assert manager is not None
    await _until(lambda: manager.connected is True and not manager.queue)
    home_api = _client(sites.session, sites.home)
    record = (await home_api.records("notifications"))["waiting"]
    assert record["site"] == "home" and record["status"] == "pending"
    assert "targets" not in record and "attempts" not in record  # delivery details stay here
    agents = (await home_api.records("settings", "agents"))["agents"]
    assert agents["fitness"] is False and agents["sleep"] is True
    written = (await home_api.changes({}, wait=0)).cursor

    # A restart: what was written is remembered, nothing goes out again.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    manager = entry.runtime_data.sync
    assert manager is not None
    await _until(lambda: manager.connected is True)
    await hass.services.async_call(DOMAIN, "sync_now", {}, blocking=True, return_response=True)
    feed = await home_api.changes(written, wait=0)
    assert feed.changes == []
    assert entry.runtime_data.notifications.queue.get("waiting") is not None
    await _teardown(hass, entry)


async def test_an_agent_turned_off_at_one_site_is_off_at_the_other_and_a_later_flip_wins(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    gate = Gate(sites.session, sites.home.url)
    await gate.start()
    try:
        home = await _site(hass, gate.url, mock_config_entry, options, site="home", phone="p")
        cabin = await _site(
            hass, sites.cabin.url, mock_config_entry, options, site="cabin", phone="p"
        )
        registry = er.async_get(hass)

        def switch(entry: MockConfigEntry, agent: str) -> str:
            node_id = entry.data["node_id"]
            entity_id = registry.async_get_entity_id("switch", DOMAIN, f"{node_id}_{agent}_enabled")
            assert entity_id is not None
            return entity_id

        def state(entry: MockConfigEntry, agent: str) -> str | None:
            current = hass.states.get(switch(entry, agent))
            return current.state if current is not None else None

        async def flip(entry: MockConfigEntry, agent: str, on: bool) -> None:
            service = "turn_on" if on else "turn_off"
            target = {"entity_id": switch(entry, agent)}
            await hass.services.async_call("switch", service, target, blocking=True)

        # The sleep agent turned off at the cabin: off at home, its switch shows it.
        await flip(cabin, "sleep", False)
        await _until(lambda: state(home, "sleep") == "off")
        assert home.runtime_data.is_enabled(Agent.SLEEP) is False
        assert state(home, "work_life") == "on"

        # Home loses its service. The cabin turns sleep back on and work off; later, at home,
        # the person turns sleep on and off again (queued). Home hears from its service again
        # before it can write: the cabin's work flip arrives, its older sleep flip does not
        # undo the one waiting here. Once written, home's flip wins there too.
        home_manager = home.runtime_data.sync
        assert home_manager is not None
        gate.close()
        await _until(lambda: home_manager.connected is False)
        await flip(cabin, "sleep", True)
        await flip(cabin, "work_life", False)
        home_api = _client(sites.session, sites.home)
        deadline = asyncio.get_running_loop().time() + 8
        while (await home_api.records("settings", "agents"))["agents"]["work_life"] is not False:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
        await flip(home, "sleep", True)
        await flip(home, "sleep", False)
        assert home_manager.queue
        gate.writes_closed, gate.closed = True, False
        # The cabin's older sleep flip came with it (or before): left for the flip on its way.
        await _until(lambda: state(home, "work_life") == "off")
        assert state(home, "sleep") == "off"
        assert home_manager.queue
        gate.writes_closed = False
        await _until(lambda: not home_manager.queue)
        await _until(lambda: state(cabin, "sleep") == "off")
        await _until(lambda: _read_again(home_manager))
        assert state(home, "sleep") == "off"
        assert (await home_api.records("settings", "agents"))["agents"]["sleep"] is False
        await _teardown(hass, home)
        await _teardown(hass, cabin)
    finally:
        await gate.stop()
