"""The batch format on the wire: column-wise JSON, deflate-compressed, strictly validated.

A batch (``application/x-lifeops-batch``, the bytes deflate-compressed)::

    {"v": 1, "node": sender, "to": receiver, "more": false,
     "vector": {origin: seq},              # what the sender has
     "known": {node: {origin: seq}},       # what the sender knows other nodes to have
     "w": ms,                              # the sender's hybrid clock when it sent (optional)
     "tips": {origin: [seq, hlc]},         # the newest entry the sender holds of each of the
                                           # receiver's origins (optional; finds a restore)
     "pt": true,                           # the sender asks for proofs of the tips it was sent
     "tp": {origin: [first, last, previous, digests hash, signature]},
                                           # asked: a group of each such origin the sender
                                           # holds, signed by the receiver (epochs.py)
     "strings": [name, ...],               # collections, series and field names, once each
     "parts": [{"o": origin, "a": after, "u": upto,
                "t": "ffdir...",           # kind of each entry, in seq order
                "s": [seq deltas], "h": [hlc deltas (all but rows)],
                "c": [collection/series: index into strings], "k": [key (f, d, i)],
                "n": [field name: index into strings (f)], "v": [value (f, i)],
                "x": [row time deltas (r)], "y": [row value (r)],
                "gl": [deltas of each of the origin's groups' last seq, from after],
                "gp": "the link before the first group (32 bytes, base64)",
                "gs": "the origin's Ed25519 signature of the last group's link, base64",
                "ds": [seq deltas of the seqs sent as digests only],
                "dd": "their 16-byte digests, base64",
                "m": [[seq, epoch, seq], ...]}],  # entries a restore moved into this epoch
                                           # from an earlier one of the site, each entry it
                                           # was (optional)
     "keys": {site: public key (base64)}}  # the sender's and those of the parts' sites

The signatures and digests are the parts' proof of origin (origin.py); a part without them is
decoded but then refused by a replica that checks origins.

Columns keep like with like (seqs, stamps, times), and deltas turn the per-entry bookkeeping into
runs of small numbers that compress to almost nothing: the bytes sent stay close to the compressed
size of the data itself. Origins are node ids, or ``<node_id>~<n>`` for a site's later
epochs (:func:`~lifeops_sync.crdt.site_of`); vectors are keyed by origin, ``known`` by node.
:func:`decode` rejects anything malformed with :class:`ProtocolError` before anything is applied.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
import json
import math
from typing import Any
import zlib

from .crdt import (
    Entry,
    Kind,
    Part,
    Proof,
    TipProof,
    epoch_of,
    epoch_origin,
    site_of,
    valid_node_id,
    valid_origin,
)
from .jsontext import MAX_DEPTH, JsonTextError, loads, within_depth
from .ops import MAX_KEY, MAX_NAME

VERSION = 1
CONTENT_TYPE = "application/x-lifeops-batch"
MAX_BODY = 64 * 1024 * 1024
MAX_INFLATED = 256 * 1024 * 1024
MAX_ENTRIES = 1_000_000
MAX_NODES = 256
MAX_SEQ = (1 << 62) - 1
MAX_HLC = (1 << 63) - 1
SIGNATURE_SIZE = 64  # Ed25519
DIGEST_SIZE = 16  # origin.py's per-entry digests
LINK_SIZE = 32  # origin.py's group links
KEY_SIZE = 32
COMPRESSION_LEVEL = 6


class ProtocolError(ValueError):
    """A malformed batch (HTTP 400); nothing of it is applied."""


@dataclass(slots=True)
class Batch:
    """One message of an exchange, in either direction."""

    node: str
    to: str
    vector: dict[str, int]
    known: dict[str, dict[str, int]] = field(default_factory=dict)
    parts: list[Part] = field(default_factory=list)
    more: bool = False
    keys: dict[str, bytes] = field(default_factory=dict)
    clock: int | None = None  # the sender's hybrid clock (ms) when it sent, for the drift bound
    tips: dict[str, tuple[int, int]] = field(default_factory=dict)
    ask_proofs: bool = False  # the sender doubts a tip it was sent: prove it
    tip_proofs: dict[str, TipProof] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """How many entries it carries."""
        return sum(len(p.entries) for p in self.parts)


def _deltas(values: list[int]) -> list[int]:
    out: list[int] = []
    prev = 0
    for v in values:
        out.append(v - prev)
        prev = v
    return out


def _undelta(deltas: list[int]) -> list[int]:
    out: list[int] = []
    acc = 0
    for d in deltas:
        acc += d
        out.append(acc)
    return out


def to_json(batch: Batch) -> dict[str, Any]:
    """The JSON document of a batch (before compression)."""
    strings: dict[str, int] = {}

    def intern(name: str) -> int:
        index = strings.get(name)
        if index is None:
            index = strings[name] = len(strings)
        return index

    parts = []
    for part in batch.parts:
        doc: dict[str, Any] = {"o": part.origin, "a": part.after, "u": part.upto}
        entries = sorted(part.entries, key=lambda e: e.seq)
        if entries:
            rows = [e for e in entries if e.kind is Kind.ROW]
            records = (
                [e for e in entries if e.kind is not Kind.ROW] if len(rows) < len(entries) else []
            )
            doc.update(
                t="".join([e.kind.value for e in entries]),
                s=_deltas([e.seq for e in entries]),
                h=_deltas([e.hlc for e in records]),
                c=[intern(e.coll) for e in entries],
                k=[e.key for e in records],
                n=[intern(e.field) for e in records if e.kind is Kind.FIELD],
                v=[e.value for e in records if e.kind is Kind.FIELD or e.kind is Kind.ITEM],
                x=_deltas([e.ts for e in rows]),
                y=[e.value for e in rows],
            )
        if part.proof is not None:
            doc.update(
                gl=_deltas([part.after, *part.proof.lasts])[1:],
                gp=_b64(part.proof.start),
                gs=_b64(part.proof.signature),
                ds=_deltas([s for s, _ in part.proof.digests]),
                dd=_b64(b"".join(d for _, d in part.proof.digests)),
            )
        if part.moved:
            doc["m"] = [[seq, epoch_of(src), src_seq] for seq, src, src_seq in part.moved]
        parts.append(doc)
    batch_doc: dict[str, Any] = {
        "v": VERSION,
        "node": batch.node,
        "to": batch.to,
        "more": batch.more,
        "vector": batch.vector,
        "known": batch.known,
        "strings": list(strings),
        "parts": parts,
        "keys": {site: _b64(key) for site, key in batch.keys.items()},
    }
    if batch.clock is not None:
        batch_doc["w"] = batch.clock
    if batch.tips:
        batch_doc["tips"] = {o: list(t) for o, t in batch.tips.items()}
    if batch.ask_proofs:
        batch_doc["pt"] = True
    if batch.tip_proofs:
        batch_doc["tp"] = {
            o: [p.first, p.last, _b64(p.previous), _b64(p.digests_hash), _b64(p.signature)]
            for o, p in batch.tip_proofs.items()
        }
    return batch_doc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(value: Any, what: str, size: int, count: int) -> list[bytes]:
    """``count`` pieces of ``size`` bytes from a base64 string."""
    if not isinstance(value, str) or len(value) > 2 * size * count + 8:
        raise ProtocolError(f"{what} must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error as err:
        raise ProtocolError(f"{what} is not base64") from err
    if len(raw) != size * count:
        raise ProtocolError(f"{what} must hold {count} x {size} bytes")
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def _proof(doc: dict[str, Any], after: int, upto: int) -> Proof | None:
    """A part's proof of origin, if it has one (checked against the keys later, not here)."""
    if "gl" not in doc:
        return None
    last_deltas = _list(doc, "gl", len(doc["gl"]) if isinstance(doc["gl"], list) else -1)
    seq_deltas = _list(doc, "ds", len(doc["ds"]) if isinstance(doc.get("ds"), list) else 0)
    _ints(last_deltas, "gl")
    _ints(seq_deltas, "ds")
    if len(last_deltas) > MAX_ENTRIES or len(seq_deltas) > MAX_ENTRIES:
        raise ProtocolError("too many groups or digests")
    lasts = [after + s for s in _undelta(last_deltas)]
    if not lasts or min(last_deltas) <= 0 or lasts[-1] != upto:
        raise ProtocolError("group ends must increase strictly within (after, upto]")
    seqs = _undelta(seq_deltas)
    if seqs and (seqs[0] <= after or seqs[-1] > upto or min(seq_deltas[1:], default=1) <= 0):
        raise ProtocolError("digest seqs must increase strictly within (after, upto]")
    (start,) = _unb64(doc.get("gp"), "gp", LINK_SIZE, 1)
    (signature,) = _unb64(doc.get("gs"), "gs", SIGNATURE_SIZE, 1)
    digests = _unb64(doc.get("dd", ""), "dd", DIGEST_SIZE, len(seqs))
    return Proof(start, tuple(lasts), signature, tuple(zip(seqs, digests, strict=True)))


