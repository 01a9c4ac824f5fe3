"""Sync through the public surface: two real sync-service processes (home and cabin) on 127.0.0.1,
the home Home Assistant's site entry talking to the home service.

The cabin's Home Assistant is mostly played by the cabin's local API, written to exactly as the
integration writes (the record `settings/person`, items `xp/<id>`). Partitions are made with
proxies between the services (`sync_sites.py`). The habits, work log and dismissals are in
test_sync_records.py; the notification queue and the agents' switches, where both sites'
agents matter, in test_sync_both_sites.py; the merge rules alone, without processes, in
sync/test_mirror.py and test_sync_adapters.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import json
import logging
from pathlib import Path
import time
from typing import Any

from aiohttp import ClientSession, web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    get_system_health_info,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
)

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.sync import SyncClient
from custom_components.lifeops.sync_link.options import CONF_SYNC, SYNC_SECRET, SYNC_URL

from .sync.nodes import API_SECRET
from .sync.test_sync_processes import Service, free_port, wait_up
from .sync_sites import (  # noqa: F401  (fixtures)
    TOTAL_XP,
    Gate,
    Sites,
    _award,
    _client,
    _connected,
    _home_entry,
    _read_again,
    _setup,
    _teardown,
    _two_sites,
    _until,
    _xp,
    config_dir_per_test,
    fast_retries,
    session,
    sites,
)


async def test_a_cabin_edit_reaches_home_and_a_home_edit_is_not_lost(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    manager = entry.runtime_data.sync
    assert manager is not None
    session = sites.session  # noqa: F811

    # Apart: the cabin moves bedtime and earns XP; home changes quiet hours and earns XP.
    sites.partition(True)
    await _client(session, sites.cabin).write(
        [
            {
                "op": "set",
                "collection": "settings",
                "key": "person",
                "fields": {"bedtime": "23:15:00"},
            },
            {
                "op": "add",
                "collection": "xp",
                "key": "cabin-hike",
                "value": _xp("cabin-hike", 30, "cabin"),
            },
        ],
    )
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "quiet_hours_start": "21:30:00"}
    )
    await _award(hass, agent="fitness", event_type="walk", amount=20, id="home-walk")
    await hass.async_block_till_done()
    await _until(lambda: not manager.queue)  # written to the home service
    await asyncio.sleep(0.5)
    assert entry.options["bedtime"] == "22:30:00"  # the cabin is out of reach
    assert hass.states.get(TOTAL_XP).state == "20"

    # They meet: within seconds the cabin's edit and XP are at home, home's at the cabin.
    sites.partition(False)
    await _until(lambda: entry.options["bedtime"] == "23:15:00")
    await _until(lambda: hass.states.get(TOTAL_XP).state == "50")
    assert entry.options["quiet_hours_start"] == "21:30:00"  # home's edit is kept
    assert entry.runtime_data.settings.bedtime.isoformat() == "23:15:00"

    async def at_cabin() -> tuple[dict[str, Any], dict[str, Any]]:
        records = await _client(session, sites.cabin).records("settings")
        items = await _client(session, sites.cabin).items("xp")
        return records, items

    deadline = asyncio.get_running_loop().time() + 8
    while True:
        records, items = await at_cabin()
        if records["person"].get("quiet_hours_start") == "21:30:00" and "home-walk" in items:
            break
        assert asyncio.get_running_loop().time() < deadline, (records, items)
        await asyncio.sleep(0.1)
    assert records["person"]["bedtime"] == "23:15:00"
    assert items["home-walk"]["amount"] == 20

    # Merging again (the same events heard twice) counts nothing twice.
    await _client(session, sites.cabin).write(
        [
            {
                "op": "add",
                "collection": "xp",
                "key": "cabin-hike",
                "value": _xp("cabin-hike", 30, "cabin"),
            }
        ],
    )
    response = await hass.services.async_call(
        DOMAIN, "sync_now", {}, blocking=True, return_response=True
    )
    assert response == {"peers": [{"peer": "cabin", "success": True, "error": None}], "queued": 0}
    await asyncio.sleep(0.5)
    assert hass.states.get(TOTAL_XP).state == "50"

    # Per-peer diagnostic sensors from the service's status.
    registry = er.async_get(hass)
    peer_entities = [
        e
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if "sync" in e.unique_id
    ]
    assert {e.translation_key for e in peer_entities} == {
        "sync_last_success",
        "sync_pending",
        "sync_last_error",
    }
    assert all(e.entity_category is EntityCategory.DIAGNOSTIC for e in peer_entities)
    last_success = next(e for e in peer_entities if e.translation_key == "sync_last_success")
    state = hass.states.get(last_success.entity_id)
    assert state is not None and state.state not in ("unknown", "unavailable")
    assert "cabin" in state.attributes["friendly_name"]
    await _teardown(hass, entry)


async def test_service_down_at_setup_queues_and_delivers_later(
    hass: HomeAssistant,
    tmp_path: Path,
    session: ClientSession,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    service = Service("home", tmp_path, ["--no-fsync"])
    entry = _home_entry(mock_config_entry, options, service.url)
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    manager = entry.runtime_data.sync
    assert manager is not None
    await _until(lambda: manager.connected is False)
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, f"sync_unreachable_{entry.entry_id}") is not None
    assert await async_setup_component(hass, "system_health", {})
    info = await get_system_health_info(hass, DOMAIN)
    assert info["sync"] == "unreachable"

    # Works alone meanwhile: the XP counts here, the change waits in the queue (its own file).
    await _award(hass, agent="fitness", event_type="walk", amount=15, id="offline-walk")
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "wake_time": "07:15:00"}
    )
    await hass.async_block_till_done()
    assert hass.states.get(TOTAL_XP).state == "15"
    assert {op["op"] for op in manager.queue} == {"add", "set"}
    assert "queue" not in entry.runtime_data.store.collect()["sync"]

    await asyncio.to_thread(service.start)
    await wait_up(session, service)
    await _until(lambda: manager.connected is True and not manager.queue)
    items = await _client(session, service).items("xp")
    assert items["offline-walk"]["amount"] == 15
    records = await _client(session, service).records("settings")
    assert records["person"]["wake_time"] == "07:15:00"
    assert issues.async_get_issue(DOMAIN, f"sync_unreachable_{entry.entry_id}") is None
    info = await get_system_health_info(hass, DOMAIN)
    assert (info["sync"], info["sync_queued"]) == ("connected", "0")
    warnings = [r for r in caplog.records if "cannot reach its sync service" in r.getMessage()]
    assert len(warnings) == 1  # once, not once per retry
    assert API_SECRET not in caplog.text
    await _teardown(hass, entry)
    await asyncio.to_thread(service.stop)


async def test_sync_now_needs_sync_set_up(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    assert init_integration.runtime_data.sync is None
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "sync_now", {}, blocking=True, return_response=True)
    assert err.value.translation_key == "sync_not_configured"


async def test_sync_now_when_the_service_is_away(
    hass: HomeAssistant,
    socket_enabled: None,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    entry = _home_entry(mock_config_entry, options, f"http://127.0.0.1:{free_port()}")
    await _setup(hass, entry)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "sync_now", {}, blocking=True, return_response=True)
    assert err.value.translation_key == "sync_unavailable"
    await _teardown(hass, entry)


async def _options_sync_step(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert "sync" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "sync"}
    )
    assert result["step_id"] == "sync"
    return str(result["flow_id"])


async def test_options_step_tests_the_service_on_submit(
    hass: HomeAssistant,
    tmp_path: Path,
    session: ClientSession,  # noqa: F811
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = init_integration
    service = Service("home", tmp_path, ["--no-fsync"])
    await asyncio.to_thread(service.start)
    other = web.Application()

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "fine"})

    other.router.add_get("/v1/health", health)
    runner = web.AppRunner(other, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    other_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        await wait_up(session, service)
        before = dict(entry.options)
        for user_input, error in (
            ({SYNC_URL: "ftp://127.0.0.1:1", SYNC_SECRET: "x"}, {SYNC_URL: "sync_invalid_url"}),
            ({SYNC_URL: "http://me:pw@127.0.0.1:1"}, {SYNC_URL: "sync_invalid_url"}),
            ({SYNC_URL: service.url}, {SYNC_SECRET: "sync_secret_required"}),
            (
                {SYNC_URL: f"http://127.0.0.1:{free_port()}", SYNC_SECRET: API_SECRET},
                {"base": "sync_cannot_connect"},
            ),
            (
                {SYNC_URL: service.url, SYNC_SECRET: "wrong-0123456789"},
                {"base": "sync_invalid_auth"},
            ),
            ({SYNC_URL: other_url, SYNC_SECRET: API_SECRET}, {"base": "sync_not_a_service"}),
        ):
            flow_id = await _options_sync_step(hass, entry)
            result = await hass.config_entries.options.async_configure(flow_id, user_input)
            assert result["type"] == "form", user_input
            assert result["errors"] == error, user_input
            assert dict(entry.options) == before  # nothing changed
            hass.config_entries.options.async_abort(flow_id)

        flow_id = await _options_sync_step(hass, entry)
        result = await hass.config_entries.options.async_configure(
            flow_id, {SYNC_URL: service.url + "/", SYNC_SECRET: API_SECRET}
        )
        assert result["type"] == "create_entry"
        await hass.async_block_till_done()
        assert entry.options[CONF_SYNC] == {SYNC_URL: service.url, SYNC_SECRET: API_SECRET}
        assert entry.state is ConfigEntryState.LOADED
        manager = entry.runtime_data.sync  # the entry reloaded with sync on
        assert manager is not None
        await _until(lambda: manager.connected is True)

        # An empty secret keeps the stored one; an empty address turns sync off.
        flow_id = await _options_sync_step(hass, entry)
        result = await hass.config_entries.options.async_configure(flow_id, {SYNC_URL: service.url})
        assert result["type"] == "create_entry"
        assert entry.options[CONF_SYNC][SYNC_SECRET] == API_SECRET
        flow_id = await _options_sync_step(hass, entry)
        result = await hass.config_entries.options.async_configure(flow_id, {})
        assert result["type"] == "create_entry"
        await hass.async_block_till_done()
        assert entry.options[CONF_SYNC] == {}
        assert entry.runtime_data.sync is None
        assert API_SECRET not in caplog.text
    finally:
        await runner.cleanup()
        await asyncio.to_thread(service.stop)


async def test_diagnostics_never_show_the_sync_secret(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    tmp_path: Path,
    session: ClientSession,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    service = Service("home", tmp_path, ["--no-fsync"])
    await asyncio.to_thread(service.start)
    try:
        await wait_up(session, service)
        entry = _home_entry(mock_config_entry, options, service.url)
        assert await async_setup_component(hass, "diagnostics", {})
        await _setup(hass, entry)
        manager = entry.runtime_data.sync
        assert manager is not None
        await _until(lambda: manager.connected is True)
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        assert API_SECRET not in json.dumps(diagnostics)
        assert diagnostics["entry"]["options"]["sync"]["secret"] == "**REDACTED**"
        assert diagnostics["runtime"]["sync"]["connected"] is True
        assert diagnostics["runtime"]["sync"]["node_id"] == "home"
        await _teardown(hass, entry)
    finally:
        await asyncio.to_thread(service.stop)


async def test_an_edit_made_while_the_service_was_away_wins_over_an_older_remote_one(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = Gate(sites.session, sites.home.url)
    await gate.start()
    entry = _home_entry(mock_config_entry, options, gate.url)
    try:
        await _setup(hass, entry)
        manager = entry.runtime_data.sync
        assert manager is not None
        await _until(lambda: manager.connected is True and not manager.queue)

        # Home's HA loses its service; meanwhile the cabin's edit reaches the home service, and
        # the person edits the same setting at home (queued: the service is away).
        registry = er.async_get(hass)
        unique_id = f"{entry.runtime_data.node_id}_hub_sync_pending_cabin"
        await _until(lambda: registry.async_get_entity_id("sensor", DOMAIN, unique_id) is not None)
        pending = registry.async_get_entity_id("sensor", DOMAIN, unique_id)
        assert pending is not None
        await _until(lambda: hass.states.get(pending) is not None)
        gate.close()
        await _until(lambda: manager.connected is False)
        assert hass.states.get(pending).state == "unavailable"
        cabin = _client(sites.session, sites.cabin)
        await cabin.write(
            [
                {
                    "op": "set",
                    "collection": "settings",
                    "key": "person",
                    "fields": {"bedtime": "23:15:00", "work_cutoff": "17:00:00"},
                }
            ]
        )
        home = _client(sites.session, sites.home)

        async def home_has_it() -> bool:
            person = (await home.records("settings")).get("person", {})
            return person.get("bedtime") == "23:15:00"

        deadline = asyncio.get_running_loop().time() + 8
        while not await home_has_it():
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, "bedtime": "21:45:00"}
        )
        await hass.async_block_till_done()
        assert manager.queue

        # Back: home's queued edit is written (stamped now, so it wins); the cabin's other field
        # arrives; the older cabin bedtime never overwrites the local edit, here or there.
        gate.closed = False
        await _until(lambda: entry.options["work_cutoff"] == "17:00:00" and not manager.queue)
        await _until(lambda: hass.states.get(pending).state not in ("unavailable", "unknown"))
        await _until(lambda: _read_again(manager))
        assert entry.options["bedtime"] == "21:45:00"
        deadline = asyncio.get_running_loop().time() + 8
        while (await cabin.records("settings"))["person"]["bedtime"] != "21:45:00":
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)

        # A setting another site sends that fails the checks changes nothing here.
        before = dict(entry.options)
        await cabin.write(
            [
                {
                    "op": "set",
                    "collection": "settings",
                    "key": "person",
                    "fields": {"wake_time": "21:45:00"},  # equal to bedtime: refused
                }
            ]
        )
        await _until(lambda: "settings record 'person.wake_time'" in caplog.text)
        assert dict(entry.options) == before
        info = entry.runtime_data.sync.info()
        assert info["refused_records"] == {"settings": 1}
        assert info["last_error"] == "invalid_synced_settings"
        await _teardown(hass, entry)
    finally:
        await gate.stop()


BEDTIME = "time.lifeops_sleep_bedtime"


async def _home_behind_a_gate(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811
    template: MockConfigEntry,
    options: dict[str, Any],
) -> tuple[MockConfigEntry, Gate]:
    """Home's entry, reaching its service through a gate the test can close; synced once."""
    gate = Gate(sites.session, sites.home.url)
    await gate.start()
    entry = _home_entry(template, options, gate.url)
    await _setup(hass, entry)
    manager = entry.runtime_data.sync
    assert manager is not None
    await _until(lambda: manager.connected is True and not manager.queue)
    return entry, gate


