"""Sync through the public surface: two real sync-service processes (home and cabin) on 127.0.0.1,
the home Home Assistant's site entry talking to the home service.

The cabin's Home Assistant is mostly played by the cabin's local API, written to exactly as the
integration writes (the record `settings/person`, items `xp/<id>`); where both sites' agents
matter (the notification queue, the agents' switches) the same Home Assistant also runs the
cabin's site entry, talking to the cabin's service. Partitions are made with proxies between
the services.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import json
import logging
from pathlib import Path
import random
import time
from typing import Any

from aiohttp import ClientSession, web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
    get_system_health_info,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.core.agents import Agent
from custom_components.lifeops.core.notifications import Status, default_dedupe_key
from custom_components.lifeops.sync import SyncClient
from custom_components.lifeops.sync.mirror import FieldsMirror
from custom_components.lifeops.sync_link import retry
from custom_components.lifeops.sync_link.manager import SyncManager
from custom_components.lifeops.sync_link.options import CONF_SYNC, SYNC_SECRET, SYNC_URL

from .sync.nodes import API_SECRET, link_secret
from .sync.test_sync_processes import Proxy, Service, free_port, wait_up

TOTAL_XP = "sensor.lifeops_gamification_total_xp"
MEDITATE_STREAK = "sensor.lifeops_gamification_meditate_streak"
SYNC_ARGS = ["--sync-interval", "0.3", "--retry-max", "0.5", "--no-fsync"]


@dataclass
class Sites:
    """Home and cabin services, each calling the other through a proxy that can be cut."""

    session: ClientSession
    home: Service
    cabin: Service
    to_home: Proxy
    to_cabin: Proxy

    def partition(self, cut: bool) -> None:
        self.to_home.cut = cut
        self.to_cabin.cut = cut


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "RETRY_MAX", 0.5)
    monkeypatch.setattr(retry, "RETRY_MIN", 0.2)


@pytest.fixture(autouse=True)
def config_dir_per_test(hass: HomeAssistant, tmp_path: Path) -> None:
    """A config folder per test: the sync queue's file lives in its .storage."""
    hass.config.config_dir = str(tmp_path / "config")


@pytest.fixture
async def session(socket_enabled: None) -> AsyncGenerator[ClientSession]:
    async with ClientSession() as session:
        yield session


@dataclass
class Network:
    """Home's service and the cabins', each cabin calling home through a proxy that can be cut
    (and, if asked, home calling each cabin through another); cabins never talk to each other."""

    session: ClientSession
    services: dict[str, Service]
    to_home: dict[str, Proxy]  # each cabin's way to home
    to_cabin: dict[str, Proxy]  # home's way to each cabin

    def partition(self, cabin: str, cut: bool) -> None:
        """Cut (or heal) the links between home and one cabin."""
        self.to_home[cabin].cut = cut
        self.to_cabin[cabin].cut = cut


@contextlib.asynccontextmanager
async def _network(
    tmp_path: Path,
    session: ClientSession,
    cabins: Sequence[str],
    *,
    home_calls_cabins: bool,
    seed: int,
    skews: Mapping[str, int] | None = None,
) -> AsyncIterator[Network]:
    """Home and the cabins as service processes; each cabin has home as its only peer and
    calls it, home has every cabin as a peer (with its URL only if it calls them)."""
    rng = random.Random(seed)
    ports = {site: free_port() for site in ("home", *cabins)}
    to_home = {cabin: Proxy(f"http://127.0.0.1:{ports['home']}", session, rng) for cabin in cabins}
    to_cabin = {cabin: Proxy(f"http://127.0.0.1:{ports[cabin]}", session, rng) for cabin in cabins}
    home_peers: list[str] = []
    services: dict[str, Service] = {}
    for cabin in cabins:
        secret = link_secret("home", cabin)
        peer = f"{cabin},{secret}"
        if home_calls_cabins:
            peer += f",http://127.0.0.1:{to_cabin[cabin].port}"
        home_peers += ["--peer", peer]
        services[cabin] = Service(
            cabin,
            tmp_path,
            [
                *SYNC_ARGS,
                "--peer",
                f"home,{secret},http://127.0.0.1:{to_home[cabin].port}",
                *(["--clock-skew", str(skew)] if (skew := (skews or {}).get(cabin)) else []),
            ],
            port=ports[cabin],
        )
    services = {
        "home": Service("home", tmp_path, [*SYNC_ARGS, *home_peers], port=ports["home"]),
        **services,
    }
    proxies = [*to_home.values(), *to_cabin.values()]
    for proxy in proxies:
        await proxy.start()
    try:
        for service in services.values():
            await asyncio.to_thread(service.start)
            await wait_up(session, service)
        yield Network(session, services, to_home, to_cabin)
    finally:
        for service in services.values():
            await asyncio.to_thread(service.stop)
        for proxy in proxies:
            await proxy.stop()


