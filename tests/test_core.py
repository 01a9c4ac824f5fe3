"""The domain logic on its own: no Home Assistant, real time zones, DST nights."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
import json
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st
import pytest

from custom_components.lifeops.core import schedule
from custom_components.lifeops.core.fitness import (
    LEVELS,
    FitnessInputs,
    Recommendation,
    goal_progress,
    recommend,
)
from custom_components.lifeops.core.intervals import local_day_bounds, union_duration
from custom_components.lifeops.core.notifications import (
    Notification,
    NotificationQueue,
    Priority,
    Status,
    UnreadableRecord,
)
from custom_components.lifeops.core.scenes import LightInfo, SceneOptions, plan_wind_down
from custom_components.lifeops.core.settings import Settings, validate, validate_section
from custom_components.lifeops.core.sites import new_node_id, site_id
from custom_components.lifeops.core.sleep import SleepRules, SleepState
from custom_components.lifeops.core.work import WorkSession, WorkTracker, calendar_event_is_work

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=STOCKHOLM)


# ---- schedule -------------------------------------------------------------------------------


def test_next_occurrence_is_strictly_after_now() -> None:
    now = local(2026, 11, 25, 22, 30)
    assert schedule.next_occurrence(now, time(22, 30), STOCKHOLM) == local(2026, 11, 26, 22, 30)
    assert schedule.next_occurrence(now, time(23, 0), STOCKHOLM) == local(2026, 11, 25, 23, 0)
    with pytest.raises(ValueError, match="aware"):
        schedule.next_occurrence(datetime(2026, 1, 1), time(1), STOCKHOLM)  # noqa: DTZ001


def test_next_occurrence_in_the_spring_forward_gap_moves_past_it() -> None:
    # 2026-03-29: clocks jump from 02:00 to 03:00 in Stockholm; 02:30 does not exist.
    now = local(2026, 3, 29, 1, 0)
    moment = schedule.next_occurrence(now, time(2, 30), STOCKHOLM)
    assert moment.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_wind_down_start_counts_real_minutes_across_fall_back() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET. 03:15 CET is 45 real minutes after 02:30 CET.
    bedtime = datetime(2026, 10, 25, 3, 15, tzinfo=STOCKHOLM)
    start = schedule.wind_down_start(bedtime, 45)
    assert bedtime.astimezone(UTC) - start.astimezone(UTC) == timedelta(minutes=45)


def test_quiet_window_wraps_midnight() -> None:
    assert schedule.in_daily_window(time(23), time(22), time(7))
    assert schedule.in_daily_window(time(6, 59), time(22), time(7))
    assert not schedule.in_daily_window(time(7), time(22), time(7))
    assert not schedule.in_daily_window(time(12), time(12), time(12))


# ---- settings and sites ---------------------------------------------------------------------


def test_settings_round_trip_and_validation() -> None:
    assert Settings.from_options(Settings().as_options()) == Settings()
    settings, errors = validate({**Settings().as_options(), "wind_down_minutes": "30"})
    assert errors == {}
    assert settings is not None
    assert settings.wind_down_minutes == 30
    _, errors = validate({**Settings().as_options(), "wind_down_minutes": float("nan")})
    assert errors == {"wind_down_minutes": "not_a_number"}
    values, errors = validate_section(
        "sleep", {"bedtime_source": "recommended", "poor_sleep_threshold": 70}
    )
    assert values is None
    assert errors == {"recommended_bedtime_entity": "recommended_bedtime_entity_required"}
    values, errors = validate_section("work", {"work_keywords": "standup, Sprint,standup"})
    assert values == {
        "work_sources": [],
        "work_calendars": [],
        "work_keywords": ["standup", "Sprint"],
    }


def test_site_ids_and_node_ids() -> None:
    assert site_id(" Fjällstugan ") == "fjallstugan"
    assert site_id("Summer Cabin!") == "summer_cabin"
    assert site_id("🏔️") == ""
    first, second = new_node_id(), new_node_id()
    assert first != second
    assert len(first) == 32


# ---- sleep ----------------------------------------------------------------------------------


def test_wind_down_ended_early_is_not_restarted_that_night() -> None:
    sleep_rules = SleepRules()
    bedtime = local(2026, 11, 25, 22, 30)
    now = local(2026, 11, 25, 21, 50)
    assert sleep_rules.scheduled_start_due(now, bedtime, 45)
    assert sleep_rules.start_wind_down(now, bedtime, "schedule")
    assert not sleep_rules.scheduled_start_due(now, bedtime, 45)
    assert sleep_rules.end_wind_down(now + timedelta(minutes=5))
    assert not sleep_rules.scheduled_start_due(now + timedelta(minutes=6), bedtime, 45)
    tomorrow = bedtime + timedelta(days=1)
    assert sleep_rules.scheduled_start_due(tomorrow - timedelta(minutes=30), tomorrow, 45)
    restored = SleepRules(SleepState.from_dict(json.loads(json.dumps(sleep_rules.state.as_dict()))))
    assert restored.state == sleep_rules.state


def test_late_night_once_per_night_and_poor_sleep_once_per_day() -> None:
    sleep_rules = SleepRules()
    night = {"bedtime": time(23), "wake_time": time(7), "tz": STOCKHOLM}
    assert not sleep_rules.late_night_activity(local(2026, 11, 25, 23, 20), active=True, **night)
    assert sleep_rules.late_night_activity(local(2026, 11, 25, 23, 31), active=True, **night)
    assert not sleep_rules.late_night_activity(local(2026, 11, 26, 0, 40), active=True, **night)
    assert sleep_rules.late_night_activity(local(2026, 11, 26, 23, 45), active=True, **night)
    assert (
        sleep_rules.minutes_past_bedtime(local(2026, 11, 26, 1, 0), time(23), time(7), STOCKHOLM)
        == 120
    )
    assert (
        sleep_rules.minutes_past_bedtime(local(2026, 11, 26, 8, 0), time(23), time(7), STOCKHOLM)
        is None
    )

    assert not sleep_rules.poor_sleep(date(2026, 11, 26), None, 70)
    assert not sleep_rules.poor_sleep(date(2026, 11, 26), 70, 70)
    assert sleep_rules.poor_sleep(date(2026, 11, 26), 64, 70)
    assert not sleep_rules.poor_sleep(date(2026, 11, 26), 50, 70)
    assert sleep_rules.poor_sleep(date(2026, 11, 27), 50, 70)


def test_minutes_past_bedtime_on_the_spring_forward_night() -> None:
    # Bedtime 01:30, and at 03:30 CEST only one real hour has passed.
    sleep_rules = SleepRules()
    now = local(2026, 3, 29, 3, 30)
    assert sleep_rules.minutes_past_bedtime(now, time(1, 30), time(7), STOCKHOLM) == 60


# ---- fitness --------------------------------------------------------------------------------


def test_fitness_rule() -> None:
    assert recommend(FitnessInputs(None, 80, None, None)) == (None, ["no_data"])
    assert recommend(FitnessInputs(90, 80, 50, 300))[0] is Recommendation.INTENSE
    assert recommend(FitnessInputs(90, 50, 95, 300)) == (
        Recommendation.LIGHT,
        ["readiness_high", "poor_sleep", "hard_day_yesterday"],
    )
    assert recommend(FitnessInputs(55, 90, None, None))[0] is Recommendation.REST
    assert goal_progress(4000, 8000) == 50.0
    with pytest.raises(ValueError, match="goal"):
        goal_progress(1, 0)


SCORES = st.one_of(st.none(), st.floats(min_value=0, max_value=100))


@given(low=st.floats(0, 100), high=st.floats(0, 100), sleep=SCORES, activity=SCORES, kcal=SCORES)
def test_more_readiness_never_means_lighter_training(
    low: float, high: float, sleep: float | None, activity: float | None, kcal: float | None
) -> None:
    low, high = sorted((low, high))
    first, _ = recommend(FitnessInputs(low, sleep, activity, kcal))
    second, _ = recommend(FitnessInputs(high, sleep, activity, kcal))
    assert first is not None
    assert second is not None
    assert LEVELS.index(second) >= LEVELS.index(first)


# ---- scenes ---------------------------------------------------------------------------------


def _light(entity_id: str, **kwargs: object) -> LightInfo:
    values: dict[str, object] = {
        "entity_id": entity_id,
        "is_on": True,
        "supports_brightness": True,
        "supports_color_temp": False,
        "min_kelvin": None,
        "max_kelvin": None,
        "supports_transition": False,
        "brightness": 255,
        **kwargs,
    }
    return LightInfo(**values)  # type: ignore[arg-type]


def test_scene_plan_for_lights_of_every_kind() -> None:
    lights = [
        _light("light.ct", supports_color_temp=True, min_kelvin=2700, supports_transition=True),
        _light("light.plejd", brightness=204),
        _light("light.off", is_on=False),
        _light("light.dim_already", supports_transition=True, brightness=20),
    ]
    plan = plan_wind_down(lights, SceneOptions(brightness_pct=30, color_temp_kelvin=2200))
    touched = {entity for call in plan for entity in call.entity_ids}
    assert "light.off" not in touched
    ct = next(call for call in plan if call.entity_ids == ("light.ct",))
    assert ct.data == {"brightness": 76, "color_temp_kelvin": 2700, "transition": 60}
    dim = next(call for call in plan if call.entity_ids == ("light.dim_already",))
    assert dim.data["brightness"] == 20  # never brightened
    steps = [call for call in plan if call.entity_ids == ("light.plejd",)]
    levels = [call.data["brightness"] for call in steps]
    assert len(steps) == 6
    assert levels == sorted(levels, reverse=True)
    assert levels[-1] == 76
    assert all("transition" not in call.data for call in steps)
    assert [call.delay for call in steps] == sorted(call.delay for call in steps)


def test_scene_off_mode_and_bad_options() -> None:
    plan = plan_wind_down([_light("light.a", supports_transition=True)], SceneOptions(mode="off"))
    assert [(call.action, call.data) for call in plan] == [("turn_off", {"transition": 60})]
    with pytest.raises(ValueError, match="brightness"):
        plan_wind_down([], SceneOptions(brightness_pct=0))


# ---- work and intervals ---------------------------------------------------------------------


def test_overlapping_sources_count_once_and_dst_days_are_real_length() -> None:
    tracker = WorkTracker()
    start = local(2026, 11, 23, 9, 0)
    tracker.source_changed("laptop", True, start)
    tracker.source_changed("calendar.work", True, start + timedelta(hours=1), scheduled=True)
    tracker.source_changed("laptop", False, start + timedelta(hours=3))
    tracker.source_changed("calendar.work", False, start + timedelta(hours=4))
    assert tracker.today(start + timedelta(hours=5), STOCKHOLM) == timedelta(hours=4)
    restored = WorkTracker.from_dict(json.loads(json.dumps(tracker.as_dict())))
    assert restored.sessions() == tracker.sessions()

    short_day = local_day_bounds(date(2026, 3, 29), STOCKHOLM)
    long_day = local_day_bounds(date(2026, 10, 25), STOCKHOLM)
    assert short_day[1].astimezone(UTC) - short_day[0].astimezone(UTC) == timedelta(hours=23)
    assert long_day[1].astimezone(UTC) - long_day[0].astimezone(UTC) == timedelta(hours=25)


def test_calendar_keywords_match_whole_words() -> None:
    rules = {"work_calendars": (), "keywords": ("standup",)}
    assert calendar_event_is_work("Team Standup", None, "calendar.family", **rules)
    assert not calendar_event_is_work("standups retro", None, "calendar.family", **rules)
    assert calendar_event_is_work(
        "Lunch", None, "calendar.job", work_calendars=("calendar.job",), keywords=()
    )


spans = st.lists(st.tuples(st.integers(0, 2000), st.integers(1, 600)), min_size=0, max_size=12)


@given(items=spans)
def test_union_never_exceeds_the_window_and_ignores_order(items: list[tuple[int, int]]) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    intervals = [(base + timedelta(minutes=a), base + timedelta(minutes=a + b)) for a, b in items]
    window = (base, base + timedelta(days=1))
    total = union_duration(intervals, *window)
    assert timedelta(0) <= total <= window[1] - window[0]
    assert union_duration(list(reversed(intervals)), *window) == total


# ---- notification queue ---------------------------------------------------------------------


def test_queue_quiet_hours_backoff_and_persistence() -> None:
    queue = NotificationQueue(tz=STOCKHOLM, quiet_hours=(time(22), time(7)), max_attempts=3)
    night = local(2026, 11, 25, 23, 0)
    normal, _ = queue.add(night, title="t", message="m")
    urgent, _ = queue.add(night, title="u", message="m", priority=Priority.URGENT)
    assert [item.id for item in queue.due(night)] == [urgent.id]
    assert queue.next_wakeup(night) == local(2026, 11, 26, 7, 0)

    queue.mark_failed_attempt(urgent.id, night, "down")
    assert queue.get(urgent.id).next_attempt == night + timedelta(seconds=30)
    queue.mark_failed_attempt(urgent.id, night, "down")
    queue.mark_failed_attempt(urgent.id, night, "down")
    assert queue.get(urgent.id).status is Status.FAILED

    restored = NotificationQueue.from_dict(json.loads(json.dumps(queue.as_dict())), tz=STOCKHOLM)
    assert restored.as_dict() == queue.as_dict()
    assert queue.prune(night + timedelta(days=30)) == 1  # the failed one; the pending stays
    assert [item.id for item in queue.pending()] == [normal.id]


def _cabin_record(queue: NotificationQueue, when: datetime, **fields: object) -> Notification:
    """The cabin's record of a notification it made at `when`, as sync carries it."""
    mine, _ = NotificationQueue(tz=STOCKHOLM).add(when, title="Bedtime", message="In 30 min")
    record = json.loads(json.dumps(mine.synced_fields("cabin"))) | fields
    return Notification.from_synced("cabin-1", record)


