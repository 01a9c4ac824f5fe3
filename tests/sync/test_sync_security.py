"""Unauthenticated, forged, replayed and malformed requests are refused and change nothing."""

from __future__ import annotations

from collections.abc import AsyncGenerator
import json
from pathlib import Path
import random
import zlib

from aiohttp import ClientSession
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
import pytest

from lifeops_sync import wire
from lifeops_sync.auth import HEADER_KEY, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIME, sign_request
from lifeops_sync.crdt import Entry, Kind, Part
from lifeops_sync.hlc import WallClock, pack
from lifeops_sync.origin import SiteKey, proof_of
from lifeops_sync.wire import CONTENT_TYPE, Batch, encode, to_json

from .nodes import API_SECRET, Network, Running, api, link_secret, start_node, stop_node

HOME = "home"
CABIN = "cabin_a"


@pytest.fixture
async def home(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[tuple[Network, Running]]:
    async with ClientSession() as session:
        net = Network(random.Random(0), session, faults=False)
        running = await start_node(net, tmp_path, HOME, {CABIN: False})
        await api(
            running,
            "POST",
            "/v1/write",
            {"ops": [{"op": "set", "collection": "c", "key": "k", "fields": {"v": 1}}]},
        )
        try:
            yield net, running
        finally:
            await stop_node(net, running)


def batch_body(value: int = 2, node: str = CABIN, to: str = HOME) -> bytes:
    now = pack(WallClock()())
    entry = Entry(Kind.FIELD, node, 1, now, "c", "k", "v", value)
    return encode(Batch(node, to, {node: 1}, {}, [Part(node, 0, 1, (entry,))]))


async def snapshot(running: Running) -> tuple[str, dict[str, int], dict[str, dict[str, int]]]:
    doc = await api(running, "GET", "/v1/state")
    known = await running.node.db(running.node.store.known)
    return doc["digest"], doc["vector"], known


async def post(
    net: Network, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, str]]:
    reply = await net.post(HOME, path, body, headers)
    return reply.status, json.loads(reply.body) if reply.status != 200 else {}


def signed(
    body: bytes,
    secret: str | None = None,
    key: str = CABIN,
    ts: int | None = None,
    path: str = "/v1/sync",
) -> dict[str, str]:
    headers = sign_request(
        secret or link_secret(CABIN, HOME),
        "POST",
        path,
        key,
        HOME,
        WallClock()() if ts is None else ts,
        body,
    )
    headers["Content-Type"] = CONTENT_TYPE
    return headers


async def test_refusals_change_nothing(home: tuple[Network, Running]) -> None:
    net, running = home
    before = await snapshot(running)
    body = batch_body()
    good = signed(body)
    cases: list[tuple[str, bytes, dict[str, str], int, str]] = [
        ("no headers", body, {}, 401, "unauthenticated"),
        ("unknown key", body, signed(body, key="stranger"), 401, "unknown_key"),
        (
            "wrong secret",
            body,
            signed(body, secret="not-the-secret-0123456789"),
            403,
            "bad_signature",
        ),
        ("body changed", batch_body(3), good, 403, "bad_signature"),
        ("signature changed", body, {**good, HEADER_SIGNATURE: "0" * 64}, 403, "bad_signature"),
        (
            "time changed",
            body,
            {**good, HEADER_TIME: str(int(good[HEADER_TIME]) + 1)},
            403,
            "bad_signature",
        ),
        ("key changed", body, {**good, HEADER_KEY: "@api"}, 403, "bad_signature"),
        ("malformed nonce", body, {**good, HEADER_NONCE: "xyz"}, 401, "unauthenticated"),
        ("an hour old", body, signed(body, ts=WallClock()() - 3_600_000), 401, "clock"),
        (
            "api key cannot sync",
            body,
            signed(body, secret=API_SECRET, key="@api"),
            403,
            "forbidden",
        ),
    ]
    for name, sent, headers, status, code in cases:
        got, doc = await post(net, "/v1/sync", sent, headers)
        assert (got, doc.get("error")) == (status, code), name
        assert await snapshot(running) == before, name
    # A peer's key cannot use the local API.
    write = json.dumps({"ops": [{"op": "delete", "collection": "c", "key": "k"}]}).encode()
    got, doc = await post(net, "/v1/write", write, signed(write, path="/v1/write"))
    assert (got, doc["error"]) == (403, "forbidden")
    assert await snapshot(running) == before