@contextlib.asynccontextmanager
async def _two_sites(
    tmp_path: Path,
    session: ClientSession,
    *,
    home_calls_cabin: bool,
    seed: int,
    cabin_skew: int = 0,
) -> AsyncIterator[Sites]:
    """Home and one cabin (see `_network`); ``cabin_skew``: seconds the cabin's clock is off."""
    async with _network(
        tmp_path,
        session,
        ("cabin",),
        home_calls_cabins=home_calls_cabin,
        seed=seed,
        skews={"cabin": cabin_skew},
    ) as net:
        yield Sites(
            session,
            net.services["home"],
            net.services["cabin"],
            net.to_home["cabin"],
            net.to_cabin["cabin"],
        )


@pytest.fixture
async def sites(tmp_path: Path, session: ClientSession) -> AsyncGenerator[Sites]:
    """Home and cabin, each calling the other."""
    async with _two_sites(tmp_path, session, home_calls_cabin=True, seed=0) as pair:
        yield pair


def _sync_options(url: str, secret: str = API_SECRET) -> dict[str, Any]:
    return {CONF_SYNC: {SYNC_URL: url, SYNC_SECRET: secret}}


def _home_entry(
    template: MockConfigEntry, options: dict[str, Any], url: str, **extra: Any
) -> MockConfigEntry:
    """The home site's entry (the template's data) with these options, syncing through `url`."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id="home",
        data=dict(template.data),
        options={**options, **_sync_options(url)},
        **extra,
    )


def _client(session: ClientSession, service: Service) -> SyncClient:
    """The local API of a service, as a site's Home Assistant talks to it."""
    return SyncClient(session, service.url, API_SECRET)


