"""The integration's sync client against a real service process, and against forgers.

The client signs with its own code (the integration is installed apart from the add-on): these
tests prove a real ``python -m lifeops_sync serve`` accepts it, also an hour of clock skew away,
and that answers not signed by the service (forged, altered on the way, unsigned) are refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import json
import math
from pathlib import Path

from aiohttp import ClientSession, web
import pytest

from custom_components.lifeops.sync import (
    SyncAnswerError,
    SyncAuthError,
    SyncClient,
    SyncConnectionError,
    SyncNotAServiceError,
    SyncRequestError,
)
from lifeops_sync.auth import response_signature

from .nodes import API_SECRET
from .test_sync_processes import Service, free_port, wait_up


@pytest.fixture
async def session(socket_enabled: None) -> AsyncGenerator[ClientSession]:
    async with ClientSession() as session:
        yield session


@pytest.fixture
async def service(tmp_path: Path, session: ClientSession) -> AsyncGenerator[Service]:
    # cabin_a's clock runs an hour fast: the client's first request is refused for its time.
    node = Service("cabin_a", tmp_path, ["--no-fsync"])
    await asyncio.to_thread(node.start)
    try:
        await wait_up(session, node)
        yield node
    finally:
        await asyncio.to_thread(node.stop)


async def test_real_service_accepts_the_integrations_signatures(
    service: Service, session: ClientSession
) -> None:
    client = SyncClient(session, service.url, API_SECRET)
    assert await client.connect() == "cabin_a"
    receipt = await client.write(
        [
            {
                "op": "set",
                "collection": "settings",
                "key": "person",
                "fields": {"bedtime": "23:00:00"},
            },
            {"op": "add", "collection": "xp", "key": "e1", "value": {"amount": 5}},
        ]
    )
    assert receipt["last_seq"] == 2
    assert await client.records("settings") == {"person": {"bedtime": "23:00:00"}}
    assert await client.records("settings", "person") == {"person": {"bedtime": "23:00:00"}}
    assert await client.items("xp") == {"e1": {"amount": 5}}
    assert (await client.status())["node_id"] == "cabin_a"
    assert await client.sync_now() == {}
    feed = await client.changes({})
    assert feed.cursor == {"cabin_a": 2}
    assert {(c.kind, c.key, c.field) for c in feed.changes} == {
        ("field", "person", "bedtime"),
        ("item", "e1", None),
    }
    assert (await client.changes(feed.cursor, wait=0.2)).changes == []
    with pytest.raises(SyncRequestError):
        await client.write([{"op": "nonsense"}])
    assert "secret" not in repr(client).lower()


async def test_a_set_is_read_page_by_page(service: Service, session: ClientSession) -> None:
    """Pages in key order with each item's origin; keys that need quoting in a query
    (the ``:`` of an Oura site, ``+``, ``%``, spaces) are signed as sent and accepted."""
    client = SyncClient(session, service.url, API_SECRET)
    keys = sorted(
        ["oura:u1|ab|1", "home|ab|2", "a+b c", "100%", "zz", "cabin|ff|3", "é|1"], key=str.encode
    )
    await client.write(
        [{"op": "add", "collection": "rows", "key": k, "value": [i]} for i, k in enumerate(keys)]
    )
    await client.write([{"op": "add", "collection": "other", "key": "x", "value": 1}])
    seen: dict[str, object] = {}
    after = None
    pages = 0
    while True:
        page = await client.items_page("rows", after, limit=3)
        pages += 1
        assert set(page.origins.values()) == {"cabin_a"}
        assert list(page.items) == sorted(page.items, key=str.encode)
        seen.update(page.items)
        if not page.more:
            break
        assert page.next == list(page.items)[-1]
        after = page.next
    assert pages == 3
    assert list(seen) == keys
    assert seen == {k: [keys.index(k)] for k in keys}
    # Past the end: an empty page; the whole set in one answer, as before.
    last = await client.items_page("rows", keys[-1])
    assert (last.items, last.more, last.next) == ({}, False, None)
    assert await client.items("rows") == seen
    for limit in (0, 25_001):
        with pytest.raises(SyncRequestError):
            await client.items_page("rows", limit=limit)


QUERY_KEYS = ["a+b", "a&key=other", "x#y", "100% off", "a/b", "with space", "=?", "é+é", "plain"]


async def test_every_query_is_encoded(service: Service, session: ClientSession) -> None:
    """Record keys (notification ids) and collections with ``+ & # % /`` and spaces: each one
    read alone comes back as itself, and nothing else (the query is not cut or merged)."""
    client = SyncClient(session, service.url, API_SECRET)
    await client.write(
        [
            {"op": "set", "collection": "notifications", "key": key, "fields": {"n": i}}
            for i, key in enumerate(QUERY_KEYS)
        ]
        + [{"op": "set", "collection": "odd coll+&#", "key": "k", "fields": {"n": -1}}]
    )
    for i, key in enumerate(QUERY_KEYS):
        assert await client.records("notifications", key) == {key: {"n": i}}, key
    assert await client.records("notifications") == {k: {"n": i} for i, k in enumerate(QUERY_KEYS)}
    assert await client.records("odd coll+&#") == {"k": {"n": -1}}
    await client.write(
        [{"op": "add", "collection": "a+b&c", "key": k, "value": k} for k in QUERY_KEYS]
    )
    assert await client.items("a+b&c") == {k: k for k in QUERY_KEYS}
    after = sorted(QUERY_KEYS, key=str.encode)[3]
    page = await client.items_page("a+b&c", after)
    assert list(page.items) == [k for k in sorted(QUERY_KEYS, key=str.encode) if k > after]
    # The feed's cursor too (node ids cannot hold these, but it goes through the same path).
    feed = await client.changes({}, limit=1000)
    assert {c.key for c in feed.changes if c.collection == "notifications"} == set(QUERY_KEYS)


async def test_wrong_secret_is_refused(service: Service, session: ClientSession) -> None:
    client = SyncClient(session, service.url, "not-the-secret-0123456789")
    with pytest.raises(SyncAuthError):
        await client.connect()


async def test_nothing_listening(session: ClientSession) -> None:
    client = SyncClient(session, f"http://127.0.0.1:{free_port()}", API_SECRET, timeout=2)
    with pytest.raises(SyncConnectionError):
        await client.connect()


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_something_else_at_the_address(session: ClientSession) -> None:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/v1/health", health)
    runner, url = await _serve(app)
    try:
        with pytest.raises(SyncNotAServiceError):
            await SyncClient(session, url, API_SECRET).connect()
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("forgery", ["unsigned", "wrong_key", "altered"])
async def test_forged_answers_are_refused(
    service: Service, session: ClientSession, forgery: str
) -> None:
    """A man in the middle answers, or changes the service's answer: the client refuses it."""

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "service": "lifeops_sync", "node_id": "cabin_a"})

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-lifeops")}
        async with session.request(
            request.method, service.url + request.path_qs, data=body, headers=headers
        ) as answer:
            payload = await answer.read()
            keep = {k: v for k, v in answer.headers.items() if k.lower().startswith("x-lifeops")}
            status = answer.status
        if status == 200:
            doc = json.loads(payload)
            doc["records"] = {"person": {"bedtime": "03:00:00"}}
            if forgery == "unsigned":
                keep.pop("X-LifeOps-Signature", None)
            elif forgery == "wrong_key":
                keep["X-LifeOps-Signature"] = "0" * 64
            payload = json.dumps(doc).encode()  # "altered" keeps the real signature
        return web.Response(status=status, body=payload, headers=keep)

    app = web.Application()
    app.router.add_get("/v1/health", health)
    app.router.add_route("*", "/{tail:.*}", forward)
    runner, url = await _serve(app)
    try:
        client = SyncClient(session, url, API_SECRET)
        with pytest.raises(SyncAnswerError, match="not signed"):
            await client.records("settings")
    finally:
        await runner.cleanup()