async def _bedtime_at(client: SyncClient, expected: str) -> None:
    deadline = asyncio.get_running_loop().time() + 8
    while (bedtime := (await client.records("settings"))["person"].get("bedtime")) != expected:
        assert asyncio.get_running_loop().time() < deadline, bedtime
        await asyncio.sleep(0.1)


async def test_an_edit_queued_while_the_service_was_away_loses_to_a_later_remote_one(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    entry, gate = await _home_behind_a_gate(hass, sites, mock_config_entry, options)
    try:
        manager = entry.runtime_data.sync
        assert manager is not None
        gate.close()
        await _until(lambda: manager.connected is False)
        # Home edits bedtime while its service is away (queued, saying when it was made) ...
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, "bedtime": "21:45:00"}
        )
        await hass.async_block_till_done()
        (queued,) = [op for op in manager.queue if op.get("collection") == "settings"]
        assert queued["fields"] == {"bedtime": "21:45:00"} and "seen" in queued
        await _until(lambda: time.time() * 1000 > queued["at"] + 50)
        # ... the cabin edits it afterwards, and that edit reaches home's service first.
        cabin = _client(sites.session, sites.cabin)
        person = {"op": "set", "collection": "settings", "key": "person"}
        await cabin.write([{**person, "fields": {"bedtime": "23:15:00"}}])
        home = _client(sites.session, sites.home)
        await _bedtime_at(home, "23:15:00")

        # Back: the later cabin edit wins at both sites, and home shows it.
        gate.closed = False
        await _until(lambda: entry.options["bedtime"] == "23:15:00" and not manager.queue)
        await hass.async_block_till_done()
        assert hass.states.get(BEDTIME).state == "23:15:00"
        assert entry.runtime_data.settings.bedtime.isoformat() == "23:15:00"
        await _bedtime_at(home, "23:15:00")
        await _bedtime_at(cabin, "23:15:00")
        await _teardown(hass, entry)
    finally:
        await gate.stop()


