"""Origin authentication: a site signs what it writes, and every receiver checks it.

Each site has an Ed25519 key pair of its own (:class:`SiteKey`, made on first start). Signing
every entry would cost 64 bytes an entry; instead a site signs each *group*: the consecutive seqs
one local write took (split every ``GROUP_MAX`` seqs). Groups are chained: a group's *link* is
the SHA-256 of the previous group's link, the origin, the seq range and the SHA-256 of the
group's per-entry digests (16 bytes each, a SHA-256 of the entry's canonical encoding: origin,
seq, kind, collection, key, field, value, stamp, row time); the origin signs each link. One
signature, of a range's last group, with the link before its first, so proves the whole range:
a part costs one signature on the wire and one check, however many small writes it holds.

Every replica keeps the groups it received with their digests and links (and the signatures
it got: those of the parts' last groups). When an entry leaves the log (superseded, a tombstone
collected, a row pruned) its digest stays in its group, so a relay can still pass on a range the
receiver can check: the entries it holds in full, the digests of the seqs it no longer holds,
the group ends, the link before the range and the signature of its last group (a relay cuts
parts only after groups it holds a signature of). A relay can leave nothing out, add nothing and
change nothing without the check failing; a site cannot sign for another site, since the
receiver checks a part with the key of the part's origin's site.

Keys are learned over the pair-authenticated channel (:func:`offer_keys`): a direct peer's key
from that peer only (first use, then fixed), the key of a site that is not a direct peer from any
direct peer while we have none; a different key for a site we know is refused and reported. A
key set in the configuration (``public_key`` of a peer) is used as given.
"""

from __future__ import annotations

from base64 import b64decode, b64encode
from collections.abc import Iterable, Mapping
import dataclasses
from dataclasses import dataclass
import hashlib
import json
import os
from pathlib import Path
import sqlite3
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .crdt import Entry, Kind, Part, Proof, TipProof

DIGEST_SIZE = 16
LINK_SIZE = 32
SIGNATURE_SIZE = 64
KEY_SIZE = 32
GROUP_MAX = 4096
#: The digest of a seq the origin itself no longer held when it signed (an upgraded replica).
ABSENT = bytes(DIGEST_SIZE)
KEY_FILE = "site_key"
_DOMAIN = b"lifeops-sync group v1\x00"
_SIGNED = b"lifeops-sync link v1\x00"
_canonical = json.JSONEncoder(
    separators=(",", ":"), sort_keys=True, ensure_ascii=True, allow_nan=False
).encode
_sha256 = hashlib.sha256


def entry_digest(e: Entry) -> bytes:
    """The 16-byte digest of an entry's canonical encoding (everything that travels)."""
    value = float(e.value) if e.kind is Kind.ROW else e.value  # type: ignore[arg-type]
    text = _canonical([e.origin, e.seq, e.kind.value, e.coll, e.key, e.field, value, e.hlc, e.ts])
    return _sha256(text.encode()).digest()[:DIGEST_SIZE]


def start_link(origin: str) -> bytes:
    """The link before an origin's first group."""
    return _sha256(_DOMAIN + origin.encode()).digest()


def link(previous: bytes, origin: str, first: int, last: int, digests: bytes) -> bytes:
    """A group's link: it binds the group, and through ``previous`` every group before it."""
    return link_of_hash(previous, origin, first, last, _sha256(digests).digest())


def link_of_hash(previous: bytes, origin: str, first: int, last: int, hashed: bytes) -> bytes:
    """A group's link from the SHA-256 of its digests (what a :class:`TipProof` carries)."""
    head = struct.pack(">QQ", first, last)
    return _sha256(b"".join((_DOMAIN, previous, origin.encode(), b"\x00", head, hashed))).digest()


@dataclass(frozen=True, slots=True)
class Group:
    """A run of an origin's seqs ``first..last``: the digest of each (in seq order), the link.

    ``signature``: the origin's signature of the link, if we have it.
    """

    origin: str
    first: int
    last: int
    previous: bytes  # the link before
    link: bytes
    signature: bytes | None
    digests: bytes

    def digest_of(self, seq: int) -> bytes:
        """The digest of one seq of the group."""
        at = (seq - self.first) * DIGEST_SIZE
        return self.digests[at : at + DIGEST_SIZE]


