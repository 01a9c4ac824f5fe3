"""End to end: a real `hass` process with the working tree's LifeOps, driven over HTTP.

Uses the same machinery as scripts/develop (scripts/devhass.py): a fresh config folder, onboarding
without a person, the LifeOps entry created through the config-flow REST API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devhass import DevHass, RestClient, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
async def booted(
    tmp_path: Path, socket_enabled: None
) -> AsyncGenerator[tuple[DevHass, aiohttp.ClientSession]]:
    hass = DevHass(config_dir=tmp_path / "config", port=free_port(), demo=True)
    await asyncio.to_thread(hass.prepare)
    await asyncio.to_thread(hass.start)
    try:
        async with aiohttp.ClientSession() as session:
            await hass.wait_until_up(session)
            yield hass, session
    finally:
        code = await asyncio.to_thread(hass.stop)
        assert code == 0, hass.log_tail()


async def test_lifeops_in_a_booted_home_assistant(
    booted: tuple[DevHass, aiohttp.ClientSession],
) -> None:
    hass, session = booted
    credentials = await hass.ensure_owner(session)
    await hass.wait_until_running(session, credentials.token)
    api = RestClient(session, hass.url, credentials.token)

    # No LifeOps entry yet: create it through the config-flow REST API, as the UI does.
    assert await api.get("/api/config/config_entries/entry?domain=lifeops") == []
    flow = await api.post("/api/config/config_entries/flow", {"handler": "lifeops"})
    assert flow["type"] == "menu"
    assert flow["step_id"] == "user"
    flow = await api.post(
        f"/api/config/config_entries/flow/{flow['flow_id']}", {"next_step_id": "site"}
    )
    assert flow["type"] == "form"
    assert flow["step_id"] == "site"
    result = await api.post(
        f"/api/config/config_entries/flow/{flow['flow_id']}", {"site": "summer_cabin"}
    )
    assert result["type"] == "create_entry"
    assert result["result"]["state"] == "loaded"
    assert result["title"] == "Summer cabin"

    # A second entry for the same site aborts.
    flow = await api.post("/api/config/config_entries/flow", {"handler": "lifeops"})
    await api.post(f"/api/config/config_entries/flow/{flow['flow_id']}", {"next_step_id": "site"})
    result = await api.post(
        f"/api/config/config_entries/flow/{flow['flow_id']}", {"site": "summer_cabin"}
    )
    assert result == {**result, "type": "abort", "reason": "already_configured"}

    # LifeOps' entities are in /api/states.
    states = {state["entity_id"]: state for state in await api.get("/api/states")}
    site = states["sensor.lifeops_summer_cabin_site"]
    assert site["state"] == "summer_cabin"
    assert len(site["attributes"]["node_id"]) == 32
    assert states["switch.lifeops_sleep_agent_enabled"]["state"] == "on"
    bedtime = states["sensor.lifeops_sleep_next_bedtime"]
    assert bedtime["attributes"]["device_class"] == "timestamp"
    assert bedtime["state"].endswith(("+00:00", "Z"))

    # Options through the REST API: a bad value is refused with its error key, a good one applies.
    entry_id = (await api.get("/api/config/config_entries/entry?domain=lifeops"))[0]["entry_id"]
    options = {
        "bedtime": "23:15:00",
        "wake_time": "23:15:00",
        "wind_down_minutes": 30,
        "wind_down_lights": ["light.bedroom_lamp"],
        "quiet_hours_start": "22:00:00",
        "quiet_hours_end": "07:00:00",
        "weekly_work_target_hours": 40,
        "work_cutoff": "18:00:00",
        "screen_time_limit_minutes": 120,
    }
    flow = await api.post("/api/config/config_entries/options/flow", {"handler": entry_id})
    assert flow["type"] == "menu"
    result = await api.post(
        f"/api/config/config_entries/options/flow/{flow['flow_id']}", {"next_step_id": "targets"}
    )
    assert result["step_id"] == "targets"
    result = await api.post(f"/api/config/config_entries/options/flow/{flow['flow_id']}", options)
    assert result["type"] == "form"
    assert result["errors"] == {"wake_time": "wake_equals_bedtime"}
    result = await api.post(
        f"/api/config/config_entries/options/flow/{flow['flow_id']}",
        {**options, "wake_time": "07:00:00"},
    )
    assert result["type"] == "create_entry"
    bedtime = await api.get("/api/states/sensor.lifeops_sleep_next_bedtime")
    # Europe/Stockholm in November is UTC+1: 23:15 local is 22:15 UTC.
    assert "T22:15:00" in bedtime["state"]


async def test_develop_sequence_is_repeatable(tmp_path: Path, socket_enabled: None) -> None:
    """What scripts/develop does twice: the second start keeps the owner, token and entry."""
    from devhass import bring_up

    hass = DevHass(config_dir=tmp_path / "config", port=free_port(), demo=True)
    first = await bring_up(hass)
    try:
        async with aiohttp.ClientSession() as session:
            api = RestClient(session, hass.url, first.token)
            entries = await api.get("/api/config/config_entries/entry?domain=lifeops")
            assert [entry["title"] for entry in entries] == ["Home"]
            lights = (await api.get("/api/states/sensor.lifeops_home_site"))["state"]
            assert lights == "home"
            # The demo's Oura export is in the long-term statistics: 120 days of sleep score.
            # The recorder commits every few seconds: wait for the import to land.
            for _ in range(60):
                days = await _statistics(
                    session, hass.url, first.token, "lifeops:oura_export_sleep_score"
                )
                if days:
                    break
                await asyncio.sleep(0.5)
            assert len(days) in (120, 121)  # the days of the export, by local day
            assert all(40 <= day["mean"] <= 100 for day in days)
    finally:
        assert await asyncio.to_thread(hass.stop) == 0

    second = await bring_up(hass)
    try:
        assert second == first
        async with aiohttp.ClientSession() as session:
            api = RestClient(session, hass.url, second.token)
            entries = await api.get("/api/config/config_entries/entry?domain=lifeops")
            assert len(entries) == 1
            assert (
                entries[0]["entry_id"]
                == (await api.get("/api/config/config_entries/entry?domain=lifeops"))[0]["entry_id"]
            )
    finally:
        assert await asyncio.to_thread(hass.stop) == 0


async def test_develop_with_sync_runs_two_services_and_the_cabin_reaches_home(
    tmp_path: Path, socket_enabled: None
) -> None:
    """`scripts/develop --sync`: home's and a demo cabin's services; the cabin's XP arrives."""
    from devhass import DevSync, bring_up

    hass = DevHass(config_dir=tmp_path / "config", port=free_port(), demo=True)
    sync = DevSync(tmp_path / "sync")
    credentials = await bring_up(hass, sync=sync)
    try:
        async with aiohttp.ClientSession() as session:
            api = RestClient(session, hass.url, credentials.token)
            # The cabin calls home every 5 s; then the change feed brings its XP to LifeOps.
            for _ in range(120):
                states = {state["entity_id"]: state for state in await api.get("/api/states")}
                total = states["sensor.lifeops_gamification_total_xp"]["state"]
                if total not in ("unknown", "unavailable") and int(total) >= 40:
                    break
                await asyncio.sleep(0.25)
            assert int(total) == 40  # the cabin's hike, once
            # The cabin has its per-peer sensors here, and a last sync once it has called.
            cabin = [
                state
                for entity_id, state in states.items()
                if entity_id.startswith("sensor.lifeops_") and "cabin" in entity_id
            ]
            assert cabin, sorted(states)
            assert all(state["state"] != "unavailable" for state in cabin), cabin
    finally:
        assert await asyncio.to_thread(hass.stop) == 0
        await asyncio.to_thread(sync.stop)
    assert (tmp_path / "sync" / "home" / "sync.db").exists()


async def _statistics(
    session: aiohttp.ClientSession, url: str, token: str, statistic_id: str
) -> list[dict[str, Any]]:
    """Daily long-term statistics of one id, read over Home Assistant's websocket API."""
    async with session.ws_connect(f"{url}/api/websocket") as ws:
        assert (await ws.receive_json())["type"] == "auth_required"
        await ws.send_json({"type": "auth", "access_token": token})
        assert (await ws.receive_json())["type"] == "auth_ok"
        await ws.send_json(
            {
                "id": 1,
                "type": "recorder/statistics_during_period",
                "start_time": "2000-01-01T00:00:00+00:00",
                "statistic_ids": [statistic_id],
                "period": "day",
                "types": ["mean"],
            }
        )
        answer = await ws.receive_json()
        assert answer["success"], answer
        return list(answer["result"].get(statistic_id, []))
