"""Other sites' records and items as untrusted input (`sync/inbound.py`), one collection at a time.

Each validator takes what a sync peer may send (any JSON, and what Python's JSON reader makes of
it: lone surrogates, integers of any size, NaN) and either returns what this site keeps, which
Home Assistant's JSON storage writes, or a reason.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging
from typing import Any

from homeassistant.helpers.json import json_bytes
from hypothesis import given, settings, strategies as st
import pytest

from custom_components.lifeops.core import habits, xp
from custom_components.lifeops.core.notifications import Notification
from custom_components.lifeops.core.text import clean_text, storable
from custom_components.lifeops.sync import inbound

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _event(**fields: Any) -> dict[str, Any]:
    return {
        "id": "cabin-hike",
        "time": "2026-12-03T10:00:00+00:00",
        "agent": "fitness",
        "event_type": "hike",
        "amount": 30,
        "description": "Up the hill",
        "origin": "cabin",
        "habit_id": None,
    } | fields


def _habit(**fields: Any) -> dict[str, Any]:
    return {
        "id": "read",
        "name": "Read",
        "schedule": "weekly",
        "times_per_week": 3,
        "xp": 10,
        "grace_days": 1,
    } | fields


def _session(**fields: Any) -> dict[str, Any]:
    return {
        "start": "2026-12-03T08:00:00+00:00",
        "end": "2026-12-03T10:00:00+00:00",
        "source": "manual",
        "scheduled": False,
        "site": "cabin",
    } | fields


def _notification(**fields: Any) -> dict[str, Any]:
    return {
        "title": "Bedtime",
        "message": "Time for bed",
        "priority": 2,
        "agent": "sleep",
        "url": None,
        "created": "2026-12-03T10:00:00+00:00",
        "scheduled": "2026-12-03T10:00:00+00:00",
        "status": "pending",
        "delivered_at": None,
        "dedupe_key": "k" * 32,
        "count": 1,
        "site": "cabin",
    } | fields


def test_an_honest_xp_event_is_kept_as_it_was_logged() -> None:
    event, reason = inbound.xp_event("cabin-hike", _event(), now=NOW)
    assert reason is None and event is not None
    assert event.as_dict() == _event()


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"amount": 2**64}, "invalid_amount"),
        ({"amount": xp.MAX_AWARD + 1}, "invalid_amount"),
        ({"amount": -1}, "invalid_amount"),
        ({"amount": True}, "invalid_amount"),
        ({"amount": 10.0}, "invalid_amount"),
        ({"amount": "10"}, "invalid_amount"),
        ({"time": "9999-12-31T23:59:59+00:00"}, "invalid_time"),
        ({"time": "9999-12-31T23:59:59-12:00"}, "invalid_time"),
        ({"time": "0001-01-01T00:00:00+14:00"}, "invalid_time"),
        ({"time": "2026-12-05T12:00:00+00:00"}, "invalid_time"),  # two days ahead
        ({"time": "1999-12-31T23:59:59+00:00"}, "invalid_time"),
        ({"time": "2026-12-03T10:00:00"}, "invalid_time"),  # no offset
        ({"time": 1_700_000_000}, "invalid_time"),
        ({"description": "\ud800"}, "invalid_text"),
        ({"description": "x" * (xp.MAX_DESCRIPTION_LENGTH + 1)}, "invalid_text"),
        ({"origin": "cab\udfffin"}, "invalid_text"),
        ({"habit_id": "re ad"}, "invalid_text"),
        ({"habit_id": ["read"]}, "invalid_text"),
        ({"agent": "nobody"}, "invalid_field"),
        ({"event_type": "Hike!"}, "invalid_field"),
        ({"id": "other"}, "invalid_key"),  # not the item's key
        ({"id": "x" * 65}, "invalid_key"),
    ],
)  # fmt: skip
def test_a_hostile_xp_event_is_refused(fields: dict[str, Any], reason: str) -> None:
    assert inbound.xp_event("cabin-hike", _event(**fields), now=NOW) == (None, reason)


def test_a_day_ahead_is_taken_more_is_not() -> None:
    ahead = NOW + xp.SYNCED_AHEAD
    assert inbound.xp_event(None, _event(time=ahead.isoformat()), now=NOW)[1] is None
    later = (ahead + timedelta(seconds=1)).isoformat()
    assert inbound.xp_event(None, _event(time=later), now=NOW) == (None, "invalid_time")


def test_habits_keep_the_habit_form_limits() -> None:
    habit, reason = inbound.habit("read", _habit())
    assert reason is None and habit is not None
    assert habit.as_dict() == _habit()
    # A daily habit's times a week are not read (as the form does).
    daily, _ = inbound.habit("read", _habit(schedule="daily", times_per_week=2**70))
    assert daily is not None and daily.times_per_week == 1
    for key, fields in [
        ("read", _habit(xp=2**64)),
        ("read", _habit(xp=habits.MAX_HABIT_XP + 1)),
        ("read", _habit(grace_days=habits.MAX_GRACE_DAYS + 1)),
        ("read", _habit(times_per_week=8)),
        ("read", _habit(xp=float("nan"))),
        ("read", _habit(name="x" * (habits.MAX_HABIT_NAME_LENGTH + 1))),
        ("read", _habit(name="Re\ud800ad")),
        ("read", _habit(name="")),
        ("read", _habit(schedule="hourly")),
        ("in_bed_by_bedtime", _habit()),  # a built-in goal's id
        ("Read Me", _habit()),
        ("re\ud800", _habit()),
        ("read", ["not", "a", "record"]),
    ]:
        assert inbound.habit(key, fields)[0] is None, (key, fields)


def test_work_sessions_and_dismissals() -> None:
    session, reason = inbound.work_session("s1", _session(), now=NOW)
    assert reason is None and session is not None and session.site == "cabin"
    long_entity = _session(source="binary_sensor." + "x" * 200)  # a work source's entity id
    assert inbound.work_session("s1", long_entity, now=NOW)[1] is None
    for fields in [
        _session(end="2026-12-03T07:00:00+00:00"),  # ends before it starts
        _session(start="9999-12-31T23:59:59+00:00", end=None),
        _session(start="2026-12-03T08:00:00"),
        _session(source="\udc00"),
        _session(source="x" * 256),
        _session(site=""),
        _session(scheduled="yes"),
    ]:
        assert inbound.work_session("s1", fields, now=NOW)[0] is None, fields
    assert inbound.work_session("s\ud800", _session(), now=NOW) == (None, "invalid_key")
    assert inbound.dismissal("k", "2026-12-03T10:00:00+00:00", now=NOW)[1] is None
    assert inbound.dismissal("k", "9999-12-31T23:59:59+00:00", now=NOW) == (None, "invalid_time")
    assert inbound.dismissal("k", 5, now=NOW) == (None, "invalid_time")


def test_notifications_keep_the_notify_action_limits() -> None:
    item, reason = inbound.notification("n1", _notification(), now=NOW)
    assert reason is None and isinstance(item, Notification) and item.site == "cabin"
    for fields in [
        _notification(title="x" * 121),
        _notification(message="x" * 2001),
        _notification(message="\ud800"),
        _notification(title=""),
        _notification(priority=0),
        _notification(priority=2**64),
        _notification(status="lost"),
        _notification(count=0),
        _notification(count=2**64),
        _notification(url="javascript:alert(1)"),
        _notification(created="9999-12-31T23:59:59+00:00"),
        _notification(delivered_at="nope"),
        _notification(agent="nobody"),
        _notification(site=None),
    ]:
        assert inbound.notification("n1", fields, now=NOW)[0] is None, fields


def test_settings_fields_are_checked_one_by_one() -> None:
    current = {"bedtime": "22:30:00", "wake_time": "06:30:00", "wind_down_minutes": 30}
    take, refused = inbound.settings_fields(
        {
            "bedtime": "23:00:00",
            "wind_down_minutes": 2**2000,
            "wake_time": "\ud800",
            "screen_time_limit_minutes": float("nan"),
        },
        current,
    )
    assert take == {"bedtime": "23:00:00"}
    assert set(refused) == {"wind_down_minutes", "wake_time", "screen_time_limit_minutes"}
    # Two fields that make sense only together are taken together (the new bedtime is the
    # current wake time).
    both = {"bedtime": "06:30:00", "wake_time": "14:00:00"}
    assert inbound.settings_fields(both, current) == (both, {})


def test_agent_switches_are_booleans_of_known_agents() -> None:
    take, refused = inbound.agent_switches(
        {"sleep": False, "fitness": 1, "nobody": True, "work_life": "off"}
    )
    assert take == {"sleep": False}
    assert refused == {
        "fitness": "invalid_field",
        "nobody": "invalid_key",
        "work_life": "invalid_field",
    }


def test_refusals_are_counted_and_logged_once_per_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("test_inbound")
    refusals = inbound.Refusals(logger, "Home")
    with caplog.at_level(logging.DEBUG, "test_inbound"):
        for _ in range(5):  # the same record read again and again: once
            refusals.refuse("xp", "bad", "invalid_amount")
        refusals.refuse("habits", "h\ud800", "invalid_key")
        for n in range(inbound.MAX_WARNINGS + 5):
            refusals.refuse("notifications", f"n{n}", "invalid_text")
    assert refusals.as_dict() == {"habits": 1, "notifications": inbound.MAX_WARNINGS + 5, "xp": 1}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == inbound.MAX_WARNINGS
    assert "further ones are counted" in warnings[-1].getMessage()
    assert all(storable(r.getMessage()) for r in caplog.records)
    # A collection named with a lone surrogate, and a peer inventing collections: the counts stay
    # storable (diagnostics) and bounded.
    for n in range(inbound.MAX_COLLECTIONS + 10):
        refusals.refuse(f"c\ud800{n}", "k", "invalid_key")
    assert len(refusals.as_dict()) == inbound.MAX_COLLECTIONS + 1
    assert all(storable(name) for name in refusals.as_dict())


def test_clean_text() -> None:
    assert clean_text("  Read ", 4) == "Read"
    assert clean_text("Read", 3) is None
    assert clean_text("R\ud800", 64) is None
    assert clean_text("\U0001f600", 64) == "\U0001f600"  # a real (paired) character is fine
    assert clean_text(None, 64) is None


# ---- any JSON a peer may send -----------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**53, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=3),
    st.sampled_from(
        [
            "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00", "2026-12-03T10:00:00+00:00",
            "2026-12-03T10:00:00", "fitness", "hike", "weekly", "pending", "cabin", "x" * 3000,
        ]
    ),
)  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


def _records(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid record with some fields replaced by anything, or anything at all."""
    fields = st.sampled_from(sorted(base))
    patched = st.dictionaries(fields, JSON, max_size=3).map(lambda extra: base | extra)
    return st.one_of(patched, JSON)