class SiteKey:
    """A site's private key (kept in a file readable by its owner only; never shown)."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        """Wrap a private key."""
        self._private = private
        self.public = private.public_key().public_bytes_raw()

    def __repr__(self) -> str:
        """The public half only."""
        return f"SiteKey(public={encode_key(self.public)})"

    @classmethod
    def load_or_create(cls, folder: Path) -> SiteKey:
        """The key in ``folder/site_key``; made (mode 0600, folder 0700) if there is none."""
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.chmod(0o700)
        path = folder / KEY_FILE
        if not path.exists():
            cls._create(folder, path)
        path.chmod(0o600)
        raw = bytes.fromhex(path.read_text().strip())
        if len(raw) != KEY_SIZE:
            raise ValueError(f"{path} does not hold an Ed25519 key")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    @staticmethod
    def _create(folder: Path, path: Path) -> None:
        """Write a new key whole beside ``path``, then link it there.

        A crash part-way leaves no key file (a new one is made at the next start, nothing
        having been signed with this one), never a truncated one that would stop every later
        start; of two processes making one at once, the first link wins and both read it.
        """
        partial = folder / f"{KEY_FILE}.{os.getpid()}.new"
        fd = os.open(partial, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(Ed25519PrivateKey.generate().private_bytes_raw().hex() + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(partial, path)
        except FileExistsError:
            pass  # another process made it first: its key is the site's
        finally:
            partial.unlink()
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def sign(self, entries: list[Entry], previous: bytes | None = None) -> list[Group]:
        """Sign a local write's entries (consecutive seqs of one origin), ``GROUP_MAX`` a group.

        ``previous``: the link of the origin's group before (None: the first of the origin).
        """
        groups: list[Group] = []
        for start in range(0, len(entries), GROUP_MAX):
            chunk = entries[start : start + GROUP_MAX]
            before = groups[-1].link if groups else previous
            groups.append(self.sign_digests(chunk[0].origin, chunk[0].seq, _digests(chunk), before))
        return groups

    def sign_digests(
        self, origin: str, first: int, digests: bytes, previous: bytes | None = None
    ) -> Group:
        """Sign the seqs ``first..`` of ``origin`` with their digests, after ``previous``."""
        last = first + len(digests) // DIGEST_SIZE - 1
        before = previous or start_link(origin)
        value = link(before, origin, first, last, digests)
        signature = self._private.sign(_SIGNED + value)
        return Group(origin, first, last, before, value, signature, digests)


def _digests(entries: Iterable[Entry]) -> bytes:
    return b"".join(map(entry_digest, entries))


def encode_key(public: bytes) -> str:
    """A public key as text (base64)."""
    return b64encode(public).decode()


def decode_key(text: str) -> bytes:
    """A public key from text; ValueError if it is not one."""
    try:
        raw = b64decode(text, validate=True)
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as err:
        raise ValueError("not an Ed25519 public key (32 bytes, base64)") from err
    return raw


def verified(value: bytes, signature: bytes, public: bytes) -> bool:
    """Whether ``signature`` is the site's with ``public`` over the link ``value``."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, _SIGNED + value)
    except (InvalidSignature, ValueError):
        return False
    return True


class Refused(Exception):
    """A part that does not check out; the message says why (no secret in it)."""


def check_part(part: Part, public: bytes | None) -> list[Group]:
    """The part's groups, each checked against its origin's key; :class:`Refused` otherwise.

    The groups must tile ``(after, upto]``, every seq of it must come either in full or as a
    digest, once, and the signature must be the origin site's over the last group's link.
    """
    proof = part.proof
    if public is None:
        raise Refused(f"no key known for the site of {part.origin}")
    if proof is None or not proof.lasts:
        raise Refused(f"part of {part.origin} is not signed")
    span = part.upto - part.after
    if len(part.entries) + len(proof.digests) != span:
        raise Refused(f"part of {part.origin} does not account for every seq")
    by_seq = {e.seq: entry_digest(e) for e in part.entries}
    by_seq.update(proof.digests)
    if len(by_seq) != span:
        raise Refused(f"part of {part.origin} sends a seq twice")
    groups: list[Group] = []
    first = part.after + 1
    value = proof.start
    for last in proof.lasts:
        if last < first:
            raise Refused(f"part of {part.origin}: groups out of order")
        try:
            digests = b"".join([by_seq[s] for s in range(first, last + 1)])
        except KeyError:
            raise Refused(f"part of {part.origin}: a seq outside its range") from None
        before, value = value, link(value, part.origin, first, last, digests)
        groups.append(Group(part.origin, first, last, before, value, None, digests))
        first = last + 1
    if first != part.upto + 1:
        raise Refused(f"part of {part.origin}: groups do not end at upto")
    if not verified(value, proof.signature, public):
        raise Refused(f"part of {part.origin}: seqs {part.after + 1}-{part.upto} not its site's")
    groups[-1] = dataclasses.replace(groups[-1], signature=proof.signature)
    return groups


