"""The outage buffer across real Home Assistant restarts, against the real server.

A `hass` process (scripts/devhass.py, as `scripts/develop` boots it) with LifeOps' long-term store
configured through the options flow's REST API. A heart-rate sensor's states are posted over the
REST API, one distinct value each, and become health-metric rows:

1. the database is stopped while values arrive; Home Assistant is then stopped (SIGTERM): what
   the database did not take waits in the buffer file;
2. Home Assistant starts with the database still away and takes more values; once the buffer file
   holds them (acknowledged), the process is killed (SIGKILL: no shutdown code runs);
3. Home Assistant starts, then the database: every value arrives, each exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
import sqlite3
import time
from typing import Any

import aiohttp
import pytest

from custom_components.lifeops.timescale.migrate import StoreConfig, connect
from devhass import DevHass, RestClient, free_port, http_yaml

from .conftest import Server, timescaledb

pytestmark = pytest.mark.e2e

SENSOR = "sensor.e2e_heart_rate"


def _buffered(path: Path) -> int:
    """Rows waiting in a site's buffer file (read beside the running Home Assistant)."""
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT coalesce(sum(n), 0) FROM batch").fetchone()[0])
    except sqlite3.OperationalError:  # created, table not yet
        return 0
    finally:
        db.close()


async def _stored_values(config: StoreConfig) -> list[float]:
    conn = await connect(config)
    try:
        rows = await conn.fetch(
            "SELECT value FROM lifeops.health_metric WHERE metric = $1 ORDER BY value", SENSOR
        )
    finally:
        await conn.close()
    return [row[0] for row in rows]


async def _until(check: Any, timeout: float, what: str, hass: DevHass) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout} s\n{hass.log_tail(30)}")


class Site:
    """The Home Assistant under test and a REST client for it."""

    def __init__(self, hass: DevHass, session: aiohttp.ClientSession) -> None:
        self.hass = hass
        self.session = session
        self.api: RestClient | None = None
        self.entry_id = ""

    async def boot(self) -> None:
        await asyncio.to_thread(self.hass.start)
        await self.hass.wait_until_up(self.session, 120)
        credentials = await self.hass.ensure_owner(self.session)
        await self.hass.wait_until_running(self.session, credentials.token, 120)
        self.api = RestClient(self.session, self.hass.url, credentials.token)

    async def post_values(self, values: range, pause: float = 0.005) -> None:
        assert self.api is not None
        for value in values:
            await self.api.post(f"/api/states/{SENSOR}", {"state": str(value)})
            await asyncio.sleep(pause)

    @property
    def buffer(self) -> Path:
        return self.hass.config_dir / ".storage" / f"lifeops.{self.entry_id}.buffer.sqlite"


# Only what the test uses: the REST and websocket APIs, config-entry flows and onboarding.
CONFIGURATION_YAML = """\
homeassistant:
  name: LifeOps restart test
  time_zone: Europe/Stockholm
  unit_system: metric
  country: SE
  currency: SEK
  latitude: 59.33
  longitude: 18.07
  elevation: 20
{http}api:
config:
onboarding:
websocket_api:
logger:
  default: warning
  logs:
    custom_components.lifeops: info
"""


@pytest.fixture
async def site(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[Site]:
    hass = DevHass(config_dir=tmp_path / "config", port=free_port(), demo=False)
    hass.config_dir.mkdir(parents=True)
    (hass.config_dir / "configuration.yaml").write_text(
        CONFIGURATION_YAML.format(http=http_yaml(hass.port))
    )
    await asyncio.to_thread(hass.prepare)
    async with aiohttp.ClientSession() as session:
        try:
            yield Site(hass, session)
        finally:
            await asyncio.to_thread(hass.stop)


async def test_outage_buffer_survives_real_restarts_and_a_kill(
    site: Site, database: StoreConfig, timescale_server: Server
) -> None:
    try:
        await _outage_and_restarts(site, database, timescale_server)
    finally:
        if not await asyncio.to_thread(timescaledb.status, timescale_server.name):
            await asyncio.to_thread(timescale_server.start)  # for the session's other tests


async def _configure_store(site: Site, database: StoreConfig) -> None:
    assert site.api is not None
    entry = await site.hass.ensure_entry(site.session, site.api.token)
    site.entry_id = entry["entry_id"]
    await site.post_values(range(0, 1))  # the sensor exists before it is chosen
    flow = await site.api.post(
        "/api/config/config_entries/options/flow", {"handler": site.entry_id}
    )
    step = f"/api/config/config_entries/options/flow/{flow['flow_id']}"
    await site.api.post(step, {"next_step_id": "long_term_store"})
    result = await site.api.post(
        step,
        {
            "host": database.host,
            "port": database.port,
            "database": database.database,
            "user": database.user,
            "password": database.password,
            "health_entities": [SENSOR],
        },
    )
    assert result["type"] == "create_entry", result


async def _outage_and_restarts(site: Site, database: StoreConfig, server: Server) -> None:
    hass = site.hass
    await site.boot()
    await _configure_store(site, database)

    # 1. Values arrive and reach the database (the writer flushes every 5 s)...
    await site.post_values(range(1, 151))

    async def first_written() -> bool:
        return len(await _stored_values(database)) == 150

    await _until(first_written, 15, "the first values in the database", hass)
    # ... then the database stops while more arrive; then Home Assistant stops cleanly.
    ingest = asyncio.create_task(site.post_values(range(151, 301), pause=0.01))
    await asyncio.sleep(0.3)
    await asyncio.to_thread(server.stop)
    await ingest
    assert await asyncio.to_thread(hass.stop) == 0, hass.log_tail()
    after_stop = _buffered(site.buffer)
    assert 0 < after_stop <= 150  # the rest waits on disk

    # 2. Started with the database away: more values, kept on disk, then a kill -9.
    await site.boot()
    await site.post_values(range(301, 401))

    async def on_disk() -> bool:
        return _buffered(site.buffer) == after_stop + 100

    await _until(on_disk, 30, "the new values in the buffer file", hass)
    assert hass.process is not None
    hass.process.kill()
    hass.process.wait()
    hass.process = None

    # 3. Home Assistant starts, then the database: every value arrives, each once.
    await site.boot()
    await asyncio.to_thread(server.start)

    async def all_stored() -> bool:
        return len(await _stored_values(database)) >= 400 and _buffered(site.buffer) == 0

    await _until(all_stored, 45, "every value in the database", hass)
    assert await _stored_values(database) == [float(value) for value in range(1, 401)]
    # Connecting (over TLS: the test server offers it) blocked nothing on the loop.
    output = hass.log_file.read_text(errors="replace")
    assert "Detected blocking call" not in output, hass.log_tail()
    assert await asyncio.to_thread(hass.stop) == 0, hass.log_tail()
