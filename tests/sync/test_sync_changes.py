"""The change feed (``GET /v1/changes``): answers at once when something is past the cursor, else
waits (bounded) and wakes on a local write or a peer's batch; signed, local client only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
import random
import time

from aiohttp import ClientSession
import pytest

from lifeops_sync.auth import sign_request

from .nodes import API_SECRET, Network, Running, api, link_secret, start_node, stop_node


@pytest.fixture
async def pair(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[tuple[Running, Running]]:
    async with ClientSession() as session:
        net = Network(random.Random(0), session, faults=False)
        home = await start_node(net, tmp_path, "home", {"cabin": False})
        cabin = await start_node(net, tmp_path, "cabin", {"home": True})
        try:
            yield home, cabin
        finally:
            await stop_node(net, cabin)
            await stop_node(net, home)


SET = {"op": "set", "collection": "settings", "key": "person", "fields": {"bedtime": "23:00:00"}}


async def test_answers_at_once_with_what_is_past_the_cursor(pair: tuple[Running, Running]) -> None:
    home, _ = pair
    await api(home, "POST", "/v1/write", {"ops": [SET]})
    await api(
        home,
        "POST",
        "/v1/write",
        {
            "ops": [
                {"op": "rows", "series": "hr", "rows": [[1, 60.0]]},
                {"op": "delete", "collection": "devices", "key": "d1"},
            ]
        },
    )
    start = time.monotonic()
    doc = await api(home, "GET", "/v1/changes?after=&wait=30")
    assert time.monotonic() - start < 5
    assert doc["cursor"] == {"home": 3}
    assert doc["more"] is False
    assert sorted(doc["changes"], key=lambda c: c["kind"]) == [
        {"kind": "delete", "collection": "devices", "key": "d1", "origin": "home"},
        {
            "kind": "field",
            "collection": "settings",
            "key": "person",
            "origin": "home",
            "field": "bedtime",
            "value": "23:00:00",
        },
    ]  # the time-series row is left out, the cursor moves past it
    doc = await api(home, "GET", "/v1/changes?after=home:1&limit=1")
    assert doc["cursor"]["home"] >= 2


async def test_waits_then_times_out_with_nothing(pair: tuple[Running, Running]) -> None:
    home, _ = pair
    start = time.monotonic()
    doc = await api(home, "GET", "/v1/changes?after=home:0&wait=0.3")
    assert 0.25 <= time.monotonic() - start < 5
    assert doc == {"cursor": {"home": 0}, "changes": [], "more": False, "origin": "home"}


async def test_wakes_on_a_peers_batch(pair: tuple[Running, Running]) -> None:
    home, cabin = pair
    cursor = (await api(home, "GET", "/v1/changes"))["cursor"]
    after = ",".join(f"{o}:{s}" for o, s in cursor.items())
    waiting = asyncio.create_task(api(home, "GET", f"/v1/changes?after={after}&wait=20"))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await api(
        cabin,
        "POST",
        "/v1/write",
        {"ops": [{"op": "add", "collection": "xp", "key": "c1", "value": 7}]},
    )
    await asyncio.sleep(0.2)
    assert not waiting.done()  # written at the cabin, not yet at home
    start = time.monotonic()
    assert (await api(cabin, "POST", "/v1/sync_now"))["results"] == {"home": None}
    doc = await asyncio.wait_for(waiting, 5)
    assert time.monotonic() - start < 2
    assert doc["cursor"] == {**cursor, "cabin": 1}
    assert doc["changes"] == [
        {"kind": "item", "collection": "xp", "key": "c1", "origin": "cabin", "value": 7}
    ]


async def test_wakes_on_a_local_write_and_on_an_answer(pair: tuple[Running, Running]) -> None:
    home, cabin = pair
    waiting = asyncio.create_task(api(cabin, "GET", "/v1/changes?after=&wait=20"))
    await asyncio.sleep(0.2)
    await api(home, "POST", "/v1/write", {"ops": [SET]})
    assert (await api(cabin, "POST", "/v1/sync_now"))["results"] == {"home": None}
    doc = await asyncio.wait_for(waiting, 5)  # the cabin applied home's answer
    assert doc["cursor"] == {"home": 1}


@pytest.mark.parametrize(
    "query",
    [
        "after=home",
        "after=home:x",
        "after=home:-1",
        "after=home:1,home:2",
        "after=bad%20node:1",
        "after=:1",
        "wait=abc",
        "wait=61",
        "wait=-1",
        "wait=nan",
        "limit=0",
        "limit=many",
    ],
)
async def test_malformed_parameters_are_refused(pair: tuple[Running, Running], query: str) -> None:
    home, _ = pair
    status, doc = await home.api.request("GET", f"/v1/changes?{query}")
    assert status == 400, doc
    assert doc["error"] == "malformed"


async def test_signed_by_the_local_client_only(pair: tuple[Running, Running]) -> None:
    home, _ = pair
    session = home.api.session
    url = home.api.url + "/v1/changes"
    async with session.get(url) as answer:
        assert answer.status == 401
    headers = sign_request(
        link_secret("home", "cabin"), "GET", "/v1/changes", "cabin", "home", home.node.wall(), b""
    )
    async with session.get(url, headers=headers) as answer:
        assert answer.status == 403
        assert (await answer.json())["error"] == "forbidden"
    headers = sign_request(
        "wrong-secret-0123456789", "GET", "/v1/changes", "@api", "home", home.node.wall(), b""
    )
    async with session.get(url, headers=headers) as answer:
        assert answer.status == 403
    assert API_SECRET  # the right secret is accepted in every other test here


async def test_a_stopping_node_answers_waiting_requests_at_once(
    tmp_path: Path, socket_enabled: None
) -> None:
    async with ClientSession() as session:
        net = Network(random.Random(0), session, faults=False)
        node = await start_node(net, tmp_path, "home", {})
        waiting = asyncio.create_task(api(node, "GET", "/v1/changes?after=&wait=30"))
        await asyncio.sleep(0.2)
        start = time.monotonic()
        await node.runner.cleanup()
        assert (await asyncio.wait_for(waiting, 5))["changes"] == []
        assert time.monotonic() - start < 3
        await stop_node(net, node)