async def test_a_replay_is_refused_also_after_a_restart(
    home: tuple[Network, Running], tmp_path: Path
) -> None:
    net, running = home
    body = batch_body()
    headers = signed(body)
    assert (await post(net, "/v1/sync", body, headers))[0] == 200
    after_first = await snapshot(running)
    assert (await post(net, "/v1/sync", body, headers)) == (
        403,
        {"error": "replayed", "message": "nonce already used"},
    )
    assert await snapshot(running) == after_first
    # The process is gone, its nonces are not: they are stored with the replica.
    await stop_node(net, running)
    running = await start_node(net, tmp_path, HOME, {CABIN: False})
    try:
        status, doc = await post(net, "/v1/sync", body, headers)
        assert (status, doc["error"]) == (403, "replayed")
    finally:
        await stop_node(net, running)
        # The fixture stops the first instance again: harmless.
        net.addresses.pop(HOME, None)


async def test_malformed_bodies_are_400_and_change_nothing(
    home: tuple[Network, Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    net, running = home
    monkeypatch.setattr(wire, "MAX_INFLATED", 1024 * 1024)
    before = await snapshot(running)
    good = to_json(
        Batch(
            CABIN,
            HOME,
            {CABIN: 1},
            {},
            [
                Part(
                    CABIN,
                    0,
                    1,
                    (Entry(Kind.FIELD, CABIN, 1, pack(WallClock()()), "c", "k", "v", 2),),
                )
            ],
        )
    )

    def variant(**changes: object) -> bytes:
        doc = json.loads(json.dumps(good))
        for path, value in changes.items():
            target = doc
            *head, last = path.split("__")
            for step in head:
                target = target[int(step)] if step.isdigit() else target[step]
            target[last] = value
        return zlib.compress(json.dumps(doc).encode())

    bodies = {
        "not deflate": b"plain text",
        "not json": zlib.compress(b"{nope"),
        "NaN": zlib.compress(b'{"v": NaN}'),
        "a list": zlib.compress(b"[]"),
        "bomb": zlib.compress(b" " * (2 * 1024 * 1024), 9),
        "truncated": zlib.compress(json.dumps(good).encode())[:-5],
        "wrong version": variant(v=2),
        "bad node id": variant(node="no spaces allowed"),
        "seq beyond upto": variant(parts__0__s=[5]),
        "upto before after": variant(parts__0__a=3),
        "column too short": variant(parts__0__k=[]),
        "string index": variant(parts__0__c=[7]),
        "hlc zero": variant(parts__0__h=[0]),
        "unknown kind": variant(parts__0__t="z"),
        "bool seq": variant(parts__0__s=[True]),
        "negative vector": variant(vector={CABIN: -1}),
        "addressed elsewhere": variant(to="cabin_b"),
        "5000-digit integer": zlib.compress(b'{"v": ' + b"9" * 5000 + b"}"),
        "nested 100,000 deep": zlib.compress(b"[" * 100_000 + b"]" * 100_000),
        "invalid UTF-8": zlib.compress(json.dumps(good).encode().replace(b'"k"', b'"\xff"')),
        "encoded surrogate": zlib.compress(
            json.dumps(good).encode().replace(b'"k"', b'"\xed\xa0\x80"')
        ),
        "lone surrogate": variant(parts__0__k=["\ud800"]),
    }
    for name, body in bodies.items():
        status, doc = await post(net, "/v1/sync", body, signed(body))
        assert status == 400, (name, status, doc)
        assert await snapshot(running) == before, name
    # A stamp its sender's clock does not explain is refused on its own: the batch is answered,
    # the entry is neither applied nor counted as received. (The part is the cabin's own,
    # signed by it: the origin check lets it through to the clock bound.)
    key = SiteKey(Ed25519PrivateKey.generate())
    future = Entry(Kind.FIELD, CABIN, 1, pack(WallClock()() + 10 * 86_400_000), "c", "k", "v", 2)
    part = Part(CABIN, 0, 1, (future,), proof_of(key.sign([future]), [future]))
    body = encode(Batch(CABIN, HOME, {CABIN: 1}, {}, [part], keys={CABIN: key.public}))
    status, doc = await post(net, "/v1/sync", body, signed(body))
    assert status == 200
    after = await snapshot(running)
    assert after[:2] == before[:2]
    assert running.node.refused_parts == 0
    before = after  # what the cabin said it has is noted
    body = variant(node="cabin_b")
    status, doc = await post(net, "/v1/sync", body, signed(body))
    assert (status, doc["error"]) == (403, "wrong_sender")
    for name, payload in {
        "no ops": {},
        "bad op": {"ops": [{"op": "explode"}]},
        "NaN row": {"ops": [{"op": "rows", "series": "s", "rows": [[1, "x"]]}]},
        **{
            f"edit {name}": {
                "ops": [
                    {"op": "add", "collection": "xp", "key": "e", "value": 1},
                    {"op": "set", "collection": "c", "key": "k", "fields": {"v": 1}, **extra},
                ]
            }
            for name, extra in {
                "at without seen": {"at": 1},
                "seen without at": {"seen": {}},
                "bool at": {"at": True, "seen": {}},
                "negative at": {"at": -1, "seen": {}},
                "float at": {"at": 1.5, "seen": {}},
                "huge at": {"at": 1 << 50, "seen": {}},
                "seen a list": {"at": 1, "seen": []},
                "seen bad origin": {"at": 1, "seen": {"no spaces": 1}},
                "seen negative": {"at": 1, "seen": {"home": -1}},
                "seen bool": {"at": 1, "seen": {"home": False}},
                "seen string": {"at": 1, "seen": {"home": "3"}},
                "seen too long": {"at": 1, "seen": {f"n{i}": 1 for i in range(1001)}},
            }.items()
        },
        "delete bad at": {"ops": [{"op": "delete", "collection": "c", "key": "k", "at": "x"}]},
    }.items():
        status, doc = await running.api.request("POST", "/v1/write", payload)
        assert status == 400, name
    assert await snapshot(running) == before


async def test_skewed_clock_syncs_after_one_refusal(tmp_path: Path, socket_enabled: None) -> None:
    async with ClientSession() as session:
        net = Network(random.Random(0), session, faults=False)
        home = await start_node(net, tmp_path, HOME, {CABIN: False}, skew_s=-3600)
        cabin = await start_node(net, tmp_path, CABIN, {HOME: True}, skew_s=3600)
        try:
            await api(
                cabin,
                "POST",
                "/v1/write",
                {"ops": [{"op": "set", "collection": "c", "key": "k", "fields": {"v": 1}}]},
            )
            await cabin.node.links[HOME].sync()
            link = cabin.node.links[HOME]
            assert abs(link.offset_ms + 7_200_000) < 60_000
            assert (await api(home, "GET", "/v1/records?collection=c"))["records"] == {
                "k": {"v": 1}
            }
            status = await api(cabin, "GET", "/v1/status")
            (peer,) = status["peers"]
            assert peer["node_id"] == HOME and peer["failures"] == 0 and peer["pending"] == 0
            assert peer["last_success"] is not None and peer["lag_seconds"] < 60
        finally:
            await stop_node(net, cabin)
            await stop_node(net, home)
