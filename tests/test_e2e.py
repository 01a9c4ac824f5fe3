"""End to end: a real `hass` process with the working tree's LifeOps, driven over HTTP.

Uses the same machinery as scripts/develop (scripts/devhass.py): a fresh config folder, onboarding
without a person, the LifeOps entry created through the config-flow REST API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import json
from pathlib import Path
import re
from typing import Any

import aiohttp
import pytest

from devhass import DevHass, RestClient, free_port, http_settings_in_storage

pytestmark = pytest.mark.e2e

# A record of Home Assistant's log: its first line, then any continuation lines (a traceback).
LOG_RECORD = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\S* (?P<level>[A-Z]+) \([^)]*\) \[(?P<logger>[^\]]+)\] "
    r"(?P<message>.*(?:\n(?!\d{4}-\d\d-\d\d ).*)*)",
    re.M,
)
# LifeOps named: its code (in a logger's name or a traceback), its domain, or one of its
# entities. A path through some other folder called lifeops (a cache, a clone) names nothing.
NAMES_LIFEOPS = re.compile(
    r"custom_components[./]lifeops(?![\w-])|(?<![\w/.-])lifeops(?![\w/-])|\w\.lifeops_\w"
)
# Home Assistant's note on every custom integration it loads: nothing LifeOps can change.
UNTESTED_NOTE = "We found a custom integration lifeops which has not been tested"


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
            # The site, and the Oura account signed in at the demo's stand-in.
            assert [entry["title"] for entry in entries] == ["Home", "Oura"]
            lights = (await api.get("/api/states/sensor.lifeops_home_site"))["state"]
            assert lights == "home"
            await _assert_serves_settled_http(session, hass, first.token)
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
            # Signing in again found the Oura account there; the restarted stand-in serves it.
            assert [entry["title"] for entry in entries] == ["Home", "Oura"]
            assert all(entry["state"] == "loaded" for entry in entries), entries
            assert (
                entries[0]["entry_id"]
                == (await api.get("/api/config/config_entries/entry?domain=lifeops"))[0]["entry_id"]
            )
            # Started from the HTTP settings Home Assistant itself stored the first time.
            await _assert_serves_settled_http(session, hass, second.token)
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
        # No secret on a command line, where any process can read it.
        secrets = list(sync.keys().values())
        for process in sync.processes:
            cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode()
            assert "serve" in cmdline
            assert not any(secret in cmdline for secret in secrets), cmdline
        for name in ("api.secret", "home.json", "cabin.json"):
            assert (tmp_path / "sync" / name).stat().st_mode & 0o077 == 0, name
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


async def test_booted_demo_has_its_lights_and_logs_nothing_about_lifeops(
    tmp_path: Path, socket_enabled: None
) -> None:
    """The demo as scripts/develop boots it: its lights exist and are wind-down's targets, its
    Oura account (signed in at the stand-in) has last night's numbers, Assist answers how the
    night was, and Home Assistant's log holds no warning or error about LifeOps, start to stop.
    """
    from devhass import DEMO_LIGHTS, bring_up

    hass = DevHass(config_dir=tmp_path / "config", port=free_port(), demo=True)
    lights = [f"light.{key}" for key in DEMO_LIGHTS]
    credentials = await bring_up(hass)
    try:
        async with aiohttp.ClientSession() as session:
            api = RestClient(session, hass.url, credentials.token)
            for entity_id in lights:
                state = await api.get(f"/api/states/{entity_id}")
                assert "brightness" in state["attributes"]["supported_color_modes"], state
            entries = await api.get("/api/config/config_entries/entry?domain=lifeops")
            assert [(entry["title"], entry["state"]) for entry in entries] == [
                ("Home", "loaded"),
                ("Oura", "loaded"),
            ]
            await _assert_oura_sensors_have_numbers(api)
            answer = await api.post(
                "/api/conversation/process", {"text": "how did I sleep", "language": "en"}
            )
            speech = answer["response"]["speech"]["plain"]["speech"]
            # LifeOps' answer, with the recorded night's figures (not "Sorry, ...").
            assert speech.startswith("Last night you slept"), speech
            assert "sleep score of" in speech, speech
    finally:
        assert await asyncio.to_thread(hass.stop) == 0
    # The options flow took the lights as wind-down's targets (Home Assistant's own record).
    stored = json.loads((hass.config_dir / ".storage" / "core.config_entries").read_text())
    [options] = [
        e["options"]
        for e in stored["data"]["entries"]
        if e["domain"] == "lifeops" and "kind" not in e["data"]  # the site's entry
    ]
    assert options["wind_down_lights"] == lights
    log = await asyncio.to_thread(hass.log_file.read_text, errors="replace")
    problems = lifeops_log_problems(log)
    assert not problems, "\n".join(problems)


# The demo's Oura sensors and what the recorded account's latest day holds.
OURA_NUMBERS = {
    "sensor.oura_ring_sleep_score": (0, 100),
    "sensor.oura_ring_readiness_score": (0, 100),
    "sensor.oura_ring_total_sleep": (3, 12),
    "sensor.oura_ring_lowest_heart_rate": (30, 100),
    "sensor.oura_ring_average_spo2": (85, 100),
    "sensor.oura_ring_steps": (0, 100_000),
}


async def _assert_oura_sensors_have_numbers(api: RestClient) -> None:
    """The demo's Oura sensors show numbers in range, the stand-in's days ending today."""
    for entity_id, (low, high) in OURA_NUMBERS.items():
        state = await api.get(f"/api/states/{entity_id}")
        assert low <= float(state["state"]) <= high, state
    bedtime_end = await api.get("/api/states/sensor.oura_ring_bedtime_end")
    assert bedtime_end["state"] not in ("unknown", "unavailable"), bedtime_end


def lifeops_log_problems(log: str) -> list[str]:
    """The first lines of the log's warnings and errors that name LifeOps."""
    return [
        record.group(0).splitlines()[0]
        for record in LOG_RECORD.finditer(log)
        if record["level"] in ("WARNING", "ERROR", "CRITICAL")
        and (
            record["logger"].startswith("custom_components.lifeops")
            or NAMES_LIFEOPS.search(record["message"])
        )
        and not record["message"].startswith(UNTESTED_NOTE)
    ]