def _moved(
    doc: dict[str, Any], origin: str, after: int, upto: int
) -> tuple[tuple[int, str, int], ...]:
    """Where a part's moved entries came from: ``(seq, earlier origin of the site, seq)``."""
    value = doc.get("m", [])
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        raise ProtocolError("m must be a list")
    epoch = epoch_of(origin)
    if value and epoch == 0:
        raise ProtocolError("only a later epoch carries moved entries")
    moved: list[tuple[int, str, int]] = []
    for item in value:
        if not isinstance(item, list) or len(item) != 3:
            raise ProtocolError("a move must be [seq, epoch, seq]")
        seq = _int(item[0], "moved seq", after + 1, upto)
        if moved and seq < moved[-1][0]:
            raise ProtocolError("moved seqs must not decrease")
        src = epoch_origin(site_of(origin), _int(item[1], "moved from epoch", 0, epoch - 1))
        moved.append((seq, src, _int(item[2], "moved from seq", 1)))
    return tuple(moved)


def _tip_proofs(value: Any) -> dict[str, TipProof]:
    if not isinstance(value, dict) or len(value) > MAX_NODES:
        raise ProtocolError("tp must be an object")
    proofs: dict[str, TipProof] = {}
    for origin, proof in value.items():
        if not isinstance(proof, list) or len(proof) != 5:
            raise ProtocolError("a tip proof must be [first, last, previous, hash, signature]")
        first = _int(proof[0], "tip proof first", 1)
        last = _int(proof[1], "tip proof last", first)
        (previous,) = _unb64(proof[2], "tip proof previous", LINK_SIZE, 1)
        (hashed,) = _unb64(proof[3], "tip proof hash", LINK_SIZE, 1)
        (signature,) = _unb64(proof[4], "tip proof signature", SIGNATURE_SIZE, 1)
        proofs[_origin(origin, "tp key")] = TipProof(first, last, previous, hashed, signature)
    return proofs


