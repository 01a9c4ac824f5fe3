"""The span index behind work hours and screen time: same answers as reading every span."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import json
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st

from custom_components.lifeops.core.intervals import JOIN_GAP, SpanIndex, union_duration
from custom_components.lifeops.core.screen_time import ScreenTimeTracker
from custom_components.lifeops.core.work import WorkTracker

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
STOCKHOLM = ZoneInfo("Europe/Stockholm")


@dataclass(frozen=True)
class _Span:
    start: datetime
    end: datetime | None


spans = st.lists(
    st.tuples(st.integers(0, 20_000), st.integers(0, 3_000)).map(
        lambda pair: _Span(
            T0 + timedelta(minutes=pair[0]), T0 + timedelta(minutes=pair[0] + pair[1])
        )
    ),
    max_size=60,
)
windows = st.tuples(st.integers(-500, 21_000), st.integers(1, 10_000)).map(
    lambda pair: (T0 + timedelta(minutes=pair[0]), T0 + timedelta(minutes=pair[0] + pair[1]))
)


@given(spans, windows, st.integers(0, 59))
def test_the_index_finds_exactly_the_spans_a_full_scan_finds(
    items: list[_Span], window: tuple[datetime, datetime], removed: int
) -> None:
    index: SpanIndex[_Span] = SpanIndex(items[: len(items) // 2])
    for item in items[len(items) // 2 :]:
        index.add(item)
    if items:
        gone = items[removed % len(items)]
        index.remove(gone)
        items = [item for item in items if item is not gone]
    start, end = window
    expected = [s for s in items if s.start < end and s.end is not None and s.end > start]
    found = index.overlapping(start, end)
    assert sorted(map(id, found)) == sorted(map(id, expected))
    assert [s.start for s in index] == sorted(s.start for s in items)


@given(spans, st.integers(0, 25_000))
def test_prune_forgets_only_spans_that_ended_before_the_cutoff(
    items: list[_Span], cutoff_minutes: int
) -> None:
    index: SpanIndex[_Span] = SpanIndex(items)
    cutoff = T0 + timedelta(minutes=cutoff_minutes)
    index.prune(cutoff)
    kept = {id(s) for s in index}
    for item in items:
        if item.end is not None and item.end >= cutoff:
            assert id(item) in kept


def test_a_laptop_back_within_a_minute_continues_its_session() -> None:
    tracker = WorkTracker()
    first = tracker.source_changed("binary_sensor.laptop", True, T0)
    assert first is not None
    tracker.source_changed("binary_sensor.laptop", False, T0 + timedelta(hours=1))
    again = tracker.source_changed("binary_sensor.laptop", True, T0 + timedelta(hours=1) + JOIN_GAP)
    assert again is not None
    assert again.id == first.id
    assert again.start == T0
    tracker.source_changed("binary_sensor.laptop", False, T0 + timedelta(hours=2))
    assert len(tracker.sessions()) == 1
    # Longer away: a new session.
    later = T0 + timedelta(hours=2) + JOIN_GAP + timedelta(seconds=1)
    other = tracker.source_changed("binary_sensor.laptop", True, later)
    assert other is not None
    assert other.id != first.id
    assert len(tracker.sessions()) == 2
    assert tracker.worked(T0, T0 + timedelta(days=1), later) == timedelta(hours=2)


def test_thousands_of_toggles_keep_one_session_and_the_right_total() -> None:
    tracker = WorkTracker()
    moment = T0
    for _ in range(5_000):
        tracker.source_changed("binary_sensor.laptop", True, moment)
        moment += timedelta(seconds=5)
        tracker.source_changed("binary_sensor.laptop", False, moment)
        moment += timedelta(seconds=5)
    assert len(tracker.sessions()) == 1
    assert tracker.worked(T0, moment, moment) == moment - T0 - timedelta(seconds=5)
    restored = WorkTracker.from_dict(json.loads(json.dumps(tracker.as_dict())))
    assert [s.as_dict() for s in restored.sessions()] == [s.as_dict() for s in tracker.sessions()]


def test_screen_time_joins_short_gaps_and_keeps_logs_apart() -> None:
    tracker = ScreenTimeTracker()
    tracker.source_changed("phone", "phone", True, T0)
    tracker.source_changed("phone", "phone", False, T0 + timedelta(minutes=10))
    tracker.source_changed("phone", "phone", True, T0 + timedelta(minutes=10, seconds=30))
    tracker.source_changed("phone", "phone", False, T0 + timedelta(minutes=20))
    assert tracker.log(minutes=15, category="tv", when=T0 + timedelta(hours=3), log_id="a")
    assert not tracker.log(minutes=15, category="tv", when=T0 + timedelta(hours=3), log_id="a")
    now = T0 + timedelta(hours=4)
    day = now.astimezone(STOCKHOLM).date()
    assert tracker.by_category(day, STOCKHOLM, now) == {
        "phone": timedelta(minutes=20),
        "tv": timedelta(minutes=15),
    }
    stored = json.loads(json.dumps(tracker.as_dict()))
    assert len(stored["spans"]) == 1
    restored = ScreenTimeTracker.from_dict(stored)
    assert restored.by_category(day, STOCKHOLM, now) == tracker.by_category(day, STOCKHOLM, now)
    assert not restored.log(minutes=15, category="tv", when=T0 + timedelta(hours=3), log_id="a")


def test_union_counts_overlaps_once() -> None:
    hour = timedelta(hours=1)
    spans = [(T0, T0 + 2 * hour), (T0 + hour, T0 + 3 * hour), (T0 + 5 * hour, T0 + 6 * hour)]
    assert union_duration(spans, T0, T0 + 10 * hour) == 4 * hour
    assert union_duration(spans, T0 + 2 * hour, T0 + 5 * hour + hour / 2) == 1.5 * hour
