"""Wake-ups of LifeOps' timers and polls in an idle Home Assistant, and LifeOps' memory there.

Target (issue 18): at most 12 wake-ups per idle hour, the change feed's long poll aside, for the
whole Home Assistant with every part of the redesign merged. This script measures this tree's
figure, and first, in the same run and on the same machine, the baseline: the code as it was
before issue 18 (`--baseline`, a commit; `git archive` of it into a temporary folder, whose own
copy of this script is run in a child process with the same arguments; `--baseline none` skips
it). The baseline's per-source table is printed as it printed it.

What runs, all on this machine:

* the test Home Assistant the suite uses (pytest-homeassistant-custom-component's
  `async_test_home_assistant`, Europe/Stockholm), with Home Assistant's entity components and
  LifeOps' dependencies loaded first;
* a real `python -m lifeops_sync serve` process (the add-on's sync service, one peer that is
  away), which the site entry's sync link talks to over HTTP on 127.0.0.1;
* a real TimescaleDB started with scripts/timescaledb.py, the site entry's long-term store;
* one LifeOps site entry with both, agents watching a few entities that never change (idle).

How wake-ups are counted: every timer scheduled on the event loop (`loop.call_at`, which
`call_later`, `asyncio.sleep`, timeouts, `async_call_later`, `async_track_time_interval`,
`async_track_point_in_utc_time` and the coordinators all end in) is attributed to an owner when
it is scheduled: the LifeOps function its callback runs (through Home Assistant's jobs), else the
innermost LifeOps frame on the stack that scheduled it. A LifeOps timer whose callback runs is
one wake-up. HTTP requests to the sync service (counted at aiohttp, retries included) and
database calls (asyncpg) are counted beside them, by the LifeOps function that made them.

Time: the clock is freezegun's ticking clock (real time, which the script can jump forward).

1. Real time: `--window` seconds (default 60) as they come, the real long poll included.
2. Simulated hour, after `--warmup` simulated minutes (default 10, not counted: what start-up
   prepared expires in them): the clock jumps to each next due timer, waiting (in real time)
   after each jump until LifeOps' HTTP and database calls are answered. The sync service and
   the database run on real time, so the change feed's long poll (which the real service holds
   for 25 s when nothing changes) is made with `wait=0` for real, and its 25 s hold is spent on
   the simulated clock (a stand-in, counted apart). The wall clock jumps too: the sync client
   learns the service's clock from every answer, as it does for any skewed clock. Work takes
   real time, which the clock counts too: a loop that waits 5 s after each round's work comes
   round a little less often than every 5 s.

Memory: the resident set size (VmRSS) of this process before LifeOps is imported and set up
(Home Assistant with its components loaded) and after the simulated hour, after a full garbage
collection each time: LifeOps' code, its requirement (asyncpg), its sync client and its state.
With `--tracemalloc`, also the bytes still allocated at the end by code with a LifeOps frame on
the stack since just before setup (tracemalloc's own bookkeeping then inflates the RSS figure).

Run: .venv/bin/python benchmarks/bench_wakeups.py [--window 60] [--hours 1] [--tracemalloc]
     [--baseline COMMIT|none]
Needs root and apt-get the first time (scripts/timescaledb.py installs TimescaleDB).
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import functools
import gc
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "addon")]

# Home Assistant, then the harness's mends, as the tests load them (tests/harness_compat.py).
import tests.harness_compat  # noqa: E402, F401

# isort: split

# Then the harness's time patches, as its plugin loads them before the rest of Home Assistant:
# Home Assistant's `utcnow` is a partial of the real `datetime.now`, which freezegun cannot see.
from pytest_homeassistant_custom_component import patch_time  # noqa: E402

# isort: split

import aiohttp  # noqa: E402
import freezegun  # noqa: E402
from homeassistant import loader  # noqa: E402
from homeassistant.core import HassJob, HomeAssistant  # noqa: E402
from homeassistant.helpers import frame  # noqa: E402
from homeassistant.setup import async_setup_component  # noqa: E402
from homeassistant.util import dt as dt_util  # noqa: E402
from pytest_homeassistant_custom_component.common import (  # noqa: E402
    MockConfigEntry,
    async_test_home_assistant,
)
import timescaledb  # noqa: E402

from tests.ports import free_port  # noqa: E402

TARGET_PER_HOUR = 12
# The code before issue 18 (the change hub; pushed changes instead of polls): the baseline.
BASELINE_COMMIT = "11013d5"
# Set in the baseline's child process, so a baseline tree with this script does not recurse.
NO_BASELINE_ENV = "LIFEOPS_WAKEUPS_NO_BASELINE"
LIFEOPS = str(ROOT / "custom_components" / "lifeops") + os.sep
THIS = str(Path(__file__).resolve())
FEED_HOLD = "change feed: the service's 25 s hold (stand-in on the simulated clock)"
API_SECRET = "bench-api-secret-0123456789abcdef"
DB_PASSWORD = "bench"
DB_NAME = f"bench-wakeups-{os.getpid()}"  # one server per run: runs may overlap
# An idle afternoon on a weekday: no bedtime, wind-down, cut-off or midnight in the hour.
DEFAULT_START = "2026-11-25T12:00:00+00:00"  # Wednesday, 13:00 in Stockholm

# Entities the agents watch, set once and never changed.
WATCHED = {
    "binary_sensor.phone_interactive": "off",
    "binary_sensor.work_laptop": "off",
    "media_player.living_room_tv": "idle",
    "binary_sensor.phone_screen_on": "off",
    "sensor.sleep_score": "78",
    "sensor.readiness_score": "81",
    "sensor.activity_score": "70",
    "sensor.steps": "5400",
    "person.alex": "home",
}


# ---- attribution --------------------------------------------------------------------------------


def _lifeops_name(code_file: str, name: str) -> str:
    return f"{code_file[len(LIFEOPS) :]}:{name}"


def _callable_owner(target: Any, depth: int = 0) -> str | None:  # noqa: PLR0911
    """The LifeOps function a callback runs, looking through partials, jobs and bound methods."""
    if depth > 3 or target is None:
        return None
    if isinstance(target, HassJob):
        return _callable_owner(target.target, depth + 1)
    if isinstance(target, functools.partial):
        for inner in (target.func, *target.args):
            if (owner := _callable_owner(inner, depth + 1)) is not None:
                return owner
        return None
    code = getattr(getattr(target, "__func__", target), "__code__", None)
    if code is not None and code.co_filename.startswith(LIFEOPS):
        return _lifeops_name(code.co_filename, code.co_qualname)
    bound = getattr(target, "__self__", None)
    if bound is not None and not isinstance(bound, type):
        module = type(bound).__module__
        if module.startswith("custom_components.lifeops"):
            return f"{module.removeprefix('custom_components.lifeops.')}:{type(bound).__name__}"
        for value in _attributes(bound):
            runs = isinstance(value, HassJob | functools.partial) or (
                callable(value) and hasattr(value, "__code__")
            )
            if runs and (owner := _callable_owner(value, depth + 1)) is not None:
                return owner
    return None


def _attributes(obj: Any) -> list[Any]:
    """An object's attribute values, slots included (Home Assistant's trackers use slots)."""
    values = list(getattr(obj, "__dict__", {}).values())
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                values.append(getattr(obj, name))
    return values


def _stack_owner(frame: FrameType | None) -> str | None:
    """The innermost LifeOps frame that led here (or the feed stand-in's hold)."""
    while frame is not None:
        code = frame.f_code
        if code.co_filename == THIS and code.co_name == "held_changes":
            return FEED_HOLD
        if code.co_filename.startswith(LIFEOPS):
            return _lifeops_name(code.co_filename, code.co_name)
        frame = frame.f_back
    return None


def _callback_name(callback: Any, args: tuple[Any, ...]) -> str:
    inner: Any = callback
    while isinstance(inner, functools.partial):
        inner = inner.func
    name = getattr(inner, "__qualname__", type(inner).__name__)
    for arg in args:
        if isinstance(arg, HassJob):
            name += f"({getattr(arg.target, '__qualname__', arg.target)})"
    return str(name)


@dataclass
class Counts:
    """What LifeOps woke up for, by owner."""

    timers: Counter[str] = field(default_factory=Counter)
    http: Counter[str] = field(default_factory=Counter)
    db: Counter[str] = field(default_factory=Counter)
    inflight: int = 0
    scheduled: list[tuple[asyncio.TimerHandle, str]] = field(default_factory=list)

    def clear(self) -> None:
        """Start counting afresh (what is in flight stays in flight)."""
        self.timers.clear()
        self.http.clear()
        self.db.clear()


def instrument(loop: asyncio.AbstractEventLoop, counts: Counts, sync_url: str) -> None:
    """Count LifeOps' timers as they run, its HTTP requests to the service and its DB calls."""
    call_at = loop.call_at

    def counting_call_at(
        when: float, callback: Callable[..., Any], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        owner = _callable_owner(callback) or next(
            (o for a in args if (o := _callable_owner(a)) is not None), None
        )
        if owner is None:
            owner = _stack_owner(sys._getframe(1))
        if owner is None:
            return call_at(when, callback, *args, context=context)
        label = f"{owner} -> {_callback_name(callback, args)}"

        def counted(*call_args: Any) -> Any:
            counts.timers[label] += 1
            return callback(*call_args)

        handle = call_at(when, counted, *args, context=context)
        if len(counts.scheduled) > 200:  # keep only those still waiting (memory is measured)
            now = loop.time()
            counts.scheduled[:] = [
                (h, n) for h, n in counts.scheduled if not h.cancelled() and h.when() > now
            ]
        counts.scheduled.append((handle, label))
        return handle

    loop.call_at = counting_call_at  # type: ignore[method-assign]

    request = aiohttp.ClientSession._request

    async def counting_request(self: Any, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        text = str(url)
        if not text.startswith(sync_url):
            return await request(self, method, url, *args, **kwargs)
        path = text[len(sync_url) :].split("?", 1)[0]
        counts.http[f"{method} {path}"] += 1
        counts.inflight += 1
        try:
            response = await request(self, method, url, *args, **kwargs)
            await response.read()
            return response
        finally:
            counts.inflight -= 1

    aiohttp.ClientSession._request = counting_request  # type: ignore[method-assign]

    import asyncpg  # LifeOps' requirement: imported after the memory baseline

    def counting(name: str) -> None:
        method = getattr(asyncpg.connection.Connection, name)

        @functools.wraps(method)
        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            owner = _stack_owner(sys._getframe(1)) or "(outside LifeOps)"
            counts.db[f"{owner} -> {name}"] += 1
            counts.inflight += 1
            try:
                return await method(self, *args, **kwargs)
            finally:
                counts.inflight -= 1

        setattr(asyncpg.connection.Connection, name, wrapper)

    for name in (
        "execute",
        "executemany",
        "fetch",
        "fetchrow",
        "fetchval",
        "copy_records_to_table",
        "copy_to_table",
    ):
        counting(name)


# ---- the services -------------------------------------------------------------------------------


class SyncService:
    """One real `python -m lifeops_sync serve` process: the home node, a cabin peer away."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (its log goes to sync.log in the benchmark's folder)."""
        env = {**os.environ, "PYTHONPATH": str(ROOT / "addon")}
        log = (self.folder / "sync.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lifeops_sync",
                "serve",
                "--node-id",
                "home",
                "--data-dir",
                str(self.folder / "home"),
                "--port",
                str(self.port),
                "--api-secret",
                API_SECRET,
                "--peer",
                "cabin,cabin-link-secret-0123456789abcdef",
            ],
            env=env,
            stdout=log,
            stderr=log,
        )

    def wait_up(self) -> None:
        """Wait until it answers its health endpoint."""
        import urllib.request

        for _ in range(300):
            try:
                with urllib.request.urlopen(self.url + "/v1/health", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the sync service did not start (see {self.folder / 'sync.log'})")

    def stop(self) -> None:
        """Stop it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def create_database(port: int) -> None:
    """The long-term store's database, empty (LifeOps makes its schema)."""
    import asyncpg

    conn = await asyncpg.connect(
        host="127.0.0.1", port=port, user="postgres", password=DB_PASSWORD, database="postgres"
    )
    try:
        await conn.execute("DROP DATABASE IF EXISTS lifeops WITH (FORCE)")
        await conn.execute("CREATE DATABASE lifeops")
    finally:
        await conn.close()


def lifeops_options(sync_url: str, db_port: int) -> dict[str, Any]:
    """Agents watching the idle entities, the sync link and the long-term store."""
    from custom_components.lifeops.core.settings import Settings
    from custom_components.lifeops.long_term.options import CONF_STORE, DEFAULTS
    from custom_components.lifeops.sync_link.options import CONF_SYNC, SYNC_SECRET, SYNC_URL

    return {
        **Settings().as_options(),
        "activity_sources": ["binary_sensor.phone_interactive", "media_player.living_room_tv"],
        "work_sources": ["binary_sensor.work_laptop"],
        "screen_time_sources": ["binary_sensor.phone_screen_on", "media_player.living_room_tv"],
        "sleep_score_entity": "sensor.sleep_score",
        "readiness_entity": "sensor.readiness_score",
        "activity_score_entity": "sensor.activity_score",
        "steps_entity": "sensor.steps",
        "occupancy_entity": "person.alex",
        "notify_targets": [],
        CONF_SYNC: {SYNC_URL: sync_url, SYNC_SECRET: API_SECRET},
        CONF_STORE: {
            **DEFAULTS,
            "host": "127.0.0.1",
            "port": db_port,
            "database": "lifeops",
            "user": "postgres",
            "password": DB_PASSWORD,
            "health_entities": ["sensor.sleep_score", "sensor.steps"],
            "state_entities": ["binary_sensor.work_laptop"],
        },
    }


def rss_bytes() -> int:
    """The resident set size of this process, after a full garbage collection."""
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# ---- the run ------------------------------------------------------------------------------------


@dataclass
class Result:
    """The figures of one run."""

    window_s: float
    real: Counts
    hours: float
    simulated: Counts
    start_local: str
    pending: list[str]
    rss_before: int
    rss_setup: int
    rss_after: int
    traced: int | None
    errors: list[str]


async def settle(hass: HomeAssistant, counts: Counts) -> None:
    """Let what the last jump started finish: jobs, LifeOps' HTTP and database calls."""
    quiet = 0
    for _ in range(2000):
        await hass.async_block_till_done()
        if counts.inflight == 0:
            quiet += 1
            if quiet >= 3:
                return
        else:
            quiet = 0
        await asyncio.sleep(0.002)  # real time: the service and the database answer meanwhile


async def simulate(hass: HomeAssistant, frozen: Any, counts: Counts, seconds: float) -> None:
    """Jump the clock to each next due timer until `seconds` have passed on it."""
    loop = hass.loop
    end = loop.time() + seconds
    while True:
        await settle(hass, counts)
        now = loop.time()
        if now >= end:
            return
        due = [
            handle.when()
            for handle in loop._scheduled  # type: ignore[attr-defined]
            if not handle.cancelled()
        ]
        target = min([*due, end]) + 0.001
        if target > now:
            frozen.tick(target - now)
        await asyncio.sleep(0)


def _platforms() -> list[str]:
    """LifeOps' platforms, read from const.py without importing LifeOps (kept for the baseline)."""
    const = (ROOT / "custom_components" / "lifeops" / "const.py").read_text()
    listed = const.split("PLATFORMS: Final = [", 1)[1].split("]", 1)[0]
    return [name.lower() for name in re.findall(r"Platform\.(\w+)", listed)]


async def start_lifeops(
    hass: HomeAssistant, sync_url: str, db_port: int, errors: list[str]
) -> MockConfigEntry:
    """Set up the site entry and wait until sync and the store are connected, then some more."""
    from custom_components.lifeops.const import CONF_NODE_ID, CONF_SITE, DOMAIN

    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id="home",
        data={CONF_SITE: "home", CONF_NODE_ID: "0" * 32},
        options=lifeops_options(sync_url, db_port),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id), "LifeOps did not set up"
    await hass.async_block_till_done()
    runtime = entry.runtime_data
    for _ in range(300):
        await asyncio.sleep(0.1)
        store, sync = runtime.long_term_store, runtime.sync
        if store is not None and store.edition is not None and sync is not None and sync.connected:
            return entry
    errors.append("sync or the long-term store did not come up in 30 s")
    return entry


async def simulated_hours(
    hass: HomeAssistant, frozen: Any, counts: Counts, hours: float, warmup: float
) -> tuple[Counts, str]:
    """The simulated hours (after an uncounted warm-up), the feed's hold on the simulated clock."""
    from custom_components.lifeops.sync.client import SyncClient

    changes = SyncClient.changes

    async def held_changes(
        self: SyncClient, cursor: Any, wait: float = 0.0, limit: int = 1000
    ) -> Any:
        feed = await changes(self, cursor, 0.0, limit)
        if wait and not feed.changes:
            await asyncio.sleep(wait)
        return feed

    SyncClient.changes = held_changes  # type: ignore[method-assign]
    try:
        for _ in range(400):  # the real long poll under way ends first
            if counts.inflight == 0:
                break
            await asyncio.sleep(0.1)
        await simulate(hass, frozen, counts, warmup)
        counts.clear()
        start_local = dt_util.now()
        await simulate(hass, frozen, counts, hours * 3600)
        simulated = Counts(Counter(counts.timers), Counter(counts.http), Counter(counts.db))
    finally:
        SyncClient.changes = changes  # type: ignore[method-assign]
    return simulated, f"{start_local:%A %Y-%m-%d %H:%M} {hass.config.time_zone}"


def pending_timers(hass: HomeAssistant, counts: Counts) -> list[str]:
    """LifeOps' timers still waiting, with when they are due (what other hours would see)."""
    now_loop, now = hass.loop.time(), dt_util.now()
    waiting = sorted(
        (handle.when(), label)
        for handle, label in counts.scheduled
        if not handle.cancelled() and handle.when() > now_loop and FEED_HOLD not in label
    )
    lines: dict[str, None] = {}
    for when, label in waiting:
        due = now + timedelta(seconds=when - now_loop)
        lines[f"{due:%a %H:%M:%S} (in {(when - now_loop) / 3600:4.1f} h)  {label}"] = None
    return list(lines)


def traced_bytes() -> int:
    """Bytes still allocated by code with a LifeOps frame on the stack (then stop tracing)."""
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    return sum(
        stat.size
        for stat in snapshot.statistics("traceback")
        if any(line.filename.startswith(LIFEOPS) for line in stat.traceback)
    )


async def run(args: argparse.Namespace, folder: Path, frozen: Any) -> Result:
    """Start the services and Home Assistant, set LifeOps up, count, and stop everything."""
    errors: list[str] = []
    db_port = free_port()
    print(f"starting TimescaleDB on 127.0.0.1:{db_port} (scripts/timescaledb.py) ...", flush=True)
    await asyncio.to_thread(
        timescaledb.start, DB_NAME, db_port, DB_PASSWORD, fresh=True, durable=True
    )
    service = SyncService(folder)
    try:
        service.start()
        await asyncio.to_thread(service.wait_up)
        print(f"sync service (lifeops_sync serve) on {service.url}", flush=True)
        async with async_test_home_assistant(config_dir=str(folder / "config")) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # let it load custom_components/
            frame.async_setup(hass)  # as a booted Home Assistant (and the tests' fixture) has it
            await hass.config.async_set_time_zone("Europe/Stockholm")
            # Home Assistant's side first: LifeOps' dependency and the entity components a
            # running Home Assistant with other integrations has loaded anyway.
            for component in ("application_credentials", "persistent_notification", *_platforms()):
                assert await async_setup_component(hass, component, {}), component
            for entity_id, state in WATCHED.items():
                hass.states.async_set(entity_id, state)
            await hass.async_block_till_done()
            assert not any(name.startswith("custom_components.lifeops") for name in sys.modules)
            rss_before = rss_bytes()

            counts = Counts()
            instrument(hass.loop, counts, service.url)
            await create_database(db_port)
            if args.tracemalloc:
                tracemalloc.start(32)
            entry = await start_lifeops(hass, service.url, db_port, errors)
            await asyncio.sleep(args.quiet)  # the first saves and exchanges: not counted
            rss_setup = rss_bytes()

            # 1. Real time, the real long poll included.
            counts.clear()
            started = time.monotonic()
            await asyncio.sleep(args.window)
            window = time.monotonic() - started
            real = Counts(Counter(counts.timers), Counter(counts.http), Counter(counts.db))
            print(f"real-time window: {window:.0f} s; simulating ...", flush=True)

            # 2. The simulated hours.
            simulated, start_local = await simulated_hours(
                hass, frozen, counts, args.hours, args.warmup * 60
            )
            runtime = entry.runtime_data
            if not (sync := runtime.sync) or not sync.connected:
                errors.append("the sync link was not connected at the end")
            if (store := runtime.long_term_store) is None or store.edition is None:
                errors.append("the long-term store was not connected at the end")
            pending = pending_timers(hass, counts)
            traced = traced_bytes() if args.tracemalloc else None
            rss_after = rss_bytes()
            assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            await hass.async_stop(force=True)
        return Result(
            window_s=window,
            real=real,
            hours=args.hours,
            simulated=simulated,
            start_local=start_local,
            pending=pending,
            rss_before=rss_before,
            rss_setup=rss_setup,
            rss_after=rss_after,
            traced=traced,
            errors=errors,
        )
    finally:
        service.stop()
        await asyncio.to_thread(timescaledb.remove, DB_NAME)


# What each owner is, for the breakdown: (a part of the label, what it is).
SOURCES: tuple[tuple[str, str], ...] = (
    ("writer.py:_run -> Timeout", "long-term writer loop: the hourly retention round"),
    ("SyncStatusCoordinator", "sync status fallback read every 10 min (GET /v1/status)"),
    ("_interval_listener", "long-term export every minute (async_track_time_interval)"),
    ("_weakref_handle", "aiohttp keep-alive close after the sync client's requests"),
    ("_on_entry_expired", "asyncpg statement-cache expiry (statements LifeOps prepared)"),
    ("_deactivate_inactive_connection", "asyncpg pool closing a connection idle for 5 minutes"),
    ("_async_schedule_callback_delayed_write", "a delayed save of LifeOps' store"),
    ("_TrackPointUTCTime", "an agent's or entity's point-in-time timer"),
)


def describe(label: str) -> str:
    """What a timer's owner is, in words (the label itself when unknown)."""
    return next((text for part, text in SOURCES if part in label), "other")


def _table(counter: Counter[str], scale: float, indent: str = "  ") -> None:
    grouped: Counter[str] = Counter()
    for label, n in counter.items():
        grouped[describe(label)] += n
    for text, n in grouped.most_common():
        print(f"{indent}{n * scale:7.1f}  {text}")
        for label, m in sorted(counter.items(), key=lambda item: -item[1]):
            if describe(label) == text:
                print(f"{indent}         {m * scale:6.1f}  {label}")


@dataclass
class Baseline:
    """The baseline's figure and its report, as its own script printed them."""

    commit: str
    per_hour: float | None
    output: str


def measure_baseline(commit: str, args: argparse.Namespace) -> Baseline:
    """Run the baseline commit's own copy of this script, with the same arguments."""
    folder = Path(tempfile.mkdtemp(prefix="lifeops-wakeups-baseline-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
        command = [
            sys.executable,
            str(folder / "benchmarks" / "bench_wakeups.py"),
            *("--window", str(args.window), "--hours", str(args.hours)),
            *("--warmup", str(args.warmup), "--quiet", str(args.quiet), "--start", args.start),
        ]
        print(f"measuring the baseline ({commit}) first, in a child process ...", flush=True)
        done = subprocess.run(
            command,
            env={**os.environ, NO_BASELINE_ENV: "1"},
            capture_output=True,
            text=True,
            check=False,
        )
        output = done.stdout + (f"\n(exit status {done.returncode})" if done.returncode else "")
        found = re.search(r"(?:baseline \(today\)|this tree): (\d+(?:\.\d+)?) wake-ups", output)
        return Baseline(commit, float(found.group(1)) if found else None, output)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def report(result: Result, baseline: Baseline | None = None) -> int:
    """Print the figures; exit status 1 when something did not run as it should."""
    hours = result.hours
    per = 1 / hours
    scale = 3600 / result.window_s
    simulated = Counter(
        {k: v for k, v in result.simulated.timers.items() if not k.startswith(FEED_HOLD)}
    )
    feed_hold = sum(result.simulated.timers.values()) - sum(simulated.values())
    per_hour = sum(simulated.values()) / hours

    print()
    print(f"Simulated {hours:g} idle hour(s) from {result.start_local}")
    print("LifeOps timers that ran (wake-ups) per hour, by source:")
    _table(simulated, per)
    print("HTTP requests to the sync service per hour (made by the wake-ups above, or the feed):")
    for label, n in result.simulated.http.most_common():
        print(f"  {n * per:7.1f}  {label}")
    print("database calls (asyncpg) per hour, by the LifeOps function that made them:")
    for label, n in result.simulated.db.most_common():
        print(f"  {n * per:7.1f}  {label}")
    print()
    print(f"Cross-check in real time: {result.window_s:.0f} s, counts scaled to an hour")
    real = Counter(result.real.timers)
    print(f"  {sum(real.values()) * scale:7.1f}  LifeOps timers that ran")
    _table(real, scale, indent="    ")
    for label, n in result.real.http.most_common():
        print(f"  {n * scale:7.1f}  HTTP {label}")
    print(f"  {sum(result.real.db.values()) * scale:7.1f}  database calls")
    feed_real = result.real.http.get("GET /v1/changes", 0) * scale
    print()
    print(f"this tree: {per_hour:.0f} wake-ups per idle hour (the feed's long poll aside)")
    if baseline is not None:
        before = f"{baseline.per_hour:.0f}" if baseline.per_hour is not None else "(not found)"
        print(
            f"baseline ({baseline.commit}, before issue 18, measured first in this run): "
            f"{before} wake-ups per idle hour; its report is printed below"
        )
    print(
        f"change feed long poll, counted apart: {feed_hold * per:.0f} per hour on the simulated "
        f"clock, {feed_real:.0f} per hour in real time"
    )
    print(f"target (after the redesign): at most {TARGET_PER_HOUR} per idle hour, feed aside")
    print(f"this tree / target: {per_hour / TARGET_PER_HOUR:.1f}x")
    print()
    print("LifeOps timers still waiting at the end (they fire in other hours):")
    for line in result.pending:
        print(f"  {line}")
    mib = 1024 * 1024
    print()
    print(
        f"resident memory (VmRSS): {result.rss_before / mib:.1f} MiB before LifeOps was "
        f"imported, {result.rss_setup / mib:.1f} MiB set up, {result.rss_after / mib:.1f} MiB "
        f"after the hour: LifeOps {(result.rss_after - result.rss_before) / mib:.1f} MiB "
        "(its code, asyncpg, the sync client, its state)"
    )
    if result.traced is not None:
        print(
            f"tracemalloc: {result.traced / mib:.1f} MiB still allocated by code with a LifeOps "
            "frame on the stack (the RSS above includes tracemalloc's own bookkeeping)"
        )
    for error in result.errors:
        print(f"ERROR: {error}")
    if baseline is not None:
        print()
        print(f"---- the baseline ({baseline.commit}), as its own script reported it ----")
        print(baseline.output.rstrip())
    return 1 if result.errors else 0


def _freezegun_as_the_harness_sets_it() -> None:
    """The harness's freezegun changes (its plugin makes them before each test).

    Those newer harnesses keep in `patch_time`; older ones (2025.4's) need none of them here.
    """
    api: Any = freezegun.api
    for name, value in (
        ("FakeDate", "HAFakeDate"),
        ("datetime_to_fakedatetime", "ha_datetime_to_fakedatetime"),
        ("FakeDatetime", "HAFakeDatetime"),
        ("_get_module_attributes", "ha_get_module_attributes"),
        ("_get_module_attributes_hash", "ha_get_module_attributes_hash"),
        ("_should_use_real_time", "ha_should_use_real_time"),
        ("get_current_time", "ha_get_current_time"),
    ):
        if hasattr(patch_time, value):
            setattr(api, name, getattr(patch_time, value))


def main() -> int:
    """Parse the arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=60.0, help="real-time seconds")
    parser.add_argument("--hours", type=float, default=1.0, help="simulated idle hours")
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="simulated minutes before counting"
    )
    parser.add_argument(
        "--quiet", type=float, default=15.0, help="real seconds after start-up, not counted"
    )
    parser.add_argument("--start", default=DEFAULT_START, help="the simulated clock's start")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace allocations")
    parser.add_argument(
        "--baseline",
        default="none" if os.environ.get(NO_BASELINE_ENV) else BASELINE_COMMIT,
        help="the commit measured first as the baseline ('none': skip it)",
    )
    args = parser.parse_args()
    baseline = None if args.baseline == "none" else measure_baseline(args.baseline, args)
    folder = Path(tempfile.mkdtemp(prefix="lifeops-wakeups-"))
    _freezegun_as_the_harness_sets_it()
    try:
        with freezegun.freeze_time(datetime.fromisoformat(args.start), tick=True) as frozen:
            result = asyncio.run(run(args, folder, frozen))
        return report(result, baseline)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
