"""Tips and their proofs (epochs.py): a peer's tip (the newest entry of ours it holds) is only its
word. It makes a site ask that peer for a proof, a group of the site's origin signed with the
site's own key; only a group the site signed and no longer holds starts a new epoch. So a lying
peer cannot make a site start an epoch per exchange (each one a new origin in every vector, and
past 256 origins every batch of that site is refused), and an honest restore found late still
moves what no peer had acknowledged, across a restart in between too."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
import shutil

from lifeops_sync import epochs
from lifeops_sync.crdt import TipProof
from lifeops_sync.ops import AddItem, SetFields
from lifeops_sync.origin import tip_proof
from lifeops_sync.store import Applied, Store
from lifeops_sync.wire import Batch, decode, encode

from .test_sync_origin import introduce, keyed, new_key
from .test_sync_stamps import Wall


def talk(src: Store, dst: Store) -> Applied:
    """One batch from ``src`` to ``dst``, restore hints included, as the service sends it."""
    parts, more = src.changes_for(dst.node_id, dst.vector(), 25_000)
    sent = Batch(
        src.node_id,
        dst.node_id,
        src.vector(),
        parts=parts,
        more=more,
        tips=src.tips_for(dst.node_id),
        ask_proofs=dst.node_id in src.tip_doubts,
        tip_proofs=src.tip_proofs_for(dst.node_id),
    )
    batch = decode(encode(sent))
    applied = dst.apply(
        batch.parts,
        sender=src.node_id,
        sender_vector=batch.vector,
        tips=batch.tips,
        tip_proofs=batch.tip_proofs,
    )
    if batch.ask_proofs:
        dst.proofs_asked.add(src.node_id)
    return applied


def converge(*stores: Store) -> None:
    for _ in range(4):
        for src in stores:
            for dst in stores:
                if src is not dst:
                    talk(src, dst)


class Home:
    """Home's replica file, opened, copied and put back by hand, on a clock the test moves."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.wall, self.key = folder, Wall(), new_key()
        self.store = self.open()

    def open(self) -> Store:
        return Store(self.folder / "home.db", "home", self.wall, durable=False, site_key=self.key)

    def restart(self) -> Store:
        self.store.close()
        self.store = self.open()
        return self.store

    def copy(self, name: str) -> Store:
        """A copy of the file (home stopped and started again for it)."""
        self.store.close()
        shutil.copy(self.folder / "home.db", self.folder / name)
        return self.restart()

    def put_back(self, name: str) -> Store:
        """The copy put in place of the file, and home started on it."""
        self.store.close()
        shutil.copy(self.folder / name, self.folder / "home.db")
        self.store = self.open()
        return self.store


def test_a_lying_tip_never_starts_an_epoch_it_only_asks_for_a_proof(tmp_path: Path) -> None:
    home, cabin = keyed(tmp_path, "home"), keyed(tmp_path, "cabin")
    introduce(home, cabin)
    for n in range(300):
        home.write([AddItem("xp", f"e{n}", n)])  # not acknowledged yet
        counter = home.vector()["home"]
        lie = {"home": (counter + 1, 12345)} if n % 2 else {"home": (counter, 12345)}
        home.apply([], sender="cabin", sender_vector={"home": counter + 1}, tips=lie)
    assert home.origin == "home" and list(home.vector()) == ["home"]
    assert home.tip_doubts == {"cabin"}
    # What it says it holds of us is not taken while in doubt (it would count as acknowledged).
    assert home.known()["cabin"]["home"] == 0
    # A proof signed with another key, or made up, proves nothing: still in doubt.
    ours = tip_proof(home._db, home._index["home"], 300)
    assert ours is not None
    other = new_key().sign_digests("home", ours.first, b"\0" * 16, ours.previous)
    assert other.signature is not None
    forged = TipProof(ours.first, ours.last, ours.previous, ours.digests_hash, other.signature)
    moved = replace(ours, last=ours.last + 1)
    for proof in (forged, moved):
        home.apply([], sender="cabin", sender_vector={}, tips=lie, tip_proofs={"home": proof})
        assert home.origin == "home" and home.tip_doubts == {"cabin"}
    # A group of ours it really holds (ours, sent back): no restore, and no more doubt.
    home.apply([], sender="cabin", sender_vector={}, tip_proofs={"home": ours})
    assert home.origin == "home" and home.tip_doubts == set()


def restored_home(tmp_path: Path, *, restart_in_doubt: bool) -> tuple[Store, Store]:
    """Home restored from a copy by hand, that writes as many seqs again before it hears of it."""
    site = Home(tmp_path)
    home, cabin = site.store, keyed(tmp_path, "cabin")
    introduce(home, cabin)
    home.write([SetFields("s", "a", {"x": 1})])
    converge(home, cabin)
    home = site.copy("copy.db")
    site.wall.ms += 60_000
    home.write([SetFields("s", "a", {"y": 2})])
    home.write([SetFields("s", "a", {"v": 5})])
    talk(home, cabin)  # the cabin holds seqs 2 and 3; home never hears it has them
    home = site.put_back("copy.db")
    site.wall.ms += 60_000
    home.write([SetFields("s", "b", {"w": 9})])  # seq 2 again, unaware
    home.write([SetFields("s", "b", {"u": 7})])  # seq 3 again
    assert talk(cabin, home).restored is False  # the cabin's tip: a doubt, not a restore
    assert home.tip_doubts == {"cabin"} and home.origin == "home"
    if restart_in_doubt:
        home = site.restart()
        assert talk(cabin, home).restored is False
        assert home.tip_doubts == {"cabin"}
    talk(home, cabin)  # asks for the proof
    assert cabin.proofs_asked == {"home"}
    assert talk(cabin, home).restored is True  # a group home signed and lost
    assert home.origin == "home~1" and home.tip_doubts == set()
    return home, cabin