def proof_of(groups: list[Group], entries: Iterable[Entry]) -> Proof:
    """The proof a sender attaches to contiguous ``groups``, the last signed.

    The link before the first group, the group ends, the last group's signature and the
    digests of the seqs not sent in full.
    """
    signature = groups[-1].signature
    if signature is None:
        raise ValueError("a part must end with a group whose signature we hold")
    sent = {e.seq for e in entries}
    digests = tuple(
        (s, g.digest_of(s)) for g in groups for s in range(g.first, g.last + 1) if s not in sent
    )
    return Proof(groups[0].previous, tuple(g.last for g in groups), signature, digests)


# -- the groups a replica keeps (SQLite) -----------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS sig_groups(
    origin INTEGER NOT NULL, last INTEGER NOT NULL, first INTEGER NOT NULL,
    previous BLOB NOT NULL, link BLOB NOT NULL, signature BLOB, digests BLOB NOT NULL,
    floor INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(origin, last)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS site_keys(
    site TEXT PRIMARY KEY, key BLOB NOT NULL, via TEXT NOT NULL) WITHOUT ROWID;
"""


def add_floors(db: sqlite3.Connection) -> None:
    """Give a replica made before 0.4.2 the groups' ``floor`` column (0: no bound known)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(sig_groups)")}
    if "floor" not in columns:
        db.execute("ALTER TABLE sig_groups ADD COLUMN floor INTEGER NOT NULL DEFAULT 0")


def save_groups(
    db: sqlite3.Connection, origin: int, groups: Iterable[Group], floor: int = 0
) -> list[Group]:
    """Keep groups; a group kept already takes a signature it lacked. Returns those new here.

    ``floor``: the least stamp an entry of the groups could have been taken with here (see
    :mod:`lifeops_sync.stamps`), kept with each new group: an entry a restore moved is later
    checked against it, as its seq may never have come here in full.

    A group that overlaps another kept group differently (an origin that signed two versions
    of its seqs: a site restored from a backup that wrote before it knew) is not kept: the
    first version stays the one this replica vouches for.
    """
    added: list[Group] = []
    for g in groups:
        # Kept groups never overlap, so the one ending first at or after our start is the only
        # one that can.
        near = db.execute(
            "SELECT first, last, link FROM sig_groups WHERE origin = ? AND last >= ? "
            "ORDER BY last LIMIT 1",
            (origin, g.first),
        ).fetchone()
        if near is not None and near[0] <= g.last:
            if (near[0], near[1], bytes(near[2])) != (g.first, g.last, g.link):
                continue
            if g.signature is not None:
                db.execute(
                    "UPDATE sig_groups SET signature = coalesce(signature, ?) "
                    "WHERE origin = ? AND last = ?",
                    (g.signature, origin, g.last),
                )
            continue
        db.execute(
            "INSERT INTO sig_groups(origin, last, first, previous, link, signature, digests, "
            "floor) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
            (origin, g.last, g.first, g.previous, g.link, g.signature, g.digests, floor),
        )
        added.append(g)
    return added


def forget_groups(db: sqlite3.Connection, origin: int, groups: Iterable[Group]) -> None:
    """Drop kept groups (ones just kept for seqs whose entries were then refused)."""
    db.executemany(
        "DELETE FROM sig_groups WHERE origin = ? AND last = ? AND link = ?",
        [(origin, g.last, g.link) for g in groups],
    )