@settings(max_examples=150, deadline=None)
@given(
    key=st.one_of(st.text(max_size=70), st.sampled_from(["cabin-hike", "read", "s1", "n1"])),
    event=_records(_event()),
    habit=_records(_habit()),
    session=_records(_session()),
    note=_records(_notification()),
)
def test_whatever_a_peer_sends_is_refused_or_storable(
    key: str, event: Any, habit: Any, session: Any, note: Any
) -> None:
    """Never an exception; whatever is taken is written by Home Assistant's JSON storage."""
    results = [
        inbound.xp_event(key, event, now=NOW),
        inbound.habit(key, habit),
        inbound.work_session(key, session, now=NOW),
        inbound.notification(key, note, now=NOW),
        inbound.dismissal(key, event, now=NOW),
    ]
    for value, reason in results:
        assert (value is None) != (reason is None)
        if isinstance(value, datetime):  # a dismissal's time
            assert xp.EARLIEST_EVENT <= value <= NOW + xp.SYNCED_AHEAD
        elif value is not None:
            json_bytes(value.as_dict())  # raises on lone surrogates and integers beyond 64 bits
    event_ok = results[0][0]
    if event_ok is not None:
        assert 0 <= event_ok.amount <= xp.MAX_AWARD
        assert xp.EARLIEST_EVENT <= event_ok.time <= NOW + xp.SYNCED_AHEAD
