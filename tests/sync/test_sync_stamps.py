"""The stamp floor (stamps.py): a site cannot stamp a change of its own back in time under a
name it has written under, so a stolen site's key cannot take the key of an item another site
wrote before; honest sites, restarts and restores (whose new epoch carries old stamps) are not
refused."""

from __future__ import annotations

from pathlib import Path
import shutil
import sqlite3

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
import pytest

from lifeops_sync import stamps
from lifeops_sync.crdt import Entry, Kind, Part
from lifeops_sync.hlc import pack
from lifeops_sync.ops import AddItem, AppendRows, SetFields
from lifeops_sync.origin import SiteKey, proof_of
from lifeops_sync.store import Store
from lifeops_sync.wire import Batch, decode, encode

from .test_sync_origin import T0, introduce, sync
from .test_sync_origin_restore import exchange

HOUR = 3_600_000


class Wall:
    """A clock a test moves by hand."""

    def __init__(self, ms: int = T0) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def store(tmp_path: Path, node: str, key: SiteKey, wall: Wall) -> Store:
    return Store(tmp_path / f"{node}.db", node, wall, durable=False, site_key=key)


def part(
    key: SiteKey,
    entries: list[Entry],
    previous: bytes | None = None,
    moved: tuple[tuple[int, str, int], ...] = (),
) -> Part:
    groups = key.sign(entries, previous)
    first, last = entries[0].seq, entries[-1].seq
    proof = proof_of(groups, entries)
    return Part(entries[0].origin, first - 1, last, tuple(entries), proof, moved)


def test_an_item_stamped_below_what_its_origin_wrote_is_refused(tmp_path: Path) -> None:
    home_wall, cabin_wall = Wall(), Wall()
    cabin_key = SiteKey(Ed25519PrivateKey.generate())
    home = store(tmp_path, "home", SiteKey(Ed25519PrivateKey.generate()), home_wall)
    cabin = store(tmp_path, "cabin", cabin_key, cabin_wall)
    introduce(home, cabin)
    cabin.write([AddItem("xp", "c1", {"amount": 1})])
    sync(cabin, home)
    home_wall.ms += 1000
    home.write([AddItem("xp", "e1", {"amount": 10})])
    sync(home, cabin)
    # The cabin is stolen: its clock is wound back, so its next item is stamped 1, signed
    # with its own key, under its next seq.
    cabin_wall.ms = 0
    cabin.clock.last = 0
    ack = cabin.write([AddItem("xp", "e1", {"amount": -500})])
    assert ack.hlc == 1 and cabin.items("xp")["e1"] == {"amount": -500}
    parts, _ = cabin.changes_since(home.vector(), 100)
    applied = home.apply(parts, sender="cabin", sender_vector=cabin.vector())
    assert applied.backdated_entries == 1 and applied.entries == 0
    assert applied.backdated == (
        "cabin: 1 entries from seq 2 stamped before a change of that origin already taken",
    )
    assert home.items("xp")["e1"] == {"amount": 10}
    assert home.vector()["cabin"] == 1  # the watermark stops below it: it is refused again
    again = home.apply(parts, sender="cabin", sender_vector=cabin.vector())
    assert again.backdated_entries == 1 and home.items("xp")["e1"] == {"amount": 10}


def test_honest_stamps_pass_across_restarts_and_writes_of_many_fields(tmp_path: Path) -> None:
    home_wall, cabin_wall = Wall(), Wall()
    keys = {n: SiteKey(Ed25519PrivateKey.generate()) for n in ("home", "cabin")}
    home = store(tmp_path, "home", keys["home"], home_wall)
    cabin = store(tmp_path, "cabin", keys["cabin"], cabin_wall)
    introduce(home, cabin)
    # Fields of one write share a stamp; an item follows.
    cabin.write([SetFields("habits", "h", {"a": 1, "b": 2, "c": 3}), AddItem("xp", "x1", 1)])
    cabin.write([AppendRows("hr", [(T0, 60.0)])])
    sync(cabin, home)
    # The cabin restarts with its wall clock a day behind: its clock goes on from its meta.
    cabin.close()
    cabin_wall.ms -= 24 * HOUR
    cabin = store(tmp_path, "cabin", keys["cabin"], cabin_wall)
    cabin.write([SetFields("habits", "h", {"a": 4}), AddItem("xp", "x2", 2)])
    parts, _ = cabin.changes_since(home.vector(), 100)
    applied = home.apply(parts, sender="cabin", sender_vector=cabin.vector())
    assert applied.backdated_entries == 0 and applied.entries == 2
    assert home.dump() == cabin.dump()


