"""The change hub (`core/changes.py`) and what the agents' state objects publish on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging
from typing import Any

import pytest

from custom_components.lifeops.core.changes import (
    Change,
    ChangeHub,
    NotificationDismissed,
    NotificationQueued,
    ScreenTimeInterval,
    WorkSessionChanged,
    WorkSessionClosed,
    XpEventAdded,
)
from custom_components.lifeops.core.intervals import JOIN_GAP
from custom_components.lifeops.core.notifications import NotificationQueue
from custom_components.lifeops.core.screen_time import ScreenTimeTracker
from custom_components.lifeops.core.work import WorkTracker
from custom_components.lifeops.core.xp import XpEvent, XpLog

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _heard(hub: ChangeHub, kind: type[Change] = Change) -> list[Any]:
    heard: list[Any] = []
    hub.subscribe(kind, heard.append)
    return heard


def _xp(event_id: str, amount: int = 10) -> XpEvent:
    return XpEvent(
        id=event_id,
        time=NOW,
        agent="fitness",
        event_type="workout",
        amount=amount,
        origin="home",
    )


def test_subscribers_hear_their_kind_and_all_hear_every_change() -> None:
    hub = ChangeHub()
    closed = _heard(hub, WorkSessionClosed)
    everything = _heard(hub)
    xp = XpEventAdded(_xp("a"))
    screen = ScreenTimeInterval("tv", "tv", NOW, NOW + timedelta(minutes=5))
    hub.publish(xp)
    hub.publish(screen)
    assert closed == []
    assert everything == [xp, screen]


def test_unsubscribe_stops_the_calls_and_twice_is_harmless() -> None:
    hub = ChangeHub()
    heard: list[Change] = []
    unsubscribe = hub.subscribe(XpEventAdded, heard.append)
    other = _heard(hub, XpEventAdded)
    assert len(hub) == 2
    hub.publish(XpEventAdded(_xp("a")))
    unsubscribe()
    unsubscribe()
    hub.publish(XpEventAdded(_xp("b")))
    assert [change.event.id for change in heard] == ["a"]  # type: ignore[attr-defined]
    assert len(other) == 2
    assert len(hub) == 1


def test_a_failing_subscriber_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = ChangeHub()

    def broken(change: Change) -> None:
        raise RuntimeError("boom")

    hub.subscribe(XpEventAdded, broken)
    after = _heard(hub, XpEventAdded)
    everything = _heard(hub)
    with caplog.at_level(logging.ERROR):
        hub.publish(XpEventAdded(_xp("a")))
    assert len(after) == len(everything) == 1
    assert "XpEventAdded" in caplog.text


def test_subscribing_while_publishing_takes_effect_from_the_next_change() -> None:
    hub = ChangeHub()
    late: list[Change] = []

    def first(change: Change) -> None:
        hub.subscribe(XpEventAdded, late.append)

    unsubscribe = hub.subscribe(XpEventAdded, first)
    hub.publish(XpEventAdded(_xp("a")))
    assert late == []
    unsubscribe()
    hub.publish(XpEventAdded(_xp("b")))
    assert len(late) == 1


def test_changes_are_frozen() -> None:
    change = XpEventAdded(_xp("a"))
    with pytest.raises(AttributeError):
        change.event = _xp("b")  # type: ignore[misc]


def test_work_tracker_publishes_opened_and_closed_sessions_not_what_it_loads() -> None:
    hub = ChangeHub()
    heard = _heard(hub)
    stored = WorkTracker([]).as_dict()
    tracker = WorkTracker.from_dict(stored, changes=hub)
    opened = tracker.source_changed("laptop", True, NOW)
    assert opened is not None
    closed = tracker.source_changed("laptop", False, NOW + timedelta(hours=1))
    # Back within the join gap: the same session goes on, and closes again later.
    tracker.source_changed("laptop", True, NOW + timedelta(hours=1) + JOIN_GAP / 2)
    tracker.stop(NOW + timedelta(hours=2))
    assert [type(change) for change in heard] == [
        WorkSessionChanged,
        WorkSessionClosed,
        WorkSessionChanged,
        WorkSessionClosed,
    ]
    assert heard[1].session == closed
    assert heard[3].session.id == opened.id
    assert heard[3].session.end == NOW + timedelta(hours=2)
    # Loading a log with an open session publishes nothing.
    again: list[Change] = []
    quiet = ChangeHub()
    quiet.subscribe(Change, again.append)
    WorkTracker.from_dict(tracker.as_dict(), changes=quiet)
    assert again == []


def test_screen_time_tracker_publishes_closed_spans_only() -> None:
    hub = ChangeHub()
    heard = _heard(hub)
    tracker = ScreenTimeTracker(changes=hub)
    tracker.source_changed("media_player.tv", "media_player.tv", True, NOW)
    tracker.log(minutes=20, category="reading", when=NOW)  # logged by hand: not an interval
    tracker.source_changed("media_player.tv", "media_player.tv", False, NOW + timedelta(hours=1))
    assert heard == [
        ScreenTimeInterval("media_player.tv", "media_player.tv", NOW, NOW + timedelta(hours=1))
    ]
    restored = ScreenTimeTracker.from_dict(tracker.as_dict(), changes=hub)
    assert len(heard) == 1
    assert restored.changes is hub


def test_xp_log_publishes_new_ids_once_whether_added_or_merged() -> None:
    hub = ChangeHub()
    heard = _heard(hub, XpEventAdded)
    log = XpLog([_xp("stored")], changes=hub)  # what it starts from is not news
    assert log.add(_xp("a"))
    assert not log.add(_xp("a"))
    assert not log.add(_xp("a", amount=5))  # another copy under a known id: not new
    assert log.merge([_xp("a"), _xp("b"), _xp("stored")]) == 1
    assert [change.event.id for change in heard] == ["a", "b"]


def test_notification_queue_publishes_new_and_dismissed_ones() -> None:
    hub = ChangeHub()
    heard = _heard(hub)
    queue = NotificationQueue(tz=UTC, changes=hub)
    item, created = queue.add(NOW, title="Bedtime", message="Time for bed")
    assert created
    _, created = queue.add(NOW, title="Bedtime", message="Time for bed")  # a duplicate
    assert not created
    queue.dismiss(item.id, NOW)
    queue.dismiss(item.id, NOW)  # twice: one change
    assert [type(change) for change in heard] == [NotificationQueued, NotificationDismissed]
    assert heard[0].notification.id == item.id
    NotificationQueue.from_dict(queue.as_dict(), tz=UTC, changes=hub)
    assert len(heard) == 2


def test_a_listener_to_every_change_subscribed_while_publishing_hears_the_next_one() -> None:
    hub = ChangeHub()
    late: list[Change] = []
    hub.subscribe(XpEventAdded, lambda change: hub.subscribe(Change, late.append))
    hub.publish(XpEventAdded(_xp("a")))
    assert late == []
    hub.publish(ScreenTimeInterval("tv", "tv", NOW, NOW))
    assert len(late) == 1
