"""The long-term rows' item form (`sync/long_term_rows.py`): exact round trips, no echo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import json

import pytest

from custom_components.lifeops.sync import Change, ItemsPage
from custom_components.lifeops.sync.long_term_rows import (
    BACKFILL_DONE,
    SYNCED_TABLES,
    RowDecodeError,
    backfill_done,
    decode_row,
    page_rows,
    received_rows,
    sync_ops,
)
from custom_components.lifeops.timescale import rows

WHEN = datetime(2026, 3, 1, 7, 8, 9, 987_654, tzinfo=timezone(timedelta(hours=-5)))


def _made() -> dict[str, list[tuple[object, ...]]]:
    return {
        "health_metric": [rows.health_metric("cabin", "sensor.hr", WHEN, 61.5, "oura")],
        "sleep_session": [rows.sleep_session("cabin", WHEN, WHEN + timedelta(hours=7))],
        "activity_event": [rows.workout("cabin", WHEN, WHEN + timedelta(hours=1), "w1")],
        "screen_time": [rows.screen_time("cabin", WHEN, WHEN + timedelta(minutes=3))],
        "work_session": [rows.work_session("cabin", WHEN, WHEN + timedelta(hours=2), id="s")],
        "device_state": [rows.device_state("cabin", "light.a", WHEN, "on", None)],
    }


def _changes(origin: str) -> list[Change]:
    return [
        Change(
            "item", op["collection"], op["key"], None, json.loads(json.dumps(op["value"])), origin
        )
        for table, batch in _made().items()
        for op in sync_ops(table, batch)
    ]


def test_every_carried_table_comes_back_identical() -> None:
    found = received_rows(_changes("cabin"), "home")
    assert found == _made()
    (row,) = found["health_metric"]
    assert row[0] == WHEN and row[0].astimezone(UTC).microsecond == 987_654


def test_own_rows_other_changes_and_xp_are_left_out() -> None:
    assert received_rows(_changes("home"), "home") == {}
    xp = rows.xp_event("cabin", WHEN, "e1", agent="a", event_type="t", amount=3)
    assert sync_ops("xp_event", [xp]) == []
    other = [
        Change("item", "xp", "e1", None, {}, "cabin"),
        Change("field", "longterm.x", "k", "f", 1, "c"),
    ]
    assert received_rows(other, "home") == {}


def test_keys_are_the_primary_key_so_a_row_is_one_item() -> None:
    (row,) = _made()["health_metric"]
    (op,) = sync_ops("health_metric", [row])
    micros = (WHEN - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert op["key"] == f"cabin|{row[2].hex}|{micros}"
    assert sync_ops("health_metric", [row]) == [op]


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        [1, "cabin"],
        [1.5, "cabin", "ab" * 16, "m", 1.0, ""],
        [1, "cabin", "zz", "m", 1.0, ""],
        [1, None, "ab" * 16, "m", 1.0, ""],
        [1, "cabin", "ab" * 16, {"x": 1}, 1.0, ""],
        # A hostile peer's: a time beyond year 9999, text PostgreSQL cannot hold, a huge integer.
        [2**62, "cabin", "ab" * 16, "m", 1.0, ""],
        [1, "cab\ud800in", "ab" * 16, "m", 1.0, ""],
        [1, "cabin", "ab" * 16, "m\x00", 1.0, ""],
        [1, "cabin", "ab" * 16, "m", 2**64, ""],
    ],
)
def test_an_unreadable_item_is_refused_and_skipped(value: object) -> None:
    with pytest.raises(RowDecodeError):
        decode_row("health_metric", value)
    change = Change("item", "longterm.health_metric", "k", None, value, "cabin")
    refused: list[tuple[str, str, str]] = []
    assert received_rows([change], "home", lambda *said: refused.append(said)) == {}
    assert [said[:2] for said in refused] == [("longterm.health_metric", "k")]


def test_a_backfill_page_gives_other_nodes_readable_rows() -> None:
    (op,) = sync_ops("health_metric", _made()["health_metric"])
    items = {op["key"]: op["value"], "home|x": op["value"], "broken": [1, "cabin"]}
    origins = {op["key"]: "cabin", "home|x": "home", "broken": "cabin"}
    page = ItemsPage(items=items, origins=origins, more=False, next="home|x")
    assert page_rows("health_metric", page, "home") == _made()["health_metric"]
    assert backfill_done(dict.fromkeys(SYNCED_TABLES, BACKFILL_DONE))
    assert not backfill_done(dict.fromkeys(sorted(SYNCED_TABLES)[1:], BACKFILL_DONE))
    assert not backfill_done({})
