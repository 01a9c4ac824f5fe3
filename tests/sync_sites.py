"""Two (or more) real sync-service processes for the sync tests, and the helpers they share.

Home and cabin services on 127.0.0.1, each cabin calling home (and home calling it, if asked)
through a proxy that can be cut; the home Home Assistant's site entry talks to the home
service, or through a gate that can close and open its way there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
import random
from typing import Any

from aiohttp import ClientSession, web
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)

from custom_components.lifeops.const import DOMAIN
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


@pytest.fixture
async def home_called(tmp_path: Path, session: ClientSession) -> AsyncGenerator[Sites]:
    """The usual layout: home has the cabin's secret but no URL; the cabin calls home."""
    async with _two_sites(tmp_path, session, home_calls_cabin=False, seed=1) as pair:
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