@pytest.fixture
async def fast_cabin(tmp_path: Path, session: ClientSession) -> AsyncGenerator[Sites]:  # noqa: F811
    """Home and cabin calling each other; the cabin's clock is an hour fast."""
    async with _two_sites(
        tmp_path, session, home_calls_cabin=True, seed=2, cabin_skew=3600
    ) as pair:
        yield pair


async def test_an_edit_made_after_seeing_a_fast_cabins_edit_wins_at_both_sites(
    hass: HomeAssistant,
    fast_cabin: Sites,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    sites = fast_cabin  # noqa: F811
    entry, gate = await _home_behind_a_gate(hass, sites, mock_config_entry, options)
    try:
        manager = entry.runtime_data.sync
        assert manager is not None
        # The cabin, its clock an hour ahead, moves bedtime; home shows it.
        cabin = _client(sites.session, sites.cabin)
        person = {"op": "set", "collection": "settings", "key": "person"}
        await cabin.write([{**person, "fields": {"bedtime": "23:15:00"}}])
        await _until(lambda: hass.states.get(BEDTIME).state == "23:15:00")

        # Then home edits it, with its service away: the edit was made after seeing the
        # cabin's (whose stamp is an hour later by the clock), so it wins everywhere.
        gate.close()
        await _until(lambda: manager.connected is False)
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, "bedtime": "21:45:00"}
        )
        await hass.async_block_till_done()
        assert manager.queue
        gate.closed = False
        await _until(lambda: manager.connected is True and not manager.queue)
        await _bedtime_at(_client(sites.session, sites.home), "21:45:00")
        await _bedtime_at(cabin, "21:45:00")
        await hass.async_block_till_done()
        assert entry.options["bedtime"] == "21:45:00"
        assert hass.states.get(BEDTIME).state == "21:45:00"
        await _teardown(hass, entry)
    finally:
        await gate.stop()