def test_another_sites_notification_is_mirrored_never_due_and_follows_its_record() -> None:
    queue = NotificationQueue(tz=STOCKHOLM)
    evening = local(2026, 11, 25, 21, 30)
    mirrored = _cabin_record(queue, evening)
    assert mirrored.site == "cabin" and mirrored.targets == () and mirrored.attempts == 0
    assert queue.merge_synced(mirrored) is True
    assert queue.merge_synced(mirrored) is False  # heard twice: nothing changes
    assert queue.pending() == [mirrored]  # shown with the queue...
    assert queue.due(evening + timedelta(hours=1)) == []  # ...but never delivered here
    assert queue.next_wakeup(evening) is None

    # The same notification raised here meanwhile is merged into the cabin's: not sent again.
    same, created = queue.add(evening + timedelta(minutes=1), title="Bedtime", message="In 30 min")
    assert (same.id, created, same.count) == ("cabin-1", False, 2)

    delivered = _cabin_record(
        queue,
        evening,
        status="delivered",
        delivered_at=(evening + timedelta(seconds=5)).isoformat(),
    )
    assert queue.merge_synced(delivered) is True
    assert queue.get("cabin-1").status is Status.DELIVERED

    # Once delivered there and past the dedupe window, the same text here is a new notification.
    later, created = queue.add(evening + timedelta(hours=1), title="Bedtime", message="In 30 min")
    assert created and later.site is None and queue.due(evening + timedelta(hours=1)) == [later]

    restored = NotificationQueue.from_dict(json.loads(json.dumps(queue.as_dict())), tz=STOCKHOLM)
    assert restored.get("cabin-1") == queue.get("cabin-1")
    assert restored.get(later.id).site is None

    assert queue.forget_synced(later.id) is False  # this site's own are never dropped so
    assert queue.forget_synced("cabin-1") is True
    assert queue.get("cabin-1") is None and queue.forget_synced("cabin-1") is False


