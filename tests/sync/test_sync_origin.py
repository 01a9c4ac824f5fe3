"""The origin check (origin.py): digests, group signatures, proofs through relays, key rules,
the upgrade of an unsigned replica, and the key file."""

from __future__ import annotations

import dataclasses
import io
import json
import os
from pathlib import Path
import sqlite3
import stat

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
import pytest

from lifeops_sync import wire
from lifeops_sync.crdt import Entry, Kind, Part, TipProof, site_of
from lifeops_sync.ops import AddItem, AppendRows, Delete, SetFields
from lifeops_sync.origin import (
    ABSENT,
    DIGEST_SIZE,
    GROUP_MAX,
    KEY_SIZE,
    SIGNATURE_SIZE,
    Refused,
    SiteKey,
    check_part,
    entry_digest,
    offer_keys,
    proof_of,
)
from lifeops_sync.store import Store
from lifeops_sync.wire import Batch, decode, encode

T0 = 1_760_000_000_000


def clock() -> int:
    return T0


def new_key() -> SiteKey:
    return SiteKey(Ed25519PrivateKey.generate())


def keyed(tmp_path: Path, node: str, key: SiteKey | None = None) -> Store:
    return Store(tmp_path / f"{node}.db", node, clock, durable=False, site_key=key or new_key())


def introduce(*stores: Store) -> None:
    """Every store learns every other's key (as configured keys)."""
    for store in stores:
        store.pin_keys({o.node_id: o.site_key.public for o in stores if o.site_key is not None})


def sync(src: Store, dst: Store, limit: int = 25_000) -> int:
    """Send what ``dst`` lacks from ``src`` through the wire format; return refused parts."""
    refused = 0
    for _ in range(1000):
        parts, more = src.changes_since(dst.vector(), limit)
        batch = decode(encode(Batch(src.node_id, dst.node_id, src.vector(), parts=parts)))
        refused += len(dst.apply(batch.parts).refused)
        if not more:
            break
    return refused


def test_constants_agree_with_the_wire_format() -> None:
    assert (wire.DIGEST_SIZE, wire.SIGNATURE_SIZE, wire.KEY_SIZE) == (
        DIGEST_SIZE,
        SIGNATURE_SIZE,
        KEY_SIZE,
    )


def test_the_digest_covers_every_field_and_survives_the_round_trips() -> None:
    entry = Entry(Kind.FIELD, "home", 3, 77, "c", "k", "f", {"b": [1, 2.5], "a": "é\ud800"})
    same = entry._replace(value={"a": "é\ud800", "b": [1, 2.5]})  # key order does not count
    assert entry_digest(entry) == entry_digest(same)
    assert len(entry_digest(entry)) == DIGEST_SIZE
    changes = {
        "kind": Kind.ITEM,
        "origin": "cabin",
        "seq": 4,
        "hlc": 78,
        "coll": "d",
        "key": "l",
        "field": "g",
        "value": {"a": "é\ud800", "b": [1, 2.6]},
        "ts": 1,
    }
    for name, value in changes.items():
        assert entry_digest(entry._replace(**{name: value})) != entry_digest(entry), name
    # A row's value is a float whether it was written as 3 or read back as 3.0.
    row = Entry(Kind.ROW, "home", 1, 0, "hr", "", "", 3, 1000)
    assert entry_digest(row) == entry_digest(row._replace(value=3.0))
    assert entry_digest(row) != entry_digest(row._replace(value=3.5))


def signed_part(key: SiteKey, entries: list[Entry], drop: set[int] = frozenset()) -> Part:  # type: ignore[assignment]
    groups = key.sign(entries)
    sent = [e for e in entries if e.seq not in drop]
    return Part(
        entries[0].origin, entries[0].seq - 1, entries[-1].seq, tuple(sent), proof_of(groups, sent)
    )


def some_entries(origin: str = "home", n: int = 5) -> list[Entry]:
    return [Entry(Kind.FIELD, origin, s, 100 + s, "c", f"k{s}", "f", s) for s in range(1, n + 1)]