def test_a_new_epoch_carries_old_stamps_only_for_entries_moved_from_an_earlier_one(
    tmp_path: Path,
) -> None:
    # A cabin restored from a copy days old, found out later (a peer's tip): the changes its
    # peers had not acknowledged move into its new epoch with their old stamps, far below what
    # home took from the cabin since. Each names the entry it was: home takes it because that
    # entry, named so, has the digest the cabin signed then.
    key = SiteKey(Ed25519PrivateKey.generate())
    home = store(tmp_path, "home", SiteKey(Ed25519PrivateKey.generate()), Wall())
    home.pin_keys({"cabin": key.public})
    old = [
        Entry(Kind.ITEM, "cabin", 1, pack(T0 - 73 * HOUR), "xp", "c1", "", 1),
        Entry(Kind.ITEM, "cabin", 2, pack(T0 - 72 * HOUR), "xp", "m1", "", 1),
        Entry(Kind.FIELD, "cabin", 3, pack(T0 - 71 * HOUR), "habits", "h", "a", 2),
        Entry(Kind.ITEM, "cabin", 4, pack(T0), "xp", "c4", "", 4),
    ]
    home.apply([part(key, old)])
    moved = [e._replace(origin="cabin~1", seq=e.seq - 1) for e in old[1:3]]
    sources = ((1, "cabin", 2), (2, "cabin", 3))
    assert home.apply([part(key, moved, moved=sources)]).backdated_entries == 0
    assert home.vector()["cabin~1"] == 2 and home.read("habits") == {"h": {"a": 2}}
    # What a made-up epoch carries is bound by the earlier epochs (by more than the largest
    # clock offset believed): a stamp-1 item, or one claiming to be an entry it was not.
    forged = Entry(Kind.ITEM, "cabin~2", 1, 1, "xp", "c1", "", -500)
    applied = home.apply([part(key, [forged])])
    assert applied.backdated_entries == 1 and "cabin~2" not in home.vector()
    assert applied.backdated == (
        "cabin~2: 1 entries from seq 1 stamped long before a change of that site already "
        "taken or said to be held, and not moved from an earlier epoch",
    )
    claimed = forged._replace(hlc=pack(T0 - 73 * HOUR))
    assert home.apply([part(key, [claimed], moved=((1, "cabin", 1),))]).backdated_entries == 1
    assert home.items("xp")["c1"] == 1 and "cabin~2" not in home.vector()
    # Within the offset believed, a later epoch writes on (a restored clock a little behind).
    late = Entry(Kind.ITEM, "cabin~2", 1, pack(T0 - 2 * HOUR), "xp", "n1", "", 1)
    assert home.apply([part(key, [late])]).backdated_entries == 0
    # An epoch's own floor holds like any origin's, moved entry or not.
    link = key.sign(moved)[-1].link
    back = moved[1]._replace(seq=3)
    assert home.apply([part(key, [back], link, ((3, "cabin", 3),))]).backdated_entries == 0
    link = key.sign([back], link)[-1].link  # equal stamps pass
    lower = old[1]._replace(origin="cabin~1", seq=4)
    lower_part = part(key, [lower], link, moved=((4, "cabin", 2),))
    assert home.apply([lower_part]).backdated_entries == 1
    assert home.vector()["cabin~1"] == 3


@pytest.mark.parametrize("how", ["refused", "digest only"])
def test_a_move_claim_lets_in_no_change_this_replica_did_not_take(tmp_path: Path, how: str) -> None:
    # A stolen cabin signs an item under home's key stamped 1 as its next seq: refused as
    # backdated (its group goes with it), or sent as a digest only (as if superseded), its
    # stamp never seen, the group kept with the floor it would have had to meet. Moved into a
    # made-up epoch, the entry has that digest under the name it claims; it is still refused.
    key = SiteKey(Ed25519PrivateKey.generate())
    home = store(tmp_path, "home", SiteKey(Ed25519PrivateKey.generate()), Wall())
    home.pin_keys({"cabin": key.public})
    first = Entry(Kind.ITEM, "cabin", 1, pack(T0), "xp", "c1", "", 1)
    home.apply([part(key, [first])])
    home.write([AddItem("xp", "e1", 10)])
    link = key.sign([first])[-1].link
    forged = Entry(Kind.ITEM, "cabin", 2, 1, "xp", "e1", "", -500)
    if how == "refused":
        assert home.apply([part(key, [forged], link)]).backdated_entries == 1
    else:
        proof = proof_of(key.sign([forged], link), [])
        assert home.apply([Part("cabin", 1, 2, (), proof)]).backdated_entries == 0
    moved = forged._replace(origin="cabin~1", seq=1)
    applied = home.apply([part(key, [moved], moved=((1, "cabin", 2),))])
    assert applied.backdated_entries == 1 and "cabin~1" not in home.vector()
    assert home.items("xp") == {"c1": 1, "e1": 10}