def _keys(value: Any) -> dict[str, bytes]:
    if not isinstance(value, dict) or len(value) > MAX_NODES:
        raise ProtocolError("keys must be an object")
    return {
        _node(site, "keys site"): _unb64(key, f"keys[{site}]", KEY_SIZE, 1)[0]
        for site, key in value.items()
    }


def encode(batch: Batch, level: int = COMPRESSION_LEVEL) -> bytes:
    """A batch as bytes to send."""
    text = json.dumps(to_json(batch), separators=(",", ":"), allow_nan=False)
    return zlib.compress(text.encode(), level)


def inflate(body: bytes, limit: int | None = None) -> bytes:
    """Decompress, refusing anything that would grow past ``limit`` (a compression bomb)."""
    limit = MAX_INFLATED if limit is None else limit
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(body, limit)
    except zlib.error as err:
        raise ProtocolError(f"not deflate data: {err}") from err
    if inflater.unconsumed_tail:
        raise ProtocolError(f"batch inflates past {limit} bytes")
    if not inflater.eof or inflater.unused_data:
        raise ProtocolError("truncated or trailing compressed data")
    return data


def _int(value: Any, what: str, low: int = 0, high: int = MAX_SEQ) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ProtocolError(f"{what} must be an integer in [{low}, {high}]")
    return value


def _node(value: Any, what: str) -> str:
    if not isinstance(value, str) or not valid_node_id(value):
        raise ProtocolError(f"{what} is not a node id")
    return value