def test_lifeops_log_problems_reads_records_and_tracebacks() -> None:
    """The log filter on a made-up log: what names LifeOps, where, and what does not count."""
    config = "/tmp/lifeops/config"
    python = "/root/.cache/lifeops/python/usr/lib/python3.14"
    stamp = "2026-12-03 09:29:40.674+00:00"
    log = "\n".join(
        (
            f"{stamp} WARNING (SyncWorker_1) [homeassistant.loader] {UNTESTED_NOTE} by Home "
            "Assistant. This component might cause stability problems",
            f"{stamp} ERROR (MainThread) [homeassistant.components.calendar] Error adding entity",
            "Traceback (most recent call last):",
            f'  File "{config}/custom_components/lifeops/calendar.py", line 3, in x',
            f"{stamp} ERROR (MainThread) [homeassistant.setup] Setup failed for 'ffmpeg'",
            "Traceback (most recent call last):",
            f'  File "{python}/importlib/__init__.py", line 88, in import_module',
            f"{stamp} WARNING (MainThread) [homeassistant.util.loop] Detected blocking call in "
            f"{config}/deps/x.py",
            f"{stamp} INFO (MainThread) [custom_components.lifeops] Assist sentences: ready",
            f"{stamp} WARNING (MainThread) [custom_components.lifeops.sync] Peer unreachable",
            f"{stamp} ERROR (MainThread) [homeassistant.helpers.template] sensor.lifeops_xp: bad",
            f"{stamp} WARNING (MainThread) [homeassistant.helpers.frame] Detected that custom "
            "integration 'lifeops' calls a deprecated function",
            f"{stamp} WARNING (MainThread) [homeassistant.components.http.ban] Login attempt",
        )
    )
    assert lifeops_log_problems(log) == [
        f"{stamp} ERROR (MainThread) [homeassistant.components.calendar] Error adding entity",
        f"{stamp} WARNING (MainThread) [custom_components.lifeops.sync] Peer unreachable",
        f"{stamp} ERROR (MainThread) [homeassistant.helpers.template] sensor.lifeops_xp: bad",
        f"{stamp} WARNING (MainThread) [homeassistant.helpers.frame] Detected that custom "
        "integration 'lifeops' calls a deprecated function",
    ]


async def _assert_serves_settled_http(
    session: aiohttp.ClientSession, hass: DevHass, token: str
) -> None:
    """Home Assistant answers on the port it was given, and no HTTP settings await a trial.

    From 2026.8 its HTTP settings live in its store: they must be the confirmed (stable) ones,
    with nothing pending and no revert (and restart) scheduled. No release may report an HTTP
    repair issue (a deprecated or ignored http: block in configuration.yaml).
    """
    async with session.get(
        f"{hass.url}/api/", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 200
    if http_settings_in_storage():
        http = await _ws(session, hass.url, token, {"type": "http/config"})
        assert http["active_config_type"] == "stable", http
        assert http["pending"] is None, http
        assert http["revert_at"] is None, http
        assert http["stable"]["server_host"] == ["127.0.0.1"]
        assert http["stable"]["server_port"] == hass.port
    issues = await _ws(session, hass.url, token, {"type": "repairs/list_issues"})
    assert [issue for issue in issues["issues"] if issue["domain"] == "http"] == []


async def _ws(session: aiohttp.ClientSession, url: str, token: str, message: dict[str, Any]) -> Any:
    """One command over Home Assistant's websocket API; its result."""
    async with session.ws_connect(f"{url}/api/websocket") as ws:
        assert (await ws.receive_json())["type"] == "auth_required"
        await ws.send_json({"type": "auth", "access_token": token})
        assert (await ws.receive_json())["type"] == "auth_ok"
        await ws.send_json({"id": 1, **message})
        answer = await ws.receive_json()
    assert answer["success"], answer
    return answer["result"]


async def _statistics(
    session: aiohttp.ClientSession, url: str, token: str, statistic_id: str
) -> list[dict[str, Any]]:
    """Daily long-term statistics of one id, read over Home Assistant's websocket API."""
    result = await _ws(
        session,
        url,
        token,
        {
            "type": "recorder/statistics_during_period",
            "start_time": "2000-01-01T00:00:00+00:00",
            "statistic_ids": [statistic_id],
            "period": "day",
            "types": ["mean"],
        },
    )
    return list(result.get(statistic_id, []))