def test_a_refused_entry_leaves_no_proof_behind(tmp_path: Path) -> None:
    # A stolen cabin's entry refused as backdated, then another version of that seq (validly
    # signed, stamped now) taken: home serves what it took with a proof a peer accepts, not
    # the refused version's.
    key = SiteKey(Ed25519PrivateKey.generate())
    home = store(tmp_path, "home", SiteKey(Ed25519PrivateKey.generate()), Wall())
    other = store(tmp_path, "other", SiteKey(Ed25519PrivateKey.generate()), Wall())
    introduce(home, other)
    for replica in (home, other):
        replica.pin_keys({"cabin": key.public})
    first = Entry(Kind.FIELD, "cabin", 1, pack(T0), "notes", "n", "v", 1)
    home.apply([part(key, [first])])
    link = key.sign([first])[-1].link
    forged = Entry(Kind.FIELD, "cabin", 2, 1, "notes", "n", "v", -500)
    assert home.apply([part(key, [forged], link)]).backdated_entries == 1
    real = forged._replace(hlc=pack(T0 + 1), value=2)
    assert home.apply([part(key, [real], link)]).backdated_entries == 0
    assert home.vector()["cabin"] == 2
    assert sync(home, other) == 0
    assert other.vector()["cabin"] == 2 and other.read("notes") == {"n": {"v": 2}}


def test_a_replica_made_before_the_floor_computes_it_from_what_it_holds(
    tmp_path: Path,
) -> None:
    key = SiteKey(Ed25519PrivateKey.generate())
    home_key = SiteKey(Ed25519PrivateKey.generate())
    home = store(tmp_path, "home", home_key, Wall())
    home.pin_keys({"cabin": key.public})
    first = [
        Entry(Kind.ITEM, "cabin", 1, pack(T0), "xp", "c1", "", 1),
        Entry(Kind.FIELD, "cabin", 2, pack(T0 + 5), "habits", "h", "a", 1),
    ]
    home.apply([part(key, first)])
    home.close()
    with sqlite3.connect(tmp_path / "home.db") as db:  # as an older version left it
        db.execute("DROP TABLE stamps")
        db.execute("DELETE FROM meta WHERE k = ?", (stamps.FILLED,))
        db.execute("ALTER TABLE sig_groups DROP COLUMN floor")  # before 0.4.2
    home = store(tmp_path, "home", home_key, Wall())
    assert stamps.highest(home._db, home._names) == {"cabin": pack(T0 + 5)}
    previous = key.sign(first)[-1].link
    low = Entry(Kind.ITEM, "cabin", 3, pack(T0 + 1), "xp", "e1", "", -1)
    assert home.apply([part(key, [low], previous)]).backdated_entries == 1


def test_unsigned_replicas_are_not_checked(tmp_path: Path) -> None:
    bare = Store(tmp_path / "bare.db", "home", Wall(), durable=False)
    entries = [
        Entry(Kind.ITEM, "cabin", 1, 100, "xp", "a", "", 1),
        Entry(Kind.ITEM, "cabin", 2, 1, "xp", "b", "", 1),
    ]
    applied = bare.apply([Part("cabin", 0, 2, tuple(entries))])
    assert applied.entries == 2 and applied.backdated_entries == 0


def test_a_watermark_set_back_sets_the_floor_back_so_what_comes_again_is_taken(
    tmp_path: Path,
) -> None:
    key = SiteKey(Ed25519PrivateKey.generate())
    home = store(tmp_path, "home", SiteKey(Ed25519PrivateKey.generate()), Wall())
    home.pin_keys({"cabin": key.public})
    entries = [Entry(Kind.ITEM, "cabin", s, pack(T0 + s), "xp", f"c{s}", "", s) for s in (1, 2, 3)]
    home.apply([part(key, entries)])
    assert stamps.highest(home._db, home._names) == {"cabin": pack(T0 + 3)}
    # A watermark nothing vouches for goes back (epochs.py's _doubt): the floor follows it.
    with home._tx():
        home._reset_watermark(home._index["cabin"], 1)
    assert stamps.highest(home._db, home._names) == {"cabin": pack(T0 + 1)}
    previous = key.sign(entries[:1])[-1].link
    again = home.apply([part(key, entries[1:], previous)])
    assert again.backdated_entries == 0 and home.vector()["cabin"] == 3