def test_an_honest_part_checks_out_and_every_tampering_is_refused() -> None:
    key = new_key()
    entries = some_entries()
    part = signed_part(key, entries, drop={2, 4})  # two seqs travel as digests only
    assert [(g.last, g.signature) for g in check_part(part, key.public)] == [
        (5, part.proof.signature if part.proof else None)
    ]
    assert part.proof is not None
    proof = part.proof
    first = part.entries[0]
    tampered = {
        "value changed": dataclasses.replace(
            part, entries=(first._replace(value=99), *part.entries[1:])
        ),
        "stamp lowered": dataclasses.replace(
            part, entries=(first._replace(hlc=1), *part.entries[1:])
        ),
        "turned into a delete": dataclasses.replace(
            part,
            entries=(first._replace(kind=Kind.DELETE, field="", value=None), *part.entries[1:]),
        ),
        "entry left out": dataclasses.replace(part, entries=part.entries[1:]),
        "entry left out, its digest forged": dataclasses.replace(
            part,
            entries=part.entries[1:],
            proof=dataclasses.replace(proof, digests=((1, ABSENT), *proof.digests)),
        ),
        "digest changed": dataclasses.replace(
            part, proof=dataclasses.replace(proof, digests=((2, ABSENT), *proof.digests[1:]))
        ),
        "start link changed": dataclasses.replace(
            part, proof=dataclasses.replace(proof, start=bytes(32))
        ),
        "range stretched": dataclasses.replace(part, upto=1000),
        "counter moved with no entries": Part(
            "home", 5, 1_000_000, (), dataclasses.replace(proof, lasts=(1_000_000,), digests=())
        ),
        "unsigned": dataclasses.replace(part, proof=None),
        "signature of another site": signed_part(new_key(), entries, drop={2, 4}),
        "claims another origin": Part(
            "cabin",
            0,
            5,
            tuple(e._replace(origin="cabin") for e in part.entries),
            proof,
        ),
        "groups cut differently": dataclasses.replace(
            part, proof=dataclasses.replace(proof, lasts=(2, 5))
        ),
    }
    for name, bad in tampered.items():
        try:
            check_part(bad, key.public)
        except Refused:
            continue
        raise AssertionError(f"{name}: accepted")
    with pytest.raises(Refused, match="no key"):
        check_part(part, None)


def test_writes_are_signed_in_groups_and_relayed_with_digests_for_what_left_the_log(
    tmp_path: Path,
) -> None:
    home, relay, cabin = (keyed(tmp_path, n) for n in ("home", "relay", "cabin"))
    introduce(home, relay, cabin)
    home.write([SetFields("c", "a", {"x": 1, "y": 2}), AddItem("xp", "e1", 5)])
    home.write([AppendRows("hr", tuple((T0 + i, float(i)) for i in range(GROUP_MAX + 10)))])
    assert sync(home, relay) == 0
    # Later: the record's x is superseded, the record deleted; the relay drops the tombstone...
    home.write([SetFields("c", "a", {"x": 3})])
    home.write([Delete("c", "a")])
    home.write([SetFields("c", "b", {"x": 4})])
    assert sync(home, relay) == 0
    relay.prune_rows(T0 + 100)
    # ... and still passes on every seq in a form the cabin can check.
    assert sync(relay, cabin, limit=1000) == 0
    assert cabin.vector() == home.vector() == relay.vector()
    assert cabin.dump() == relay.dump()
    # A relay that changes anything of it gets it refused.
    parts, _ = relay.changes_since({}, 25_000)
    (items,) = [p for p in parts if any(e.kind is Kind.ITEM for e in p.entries)]
    forged = tuple(e._replace(hlc=1) if e.kind is Kind.ITEM else e for e in items.entries)
    fresh = keyed(tmp_path, "fresh")
    introduce(home, fresh)
    applied = fresh.apply([dataclasses.replace(items, entries=forged)])
    assert applied.entries == 0 and len(applied.refused) == 1
    assert fresh.vector() == {}


def test_parts_are_cut_at_group_boundaries(tmp_path: Path) -> None:
    home, cabin = keyed(tmp_path, "home"), keyed(tmp_path, "cabin")
    introduce(home, cabin)
    for i in range(10):
        home.write([SetFields("c", f"r{i}", {"a": i, "b": i, "c": i})])  # 3 seqs a write
    parts, more = home.changes_since({}, 7)
    assert more and [(p.after, p.upto, len(p.entries)) for p in parts] == [(0, 6, 6)]
    # A receiver whose watermark falls inside a group gets the whole group again.
    parts, more = home.changes_since({"home": 4}, 100)
    assert not more and [(p.after, p.upto) for p in parts] == [(3, 30)]
    # One group larger than the budget is sent whole (a part is never cut inside a group).
    home.write([AppendRows("hr", tuple((T0 + i, 1.0) for i in range(50)))])
    parts, more = home.changes_since({"home": 30}, 10)
    assert [(p.after, p.upto, len(p.entries)) for p in parts] == [(30, 80, 50)]
    assert sync(home, cabin, limit=7) == 0
    assert cabin.dump() == home.dump()
    # A relay holds the signature of a part's last group only: it cuts only there.
    relay = keyed(tmp_path, "relay")
    introduce(home, relay)
    relay.apply(home.changes_since({}, 100)[0])
    parts, more = relay.changes_since({}, 7)
    assert not more and [(p.after, p.upto) for p in parts] == [(0, 80)]
    parts, more = relay.changes_since({"home": 12}, 7)
    assert [(p.after, p.upto) for p in parts] == [(12, 80)]
    far = keyed(tmp_path, "far")
    introduce(home, relay, far)
    assert sync(relay, far, limit=7) == 0
    assert far.dump() == home.dump()