async def _until(check: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not reached in time")
        await asyncio.sleep(0.05)


def _read_again(manager: SyncManager) -> bool:
    """Whether the settings left for a local edit on its way were read again since."""
    return all(
        not adapter.mirror.reread
        for adapter in manager.adapters
        if isinstance(getattr(adapter, "mirror", None), FieldsMirror)
    )


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def _teardown(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def _xp(event_id: str, amount: int, origin: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "time": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "agent": "fitness",
        "event_type": "hike",
        "amount": amount,
        "description": "",
        "origin": origin,
        "habit_id": None,
    }


async def _award(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "award_xp", data, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


async def _connected(
    hass: HomeAssistant, url: str, template: MockConfigEntry, options: dict[str, Any]
) -> MockConfigEntry:
    """The home site's entry, set up with sync to ``url`` and through its first sync."""
    entry = _home_entry(template, options, url)
    await _setup(hass, entry)
    manager = entry.runtime_data.sync
    assert manager is not None
    await _until(lambda: manager.connected is True and not manager.queue)
    return entry


async def test_a_cabin_edit_reaches_home_and_a_home_edit_is_not_lost(
    hass: HomeAssistant,
    sites: Sites,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    manager = entry.runtime_data.sync
    assert manager is not None
    session = sites.session

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
    session: ClientSession,
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
    session: ClientSession,
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
    session: ClientSession,
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


class Gate:
    """Home Assistant's way to its own service, which the test can close (any method)."""

    def __init__(self, session: ClientSession, target: str) -> None:
        self.session = session
        self.target = target
        self.closed = False
        self.writes_closed = False  # refuse only writes: the change feed still answers
        self.port = free_port()
        self.runner: web.AppRunner | None = None
        self.inflight: set[asyncio.Task[Any]] = set()
        self.paths: list[str] = []  # every request let through, in order
        # Closes the gate after forwarding a request whose path it accepts.
        self.close_after: Callable[[str], bool] | None = None

    def close(self) -> None:
        """Refuse from now on, and drop the requests under way (a long poll included)."""
        self.closed = True
        for task in self.inflight:
            task.cancel()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def handle(self, request: web.Request) -> web.Response:
        if self.closed or (self.writes_closed and request.path == "/v1/write"):
            return web.Response(status=503, text="closed")
        task = asyncio.current_task()
        assert task is not None
        self.inflight.add(task)
        self.paths.append(request.path_qs)
        try:
            return await self.forward(request)
        finally:
            self.inflight.discard(task)
            if self.close_after is not None and self.close_after(request.path_qs):
                self.closed = True

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-lifeops")}
        headers["Content-Type"] = request.headers.get("Content-Type", "application/json")
        async with self.session.request(
            request.method, self.target + request.path_qs, data=body, headers=headers
        ) as answer:
            keep = {k: v for k, v in answer.headers.items() if k.lower().startswith("x-lifeops")}
            return web.Response(status=answer.status, body=await answer.read(), headers=keep)

    async def stop(self) -> None:
        self.close()
        if self.runner is not None:
            await self.runner.cleanup()


async def test_an_edit_made_while_the_service_was_away_wins_over_an_older_remote_one(
    hass: HomeAssistant,
    sites: Sites,
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
    hass: HomeAssistant, sites: Sites, template: MockConfigEntry, options: dict[str, Any]
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
    sites: Sites,
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
async def fast_cabin(tmp_path: Path, session: ClientSession) -> AsyncGenerator[Sites]:
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
    sites = fast_cabin
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


async def test_habits_and_their_completions_sync_both_ways(
    hass: HomeAssistant,
    sites: Sites,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    session = sites.session
    # A habit completed at the cabin (an XP event naming the habit) counts for home's streak.
    await hass.services.async_call(
        DOMAIN, "create_habit", {"name": "Meditate", "xp": 25}, blocking=True
    )
    completion = {
        **_xp("cabin-meditate", 25, "cabin"),
        "agent": "gamification",
        "event_type": "habit_completed",
        "description": "Meditate",
        "habit_id": "meditate",
    }
    await _client(session, sites.cabin).write(
        [{"op": "add", "collection": "xp", "key": "cabin-meditate", "value": completion}]
    )
    await _until(lambda: hass.states.get(TOTAL_XP).state == "25")
    await _until(lambda: hass.states.get(MEDITATE_STREAK).state == "1")

    # Habits: one created at home reaches the cabin; one created at the cabin appears here, and
    # goes when the cabin removes it.
    async def cabin_habits() -> dict[str, Any]:
        return await _client(session, sites.cabin).records("habits")

    deadline = asyncio.get_running_loop().time() + 8
    while "meditate" not in await cabin_habits():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    assert (await cabin_habits())["meditate"]["xp"] == 25
    stretch = {
        "id": "stretch",
        "name": "Stretch",
        "schedule": "daily",
        "times_per_week": 1,
        "xp": 15,
        "grace_days": 0,
    }
    cabin = _client(session, sites.cabin)
    await cabin.write([{"op": "set", "collection": "habits", "key": "stretch", "fields": stretch}])
    gamification = entry.runtime_data.gamification
    await _until(lambda: "stretch" in gamification.habits)
    assert gamification.habits["stretch"].xp == 15
    await _until(lambda: hass.states.get("sensor.lifeops_gamification_stretch_streak") is not None)
    await cabin.write([{"op": "delete", "collection": "habits", "key": "stretch"}])
    await _until(lambda: "stretch" not in gamification.habits)
    assert "meditate" in gamification.habits
    assert "meditate" in await cabin_habits()

    await _teardown(hass, entry)


@pytest.fixture
async def home_called(tmp_path: Path, session: ClientSession) -> AsyncGenerator[Sites]:
    """The usual layout: home has the cabin's secret but no URL; the cabin calls home."""
    async with _two_sites(tmp_path, session, home_calls_cabin=False, seed=1) as pair:
        yield pair


async def test_home_shows_the_cabin_that_calls_in_across_a_restart(
    hass: HomeAssistant,
    home_called: Sites,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    sites = home_called
    home_api = _client(sites.session, sites.home)
    await _client(sites.session, sites.cabin).write(
        [
            {
                "op": "add",
                "collection": "xp",
                "key": "cabin-swim",
                "value": _xp("cabin-swim", 5, "cabin"),
            }
        ]
    )

    async def cabin_status() -> dict[str, Any]:
        status = await home_api.status()
        (peer,) = [p for p in status["peers"] if p["node_id"] == "cabin"]
        return peer

    deadline = asyncio.get_running_loop().time() + 8
    while (peer := await cabin_status())["last_success"] is None:
        assert asyncio.get_running_loop().time() < deadline, peer
        await asyncio.sleep(0.1)
    assert peer["calls_us"] is True and peer["url"] is None
    assert peer["lag_seconds"] is not None and peer["lag_seconds"] < 8

    # The status lives in the replica: a restart of home keeps it.
    sites.partition(True)
    await asyncio.to_thread(sites.home.stop)
    await asyncio.to_thread(sites.home.start)
    await wait_up(sites.session, sites.home)
    after = await cabin_status()
    assert after["calls_us"] is True
    assert after["last_success"] >= peer["last_success"]
    assert after["last_inbound"] is not None
    sites.partition(False)

    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    manager = entry.runtime_data.sync
    assert manager is not None
    registry = er.async_get(hass)
    await _until(
        lambda: len(
            [
                e
                for e in er.async_entries_for_config_entry(registry, entry.entry_id)
                if e.unique_id.endswith("_sync_last_success_cabin")
            ]
        )
        == 1
    )
    (sensor,) = [
        e
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.unique_id.endswith("_sync_last_success_cabin")
    ]
    await _until(
        lambda: (state := hass.states.get(sensor.entity_id)) is not None
        and state.state not in ("unknown", "unavailable")
    )
    await _until(lambda: hass.states.get(TOTAL_XP).state == "5")

    # sync_now at home: the cabin is not called from here, so it is listed with its last sync.
    response = await hass.services.async_call(
        DOMAIN, "sync_now", {}, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    (cabin,) = response["peers"]
    assert cabin["peer"] == "cabin" and cabin["calls_this_site"] is True
    assert cabin["success"] is None and cabin["last_success"] is not None
    await _teardown(hass, entry)


async def test_work_sessions_sync_both_ways_and_an_end_that_moves_follows(
    hass: HomeAssistant,
    sites: Sites,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    work = entry.runtime_data.work
    cabin = _client(sites.session, sites.cabin)

    # Home works a while: the session reaches the cabin open, then with its end.
    await hass.services.async_call(DOMAIN, "start_work", {"source": "desk"}, blocking=True)
    (home_session,) = work.tracker.sessions()

    async def at_cabin() -> dict[str, Any]:
        return (await cabin.records("work_sessions")).get(home_session.id) or {}

    deadline = asyncio.get_running_loop().time() + 8
    while (record := await at_cabin()).get("source") != "desk":
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    assert record["end"] is None and record["site"] == "home"
    await hass.services.async_call(DOMAIN, "stop_work", {"source": "desk"}, blocking=True)
    (home_session,) = work.tracker.sessions()
    assert home_session.end is not None
    while (record := await at_cabin()).get("end") is None:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    assert record["end"] == home_session.end.isoformat()

    # The cabin's integration writes its session as this one does: open, then ended, then
    # continued (its end moves later). Home counts it once it has ended, with the latest end.
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=30)
    fields = {"start": start.isoformat(), "end": None, "source": "laptop", "scheduled": False}
    await cabin.write(
        [
            {
                "op": "set",
                "collection": "work_sessions",
                "key": "cab1",
                "fields": fields | {"site": "cabin"},
            }
        ]
    )
    before = work.tracker.worked(start, now + timedelta(hours=1), now)

    async def cabin_worked() -> timedelta:
        return work.tracker.worked(start, now + timedelta(hours=1), now) - before

    for end, worked in ((now - timedelta(minutes=10), 20), (now - timedelta(minutes=5), 25)):
        await cabin.write(
            [
                {
                    "op": "set",
                    "collection": "work_sessions",
                    "key": "cab1",
                    "fields": {"end": end.isoformat()},
                }
            ]
        )
        await _until(
            lambda worked=worked: any(
                s.id == "cab1"
                and s.end is not None
                and (s.end - s.start) == timedelta(minutes=worked)
                for s in work.tracker.sessions()
            )
        )
        assert await cabin_worked() == timedelta(minutes=worked)
    (synced,) = [s for s in work.tracker.sessions() if s.id == "cab1"]
    assert synced.site == "cabin" and synced.source == "laptop"

    # Nothing of the cabin's goes back as this site's, and a restart keeps the merged session.
    assert set((await cabin.records("work_sessions")).get("cab1", {})) >= {"site"}
    assert (await cabin.records("work_sessions"))["cab1"]["site"] == "cabin"
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    sessions = {s.id: s for s in entry.runtime_data.work.tracker.sessions()}
    assert sessions["cab1"].site == "cabin" and sessions["cab1"].end == now - timedelta(minutes=5)
    assert sessions[home_session.id].site is None
    await _teardown(hass, entry)


async def test_a_dismissal_at_one_site_dismisses_the_same_notification_at_the_other(
    hass: HomeAssistant,
    sites: Sites,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    queue = entry.runtime_data.notifications.queue
    cabin = _client(sites.session, sites.cabin)

    async def notify(title: str) -> str:
        response = await hass.services.async_call(
            DOMAIN,
            "notify",
            {"title": title, "message": "Time to stand up"},
            blocking=True,
            return_response=True,
        )
        assert isinstance(response, dict)
        return str(response["notification_id"])

    stretch, walk = await notify("Stretch"), await notify("Walk")
    stretch_key = default_dedupe_key(None, "Stretch", "Time to stand up")
    assert queue.get(stretch) is not None and queue.get(stretch).dedupe_key == stretch_key

    # The cabin's integration writes its dismissal of the same notification: home follows.
    await cabin.write(
        [
            {
                "op": "set",
                "collection": "notification_dismissals",
                "key": stretch_key,
                "fields": {"dismissed_at": datetime.now(UTC).isoformat(), "site": "cabin"},
            }
        ]
    )
    await _until(lambda: queue.get(stretch).status is Status.DISMISSED)
    assert queue.get(walk).status is not Status.DISMISSED

    # Dismissed at home: the cabin learns it by the key; home never wrote the cabin's back.
    await hass.services.async_call(
        DOMAIN, "dismiss_notification", {"notification_id": walk}, blocking=True
    )
    walk_key = queue.get(walk).dedupe_key
    deadline = asyncio.get_running_loop().time() + 8
    while walk_key not in (records := await cabin.records("notification_dismissals")):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    assert records[walk_key]["site"] == "home"
    home_records = await _client(sites.session, sites.home).records("notification_dismissals")
    assert home_records[stretch_key]["site"] == "cabin"

    # A new notification with the same text after the dismissal is not dismissed by it.
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    manager = entry.runtime_data.sync
    assert manager is not None
    await _until(lambda: manager.connected is True)
    queue = entry.runtime_data.notifications.queue
    again = await notify("Stretch")
    assert again != stretch
    await asyncio.sleep(0.5)
    assert queue.get(again).status is not Status.DISMISSED
    await _teardown(hass, entry)


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
    sites: Sites,
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
    hass: HomeAssistant, home_and_cabin: HomeAndCabin, sites: Sites
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
    sites: Sites,
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
    sites: Sites,
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
