"""Benchmark: recompute every gamification figure from a 5-year, 50,000-event XP log.

The issue's target is under 200 ms. The log holds about eight habits and goals completed on most
days plus the agents' other awards, at random local times in Europe/Stockholm (DST nights
included), from two sites. `compute()` is timed as the best of several rounds, next to two
baselines timed in the same rounds on the same log: a plain `sum()` of the amounts (the least any
recomputation must do: touch every event once) and sorting the events by time. The rounds
alternate the three, so a busy machine slows them alike and the ratios stay meaningful. Needs no
Home Assistant:

    .venv/bin/python benchmarks/bench_gamification.py
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
import random
import statistics
import sys
from time import perf_counter
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.lifeops.core.gamification import compute
from custom_components.lifeops.core.habits import BUILTIN_GOALS, Habit, Schedule
from custom_components.lifeops.core.xp import XpEvent, XpLog

TZ = ZoneInfo("Europe/Stockholm")
EVENTS = 50_000
YEARS = 5
TARGET_MS = 200.0
ROUNDS = 9
HABITS = (
    Habit(id="meditate", name="Meditate", xp=10, grace_days=1),
    Habit(id="stretch", name="Stretch", schedule=Schedule.WEEKDAYS, xp=5),
    Habit(id="read", name="Read", schedule=Schedule.WEEKLY, times_per_week=4, xp=15),
)


def build_log(seed: int = 2026) -> tuple[XpLog, datetime]:
    """A deterministic log of EVENTS events over YEARS years, ending now."""
    rng = random.Random(seed)
    first = date(2021, 4, 1)
    days = [first + timedelta(days=i) for i in range(round(YEARS * 365.25))]
    habits = [*BUILTIN_GOALS, *HABITS]
    events: list[XpEvent] = []

    def at(day: date) -> datetime:
        wall = time(rng.randrange(24), rng.randrange(60), rng.randrange(60))
        return datetime.combine(day, wall, tzinfo=TZ).astimezone(UTC)

    for day in days:
        for habit in habits:
            if rng.random() < 0.8:
                events.append(
                    XpEvent(
                        id=f"{habit.id}@{day.isoformat()}",
                        time=at(day),
                        agent=habit.agent,
                        event_type="habit_completed",
                        amount=habit.xp,
                        description=habit.name,
                        origin=rng.choice(("home", "summer_cabin")),
                        habit_id=habit.id,
                    )
                )
    while len(events) < EVENTS:
        events.append(
            XpEvent(
                id=f"award-{len(events)}",
                time=at(rng.choice(days)),
                agent="fitness",
                event_type="steps_goal",
                amount=rng.randrange(1, 50),
                description="bonus",
                origin="home",
            )
        )
    rng.shuffle(events)  # the order a merge of several sites' logs might have
    now = datetime.combine(days[-1], time(21, 0), tzinfo=TZ)
    return XpLog(events[:EVENTS]), now


def timed(run: Callable[[], object]) -> float:
    """One call, in milliseconds."""
    start = perf_counter()
    run()
    return (perf_counter() - start) * 1000


def main() -> int:
    """Print the figures; exit status 1 when compute() misses the target."""
    build_start = perf_counter()
    log, now = build_log()
    stored = log.as_dict()
    build_ms = (perf_counter() - build_start) * 1000
    load_ms = timed(lambda: XpLog.from_dict(stored))
    figures = compute(log, HABITS, TZ, now)
    runs: dict[str, list[float]] = {"compute": [], "sum": [], "sort": []}
    for _ in range(ROUNDS):  # alternate, so a busy machine weighs on all three alike
        runs["compute"].append(timed(lambda: compute(log, HABITS, TZ, now)))
        runs["sum"].append(timed(lambda: sum(event.amount for event in log)))
        runs["sort"].append(timed(lambda: sorted(log, key=lambda event: event.time)))
    best = {name: min(times) for name, times in runs.items()}
    median = {name: statistics.median(times) for name, times in runs.items()}

    print(f"log: {len(log)} events over {YEARS} years, {len(figures.streaks)} habits and goals")
    print(f"     (built in {build_ms:.0f} ms; read back from storage in {load_ms:.0f} ms)")
    print(
        f"figures: {figures.total_xp} XP, level {figures.level.level}, "
        f"{len(figures.unlocked)}/{len(figures.achievements)} achievements, best streaks "
        + ", ".join(f"{h}={s.best}" for h, s in figures.streaks.items())
    )
    print(f"{ROUNDS} alternating rounds, best (median) in ms:")
    print(f"  {'compute()':32}{best['compute']:8.2f} ({median['compute']:.2f})")
    for name, label in (("sum", "sum() of the amounts"), ("sort", "sorting by time")):
        ratio = best["compute"] / best[name]
        line = f"  {'baseline: ' + label:32}{best[name]:8.2f} ({median[name]:.2f})"
        print(f"{line:50} compute is {ratio:.1f}x this")
    passed = best["compute"] < TARGET_MS
    verdict = "PASS" if passed else "FAIL"
    print(f"{verdict}: compute() {best['compute']:.2f} ms, target < {TARGET_MS:.0f} ms")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