def test_a_restore_found_by_a_proven_tip_loses_nothing(tmp_path: Path) -> None:
    home, cabin = restored_home(tmp_path, restart_in_doubt=False)
    converge(home, cabin)
    assert home.vector()["home~1"] == 2  # what no peer had acknowledged moved (seqs 2 and 3)
    assert home.digest() == cabin.digest() and home.vector() == cabin.vector()
    assert cabin.read("s") == {"a": {"x": 1, "y": 2, "v": 5}, "b": {"w": 9, "u": 7}}


def test_a_restart_while_in_doubt_still_moves_what_was_not_acknowledged(tmp_path: Path) -> None:
    home, cabin = restored_home(tmp_path, restart_in_doubt=True)
    converge(home, cabin)
    assert home.vector()["home~1"] == 2
    assert home.digest() == cabin.digest()
    assert cabin.read("s") == {"a": {"x": 1, "y": 2, "v": 5}, "b": {"w": 9, "u": 7}}


def test_restored_twice_from_the_same_backup_the_site_takes_a_new_name_again(
    tmp_path: Path,
) -> None:
    # The second restore starts the same epoch name as the first (the copy knows of neither):
    # the cabin holds entries under it that home did not write, so home moves on to the next
    # name, and every change of both lives reaches both sites.
    site = Home(tmp_path)
    home, cabin = site.store, keyed(tmp_path, "cabin")
    introduce(home, cabin)
    home.write([SetFields("s", "a", {"x": 1})])
    home.backup(tmp_path / "backup.db")
    home.write([SetFields("s", "a", {"y": 2})])
    converge(home, cabin)
    for value in (3, 4):
        home = site.put_back("backup.db")
        assert home.origin == "home~1"
        site.wall.ms += 60_000
        home.write([SetFields("s", f"life{value}", {"v": value})])
        converge(home, cabin)
    assert home.origin == "home~2"
    assert home.digest() == cabin.digest() and home.vector() == cabin.vector()
    assert cabin.read("s") == {
        "a": {"x": 1, "y": 2},
        "life3": {"v": 3},
        "life4": {"v": 4},
    }


def test_an_entry_moved_twice_is_taken_by_any_entry_it_was(tmp_path: Path) -> None:
    # Home, restored by hand twice and found late each time, moves a change the cabin holds
    # under "home" (written before the first copy, not yet acknowledged in it) into home~1,
    # then into home~2, stamped hours below what the cabin took since. The cabin kept home~1's
    # group of it as the first of that epoch, under a floor above its stamp; it takes the
    # change as the "home" entry it first was (each move names every entry it was).
    hour = 3_600_000
    site = Home(tmp_path)
    wall = site.wall
    home = site.store
    cabin = Store(tmp_path / "cabin.db", "cabin", wall, durable=False, site_key=new_key())
    introduce(home, cabin)
    home.write([SetFields("s", "a", {"x": 1})])
    converge(home, cabin)
    wall.ms += 60_000
    home.write([SetFields("s", "p", {"v": 1})])  # home:2, held by the cabin, unacknowledged
    talk(home, cabin)
    home = site.copy("first.db")
    home.write([SetFields("s", "y", {"v": 1})])
    wall.ms += 5 * hour
    home.write([SetFields("s", "z", {"v": 1})])
    talk(home, cabin)
    home = site.put_back("first.db")
    wall.ms += 60_000
    home.write([SetFields("s", "w", {"v": 1})])  # home:3 again
    talk(home, cabin)
    assert talk(cabin, home).restored  # the cabin sends home:4: a restore, found
    assert home.origin == "home~1"
    home = site.copy("second.db")  # what the cabin holds of home~1 is unacknowledged in it
    converge(home, cabin)
    wall.ms += 5 * hour
    home.write([SetFields("s", "c", {"v": 1})])
    converge(home, cabin)
    home = site.put_back("second.db")
    wall.ms += 60_000
    home.write([SetFields("s", "d", {"v": 1})])  # home~1:3 again
    converge(home, cabin)
    assert home.origin == "home~2"
    assert home.digest() == cabin.digest() and home.vector() == cabin.vector()
    assert set(cabin.read("s")) == {"a", "p", "y", "z", "w", "c", "d"}
    moves = epochs.moves_in(home._db, home._self_idx, 0, 1, home._names)
    assert moves == ((1, "home", 2), (1, "home~1", 1))
