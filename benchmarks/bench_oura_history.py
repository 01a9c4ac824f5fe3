"""How long a year of Oura history takes to reach Home Assistant's long-term statistics.

One process: a test Home Assistant (the harness the tests use) with a real recorder on an SQLite
file, and a local HTTP server answering Oura's API v2 with 365 days of every daily document and
heart rate every 5 minutes (105,120 samples, served a week per request as LifeOps asks for them).
LifeOps' backfill (`OuraHistory.async_backfill`: fetch, parse, build the series in the executor,
hand them to the recorder) runs until the recorder has written every row.

Printed:
- wall time of the whole backfill, with the recorder's writes;
- the floor, measured in the same run: the recorder writing the same rows handed to it ready-made
  (no HTTP, no parsing, no series), and the ratio of the two;
- peak memory the backfill added (Python allocations, tracemalloc, in a separate pass so the
  tracing does not slow the timed one) and the growth of the process's peak RSS;
- the longest the event loop was kept from running (a 10 ms heartbeat's worst lateness), during
  the backfill and during the floor (the recorder's own writing, which takes the GIL in its
  thread); the stand-in Oura server runs in a process of its own, so its work never counts;
- Python's full garbage collections during the backfill and during the floor, each with the
  thread it ran in, and how many objects the collector tracks: a full collection stops every
  thread, so it shows as a loop stall whichever thread set it off. Writing ~15,000 statistics
  rows makes enough objects survive in the recorder's thread to set off one full collection of
  the whole process; whichever phase runs first meets it (`--floor-first` swaps the order, and
  then the floor, with no LifeOps code in it, shows the stall).
Targets: the backfill within 1.1x of the floor measured in the same run, and LifeOps' own work
never blocking the loop over 20 ms (the Oura issue's); under 3 s, under 50 MB added (the first
Oura issue's). A full collection's pause is not LifeOps' work: the heartbeat's worst lateness is
printed twice, with every tick and with only the ticks no full collection overlapped.

Run: .venv/bin/python benchmarks/bench_oura_history.py [--days 365] [--floor-first]
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, date, datetime, timedelta
import gc
import json
import logging
import multiprocessing
from multiprocessing.connection import Connection
from pathlib import Path
import random
import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Home Assistant, then the harness's mends, as the tests load them (tests/harness_compat.py):
# the harness then runs on the current Home Assistant too.
import tests.harness_compat  # noqa: E402, F401

# isort: split

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from homeassistant import loader  # noqa: E402
from homeassistant.components.recorder import get_instance  # noqa: E402
from homeassistant.const import __version__ as HA_VERSION  # noqa: E402
from homeassistant.core import HomeAssistant  # noqa: E402
from homeassistant.helpers.recorder import async_initialize_recorder  # noqa: E402
from homeassistant.setup import async_setup_component  # noqa: E402
from homeassistant.util import dt as dt_util  # noqa: E402
from pytest_homeassistant_custom_component.common import async_test_home_assistant  # noqa: E402

from custom_components.lifeops.oura import OuraClient  # noqa: E402
from custom_components.lifeops.oura.history import build_series  # noqa: E402
from custom_components.lifeops.oura_account.statistics import (  # noqa: E402
    OuraHistory,
    async_fetch_documents,
    async_metric_names,
    async_write_series,
)

TARGET_SECONDS = 3.0
TARGET_MB = 50.0
TARGET_RATIO = 1.1
TARGET_WORK_BLOCK_MS = 20.0
END = date(2026, 11, 25)


def _documents(days: int) -> dict[str, list[dict[str, Any]]]:
    """Every collection's documents for `days` days, shaped as Oura's API answers them."""
    rng = random.Random(1)
    out: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in (
            "daily_sleep",
            "sleep",
            "daily_readiness",
            "daily_activity",
            "daily_spo2",
            "daily_stress",
            "heartrate",
        )
    }
    start = END - timedelta(days=days - 1)
    for index in range(days):
        day = start + timedelta(days=index)
        iso = day.isoformat()
        stamp = f"{iso}T00:00:00+00:00"
        out["daily_sleep"].append(
            {"id": f"ds{index}", "day": iso, "score": rng.randint(50, 95), "timestamp": stamp}
        )
        out["sleep"].append(
            {
                "id": f"s{index}",
                "day": iso,
                "type": "long_sleep",
                "total_sleep_duration": rng.randint(20000, 30000),
                "deep_sleep_duration": rng.randint(3000, 7000),
                "rem_sleep_duration": rng.randint(4000, 8000),
                "light_sleep_duration": rng.randint(10000, 16000),
                "awake_time": rng.randint(900, 3600),
                "efficiency": rng.randint(75, 96),
                "latency": rng.randint(200, 1500),
                "lowest_heart_rate": rng.randint(44, 60),
                "average_hrv": rng.randint(25, 80),
                "bedtime_start": f"{iso}T22:30:00+00:00",
                "bedtime_end": f"{iso}T06:40:00+00:00",
            }
        )
        out["daily_readiness"].append(
            {
                "id": f"r{index}",
                "day": iso,
                "score": rng.randint(50, 95),
                "temperature_deviation": round(rng.gauss(0, 0.3), 2),
                "timestamp": stamp,
            }
        )
        out["daily_activity"].append(
            {
                "id": f"a{index}",
                "day": iso,
                "score": rng.randint(40, 99),
                "steps": rng.randint(2000, 18000),
                "active_calories": rng.randint(100, 900),
                "timestamp": stamp,
            }
        )
        out["daily_spo2"].append(
            {"id": f"o{index}", "day": iso, "spo2_percentage": {"average": rng.uniform(95, 99)}}
        )
        out["daily_stress"].append(
            {"id": f"t{index}", "day": iso, "stress_high": rng.randint(0, 9000)}
        )
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for step in range(288):
            at = midnight + timedelta(minutes=5 * step)
            out["heartrate"].append(
                {"bpm": rng.randint(45, 140), "source": "awake", "timestamp": at.isoformat()}
            )
    return out


async def _serve(days: int) -> tuple[web.AppRunner, str]:
    """A local Oura API over the generated documents, filtering by the asked range."""
    collections = _documents(days)
    encoded: dict[str, list[tuple[str, bytes]]] = {}
    for name, documents in collections.items():
        key = "timestamp" if name == "heartrate" else "day"
        encoded[name] = [(document[key], json.dumps(document).encode()) for document in documents]
    moments = [(datetime.fromisoformat(stamp), body) for stamp, body in encoded["heartrate"]]

    async def handle(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        query = request.query
        if name == "heartrate":
            low, high = query["start_datetime"], query["end_datetime"]
            low_dt, high_dt = datetime.fromisoformat(low), datetime.fromisoformat(high)
            rows = [body for moment, body in moments if low_dt <= moment < high_dt]
        else:
            low, high = query["start_date"], query["end_date"]
            rows = [body for day, body in encoded.get(name, []) if low <= day < high]
        body = b'{"data":[' + b",".join(rows) + b'],"next_token":null}'
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/v2/usercollection/{name}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


class CollectorPauses:
    """Times Python's full garbage collections and the thread each ran in.

    A full collection stops every thread, the event loop's too: a stall the heartbeat sees may
    be one, started by whichever thread allocated last (the recorder's, the executor's).
    """

    def __init__(self) -> None:
        self.pauses: list[tuple[float, str]] = []
        self.windows: list[tuple[float, float]] = []  # (start, end) of each full collection
        self._started: dict[int, float] = {}

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        ident = threading.get_ident()
        if phase == "start":
            self._started[ident] = time.perf_counter()
        elif ident in self._started:
            began, ended = self._started.pop(ident), time.perf_counter()
            self.pauses.append((ended - began, threading.current_thread().name))
            self.windows.append((began, ended))

    def __enter__(self) -> CollectorPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def describe(self) -> str:
        """How many full collections ran, and the longest with its thread."""
        if not self.pauses:
            return "none"
        pause, thread = max(self.pauses)
        return f"{len(self.pauses)}, the longest {pause * 1000:.0f} ms (thread {thread})"


class Heartbeat:
    """Measures the worst lateness of a 10 ms tick: how long the loop was kept busy."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.beats: list[tuple[float, float, float]] = []  # (sent, woke, lateness)
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            after = time.perf_counter()
            late = after - before - 0.01
            self.beats.append((before, after, late))
            self.worst = max(self.worst, late)

    def worst_outside(self, windows: list[tuple[float, float]]) -> float:
        """The worst lateness of the ticks during which no full garbage collection ran.

        A full collection stops every thread, whichever set it off; what remains is the loop
        kept busy by the work itself.
        """
        return max(
            (
                late
                for sent, woke, late in self.beats
                if not any(start < woke and end > sent for start, end in windows)
            ),
            default=0.0,
        )

    def __enter__(self) -> Heartbeat:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def _flush(hass: HomeAssistant) -> None:
    await hass.async_add_executor_job(get_instance(hass).block_till_done)