def test_a_restore_found_late_after_hours_of_lost_writes_reaches_every_site(
    tmp_path: Path,
) -> None:
    # The cabin's copy holds changes home had not acknowledged; hours of writes after it are
    # lost with the cabin and held at home. Restored from the copy by hand, the cabin learns
    # of it from home, moves the unacknowledged changes into its new epoch (old stamps, far
    # below home's floor for the cabin) and sends them on: home takes them by their moves and
    # passes the moves on to a third site, which checks them again.
    wall = Wall()
    keys = {n: SiteKey(Ed25519PrivateKey.generate()) for n in ("home", "cabin", "third")}
    home = store(tmp_path, "home", keys["home"], wall)
    cabin = store(tmp_path, "cabin", keys["cabin"], wall)
    third = store(tmp_path, "third", keys["third"], wall)
    introduce(home, cabin, third)
    cabin.write([AddItem("xp", "c1", 1)])
    assert exchange(cabin, home) == exchange(home, cabin) == 0
    cabin.write([AddItem("xp", "c2", 2), SetFields("habits", "h", {"a": 2})])  # unacknowledged
    cabin.close()
    shutil.copy(tmp_path / "cabin.db", tmp_path / "copy.db")  # by hand: unmarked
    cabin = store(tmp_path, "cabin", keys["cabin"], wall)
    wall.ms += 6 * HOUR
    cabin.write([AddItem("xp", "lost", 3), AddItem("xp", "lost2", 4)])
    assert exchange(cabin, home) == 0
    cabin.close()
    shutil.copy(tmp_path / "copy.db", tmp_path / "cabin.db")
    wall.ms += HOUR
    cabin = store(tmp_path, "cabin", keys["cabin"], wall)
    cabin.write([SetFields("habits", "h", {"b": 3})])  # seq 4 again, unaware
    assert exchange(home, cabin) == 0  # home holds seq 5 of "cabin": a restore, found
    assert cabin.origin == "cabin~1"
    parts = decode(
        encode(
            Batch("cabin", "home", cabin.vector(), parts=cabin.changes_since(home.vector(), 100)[0])
        )
    ).parts
    assert [p.moved for p in parts] == [((1, "cabin", 2), (2, "cabin", 3), (3, "cabin", 4))]
    applied = home.apply(parts, sender="cabin", sender_vector=cabin.vector())
    assert (applied.entries, applied.backdated_entries) == (3, 0)
    assert home.vector()["cabin~1"] == cabin.vector()["cabin~1"] == 3
    assert exchange(home, cabin) == 0
    assert home.digest() == cabin.digest()
    assert cabin.read("habits") == {"h": {"a": 2, "b": 3}} and cabin.items("xp")["lost"] == 3
    assert exchange(home, third) == 0
    assert third.digest() == home.digest() and third.vector() == home.vector()


@pytest.mark.parametrize("from_zero", [False, True], ids=["after home's mark", "from seq 0"])
@pytest.mark.parametrize(("hours", "refused"), [(1, True), (8, False)])
def test_a_stolen_cabin_cannot_stamp_before_what_it_said_it_holds(
    tmp_path: Path, hours: int, refused: bool, from_zero: bool
) -> None:
    # The cabin's last change home took is ten hours old; since, the cabin said it holds
    # home's XP event. Stolen, it stamps an item under that event's key after its own last
    # change but hours before the event: refused (more than the clock offset believed before
    # what it said it holds). Within that offset, as an honest clock may be, it is taken.
    home_wall, cabin_wall = Wall(), Wall()
    keys = {n: SiteKey(Ed25519PrivateKey.generate()) for n in ("home", "cabin")}
    home = store(tmp_path, "home", keys["home"], home_wall)
    cabin = store(tmp_path, "cabin", keys["cabin"], cabin_wall)
    introduce(home, cabin)
    cabin.write([AddItem("xp", "c1", 1)])
    assert exchange(cabin, home) == 0
    home_wall.ms += 10 * HOUR
    cabin_wall.ms += 10 * HOUR
    home.write([AddItem("xp", "e1", 10)])
    assert exchange(home, cabin) == exchange(cabin, home) == 0  # the cabin says it holds e1
    cabin_wall.ms = T0 + hours * HOUR  # the thief winds its clock back
    cabin.clock.last = pack(cabin_wall.ms)
    cabin.write([AddItem("xp", "e1", -500)])
    # Sent after what home holds, or from seq 0 (home skips what it holds): each entry is
    # bound by the last report made before its own seq.
    parts, _ = cabin.changes_since({} if from_zero else home.vector(), 100)
    applied = home.apply(parts, sender="cabin", sender_vector=cabin.vector())
    if refused:
        assert applied.backdated == (
            "cabin: 1 entries from seq 2 stamped long before a change of that site already "
            "taken or said to be held, and not moved from an earlier epoch",
        )
        assert home.items("xp")["e1"] == 10 and home.vector()["cabin"] == 1
    else:
        assert applied.backdated_entries == 0 and home.items("xp")["e1"] == -500