def kept_digests(db: sqlite3.Connection, origin: int, seq: int) -> tuple[Group, int] | None:
    """The kept group of ``origin`` that holds ``seq`` (digests only) and its floor."""
    row = db.execute(
        "SELECT first, last, digests, floor FROM sig_groups WHERE origin = ? AND last >= ? "
        "ORDER BY last LIMIT 1",
        (origin, seq),
    ).fetchone()
    if row is None or int(row[0]) > seq:
        return None
    return Group("", int(row[0]), int(row[1]), b"", b"", None, bytes(row[2])), int(row[3])


def tip_proof(db: sqlite3.Connection, origin: int, upto: int) -> TipProof | None:
    """The proof of the last group kept of ``origin`` up to ``upto`` whose signature we hold."""
    row = db.execute(
        "SELECT first, last, previous, signature, digests FROM sig_groups "
        "WHERE origin = ? AND last <= ? AND signature IS NOT NULL ORDER BY last DESC LIMIT 1",
        (origin, upto),
    ).fetchone()
    if row is None:
        return None
    first, last, previous, signature, digests = row
    hashed = _sha256(bytes(digests)).digest()
    return TipProof(int(first), int(last), bytes(previous), hashed, bytes(signature))


def signed_unheld(
    db: sqlite3.Connection, origin: int, name: str, proof: TipProof, public: bytes
) -> bool | None:
    """Whether ``proof`` shows a group of ``name`` signed with ``public`` that we do not hold.

    None if it is not a signature of that key over such a group (nothing proven); False if we
    hold that very group; True if we hold another one there, or none (we signed it, and lost
    it: a restore).
    """
    value = link_of_hash(proof.previous, name, proof.first, proof.last, proof.digests_hash)
    if not verified(value, proof.signature, public):
        return None
    return last_link(db, origin, proof.last) != value


def last_link(db: sqlite3.Connection, origin: int, seq: int) -> bytes | None:
    """The link of the origin's group that ends at ``seq``, if kept."""
    row = db.execute(
        "SELECT link FROM sig_groups WHERE origin = ? AND last = ?", (origin, seq)
    ).fetchone()
    return None if row is None else bytes(row[0])


def chain(db: sqlite3.Connection, origin: int, name: str, after: int, upto: int) -> list[Group]:
    """The kept groups from the one holding ``after + 1`` on, without a hole, up to ``upto``.

    The run ends at a group whose signature we hold (empty if there is none).
    """
    groups: list[Group] = []
    for last, first, previous, value, signature, digests in db.execute(
        "SELECT last, first, previous, link, signature, digests FROM sig_groups "
        "WHERE origin = ? AND last > ? AND last <= ? ORDER BY last",
        (origin, after, upto),
    ):
        if groups:
            if first != groups[-1].last + 1:
                break
        elif first > after + 1:
            break
        sig = None if signature is None else bytes(signature)
        groups.append(Group(name, first, last, bytes(previous), bytes(value), sig, bytes(digests)))
    while groups and groups[-1].signature is None:
        groups.pop()
    return groups


def stored_keys(db: sqlite3.Connection) -> dict[str, bytes]:
    """The site keys known, by site."""
    return {site: bytes(key) for site, key in db.execute("SELECT site, key FROM site_keys")}


def set_key(db: sqlite3.Connection, site: str, key: bytes, via: str) -> None:
    """Record (or replace) a site's key."""
    db.execute("INSERT OR REPLACE INTO site_keys(site, key, via) VALUES(?, ?, ?)", (site, key, via))


def offer_keys(
    known: Mapping[str, bytes],
    offered: Mapping[str, bytes],
    *,
    own_site: str,
    sender: str,
    direct: set[str],
) -> tuple[dict[str, bytes], list[str]]:
    """Which offered keys to take, and the sites whose offered key conflicts with ours.

    ``sender`` is the authenticated direct peer that offers them. A direct peer's key is taken
    from itself only; another site's from any direct peer, while none is known. Our own key and
    keys already known (learned, configured) never change here.
    """
    take: dict[str, bytes] = {}
    conflicts: list[str] = []
    for site, key in offered.items():
        have = known.get(site)
        if have is not None:
            if have != key:
                conflicts.append(site)
        elif site == own_site:
            continue
        elif site == sender or site not in direct:
            take[site] = key
    return take, sorted(conflicts)
