"""A misbehaving peer against real ``lifeops_sync serve`` processes: it holds a valid pair
secret (cabin_a's) and a key of its own, and sends crafted batches to home. Home also syncs with
an honest cabin (cabin_b, a process calling home). Whatever the hostile peer sends for another
site (home or cabin_b) is refused and counted; home's and cabin_b's data, counters and later
syncs are untouched. What it may still do is write as itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import dataclasses
from dataclasses import dataclass
import json
import os
from pathlib import Path
import sys
from typing import Any

from aiohttp import ClientSession
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
import pytest

from lifeops_sync.auth import sign_request
from lifeops_sync.crdt import Entry, Kind, Part
from lifeops_sync.hlc import WallClock, pack
from lifeops_sync.ops import AddItem, Delete, SetFields
from lifeops_sync.origin import ABSENT, SiteKey, proof_of
from lifeops_sync.service import ApiClient
from lifeops_sync.store import Store
from lifeops_sync.wire import CONTENT_TYPE, MAX_SEQ, Batch, decode, encode

from .nodes import API_SECRET, link_secret
from .test_sync_processes import ROOT, Service, wait_up

HOME, HOSTILE, HONEST = "home", "cabin_a", "cabin_b"


@dataclass
class Net:
    session: ClientSession
    home: Service
    honest: Service
    key: SiteKey  # the hostile peer's own key
    seq: int = 0  # the hostile peer's own counter

    def api(self, service: Service) -> ApiClient:
        return ApiClient(service.url, API_SECRET, service.node_id, self.session)

    async def call(self, service: Service, method: str, path: str, payload: Any = None) -> Any:
        status, doc = await self.api(service).request(method, path, payload)
        assert status == 200, doc
        return doc

    async def send(
        self,
        parts: list[Part],
        keys: dict[str, bytes] | None = None,
        vector: Any = None,
        **extra: Any,
    ) -> Batch:
        """A batch from the hostile peer, signed with cabin_a's pair secret; home's answer.

        ``extra``: more fields of the batch (tips, tip_proofs).
        """
        batch = Batch(HOSTILE, HOME, vector or {}, {}, parts, keys=keys or {}, **extra)
        body = encode(batch)
        headers = sign_request(
            link_secret(HOSTILE, HOME), "POST", "/v1/sync", HOSTILE, HOME, WallClock()(), body
        )
        headers["Content-Type"] = CONTENT_TYPE
        async with self.session.post(self.home.url + "/v1/sync", data=body, headers=headers) as r:
            payload = await r.read()
            assert r.status == 200, payload
        return decode(payload)

    async def state(self) -> tuple[dict[str, Any], dict[str, int]]:
        doc = await self.call(self.home, "GET", "/v1/state?full=1")
        return doc["state"], doc["vector"]

    async def check(self) -> dict[str, Any]:
        status = await self.call(self.home, "GET", "/v1/status")
        return dict(status["origin_check"])


def now() -> int:
    return pack(WallClock()())


def signed(key: SiteKey, entries: list[Entry]) -> Part:
    return Part(
        entries[0].origin,
        entries[0].seq - 1,
        entries[-1].seq,
        tuple(entries),
        proof_of(key.sign(entries), entries),
    )


@pytest.fixture
async def net(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[Net]:
    async with ClientSession() as session:
        home = Service(
            HOME,
            tmp_path,
            [
                "--sync-interval",
                "0.3",
                "--no-fsync",
                "--peer",
                f"{HOSTILE},{link_secret(HOSTILE, HOME)}",
                "--peer",
                f"{HONEST},{link_secret(HONEST, HOME)}",
            ],
        )
        honest = Service(
            HONEST,
            tmp_path,
            [
                "--sync-interval",
                "0.3",
                "--retry-max",
                "0.5",
                "--no-fsync",
                "--peer",
                f"{HOME},{link_secret(HONEST, HOME)},{home.url}",
            ],
        )
        services = (home, honest)
        try:
            for service in services:
                await asyncio.to_thread(service.start)
                await wait_up(session, service)
            yield Net(session, home, honest, SiteKey(Ed25519PrivateKey.generate()))
        finally:
            for service in services:
                await asyncio.to_thread(service.stop)


async def settle(net: Net) -> None:
    """Both honest sites hold the same (cabin_b calls home every 0.3 s)."""
    for _ in range(100):
        await net.call(net.honest, "POST", "/v1/sync_now")
        a = await net.call(net.home, "GET", "/v1/state")
        b = await net.call(net.honest, "GET", "/v1/state")
        if a == b:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("home and cabin_b do not converge")


async def test_a_peer_with_a_valid_secret_cannot_write_delete_or_count_as_another_site(
    net: Net,
) -> None:
    await net.call(
        net.home,
        "POST",
        "/v1/write",
        {
            "ops": [
                {"op": "set", "collection": "habits", "key": "h1", "fields": {"name": "run"}},
                {"op": "add", "collection": "xp", "key": "e1", "value": {"amount": 10}},
            ]
        },
    )
    await net.call(
        net.honest,
        "POST",
        "/v1/write",
        {"ops": [{"op": "set", "collection": "notes", "key": "n1", "fields": {"text": "b"}}]},
    )
    await settle(net)
    # The hostile peer takes everything home relays (it is a peer: home answers it).
    answer = await net.send([])
    relayed = {p.origin: p for p in answer.parts}
    assert set(relayed) == {HOME, HONEST}
    assert set(answer.keys) == {HOME, HONEST}
    before = await net.state()
    home_vector = before[1]

    crafted: dict[str, Part] = {}
    # 1. Entries claiming another origin, unsigned.
    crafted["unsigned, as cabin_b"] = Part(
        HONEST,
        home_vector[HONEST],
        home_vector[HONEST] + 1,
        (Entry(Kind.FIELD, HONEST, home_vector[HONEST] + 1, now(), "notes", "n1", "text", "x"),),
    )
    # 2. The same signed with the hostile peer's own key.
    crafted["own key, as cabin_b"] = signed(
        net.key,
        [Entry(Kind.FIELD, HONEST, home_vector[HONEST] + 1, now(), "notes", "n1", "text", "x")],
    )
    # 3. A delete of home's record, as home.
    crafted["delete as home"] = signed(
        net.key, [Entry(Kind.DELETE, HOME, home_vector[HOME] + 1, now(), "habits", "h1")]
    )
    # 4. Home's XP item again with stamp 1 (the least stamp wins items), as home.
    crafted["xp item stamp 1 as home"] = signed(
        net.key, [Entry(Kind.ITEM, HOME, home_vector[HOME] + 1, 1, "xp", "e1", "", {"amount": 1})]
    )
    # 5. A genuine relayed part of cabin_b, altered; and with its entry swapped for a digest.
    genuine = relayed[HONEST]
    (entry,) = [e for e in genuine.entries if e.coll == "notes"]
    crafted["relayed entry altered"] = dataclasses.replace(
        genuine,
        entries=tuple(e._replace(value="forged") if e == entry else e for e in genuine.entries),
    )
    assert genuine.proof is not None
    crafted["relayed entry dropped"] = dataclasses.replace(
        genuine,
        entries=tuple(e for e in genuine.entries if e != entry),
        proof=dataclasses.replace(genuine.proof, digests=((entry.seq, ABSENT),)),
    )
    # 6. Counters: cabin_b's moved 1000 ahead, home's own to the maximum, no entries.
    crafted["cabin_b counter +1000"] = Part(
        HONEST, home_vector[HONEST], home_vector[HONEST] + 1000, ()
    )
    crafted["home counter to max"] = Part(HOME, 0, MAX_SEQ, ())
    crafted["cabin_b counter +1000 with its real signature"] = Part(
        HONEST,
        genuine.after,
        genuine.upto + 1000,
        genuine.entries,
        dataclasses.replace(genuine.proof, lasts=(genuine.upto + 1000,)),
    )
    # Each alone, and with keys of its own for the sites it claims (refused: they are known).
    for name, part in crafted.items():
        await net.send([part], keys={HOME: net.key.public, HONEST: net.key.public})
        assert await net.state() == before, name
    check = await net.check()
    assert check["refused_parts"] == len(crafted)
    assert check["key_conflicts"] == sorted([HOME, HONEST])
    assert "refused" not in json.dumps(check["public_key"])

    # What it may do: write as itself, signed with its own key (taken first-hand).
    own = Entry(Kind.FIELD, HOSTILE, 1, now(), "notes", "mine", "text", "a")
    await net.send([signed(net.key, [own])], keys={HOSTILE: net.key.public}, vector={HOSTILE: 1})
    state, vector = await net.state()
    assert vector[HOSTILE] == 1 and state["records"]["notes"]["mine"] == {"text": "a"}
    assert vector[HOME] == home_vector[HOME] and vector[HONEST] == home_vector[HONEST]
    assert (await net.check())["refused_parts"] == len(crafted)

    # Home and cabin_b go on syncing: cabin_b's next edits reach home, home's reach cabin_b.
    await net.call(
        net.honest,
        "POST",
        "/v1/write",
        {"ops": [{"op": "set", "collection": "notes", "key": "n1", "fields": {"text": "c"}}]},
    )
    await net.call(
        net.home,
        "POST",
        "/v1/write",
        {"ops": [{"op": "set", "collection": "habits", "key": "h1", "fields": {"goal": 3}}]},
    )
    await settle(net)
    state, _ = await net.state()
    assert state["records"]["notes"]["n1"] == {"text": "c"}
    assert state["records"]["habits"]["h1"] == {"name": "run", "goal": 3}
    assert state["items"]["xp"] == {"e1": {"amount": 10}}
    honest_status = await net.call(net.honest, "GET", "/v1/status")
    assert honest_status["origin_check"]["refused_parts"] == 0
    # The hostile peer's own entry reached cabin_b through home, checked with its key.
    records = await net.call(net.honest, "GET", "/v1/records?collection=notes&key=mine")
    assert records["records"] == {"mine": {"text": "a"}}


async def test_a_peer_cannot_pass_off_a_key_for_a_direct_peer_it_is_not(net: Net) -> None:
    # Before cabin_b ever wrote, the hostile peer offers "cabin_b's" key and entries signed
    # with it: home takes cabin_b's key only from cabin_b itself.
    fake = Entry(Kind.FIELD, HONEST, 1, now(), "notes", "n1", "text", "forged")
    await net.send([signed(net.key, [fake])], keys={HONEST: net.key.public})
    _, vector = await net.state()
    assert HONEST not in vector
    await net.call(
        net.honest,
        "POST",
        "/v1/write",
        {"ops": [{"op": "set", "collection": "notes", "key": "n1", "fields": {"text": "real"}}]},
    )
    await settle(net)
    state, _ = await net.state()
    assert state["records"]["notes"]["n1"] == {"text": "real"}
    check = await net.check()
    assert check["refused_parts"] == 1 and check["key_conflicts"] == []


async def test_the_site_key_is_private_and_printed_by_the_key_command(
    net: Net, tmp_path: Path
) -> None:
    key_file = tmp_path / HOME / "secrets" / "site_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    private = key_file.read_text().strip()
    status = await net.call(net.home, "GET", "/v1/status")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lifeops_sync",
        "key",
        "--data-dir",
        str(tmp_path / HOME),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT / "addon")},
    )
    out, _ = await proc.communicate()
    assert out.decode().strip() == status["origin_check"]["public_key"]
    log = (tmp_path / f"{HOME}.log").read_text()
    assert private not in log and private not in json.dumps(status)


async def test_two_sites_upgraded_from_unsigned_replicas_converge(
    tmp_path: Path, socket_enabled: None
) -> None:
    # Replicas as 0.3.0 left them (schema 1, nothing signed), in sync with each other.
    for node in (HOME, HONEST):
        (tmp_path / node).mkdir(mode=0o700)
    stores = {
        node: Store(tmp_path / node / "sync.db", node, WallClock(), durable=False)
        for node in (HOME, HONEST)
    }
    stores[HOME].write([SetFields("notes", "h", {"text": "home"}), AddItem("xp", "e1", 5)])
    stores[HOME].write([SetFields("notes", "h", {"text": "home 2"})])
    stores[HONEST].write([SetFields("notes", "b", {"text": "cabin"}), Delete("notes", "x")])
    for src, dst in ((HOME, HONEST), (HONEST, HOME)):
        parts, _ = stores[src].changes_since({}, 100)
        stores[dst].apply(parts, sender=src, sender_vector=stores[src].vector())
    expected = stores[HOME].dump()
    assert stores[HONEST].dump() == expected
    for store in stores.values():
        store.close()
    async with ClientSession() as session:
        secret = link_secret(HONEST, HOME)
        home = Service(HOME, tmp_path, ["--no-fsync", "--peer", f"{HONEST},{secret}"])
        honest = Service(
            HONEST,
            tmp_path,
            ["--no-fsync", "--sync-interval", "0.3", "--peer", f"{HOME},{secret},{home.url}"],
        )
        net = Net(session, home, honest, SiteKey(Ed25519PrivateKey.generate()))
        try:
            for service in (home, honest):
                await asyncio.to_thread(service.start)
                await wait_up(session, service)
            await settle(net)
            for service in (home, honest):
                doc = await net.call(service, "GET", "/v1/state?full=1")
                # Each took the other's entries again, signed: the counters are back.
                assert doc["state"] == expected
                assert doc["vector"] == {HOME: 3, HONEST: 2}
                status = await net.call(service, "GET", "/v1/status")
                assert status["origin_check"]["refused_parts"] == 0
        finally:
            for service in (home, honest):
                await asyncio.to_thread(service.stop)


async def test_keys_are_taken_only_with_the_parts_they_sign(net: Net) -> None:
    # A key offered for a site the batch carries nothing of is not taken: a peer cannot plant
    # one for a site that joins later.
    planted = SiteKey(Ed25519PrivateKey.generate())
    await net.send([], keys={"cabin9": planted.public})
    real = SiteKey(Ed25519PrivateKey.generate())
    entry = Entry(Kind.FIELD, "cabin9", 1, now(), "notes", "c9", "text", "from cabin9")
    await net.send([signed(real, [entry])], keys={"cabin9": real.public}, vector={"cabin9": 1})
    state, _ = await net.state()
    assert state["records"]["notes"]["c9"] == {"text": "from cabin9"}
    assert (await net.check())["key_conflicts"] == []