def _serve_forever(days: int, connection: Connection) -> None:
    """The stand-in Oura API's own process: serve until terminated."""

    async def serve() -> None:
        _runner, url = await _serve(days)
        connection.send(url)
        await asyncio.Event().wait()

    asyncio.run(serve())


class OuraServer:
    """The local Oura API in a process of its own: its work never takes the benchmark's GIL."""

    def __init__(self, days: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._parent, child = context.Pipe()
        self._process = context.Process(target=_serve_forever, args=(days, child), daemon=True)
        self.url = ""

    def __enter__(self) -> OuraServer:
        self._process.start()
        self.url = self._parent.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.join()


async def _peak_mb(hass: HomeAssistant, client: OuraClient, start: date, end: date) -> float:
    """Memory in its own pass (tracing slows the timed one): the backfill's peak allocations."""
    tracemalloc.start()
    baseline, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    await OuraHistory(hass, "memory").async_backfill(client, start, end)
    await _flush(hass)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - baseline) / 1024 / 1024


async def _measure(days: int, floor_first: bool) -> dict[str, Any]:
    with OuraServer(days) as server:
        return await _measure_with(server.url, days, floor_first)


async def _measure_with(url: str, days: int, floor_first: bool) -> dict[str, Any]:
    start, end = END - timedelta(days=days - 1), END + timedelta(days=1)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as config_dir:
        async with (
            async_test_home_assistant(config_dir=config_dir) as hass,
            aiohttp.ClientSession() as session,
        ):
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # let it load custom_components/
            await hass.config.async_set_time_zone("Europe/Stockholm")
            async_initialize_recorder(hass)  # what bootstrap does when the recorder is configured
            db = f"sqlite:///{Path(config_dir) / 'home-assistant_v2.db'}"
            assert await async_setup_component(
                hass, "recorder", {"recorder": {"db_url": db, "commit_interval": 0}}
            )
            await hass.async_start()
            await hass.async_block_till_done()
            await async_metric_names(hass)  # translations loaded once, as after the first poll
            client = OuraClient(
                "token", session=session, base_url=url, offload=hass.async_add_executor_job
            )

            results["heap_objects"] = len(gc.get_objects())

            async def backfill() -> None:
                """LifeOps' backfill, timed with the recorder's writes and the loop watched."""
                history = OuraHistory(hass, "bench")
                rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                with Heartbeat() as beat, CollectorPauses() as collections:
                    began = time.perf_counter()
                    written = await history.async_backfill(client, start, end)
                    await _flush(hass)
                    results["backfill_s"] = time.perf_counter() - began
                results["rss_growth_mb"] = (
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
                ) / 1024
                results["blocked_ms"] = beat.worst * 1000
                results["work_blocked_ms"] = beat.worst_outside(collections.windows) * 1000
                results["collections"] = collections.describe()
                results["points"] = float(written or 0)

            async def floor() -> None:
                """The same rows handed to the recorder ready-made, for another account."""
                documents = await async_fetch_documents(hass, client, start, end)
                series = build_series(documents, dt_util.get_default_time_zone())
                names = await async_metric_names(hass)
                with Heartbeat() as beat, CollectorPauses() as collections:
                    began = time.perf_counter()
                    await async_write_series(hass, "floor", series, names)
                    await _flush(hass)
                    results["floor_s"] = time.perf_counter() - began
                results["floor_blocked_ms"] = beat.worst * 1000
                results["floor_work_blocked_ms"] = beat.worst_outside(collections.windows) * 1000
                results["floor_collections"] = collections.describe()

            for phase in (floor, backfill) if floor_first else (backfill, floor):
                await phase()

            results["peak_mb"] = await _peak_mb(hass, client, start, end)
            await hass.async_stop()
    return results