def _origin(value: Any, what: str) -> str:
    if not isinstance(value, str) or not valid_origin(value):
        raise ProtocolError(f"{what} is not an origin")
    return value


def _vector(value: Any, what: str) -> dict[str, int]:
    if not isinstance(value, dict) or len(value) > MAX_NODES:
        raise ProtocolError(f"{what} must be an object of at most {MAX_NODES} origins")
    return {_origin(k, f"{what} key"): _int(v, f"{what}[{k[:80]}]") for k, v in value.items()}


def _list(doc: dict[str, Any], name: str, length: int) -> list[Any]:
    value = doc.get(name, [])
    if not isinstance(value, list) or len(value) != length:
        raise ProtocolError(f"column {name!r} must be a list of {length}")
    return value


def _ints(column: list[Any], what: str) -> None:
    if not all(type(d) is int for d in column):
        raise ProtocolError(f"column {what!r} must hold integers")


def _part(doc: Any, strings: list[str]) -> Part:  # noqa: PLR0915 (one pass, in column order)
    if not isinstance(doc, dict):
        raise ProtocolError("a part must be an object")
    origin = _origin(doc.get("o"), "part origin")
    after = _int(doc.get("a"), "part after")
    upto = _int(doc.get("u"), "part upto")
    if upto <= after:
        raise ProtocolError("part upto must exceed after")
    kinds = doc.get("t", "")
    if not isinstance(kinds, str) or len(kinds) > MAX_ENTRIES or set(kinds) - set("fdir"):
        raise ProtocolError("part kinds must be a string of f, d, i, r")
    n = len(kinds)
    n_rows = kinds.count("r")
    n_fields = kinds.count("f")
    n_items = kinds.count("i")
    seq_deltas = _list(doc, "s", n)
    hlc_deltas = _list(doc, "h", n - n_rows)
    colls = _list(doc, "c", n)
    keys = _list(doc, "k", n - n_rows)
    names = _list(doc, "n", n_fields)
    values = _list(doc, "v", n_fields + n_items)
    time_deltas = _list(doc, "x", n_rows)
    reals = _list(doc, "y", n_rows)
    _ints(seq_deltas, "s")
    _ints(hlc_deltas, "h")
    _ints(time_deltas, "x")
    _ints(colls, "c")
    _ints(names, "n")
    proof = _proof(doc, after, upto)
    moved = _moved(doc, origin, after, upto)
    if n == 0:
        return Part(origin, after, upto, (), proof, moved)
    # Seqs increase strictly within (after, upto]; stamps and times stay in range.
    seqs = _undelta(seq_deltas)
    if seqs[0] <= after or seqs[-1] > upto or (n > 1 and min(seq_deltas[1:]) <= 0):
        raise ProtocolError("seqs must increase strictly within (after, upto]")
    hlcs = _undelta(hlc_deltas)
    if hlcs and (min(hlcs) <= 0 or max(hlcs) > MAX_HLC):
        raise ProtocolError("hlc out of range")
    times = _undelta(time_deltas)
    if times and (min(times) < -MAX_HLC or max(times) > MAX_HLC):
        raise ProtocolError("row time out of range")
    if colls and (min(colls) < 0 or max(colls) >= len(strings)):
        raise ProtocolError("collection is not a string index")
    if names and (min(names) < 0 or max(names) >= len(strings)):
        raise ProtocolError("field is not a string index")
    if not all(type(k) is str and 0 < len(k) <= MAX_KEY for k in keys):
        raise ProtocolError("key must be a non-empty string")
    if not all(within_depth(v) for v in values if type(v) is dict or type(v) is list):
        raise ProtocolError(f"a value nests deeper than {MAX_DEPTH}")
    if not all(type(v) is float or type(v) is int for v in reals) or not all(
        map(math.isfinite, reals)
    ):
        raise ProtocolError("row value must be a finite number")

    entries: list[Entry] = []
    if n_rows:
        row_seqs = [s for s, k in zip(seqs, kinds, strict=True) if k == "r"]
        row_colls = [c for c, k in zip(colls, kinds, strict=True) if k == "r"]
        entries = [
            Entry(Kind.ROW, origin, s, 0, strings[c], "", "", float(v), t)
            for s, c, v, t in zip(row_seqs, row_colls, reals, times, strict=True)
        ]
    if n_rows < n:
        ki = vi = ni = 0
        record_kinds = kinds.replace("r", "")
        record_seqs = [s for s, k in zip(seqs, kinds, strict=True) if k != "r"]
        record_colls = [c for c, k in zip(colls, kinds, strict=True) if k != "r"]
        for ki, kind in enumerate(record_kinds):
            coll = strings[record_colls[ki]]
            if kind == "f":
                entries.append(
                    Entry(
                        Kind.FIELD,
                        origin,
                        record_seqs[ki],
                        hlcs[ki],
                        coll,
                        keys[ki],
                        strings[names[ni]],
                        values[vi],
                    )
                )
                ni += 1
                vi += 1
            elif kind == "i":
                entries.append(
                    Entry(
                        Kind.ITEM, origin, record_seqs[ki], hlcs[ki], coll, keys[ki], "", values[vi]
                    )
                )
                vi += 1
            else:
                entries.append(
                    Entry(Kind.DELETE, origin, record_seqs[ki], hlcs[ki], coll, keys[ki])
                )
    return Part(origin, after, upto, tuple(entries), proof, moved)


