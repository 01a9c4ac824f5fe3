"""Setting LifeOps up from the add-on's discovery: one confirmation, nothing typed.

The pieces are real: the add-on's post stage makes the `lifeops` role and database on the real
TimescaleDB, a real `lifeops_sync serve` runs, and `lifeops_sync announce` posts its discovery to
a stand-in Supervisor (an aiohttp app that records it). That payload goes through LifeOps'
config flow as Home Assistant hands it over (`HassioServiceInfo`), and the entry it makes writes
to the add-on's database and syncs through the add-on's service.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
import os
from pathlib import Path
import subprocess
import sys
from typing import Any

from aiohttp import ClientSession, web
from homeassistant.config_entries import SOURCE_HASSIO, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.lifeops.const import CONF_NODE_ID, CONF_SITE, DOMAIN
from custom_components.lifeops.long_term.options import CONF_STORE
from custom_components.lifeops.sync_link.options import CONF_SYNC
from tests.ports import free_port

from ..sync.test_addon_database import make_world, run_post_stage
from ..sync.test_sync_hardening import DASH_SECRET, Serve, started
from .conftest import PASSWORD, Server

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "supervisor-token-for-the-test"


@dataclass
class Addon:
    """The add-on's parts as this test runs them, and what it announced."""

    service: Serve
    config: dict[str, Any]


async def _supervisor(received: list[tuple[str | None, Any]]) -> tuple[web.AppRunner, int]:
    async def discovery(request: web.Request) -> web.Response:
        received.append((request.headers.get("Authorization"), await request.json()))
        return web.json_response({"result": "ok", "data": {"uuid": "d1"}})

    app = web.Application()
    app.router.add_post("/discovery", discovery)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


@pytest.fixture
async def addon(
    hass: HomeAssistant, tmp_path: Path, timescale_server: Server, socket_enabled: None
) -> AsyncGenerator[Addon]:
    world = make_world(tmp_path / "addon")
    post = await hass.async_add_executor_job(run_post_stage, world, timescale_server.port, PASSWORD)
    assert post.returncode == 0, post.stderr
    async with ClientSession() as session:
        service = await started(session, Serve(tmp_path / "sync"))
    received: list[tuple[str | None, Any]] = []
    runner, port = await _supervisor(received)
    try:
        announced = await hass.async_add_executor_job(
            announce_command,
            [
                "announce",
                "--config",
                str(service.folder / "home.json"),
                "--host",
                "127.0.0.1",
                "--api-secret-file",
                str(service.folder / "home.secret"),
                "--database-password-file",
                str(world / "data" / "secrets" / "lifeops_password"),
                "--sync-port",
                str(service.port),
                "--database-port",
                str(timescale_server.port),
                "--supervisor",
                f"http://127.0.0.1:{port}",
                "--wait-for",
                service.url,
            ],
        )
        assert announced.returncode == 0, announced.stderr
        ((authorization, body),) = received
        assert authorization == f"Bearer {TOKEN}"
        assert body["service"] == "lifeops"
        yield Addon(service, body["config"])
    finally:
        await runner.cleanup()
        await hass.async_add_executor_job(service.stop)


def announce_command(args: list[str]) -> subprocess.CompletedProcess[str]:
    """``python -m lifeops_sync ARGS`` as the add-on runs it, with a Supervisor token."""
    return subprocess.run(
        [sys.executable, "-m", "lifeops_sync", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT / "addon"), "SUPERVISOR_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        check=False,
    )


def _discovery(config: dict[str, Any]) -> HassioServiceInfo:
    return HassioServiceInfo(config=config, name="LifeOps", slug="lifeops", uuid="d1")


async def _discover(hass: HomeAssistant, config: dict[str, Any]) -> Any:
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_discovery(config)
    )


async def test_one_confirmation_sets_up_the_store_and_sync(
    hass: HomeAssistant, addon: Addon
) -> None:
    config = addon.config
    assert config["api_secret"] == DASH_SECRET
    assert (config["database"], config["database_user"]) == ("lifeops", "lifeops")

    result = await _discover(hass, config)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "hassio_confirm"
    assert result["description_placeholders"]["addon"] == "LifeOps"
    assert not result.get("data_schema") or not result["data_schema"].schema  # nothing to type
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    entry = result["result"]
    assert entry.unique_id == "home"
    assert entry.data[CONF_SITE] == "home"
    assert entry.data[CONF_NODE_ID]
    assert entry.options[CONF_SYNC] == {
        "url": addon.service.url,
        "secret": DASH_SECRET,
    }
    store = entry.options[CONF_STORE]
    assert (store["host"], store["port"]) == ("127.0.0.1", config["database_port"])
    assert (store["database"], store["user"]) == ("lifeops", "lifeops")
    assert store["password"] == config["database_password"]
    assert entry.state is ConfigEntryState.LOADED

    # Both work: the store is connected to the add-on's database, sync to its service.
    long_term = entry.runtime_data.long_term_store
    assert long_term is not None
    assert long_term.edition.value in ("timescaledb_apache", "timescaledb")
    sync = entry.runtime_data.sync
    assert sync is not None
    status = await sync.client.status()
    assert status["node_id"] == "home"
    assert sync.client.node_id == "home"

    # The add-on announces itself at every start: nothing is asked again.
    again = await _discover(hass, config)
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_site_set_up_by_hand_is_pointed_at_the_addon(
    hass: HomeAssistant, addon: Addon
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id="home",
        data={CONF_SITE: "home", CONF_NODE_ID: "n1"},
        options={"keep": "me"},
    )
    entry.add_to_hass(hass)
    result = await _discover(hass, addon.config)
    assert result["step_id"] == "hassio_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "addon_connected"
    assert entry.options["keep"] == "me"
    assert entry.options[CONF_SYNC]["url"] == addon.service.url
    assert entry.options[CONF_STORE]["database"] == "lifeops"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    await hass.async_block_till_done()
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_addon_that_does_not_answer_is_not_saved(
    hass: HomeAssistant, addon: Addon
) -> None:
    for change, error in (
        ({"api_secret": "x" * 40}, "addon_sync_unavailable"),
        ({"database_password": "wrong"}, "addon_store_unavailable"),
    ):
        result = await _discover(hass, addon.config | change)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": error}
        hass.config_entries.flow.async_abort(result["flow_id"])
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.parametrize(
    "change",
    [{"api_secret": None}, {"sync_port": "8765"}, {"host": ""}, {"database_port": 0}],
)
async def test_an_incomplete_announcement_is_refused(
    hass: HomeAssistant, change: dict[str, Any]
) -> None:
    config = {
        "host": "local-lifeops",
        "node_id": "summer_cabin",
        "sync_port": 8765,
        "api_secret": "s" * 40,
        "database_port": 5432,
        "database": "lifeops",
        "database_user": "lifeops",
        "database_password": "p" * 40,
    }
    result = await _discover(hass, {**config, **change})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "addon_invalid_discovery"