def test_many_small_writes_cost_one_signature_a_part(tmp_path: Path) -> None:
    home, cabin = keyed(tmp_path, "home"), keyed(tmp_path, "cabin")
    introduce(home, cabin)
    for i in range(300):
        home.write([SetFields("c", f"r{i % 50}", {"v": i})])  # most superseded later
    (part,), _ = home.changes_since({}, 1000)
    assert part.proof is not None and len(part.proof.lasts) == 300
    assert len(part.entries) == 50 and len(part.proof.digests) == 250
    body = encode(Batch("home", "cabin", home.vector(), parts=[part]))
    assert len(body) < 300 * 20  # a signature each would be 300 x 64 bytes alone
    assert sync(home, cabin) == 0 and cabin.dump() == home.dump()


def test_each_site_signs_only_its_own_writes(tmp_path: Path) -> None:
    home, cabin, other = keyed(tmp_path, "home"), keyed(tmp_path, "cabin"), keyed(tmp_path, "x")
    introduce(home, cabin, other)
    cabin.write([SetFields("c", "k", {"v": "mine"})])
    # The cabin passes its own entries off as home's: signed with the cabin's key, refused.
    entries = [Entry(Kind.DELETE, "home", 1, 10**15, "c", "k")]
    applied = other.apply([signed_part(cabin.site_key, entries)])  # type: ignore[arg-type]
    assert applied.refused and other.vector() == {}
    # Entries of a restored epoch of a site are checked with that site's key.
    assert site_of("cabin~2") == "cabin" and site_of("cabin") == "cabin"
    epoch = [Entry(Kind.FIELD, "cabin~2", 1, 5, "c", "k", "v", 1)]
    assert not other.apply([signed_part(cabin.site_key, epoch)]).refused  # type: ignore[arg-type]
    assert other.apply([signed_part(home.site_key, epoch)]).refused  # type: ignore[arg-type]


def test_key_rules() -> None:
    a, b, c = (bytes([i]) * 32 for i in range(3))
    direct = {"home", "cabin_b"}
    take, conflicts = offer_keys(
        {"me": a},
        {"home": b, "cabin_b": c, "far": c, "me": b},
        own_site="me",
        sender="home",
        direct=direct,
    )
    # Home's own key from home; cabin_b's only from cabin_b; a far site's second-hand.
    assert take == {"home": b, "far": c}
    assert conflicts == ["me"]
    take, conflicts = offer_keys(
        {"me": a, "home": b, "far": c},
        {"home": c, "far": a},
        own_site="me",
        sender="home",
        direct=direct,
    )
    assert take == {} and conflicts == ["far", "home"]


def test_the_key_file_is_private_and_kept(tmp_path: Path) -> None:
    key = SiteKey.load_or_create(tmp_path / "secrets")
    path = tmp_path / "secrets" / "site_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    assert SiteKey.load_or_create(tmp_path / "secrets").public == key.public
    private = path.read_text().strip()
    assert private not in repr(key) and key.public.hex() != private


