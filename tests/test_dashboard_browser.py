"""The LifeOps dashboard in a real browser: a booted Home Assistant, headless Chromium.

Uses the scripts/develop machinery (scripts/devhass.py), whose demo turns on the recorder (the
30-day graphs read long-term statistics) and signs in an Oura account at the local stand-in
(recorded answers, days ending today), whose months of sleep and readiness LifeOps puts into the
statistics. Fills a day through LifeOps' own actions, opens /lifeops with playwright-core
(tests/browser/dashboard.mjs) and checks that the cards show their titles, entity names and
values, and that the 30-day graph drew a month of points. The screenshot is kept in
artifacts/dashboard.png. scripts/setup installs Chromium and playwright-core.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import shutil
from typing import Any

import aiohttp
import pytest

from devhass import DevHass, RestClient, bring_up, free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "browser" / "dashboard.mjs"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "artifacts" / "dashboard.png"
TREND = "Sleep and readiness, 30 days"
# The Oura account's daily figures the 30-day graph draws.
TREND_KEYS = ("sleep_score", "readiness_score")


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


async def _wait_for_oura_month(session: aiohttp.ClientSession, hass: DevHass, token: str) -> None:
    """Wait until the Oura account's last 30 days of sleep and readiness are in the statistics."""
    start = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    days: dict[str, list[Any]] = {}
    for _ in range(240):  # LifeOps backfills in the background, after the sign-in
        listed = await _ws(
            session, hass, token, {"type": "recorder/list_statistic_ids", "statistic_type": "mean"}
        )
        ids = [
            item["statistic_id"]
            for item in listed
            if item["statistic_id"].startswith("lifeops:oura_")
            and not item["statistic_id"].startswith("lifeops:oura_export_")
            and item["statistic_id"].endswith(TREND_KEYS)
        ]
        if len(ids) == len(TREND_KEYS):
            days = await _ws(
                session,
                hass,
                token,
                {
                    "type": "recorder/statistics_during_period",
                    "start_time": start,
                    "statistic_ids": ids,
                    "period": "day",
                    "types": ["mean"],
                },
            )
            if all(len(days.get(statistic, [])) >= 28 for statistic in ids):
                return
        await asyncio.sleep(0.5)
    raise AssertionError(f"the Oura month is not in the statistics: {days}")


async def _fill(session: aiohttp.ClientSession, hass: DevHass, token: str) -> None:
    """A day of LifeOps use beside the demo's Oura account."""
    api = RestClient(session, hass.url, token)
    await _wait_for_oura_month(session, hass, token)
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
            TREND,
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
        # The 30-day graph drew the Oura account's month: two lines of about 30 days each.
        [trend] = [chart for chart in result["charts"] if chart["title"] == TREND]
        assert not trend["no_statistics"], result["charts"]
        assert trend["drawn"], result["charts"]
        assert trend["points"] >= 2 * 28, result["charts"]
        assert SCREENSHOT.stat().st_size > 20_000
    finally:
        assert await asyncio.to_thread(hass.stop) == 0, hass.log_tail()
