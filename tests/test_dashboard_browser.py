"""The LifeOps dashboard in a real browser: a booted Home Assistant, headless Chromium.

Uses the scripts/develop machinery (scripts/devhass.py), whose demo turns on the recorder (the
30-day graphs read long-term statistics). Fills a day through LifeOps' own actions, imports 30
days of sleep and readiness statistics, opens /lifeops with playwright-core
(tests/browser/dashboard.mjs) and checks that the cards show their titles, entity names and
values. The screenshot is kept in artifacts/dashboard.png. scripts/setup installs Chromium and
playwright-core.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import json
import math
from pathlib import Path
import shutil
from typing import Any

import aiohttp
import pytest

from devhass import DevHass, RestClient, bring_up, free_port
from tests.releases import import_statistics_metadata

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "browser" / "dashboard.mjs"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "artifacts" / "dashboard.png"
SLEEP = "sensor.demo_sleep_score"
READINESS = "sensor.demo_readiness_score"


def _require_browser() -> str:
    node = shutil.which("node")
    missing = [
        what
        for what, there in (
            ("node", node is not None),
            ("Chromium at /usr/bin/chromium", CHROMIUM.exists()),
            ("node_modules/playwright-core", (ROOT / "node_modules" / "playwright-core").is_dir()),
        )
        if not there
    ]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run scripts/setup")
    assert node is not None
    return node


async def _ws(
    session: aiohttp.ClientSession, hass: DevHass, token: str, message: dict[str, Any]
) -> Any:
    async with session.ws_connect(f"{hass.url}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        assert (await ws.receive_json())["type"] == "auth_ok"
        await ws.send_json({"id": 1, **message})
        reply = await ws.receive_json()
    assert reply["success"], reply
    return reply["result"]


async def _fill(session: aiohttp.ClientSession, hass: DevHass, token: str) -> None:
    """Last night's scores with 30 days of history, and a day of LifeOps use."""
    api = RestClient(session, hass.url, token)
    for entity_id, name, value in ((SLEEP, "Sleep score", 82), (READINESS, "Readiness score", 76)):
        await api.post(
            f"/api/states/{entity_id}",
            {
                "state": str(value),
                "attributes": {"friendly_name": name, "state_class": "measurement"},
            },
        )
        noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
        stats = [
            {
                "start": (noon - timedelta(days=day)).isoformat(),
                "mean": value + round(6 * math.sin(day / 3)),
                "min": value - 12,
                "max": value + 6,
            }
            for day in range(30, 0, -1)
        ]
        await _ws(
            session,
            hass,
            token,
            {
                "type": "recorder/import_statistics",
                "metadata": import_statistics_metadata(
                    statistic_id=entity_id, name=name, unit=None
                ),
                "stats": stats,
            },
        )
    [entry] = await api.get("/api/config/config_entries/entry?domain=lifeops")
    flow = await api.post("/api/config/config_entries/options/flow", {"handler": entry["entry_id"]})
    path = f"/api/config/config_entries/options/flow/{flow['flow_id']}"
    await api.post(path, {"next_step_id": "sleep"})
    result = await api.post(path, {"sleep_score_entity": SLEEP})
    assert result["type"] == "create_entry", result
    flow = await api.post("/api/config/config_entries/options/flow", {"handler": entry["entry_id"]})
    path = f"/api/config/config_entries/options/flow/{flow['flow_id']}"
    await api.post(path, {"next_step_id": "fitness"})
    result = await api.post(path, {"readiness_entity": READINESS})
    assert result["type"] == "create_entry", result

    for action, data in (
        ("award_xp", {"agent": "fitness", "event_type": "run", "amount": 120}),
        ("create_habit", {"name": "Stretch", "xp": 10}),
        ("log_screen_time", {"minutes": 75, "category": "phone"}),
        ("start_work", {"source": "desk"}),
        (
            "notify",
            {
                "title": "Drink water",
                "message": "A glass before bed",
                "scheduled": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            },
        ),
    ):
        await api.post(f"/api/services/lifeops/{action}", data)


async def test_dashboard_shows_lifeops_in_chromium(tmp_path: Path, socket_enabled: None) -> None:
    node = _require_browser()
    hass = DevHass(config_dir=tmp_path / "config", port=free_port(), demo=True)
    credentials = await bring_up(hass)
    try:
        async with aiohttp.ClientSession() as session:
            await _fill(session, hass, credentials.token)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        expected = [
            "Tonight",
            "Next bedtime",
            "Last night",
            "Sleep score",
            "Sleep and readiness, 30 days",
            "Work this week",
            "Screen time today",
            "XP and level",
            "120 XP",
            "Habits today",
            "Stretch",
            "Drink water",
        ]
        process = await asyncio.create_subprocess_exec(
            node,
            str(SCRIPT),
            hass.url,
            credentials.token,
            "/lifeops",
            str(SCREENSHOT),
            *expected,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 180)
        assert process.returncode == 0, stderr.decode()
        result = json.loads(stdout.decode().strip().splitlines()[-1])
        print("browser:", json.dumps(result))  # shown with -s
        assert result["missing"] == [], result
        assert result["found"] == expected
        assert SCREENSHOT.stat().st_size > 20_000
    finally:
        assert await asyncio.to_thread(hass.stop) == 0, hass.log_tail()