def from_json(doc: Any) -> Batch:
    """Validate a decoded JSON document and make it a :class:`Batch`."""
    if not isinstance(doc, dict):
        raise ProtocolError("a batch must be an object")
    if doc.get("v") != VERSION:
        raise ProtocolError(f"unsupported batch version {doc.get('v')!r}")
    more = doc.get("more", False)
    if not isinstance(more, bool):
        raise ProtocolError("more must be a boolean")
    known = doc.get("known", {})
    if not isinstance(known, dict) or len(known) > MAX_NODES:
        raise ProtocolError("known must be an object")
    strings = doc.get("strings", [])
    if not isinstance(strings, list) or not all(
        isinstance(s, str) and len(s) <= MAX_NAME for s in strings
    ):
        raise ProtocolError("strings must be a list of names")
    if any(not s for s in strings):
        raise ProtocolError("names must not be empty")  # so no field name is empty either
    parts = doc.get("parts", [])
    if not isinstance(parts, list) or len(parts) > MAX_NODES * 4:
        raise ProtocolError("parts must be a list")
    clock = doc.get("w")
    if clock is not None:
        clock = _int(clock, "w", 0, MAX_HLC >> 16)
    tips = doc.get("tips", {})
    if not isinstance(tips, dict) or len(tips) > MAX_NODES:
        raise ProtocolError("tips must be an object")
    for tip in tips.values():
        if not isinstance(tip, list) or len(tip) != 2:
            raise ProtocolError("a tip must be [seq, hlc]")
    ask = doc.get("pt", False)
    if not isinstance(ask, bool):
        raise ProtocolError("pt must be a boolean")
    batch = Batch(
        node=_node(doc.get("node"), "node"),
        to=_node(doc.get("to"), "to"),
        vector=_vector(doc.get("vector"), "vector"),
        known={_node(k, "known key"): _vector(v, f"known[{k}]") for k, v in known.items()},
        parts=[_part(p, strings) for p in parts],
        more=more,
        keys=_keys(doc.get("keys", {})),
        clock=clock,
        tips={
            _origin(o, "tips key"): (_int(s, "tip seq", 1), _int(h, "tip hlc", 0, MAX_HLC))
            for o, (s, h) in tips.items()
        },
        ask_proofs=ask,
        tip_proofs=_tip_proofs(doc.get("tp", {})),
    )
    digests = sum(len(p.proof.digests) for p in batch.parts if p.proof is not None)
    digests += sum(len(p.moved) for p in batch.parts)
    if batch.size + digests > MAX_ENTRIES:
        raise ProtocolError(f"at most {MAX_ENTRIES} entries, digests and moves per batch")
    return batch


def decode(body: bytes) -> Batch:
    """Bytes received to a validated batch, or :class:`ProtocolError`."""
    if len(body) > MAX_BODY:
        raise ProtocolError(f"body larger than {MAX_BODY} bytes")
    data = inflate(body)
    try:
        doc = loads(data)
    except JsonTextError as err:
        raise ProtocolError(str(err)) from err
    return from_json(doc)