def main() -> None:
    """Measure and print the figures against the targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--floor-first",
        action="store_true",
        help="measure the floor before the backfill (which of the two meets a full collection)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = asyncio.run(_measure(args.days, args.floor_first))
    ratio = results["backfill_s"] / results["floor_s"]
    ok_time = results["backfill_s"] < TARGET_SECONDS
    ok_ratio = ratio <= TARGET_RATIO
    ok_mem = results["peak_mb"] < TARGET_MB
    ok_loop = results["work_blocked_ms"] <= TARGET_WORK_BLOCK_MS
    print(f"Home Assistant {HA_VERSION}, Python {sys.version.split()[0]}")
    print(f"days: {args.days}, statistics points written: {results['points']:.0f}")
    print(
        f"backfill (fetch, parse, series, recorder writes): {results['backfill_s']:.2f} s "
        f"(target < {TARGET_SECONDS:.0f} s) {'PASS' if ok_time else 'FAIL'}"
    )
    print(
        f"floor (recorder writing the same rows handed ready-made): {results['floor_s']:.2f} s; "
        f"backfill / floor = {ratio:.2f}x (target <= {TARGET_RATIO}x) "
        f"{'PASS' if ok_ratio else 'FAIL'}"
    )
    print(
        f"peak memory added (tracemalloc): {results['peak_mb']:.1f} MB "
        f"(target < {TARGET_MB:.0f} MB) {'PASS' if ok_mem else 'FAIL'}; "
        f"process peak RSS grew {results['rss_growth_mb']:.1f} MB"
    )
    print(
        f"longest event-loop block by the work (ticks without a full collection): "
        f"{results['work_blocked_ms']:.0f} ms (target <= {TARGET_WORK_BLOCK_MS:.0f} ms) "
        f"{'PASS' if ok_loop else 'FAIL'}; the floor's: {results['floor_work_blocked_ms']:.0f} ms"
    )
    print(
        f"longest event-loop block of all (full collections included): "
        f"{results['blocked_ms']:.0f} ms; while the recorder writes the ready-made rows alone: "
        f"{results['floor_blocked_ms']:.0f} ms"
    )
    print(
        f"full garbage collections: during the backfill {results['collections']}; "
        f"during the floor {results['floor_collections']}; objects the collector tracks "
        f"before both: {results['heap_objects']:,}"
    )


if __name__ == "__main__":
    main()