def test_another_sites_pending_notification_stops_holding_the_same_one_here_after_a_while() -> None:
    """A cabin switched off with a reminder pending does not keep home's from going out."""
    queue = NotificationQueue(tz=STOCKHOLM)
    evening = local(2026, 11, 25, 21, 30)
    queue.merge_synced(_cabin_record(queue, evening))  # pending there (quiet hours, say)
    morning = evening + timedelta(hours=11)
    same, created = queue.add(morning, title="Bedtime", message="In 30 min")
    assert (same.id, created) == ("cabin-1", False)  # still held there: delivered by the cabin
    next_evening = evening + timedelta(days=1)
    own, created = queue.add(next_evening, title="Bedtime", message="In 30 min")
    assert created and own.site is None
    assert queue.due(next_evening) == [own]
    # This site's own pending notification still holds the same one however old it is.
    again, created = queue.add(
        next_evening + timedelta(days=3), title="Bedtime", message="In 30 min"
    )
    assert (again.id, created) == (own.id, False)


def test_a_dismissal_here_stands_against_the_record_and_own_notifications_stay() -> None:
    queue = NotificationQueue(tz=STOCKHOLM)
    evening = local(2026, 11, 25, 21, 30)
    queue.merge_synced(_cabin_record(queue, evening))
    queue.dismiss("cabin-1", evening + timedelta(minutes=1))
    delivered = _cabin_record(queue, evening, status="delivered", count=3)
    assert queue.merge_synced(delivered) is True  # the count follows...
    assert queue.get("cabin-1").count == 3
    assert queue.get("cabin-1").status is Status.DISMISSED  # ...the dismissal stands

    own, _ = queue.add(evening, title="Stretch", message="Stand up")
    impostor = Notification.from_synced(own.id, own.synced_fields("cabin"))
    assert queue.merge_synced(impostor) is False
    assert queue.get(own.id).site is None
    with pytest.raises(ValueError, match="not another site's"):
        queue.merge_synced(own)


