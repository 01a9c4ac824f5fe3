"""The store's rules against a dishonest or restored peer, one at a time, with a clock the test
sets: own counter, watermarks, reports and gossip, restores (epochs, tips), the drift bound, and
strict JSON text."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifeops_sync.crdt import Entry, Kind, Part, epoch_of, site_of, valid_origin
from lifeops_sync.hlc import DEFAULT_MAX_OFFSET_MS, DRIFT_TOLERANCE_MS, pack, wall_ms
from lifeops_sync.jsontext import JsonTextError, loads, within_depth
from lifeops_sync.ops import SetFields
from lifeops_sync.service import parse_cursor
from lifeops_sync.store import Store
from lifeops_sync.wire import MAX_SEQ

NOW = 1_800_000_000_000
HOUR = 3_600_000


class Clock:
    def __init__(self, ms: int = NOW) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def field(origin: str, seq: int, key: str, value: object, ms: int = NOW) -> Entry:
    return Entry(Kind.FIELD, origin, seq, pack(ms), "notes", key, "v", value)


def open_store(tmp_path: Path, node: str, clock: Clock | None = None) -> Store:
    return Store(tmp_path / f"{node}.db", node, clock or Clock(), durable=False)


def test_origins_and_sites() -> None:
    assert valid_origin("home") and valid_origin("home~1") and valid_origin("cabin_2~12")
    assert not valid_origin("home~0") and not valid_origin("home~") and not valid_origin("~1")
    assert (site_of("home~3"), epoch_of("home~3"), site_of("home"), epoch_of("home")) == (
        "home",
        3,
        "home",
        0,
    )


def test_own_counter_moves_by_own_writes_only(tmp_path: Path) -> None:
    home = open_store(tmp_path, "home")
    home.write([SetFields("notes", "a", {"v": 1})])
    applied = home.apply(
        [Part("home", 0, MAX_SEQ, ()), Part("home~1", 0, 5, (field("home~1", 5, "x", 1),))],
        sender="cabin3",
        sender_vector={"home": MAX_SEQ, "home~1": 5},
    )
    assert applied.skipped == 1 and not applied.restored
    assert home.vector() == {"home": 1}
    assert "x" not in home.read("notes")
    assert home.write([SetFields("notes", "b", {"v": 2})]).first_seq == 2


def test_a_watermark_stops_at_what_the_sender_and_the_origin_vouch_for(tmp_path: Path) -> None:
    home = open_store(tmp_path, "home")
    # cabin2 says itself that it wrote 3.
    home.apply([Part("cabin2", 0, 3, ())], sender="cabin2", sender_vector={"cabin2": 3})
    assert home.vector()["cabin2"] == 3
    # A relay claims cabin2 up to 1003: it may merge entries, not move the mark past 3.
    entry = field("cabin2", 1003, "late", 1)
    home.apply([Part("cabin2", 3, 1003, (entry,))], sender="cabin3", sender_vector={"cabin2": 1003})
    assert home.vector()["cabin2"] == 3
    assert home.read("notes")["late"] == {"v": 1}  # merging is safe
    # A part beyond what its own sender claims to hold moves nothing either.
    home.apply([Part("cabin9", 0, 50, ())], sender="cabin3", sender_vector={"cabin9": 10})
    assert home.vector()["cabin9"] == 10


def test_a_mark_nothing_vouches_for_is_set_back(tmp_path: Path) -> None:
    home = open_store(tmp_path, "home")
    home.apply(
        [Part("cabin2", 0, 2, (field("cabin2", 2, "k", 1),))],
        sender="cabin3",
        sender_vector={"cabin2": 1000},
    )  # cabin2 never reported itself: the relay's word is all there is
    home.apply([Part("cabin2", 2, 1000, ())], sender="cabin3", sender_vector={"cabin2": 1000})
    assert home.vector()["cabin2"] == 1000
    # cabin2 itself says it wrote 4 and sends 3..4: the mark goes back to the last entry held.
    part = Part("cabin2", 2, 4, (field("cabin2", 3, "k3", 3), field("cabin2", 4, "k4", 4)))
    home.apply([part], sender="cabin2", sender_vector={"cabin2": 4})
    assert home.read("notes")["k3"] == {"v": 3} and home.read("notes")["k4"] == {"v": 4}
    assert home.vector()["cabin2"] == 4


def test_reports_may_go_down_and_gossip_never_counts(tmp_path: Path) -> None:
    home = open_store(tmp_path, "home")
    home.write([SetFields("notes", "a", {"v": 1})])
    home.apply([], sender="cabin1", sender_vector={"home": 1})
    home.apply([], sender="cabin3", sender_vector={}, gossip={"cabin1": {"home": MAX_SEQ}})
    assert home.known()["cabin1"] == {"home": 1}
    assert home.known(gossip=True)["cabin1"] == {"home": 1}  # its own word first
    home.apply([], sender="cabin1", sender_vector={"home": 0})  # cabin1 was restored
    assert home.known()["cabin1"] == {"home": 0}
    assert home.pending_for("cabin1") == 1


def test_a_backup_copy_starts_a_new_epoch_and_gets_its_changes_back(tmp_path: Path) -> None:
    home = open_store(tmp_path, "home")
    home.write([SetFields("notes", "a", {"v": 1})])
    home.backup(tmp_path / "copy.db")
    home.write([SetFields("notes", "lost", {"v": 2})])
    lost, _ = home.changes_since({}, 100)
    home.close()
    (tmp_path / "copy.db").rename(tmp_path / "home.db")
    restored = open_store(tmp_path, "home")
    assert restored.origin == "home~1" and restored.vector() == {"home": 1}
    assert restored.write([SetFields("notes", "new", {"v": 3})]).first_seq == 1
    restored.apply(lost, sender="cabin1", sender_vector={"home": 2})
    assert set(restored.read("notes")) == {"a", "lost", "new"}
    assert restored.vector() == {"home": 2, "home~1": 1}
    restored.close()
    assert open_store(tmp_path, "home").origin == "home~1"  # once, not at every start


def test_a_tip_that_is_not_ours_starts_a_new_epoch(tmp_path: Path) -> None:
    cabin = open_store(tmp_path, "cabin1")
    cabin.write([SetFields("notes", "a", {"v": 1})])
    cabin.apply([], sender="home", sender_vector={"cabin1": 1})  # home said it holds seq 1
    cabin.close()
    cabin = open_store(tmp_path, "cabin1")  # a copy put back by hand: seq 2 is new here
    cabin.write([SetFields("notes", "b", {"v": 2})])
    mine = cabin.tips_for("cabin1")  # as a peer would see our seq 2
    assert not cabin.apply([], sender="home2", sender_vector={}, tips=mine).restored
    other = {"cabin1": (2, pack(NOW - 5000))}  # another entry under our seq 2: restored
    applied = cabin.apply([], sender="home", sender_vector={"cabin1": 2}, tips=other)
    assert applied.restored and cabin.origin == "cabin1~1"
    assert cabin.vector() == {"cabin1": 1, "cabin1~1": 1}  # seq 2 moved, the peer's comes back
    assert cabin.read("notes") == {"a": {"v": 1}, "b": {"v": 2}}


def test_stamps_beyond_the_senders_clock_wait(tmp_path: Path) -> None:
    clock = Clock()
    home = open_store(tmp_path, "home", clock)
    soon = NOW + HOUR
    part = Part("cabin3", 0, 3, tuple(field("cabin3", s, f"k{s}", s, soon) for s in (1, 2, 3)))
    entries = list(part.entries)
    entries[1] = field("cabin3", 2, "k2", 2, NOW + 23 * HOUR)
    part = Part("cabin3", 0, 3, tuple(entries))
    applied = home.apply([part], sender="cabin3", sender_vector={"cabin3": 3}, peer_clock=soon)
    assert (applied.entries, applied.ahead) == (2, 1)
    assert home.vector()["cabin3"] == 1  # waits below the refused entry
    assert wall_ms(home.clock.last) <= soon  # not dragged a day ahead
    # A sender that says its clock is a day ahead is believed only up to the limit.
    assert home.clock.limit(NOW + 24 * HOUR) == NOW + DEFAULT_MAX_OFFSET_MS + DRIFT_TOLERANCE_MS
    assert home.clock.limit(NOW) == NOW + DRIFT_TOLERANCE_MS
    clock.ms = NOW + 23 * HOUR  # the clocks caught up: the entry is taken
    home.apply([part], sender="cabin3", sender_vector={"cabin3": 3}, peer_clock=clock.ms)
    assert home.vector()["cabin3"] == 3 and "k2" in home.read("notes")


def test_cursor_limits_agree_with_the_largest_seq() -> None:
    assert parse_cursor(f"home:{MAX_SEQ},home~1:0") == {"home": MAX_SEQ, "home~1": 0}
    for bad in (f"home:{MAX_SEQ + 1}", "home:" + "9" * 20, "home:١٢", "home:-1"):
        with pytest.raises(ValueError, match="not origin:seq"):
            parse_cursor(bad)


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": "\\ud800"}',
        b'{"\\udfff": 1}',
        b'["\\ud83d"]',
        b'{"a": "\xed\xa0\x80"}',
        b'{"a": "\xff"}',
        b'{"a": ' + b"1" * 5000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a": NaN}',
    ],
)
def test_strict_json_refuses(text: bytes) -> None:
    with pytest.raises(JsonTextError):
        loads(text)


def test_strict_json_takes_pairs_and_limits_depth() -> None:
    assert loads(b'["\\ud83d\\ude00", "\\\\ud800"]') == ["\U0001f600", "\\ud800"]
    assert within_depth(loads(b"[" * 64 + b"]" * 64))
    assert not within_depth(loads(b"[" * 65 + b"]" * 65))


def test_a_feed_cursor_past_a_restored_replica_reads_again_from_it(tmp_path: Path) -> None:
    home = open_store(tmp_path, "home")
    home.write([SetFields("notes", "a", {"v": 1})])
    assert home.clamp_cursor({"home": 7, "cabin1": 3}) == {"home": 1, "cabin1": 0}
    assert home.clamp_cursor({"home": 1}) == {"home": 1}
