"""How much event-loop time the agents add to each state change of an entity they watch.

One process, one test Home Assistant (the same harness the tests use), Europe/Stockholm. The run
alternates rounds: a round without LifeOps (the baseline: Home Assistant's own cost of a state
change, with nobody listening but the core) and a round with a LifeOps entry set up whose agents
watch every changed entity (activity sources, work computers, screen-time sources, sleep score,
readiness, steps, occupancy). Each round drives the same sequence of state changes; the figure is
the time LifeOps adds per change, which is the difference of the two per-change times, and the
ratio of the two. The entry's setup time is measured each time it is set up: the first one
includes importing the integration and its platforms, the later ones do not.

Blocking calls in the event loop are detected with Home Assistant's own detector (the one a booted
Home Assistant turns on) and counted.

Run: .venv/bin/python benchmarks/bench_agents.py [--changes 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
import itertools
import logging
from pathlib import Path
import shutil
import statistics
import sys
import tempfile
import threading
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Home Assistant, then the harness's mends, as the tests load them (tests/harness_compat.py):
# the harness then runs on the current Home Assistant too.
import tests.harness_compat  # noqa: E402, F401

# isort: split

from homeassistant import block_async_io, loader  # noqa: E402
from homeassistant.core import HomeAssistant  # noqa: E402
from homeassistant.helpers import frame  # noqa: E402
from homeassistant.setup import async_setup_component  # noqa: E402
from pytest_homeassistant_custom_component.common import (  # noqa: E402
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.lifeops.const import CONF_NODE_ID, CONF_SITE, DOMAIN, PLATFORMS  # noqa: E402
from custom_components.lifeops.core.settings import Settings  # noqa: E402

TARGET_US_PER_CHANGE = 50.0
TARGET_SETUP_MS = 100.0
BATCH = 500  # changes between two waits for the loop to go idle

# (entity, the values it cycles through): what a phone, a laptop, a TV and a ring report.
WATCHED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("binary_sensor.phone_interactive", ("on", "off")),
    ("binary_sensor.work_laptop", ("on", "off")),
    ("media_player.living_room_tv", ("playing", "idle", "paused")),
    ("binary_sensor.phone_screen_on", ("on", "off")),
    ("sensor.sleep_score", ("64", "71", "83")),
    ("sensor.readiness_score", ("55", "78", "90")),
    ("sensor.activity_score", ("40", "70", "95")),
    ("sensor.steps", ("1200", "5400", "9100")),
    ("person.alex", ("home", "not_home")),
)


def lifeops_options() -> dict[str, Any]:
    """Options whose agents watch every entity the benchmark changes."""
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
    }


def change_sequence(only: str = "") -> Iterator[tuple[str, str]]:
    """An endless round-robin of state changes over the watched entities (or those named)."""
    cycles = [(entity, itertools.cycle(values)) for entity, values in WATCHED if only in entity]
    for entity, values in itertools.cycle(cycles):
        yield entity, next(values)


async def drive(hass: HomeAssistant, changes: int, only: str = "") -> float:
    """Apply `changes` state changes and wait until the loop is idle; returns loop CPU seconds.

    The clock is the CPU time of the event loop's thread: what the loop spends, unaffected by
    other programs sharing the machine (wall-clock time on a busy two-core machine is not).
    """
    sequence = change_sequence(only)
    started = time.thread_time()
    for done in range(1, changes + 1):
        entity, value = next(sequence)
        hass.states.async_set(entity, value)
        if done % BATCH == 0:
            await hass.async_block_till_done()
    await hass.async_block_till_done()
    return time.thread_time() - started


async def run(changes: int, rounds: int, config_dir: str, only: str = "") -> int:
    """Measure, print the figures, and return the exit status (0 when the targets are met)."""
    per_round = changes // rounds
    async with async_test_home_assistant(config_dir=config_dir) as hass:
        # Watch from here: the harness's own start-up imports in the loop, LifeOps must not.
        log = _watch_the_log()
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # let it load custom_components/
        frame.async_setup(hass)  # as a booted Home Assistant (and the tests' fixture) has it
        await hass.config.async_set_time_zone("Europe/Stockholm")
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Home",
            unique_id="home",
            data={CONF_SITE: "home", CONF_NODE_ID: "0" * 32},
            options=lifeops_options(),
        )
        entry.add_to_hass(hass)
        for entity, values in WATCHED:
            hass.states.async_set(entity, values[0])
        await drive(hass, BATCH)  # warm up the core's caches
        # Home Assistant's own entity components (sensor, calendar, todo...) are loaded in any
        # running Home Assistant that has other integrations; load them first, timed apart, so
        # the first setup below is LifeOps' own (its import included).
        started = time.perf_counter()
        for platform in PLATFORMS:
            assert await async_setup_component(hass, platform.value, {})
        await hass.async_block_till_done()
        components_ms = (time.perf_counter() - started) * 1000

        baseline: list[float] = []
        lifeops: list[float] = []
        setups: list[float] = []
        setups_loop: list[float] = []  # of which the event loop's own CPU time
        for _ in range(rounds):
            baseline.append(await drive(hass, per_round, only))
            started, started_cpu = time.perf_counter(), time.thread_time()
            ok = await hass.config_entries.async_setup(entry.entry_id)
            setups.append(time.perf_counter() - started)
            setups_loop.append(time.thread_time() - started_cpu)
            if not ok:
                print("LifeOps did not set up", file=sys.stderr)
                return 2
            await hass.async_block_till_done()
            lifeops.append(await drive(hass, per_round, only))
            assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
        await hass.async_stop(force=True)

    base_us = statistics.median(baseline) / per_round * 1e6
    with_us = statistics.median(lifeops) / per_round * 1e6
    added_us = with_us - base_us
    first_setup_ms = setups[0] * 1000
    warm_setup_ms = statistics.median(setups[1:]) * 1000 if len(setups) > 1 else first_setup_ms
    total = per_round * rounds
    print(
        f"state changes: {total} per side, {rounds} rounds of {per_round}, {len(WATCHED)} entities"
    )
    print(f"baseline (no LifeOps):  {base_us:8.2f} µs per change (median of rounds)")
    print(f"with LifeOps:           {with_us:8.2f} µs per change (median of rounds)")
    print(
        f"added by LifeOps:       {added_us:8.2f} µs per change (target < {TARGET_US_PER_CHANGE})"
    )
    print(f"ratio with/without:     {with_us / base_us:8.2f}x")
    print(f"HA's entity components:  {components_ms:8.2f} ms (loaded before LifeOps, not counted)")
    print(
        f"entry setup, first:     {first_setup_ms:8.2f} ms wall, {setups_loop[0] * 1000:.2f} ms "
        f"of it in the loop (includes importing LifeOps; target < {TARGET_SETUP_MS})"
    )
    print(
        f"entry setup, later:     {warm_setup_ms:8.2f} ms wall, "
        f"{statistics.median(setups_loop[1:] or setups_loop) * 1000:.2f} ms in the loop "
        f"(median; target < {TARGET_SETUP_MS})"
    )
    print(f"blocking calls seen:    {log.count:8d}")
    print(f"errors logged:          {log.errors:8d}")
    met = (
        added_us < TARGET_US_PER_CHANGE
        and warm_setup_ms < TARGET_SETUP_MS
        and first_setup_ms < TARGET_SETUP_MS
        and log.count == 0
        and log.errors == 0
    )
    print("PASS" if met else "FAIL")
    return 0 if met else 1


class _LogWatch(logging.Handler):
    """Counts Home Assistant's 'Detected blocking call' reports and logged errors."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "blocking call" in record.getMessage():
            self.count += 1
        elif record.levelno >= logging.ERROR:
            self.errors += 1
        else:
            return
        if self.count + self.errors <= 3:  # show the first few, so a failure says why
            print(self.format(record), file=sys.stderr)


def _watch_the_log() -> _LogWatch:
    if not block_async_io._BLOCKED_CALLS.calls:
        block_async_io.enable()
    counter = _LogWatch()
    logging.getLogger().addHandler(counter)
    logging.getLogger().setLevel(logging.WARNING)
    return counter


def main() -> int:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100_000, help="state changes per side")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument(
        "--only", default="", help="change only the watched entities whose id contains this"
    )
    args = parser.parse_args()
    config_dir = tempfile.mkdtemp(prefix="lifeops-bench-")
    try:
        return asyncio.run(run(args.changes, args.rounds, config_dir, args.only))
    finally:
        # Off the main thread: the blocking-call detector still counts it as the loop's.
        cleanup = threading.Thread(target=shutil.rmtree, args=(config_dir,))
        cleanup.start()
        cleanup.join()


if __name__ == "__main__":
    sys.exit(main())