def test_a_digest_only_entry_after_a_report_is_held_to_it_when_claimed(tmp_path: Path) -> None:
    # The stolen cabin, having said it holds home's e1, sends its next seq as a digest only
    # (its stamp unseen: an item under e1's key, hours back), then claims it from a made-up
    # epoch. The group was kept with the bound the report set: the claim is refused.
    home_wall = Wall()
    key = SiteKey(Ed25519PrivateKey.generate())
    home = store(tmp_path, "home", SiteKey(Ed25519PrivateKey.generate()), home_wall)
    home.pin_keys({"cabin": key.public})
    first = Entry(Kind.ITEM, "cabin", 1, pack(T0), "xp", "c1", "", 1)
    home.apply([part(key, [first])], sender="cabin", sender_vector={"cabin": 1})
    home_wall.ms += 10 * HOUR
    home.write([AddItem("xp", "e1", 10)])
    home.apply([], sender="cabin", sender_vector={"cabin": 1, **home.vector()})
    forged = Entry(Kind.ITEM, "cabin", 2, pack(T0 + HOUR), "xp", "e1", "", -500)
    link = key.sign([first])[-1].link
    digest = Part("cabin", 1, 2, (), proof_of(key.sign([forged], link), []))
    assert home.apply([digest]).backdated_entries == 0 and home.vector()["cabin"] == 2
    moved = forged._replace(origin="cabin~5", seq=1)
    applied = home.apply([part(key, [moved], moved=((1, "cabin", 2),))])
    assert applied.backdated_entries == 1 and "cabin~5" not in home.vector()
    assert home.items("xp")["e1"] == 10


def test_each_group_of_a_part_is_kept_with_the_bound_at_its_own_seqs(tmp_path: Path) -> None:
    # The cabin said it holds home's e1 with its counter at 3. One part then brings seqs 2-3
    # (written before the report) and, as a digest only, seq 4: an item under e1's key nine
    # hours before e1. Seq 4's group is kept with the bound the report set, so a made-up epoch
    # claiming it is refused; seqs 2-3 keep the lower floor they met.
    home_wall = Wall()
    key = SiteKey(Ed25519PrivateKey.generate())
    home = store(tmp_path, "home", SiteKey(Ed25519PrivateKey.generate()), home_wall)
    home.pin_keys({"cabin": key.public})
    early = [Entry(Kind.ITEM, "cabin", s, pack(T0 + s), "xp", f"c{s}", "", s) for s in (1, 2, 3)]
    home.apply([part(key, early[:1])], sender="cabin", sender_vector={"cabin": 1})
    home_wall.ms += 10 * HOUR
    home.write([AddItem("xp", "e1", 10)])
    home.apply([], sender="cabin", sender_vector={**home.vector(), "cabin": 3})
    forged = Entry(Kind.ITEM, "cabin", 4, pack(T0 + HOUR), "xp", "e1", "", -500)
    groups = key.sign(early[1:], key.sign(early[:1])[-1].link)
    groups += key.sign([forged], groups[-1].link)
    sent = early[1:]
    assert home.apply([Part("cabin", 1, 4, tuple(sent), proof_of(groups, sent))]).entries == 2
    moved = forged._replace(origin="cabin~7", seq=1)
    applied = home.apply([part(key, [moved], moved=((1, "cabin", 4),))])
    assert applied.backdated_entries == 1 and home.items("xp")["e1"] == 10
    # Seq 2, written before the report, claimed from the made-up epoch: its own content
    # again, taken (it changes nothing).
    again = early[1]._replace(origin="cabin~8", seq=1)
    assert home.apply([part(key, [again], moved=((1, "cabin", 2),))]).backdated_entries == 0