async def test_huge_integers_and_deep_nesting_in_a_signed_answer(session: ClientSession) -> None:
    """A dishonest service's answer: an item worth a 5,000-digit integer is read (as infinity,
    which the integration's checks refuse) rather than failing the whole answer; nesting too
    deep for the parser is an unreadable answer, not a crash."""
    answers = {
        "/v1/items": b'{"items": {"a": {"amount": ' + b"9" * 5000 + b'}, "b": -' + b"9" * 41
        + b', "c": ' + b"9" * 40 + b"}}",
        "/v1/records": b'{"records": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    }  # fmt: skip

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "service": "lifeops_sync", "node_id": "home"})

    async def reply(request: web.Request) -> web.Response:
        answer = answers[request.path]
        signature = response_signature(API_SECRET, request.headers["X-LifeOps-Nonce"], 200, answer)
        return web.Response(body=answer, headers={"X-LifeOps-Signature": signature})

    app = web.Application()
    app.router.add_get("/v1/health", health)
    app.router.add_route("*", "/v1/{tail:.*}", reply)
    runner, url = await _serve(app)
    client = SyncClient(session, url, API_SECRET)
    try:
        assert await client.items("xp") == {
            "a": {"amount": math.inf},
            "b": -math.inf,
            "c": 10**40 - 1,
        }
        with pytest.raises(SyncAnswerError):
            await client.records("settings")
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/v1/changes", b'{"cursor": {"home": "1"}, "changes": [], "more": false}'),
        ("/v1/changes", b'{"cursor": {}, "changes": [{"kind": "rows"}], "more": false}'),
        ("/v1/changes", b'{"cursor": {}, "changes": [{"kind": "field", "key": 1}]}'),
        ("/v1/records", b'{"records": [1, 2]}'),
        ("/v1/items", b'{"items": null}'),
        ("/v1/items?page", b'{"items": {"a": 1}, "more": false, "next": "a"}'),
        ("/v1/items?page", b'{"items": {"a": 1}, "origins": {"a": "home"}, "next": "a"}'),
        (
            "/v1/items?page",
            b'{"items": {"a": 1}, "origins": {"a": "home"}, "more": true, "next": "b"}',
        ),
        ("/v1/status", b"[]"),
        ("/v1/sync_now", b'{"results": {"cabin": 3}}'),
        ("/v1/status", b"not json"),
    ],
)
async def test_signed_answers_of_the_wrong_shape_are_refused(
    session: ClientSession, path: str, answer: bytes
) -> None:
    """Signed by the right secret, but not what the endpoint answers: nothing is taken."""

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "service": "lifeops_sync", "node_id": "home"})

    async def reply(request: web.Request) -> web.Response:
        nonce = request.headers["X-LifeOps-Nonce"]
        signature = response_signature(API_SECRET, nonce, 200, answer)
        return web.Response(body=answer, headers={"X-LifeOps-Signature": signature})

    app = web.Application()
    app.router.add_get("/v1/health", health)
    app.router.add_route("*", path.partition("?")[0], reply)
    runner, url = await _serve(app)
    client = SyncClient(session, url, API_SECRET)
    calls = {
        "/v1/changes": lambda: client.changes({"home": 0}),
        "/v1/records": lambda: client.records("settings"),
        "/v1/items": lambda: client.items("xp"),
        "/v1/items?page": lambda: client.items_page("longterm.health_metric", "a"),
        "/v1/status": client.status,
        "/v1/sync_now": client.sync_now,
    }
    try:
        with pytest.raises(SyncAnswerError):
            await calls[path]()
    finally:
        await runner.cleanup()