def test_a_crash_while_the_key_is_made_leaves_no_broken_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed while writing its first key (part of it written): the next start makes a key and
    starts; a half-written file is never taken for the key."""
    folder = tmp_path / "secrets"
    real_fdopen = os.fdopen

    class Crash(io.TextIOWrapper):
        def write(self, text: str) -> int:
            super().write(text[:10])
            self.flush()
            raise OSError("killed")

    def crashing_fdopen(fd: int, mode: str = "r") -> io.TextIOWrapper:
        return Crash(real_fdopen(fd, mode + "b"))

    monkeypatch.setattr(os, "fdopen", crashing_fdopen)
    with pytest.raises(OSError, match="killed"):
        SiteKey.load_or_create(folder)
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    key = SiteKey.load_or_create(folder)
    assert len(bytes.fromhex((folder / "site_key").read_text().strip())) == 32
    assert SiteKey.load_or_create(folder).public == key.public


def test_upgrading_an_unsigned_replica(tmp_path: Path) -> None:
    # A replica from before signatures: home's entries (one superseded) and a cabin's.
    old = Store(tmp_path / "home.db", "home", clock, durable=False)
    old.write([SetFields("c", "a", {"x": 1, "y": 1})])
    old.write([SetFields("c", "a", {"x": 2}), AddItem("xp", "e", 1)])
    cabin_entry = Entry(Kind.FIELD, "cabin", 1, 50, "c", "b", "z", 1)
    old.apply([Part("cabin", 0, 1, (cabin_entry,))], sender="cabin", sender_vector={"cabin": 1})
    assert old.known() == {"cabin": {"cabin": 1}}
    old.close()
    assert sqlite3.connect(tmp_path / "home.db").execute(
        "SELECT v FROM meta WHERE k = 'schema'"
    ).fetchone() == ("1",)
    home = keyed(tmp_path, "home")
    # Its own entries are signed now (the superseded seq 1 as absent); the cabin's are kept,
    # but neither vouched for nor counted as received; what others hold is asked again.
    assert home.vector() == {"home": 4}
    assert home.read("c") == {"a": {"x": 2, "y": 1}, "b": {"z": 1}}
    assert home.known() == {}
    parts, _ = home.changes_since({}, 100)
    assert [(p.origin, p.after, p.upto) for p in parts] == [("home", 0, 4)]
    assert parts[0].proof is not None and parts[0].proof.digests == ((1, ABSENT),)
    assert parts[0].proof.lasts == (4,)
    cabin = keyed(tmp_path, "cabin")
    introduce(home, cabin)
    assert sync(home, cabin) == 0
    assert cabin.read("c") == {"a": {"x": 2, "y": 1}}
    # Reopening does not sign again.
    home.close()
    again = keyed(tmp_path, "home", home.site_key)
    assert again.changes_since({}, 100)[0][0].proof == parts[0].proof


def test_two_upgraded_sites_take_each_others_entries_again_signed(tmp_path: Path) -> None:
    old_home = Store(tmp_path / "home.db", "home", clock, durable=False)
    old_cabin = Store(tmp_path / "cabin.db", "cabin", clock, durable=False)
    old_home.write([SetFields("c", "a", {"x": 1}), AddItem("xp", "e1", 1)])
    old_home.write([SetFields("c", "a", {"x": 2})])
    old_cabin.write([SetFields("c", "b", {"y": 1}), Delete("c", "gone")])
    for src, dst in ((old_home, old_cabin), (old_cabin, old_home), (old_home, old_cabin)):
        parts, _ = src.changes_since(dst.vector(), 100)
        dst.apply(parts, sender=src.node_id, sender_vector=src.vector())
    assert old_home.digest() == old_cabin.digest()
    # A site still unsigned: its parts are refused by an upgraded one, counted, nothing moves.
    upgraded = keyed(tmp_path, "other")
    parts, _ = old_home.changes_since({}, 100)
    applied = upgraded.apply(parts)
    assert (applied.entries, len(applied.refused), upgraded.vector()) == (0, 2, {})
    old_home.close()
    old_cabin.close()
    home, cabin = keyed(tmp_path, "home"), keyed(tmp_path, "cabin")
    introduce(home, cabin)
    assert home.vector() == {"home": 3} and cabin.vector() == {"cabin": 2}
    assert sync(home, cabin) == 0 and sync(cabin, home) == 0
    assert home.vector() == cabin.vector() == {"home": 3, "cabin": 2}
    assert home.digest() == cabin.digest()
    assert cabin.read("c") == {"a": {"x": 2}, "b": {"y": 1}}
    # And a third site gets both sites' entries from home, checked.
    third = keyed(tmp_path, "third")
    introduce(home, cabin, third)
    assert sync(home, third) == 0
    assert third.digest() == home.digest() and third.vector() == home.vector()


def test_proofs_round_trip_on_the_wire_and_malformed_ones_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = new_key()
    entries = some_entries(n=6)
    groups = key.sign(entries[:2]) + key.sign(entries[2:], key.sign(entries[:2])[-1].link)
    sent = [e for e in entries if e.seq != 3]
    part = Part("home", 0, 6, tuple(sent), proof_of(groups, sent))
    batch = Batch("home", "cabin", {"home": 6}, parts=[part], keys={"home": key.public})
    again = decode(encode(batch))
    assert again.parts[0].proof == part.proof and again.keys == {"home": key.public}
    assert part.proof is not None and part.proof.lasts == (2, 6)
    assert [g.last for g in check_part(again.parts[0], key.public)] == [2, 6]
    doc = wire.to_json(batch)

    def variant(**changes: object) -> dict[str, object]:
        copy = json.loads(json.dumps(doc))
        copy["parts"][0].update(changes)
        return copy

    bad = {
        "groups end before upto": variant(gl=[2, 3]),
        "a group going back": variant(gl=[2, -1, 5]),
        "signature too short": variant(gs=doc["parts"][0]["gs"][:-8]),
        "link missing": variant(gp=None),
        "digest of a seq outside the range": variant(ds=[7]),
        "digests and seqs disagree": variant(ds=[3, 1]),
        "not base64": variant(dd="!!!!"),
        "a key too short": {**doc, "keys": {"home": "AAAA"}},
    }
    for name, candidate in bad.items():
        with pytest.raises(wire.ProtocolError):
            wire.from_json(candidate)
        assert name
    monkeypatch.setattr(wire, "MAX_ENTRIES", 5)
    with pytest.raises(wire.ProtocolError, match="entries, digests and moves"):
        wire.from_json(doc)


def test_moves_round_trip_on_the_wire_and_malformed_ones_are_refused() -> None:
    entries = some_entries("home~2", n=3)
    moved = ((1, "home", 40), (3, "home~1", 7))
    part = Part("home~2", 0, 3, tuple(entries), None, moved)
    doc = wire.to_json(Batch("home", "cabin", {"home~2": 3}, parts=[part]))
    assert doc["parts"][0]["m"] == [[1, 0, 40], [3, 1, 7]]
    assert wire.from_json(doc).parts[0].moved == moved

    def variant(moves: object, origin: str = "home~2") -> dict[str, object]:
        copy = json.loads(json.dumps(doc))
        copy["parts"][0].update(m=moves, o=origin)
        return copy

    bad = {
        "moves into a first epoch": variant([[1, 0, 4]], origin="home"),
        "from the same epoch": variant([[1, 2, 4]]),
        "from a later epoch": variant([[1, 3, 4]]),
        "a seq outside the part": variant([[4, 0, 4]]),
        "seqs going back": variant([[2, 0, 4], [1, 0, 5]]),
        "from seq 0": variant([[1, 0, 0]]),
        "not a triple": variant([[1, 0]]),
        "not a list": variant({"1": [0, 4]}),
    }
    for candidate in bad.values():
        with pytest.raises(wire.ProtocolError):
            wire.from_json(candidate)


def test_a_second_version_of_signed_seqs_is_not_kept(tmp_path: Path) -> None:
    key = new_key()
    store = keyed(tmp_path, "cabin")
    introduce(store)
    store.pin_keys({"home": key.public})
    first = [Entry(Kind.FIELD, "home", s, 10 + s, "c", "k", "f", s) for s in (1, 2, 3)]
    other = [first[0], first[1]._replace(value="two"), first[2]._replace(value="three")]
    groups = key.sign(first[:1]) + key.sign(first[1:], key.sign(first[:1])[0].link)
    store.apply([Part("home", 0, 3, tuple(first), proof_of(groups, first))])
    # The same key signed other seqs 2-3 (a site restored from a backup that wrote on): checked
    # fine, merged by the usual rules, but the first version stays the one relayed.
    again = key.sign(other[1:], groups[0].link)
    second = Part("home", 1, 3, tuple(other[1:]), proof_of(again, other[1:]))
    assert not store.apply([second]).refused
    (part,), _ = store.changes_since({}, 100)
    assert part.proof is not None and part.proof.signature == groups[-1].signature
    assert check_part(part, key.public)


def test_tip_proofs_round_trip_on_the_wire_and_malformed_ones_are_refused() -> None:
    proof = TipProof(3, 5, b"\1" * 32, b"\2" * 32, b"\3" * 64)
    batch = Batch("home", "cabin", {}, ask_proofs=True, tip_proofs={"cabin~1": proof})
    doc = wire.to_json(batch)
    again = wire.from_json(doc)
    assert again.ask_proofs and again.tip_proofs == {"cabin~1": proof}
    assert not wire.from_json(wire.to_json(Batch("home", "cabin", {}))).ask_proofs
    good = doc["tp"]["cabin~1"]
    bad = {
        "ask not a boolean": {**doc, "pt": 1},
        "proofs not an object": {**doc, "tp": [good]},
        "a proof too short": {**doc, "tp": {"cabin~1": good[:4]}},
        "last before first": {**doc, "tp": {"cabin~1": [5, 3, *good[2:]]}},
        "a link too short": {**doc, "tp": {"cabin~1": [*good[:2], "AAAA", *good[3:]]}},
        "not an origin": {**doc, "tp": {"cabin~0": good}},
    }
    for candidate in bad.values():
        with pytest.raises(wire.ProtocolError):
            wire.from_json(candidate)