@pytest.mark.parametrize(
    "change",
    [
        {"site": None},
        {"site": ""},
        {"title": None},
        {"dedupe_key": 7},
        {"priority": 9},
        {"status": "lost"},
        {"created": "2026-11-25T21:30:00"},  # no time zone
        {"scheduled": "yesterday"},
        {"count": 0},
    ],
)
def test_an_unreadable_notification_record_is_refused(change: dict[str, object]) -> None:
    queue = NotificationQueue(tz=STOCKHOLM)
    with pytest.raises(UnreadableRecord, match="cabin-1"):
        _cabin_record(queue, local(2026, 11, 25, 21, 30), **change)


def test_another_sites_work_session_counts_once_ended_and_follows_its_end() -> None:
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    tracker = WorkTracker()
    tracker.start(start, "manual")
    tracker.stop(start + timedelta(hours=1))
    remote = WorkSession(
        id="c1", start=start, end=None, source="manual", scheduled=False, site="cabin"
    )
    window = (start, start + timedelta(days=1), start + timedelta(hours=5))
    assert tracker.merge_synced(remote) is False  # open there: not counted here
    assert tracker.merge_synced(replace(remote, end=start + timedelta(hours=2))) is True
    assert tracker.worked(*window) == timedelta(hours=2)  # overlapping time counts once
    assert tracker.merge_synced(replace(remote, end=start + timedelta(hours=3))) is True
    assert tracker.worked(*window) == timedelta(hours=3)
    assert tracker.merge_synced(replace(remote, end=start + timedelta(hours=3))) is False
    # A local start of the same source never continues the other site's session.
    tracker.start(start + timedelta(hours=3, minutes=1), "manual")
    assert {s.id for s in tracker.open_sessions()} != {"c1"}
    restored = WorkTracker.from_dict(json.loads(json.dumps(tracker.as_dict())))
    assert next(s for s in restored.sessions() if s.id == "c1").site == "cabin"
    assert tracker.merge_synced(replace(remote, end=None)) is True  # continued there
    assert all(s.id != "c1" for s in tracker.sessions())
