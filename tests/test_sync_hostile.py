"""A hostile sync peer against the integration, through real sync-service processes.

Hypothesis draws deliveries: batches that the cabin's local API takes (as a cabin holding a valid
secret may write them) with hostile XP items and records (integers far beyond any limit, times in
year 1 or 9999, lone surrogates, text thousands of characters long, wrong types, floods of
items). The cabin's service hands them to home's, and home's Home Assistant reads them through
its change feed and records reads, the integration's own code path. After each delivery: the
entry is loaded, home's store is written by Home Assistant's JSON storage, at most one
`lifeops_level_up` was fired, and at the end nothing was logged as an error and the entry sets up
again from what it stored.

NaN and infinity are refused by the service's JSON (400) and lone surrogates in keys too (a 500
for now, the add-on's side of issue 16): they never reach a site through it, and the validators'
own property test (`test_sync_inbound.py`) covers them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
import contextlib
from datetime import UTC, datetime
import json
import logging
import math
from typing import Any

from aiohttp import ClientSession, web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import json_bytes
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.lifeops.core.habits import MAX_HABITS
from custom_components.lifeops.core.notifications import MAX_MIRRORED
from custom_components.lifeops.core.xp import MAX_AWARD, level_for_xp
from custom_components.lifeops.sync import SyncClient
from lifeops_sync.auth import response_signature
from lifeops_sync.jsontext import loads as strict_loads
from lifeops_sync.ops import parse_operations
from tests.ports import free_port

from .sync.nodes import API_SECRET
from .sync_sites import (  # noqa: F401 (fixtures)
    Sites,
    _connected,
    _teardown,
    _until,
    config_dir_per_test,
    fast_retries,
    session,
    sites,
)

DELIVERIES = 20  # each takes a fraction of a second through the two services

NOW = datetime.now(UTC).replace(microsecond=0).isoformat()
INTS = st.sampled_from(
    [2**64, 10**300, 2**63, -(2**64), -1, 0, 1, MAX_AWARD, MAX_AWARD + 1, True, 1.5, "10", None]
)
TIMES = st.sampled_from(
    [
        "9999-12-31T23:59:59+00:00", NOW, "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00",
        "1970-01-01T00:00:00+00:00", "2026-01-01T00:00:00", "3026-01-01T00:00:00+00:00", 12, None,
        "\ud800", "9" * 5000,
    ]
)  # fmt: skip
TEXTS = st.one_of(
    st.sampled_from(["\ud800", "a\udfffb", "x" * 10_000, "", "Read", None, 5, ["x"], {"a": 1}]),
    st.text(max_size=10).map(lambda text: text + "\udc80"),
    st.text(max_size=10),
)
ANY = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), INTS, TEXTS, TIMES),
    # (The service refuses a record field without a name: not drawn.)
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(min_size=1, max_size=4), inner),
    max_leaves=5,
)
KEYS = st.sampled_from(["a", "read", "run", "x" * 200, "Bad Key", "in_bed_by_bedtime", "n+1&#"])


def _patched(base: dict[str, Any], hostile: dict[str, st.SearchStrategy[Any]]) -> Any:
    """A valid value with one to three fields made hostile, or (now and then) anything at all."""

    @st.composite
    def patched(draw: st.DrawFn) -> dict[str, Any]:
        names = draw(st.lists(st.sampled_from(sorted(hostile)), min_size=1, max_size=3))
        return base | {name: draw(hostile[name]) for name in names}

    return st.one_of(patched(), patched(), patched(), ANY)


def _xp(key: str, amount: int = 10) -> dict[str, Any]:
    return {
        "id": key,
        "time": NOW,
        "agent": "fitness",
        "event_type": "hike",
        "amount": amount,
        "description": "",
        "origin": "cabin",
        "habit_id": None,
    }


XP_OPS = st.builds(
    lambda key, value: {"op": "add", "collection": "xp", "key": key, "value": value},
    KEYS,
    _patched(
        _xp("a"),
        {"id": KEYS, "time": TIMES, "amount": INTS, "description": TEXTS, "agent": TEXTS,
         "origin": TEXTS, "habit_id": TEXTS, "event_type": TEXTS},
    ),
)  # fmt: skip
HABIT = {"name": "Read", "schedule": "weekly", "times_per_week": 3, "xp": 10, "grace_days": 0}
SESSION = {"start": NOW, "end": NOW, "source": "desk", "scheduled": False, "site": "cabin"}
NOTE = {
    "title": "Hi", "message": "There", "priority": 3, "agent": None, "url": None, "created": NOW,
    "scheduled": NOW, "status": "pending", "delivered_at": None, "dedupe_key": "k", "count": 1,
    "site": "cabin",
}  # fmt: skip


def _set_op(collection: str, key: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"op": "set", "collection": collection, "key": key, "fields": fields}


def _set(collection: str, base: dict[str, Any], hostile: dict[str, Any]) -> Any:
    return st.builds(
        lambda key, fields: {
            "op": "set",
            "collection": collection,
            "key": key,
            "fields": fields if isinstance(fields, dict) and fields else {"x": fields},
        },
        KEYS,
        _patched(base, hostile),
    )


RECORD_OPS = st.one_of(
    _set("habits", HABIT, {"name": TEXTS, "xp": INTS, "grace_days": INTS, "times_per_week": INTS,
                           "schedule": TEXTS}),
    _set("work_sessions", SESSION, {"start": TIMES, "end": TIMES, "source": TEXTS, "site": TEXTS,
                                    "scheduled": ANY}),
    _set("notifications", NOTE, {"title": TEXTS, "message": TEXTS, "priority": INTS,
                                 "created": TIMES, "count": INTS, "url": TEXTS, "status": TEXTS,
                                 "dedupe_key": TEXTS, "agent": TEXTS}),
    _set("notification_dismissals", {"dismissed_at": NOW, "site": "cabin"},
         {"dismissed_at": TIMES}),
    _set("settings", {"bedtime": "23:00:00"}, {"bedtime": TIMES, "wind_down_minutes": INTS,
                                               "weekly_work_target_hours": INTS}),
)  # fmt: skip


@st.composite
def deliveries(draw: st.DrawFn, n: int) -> list[dict[str, Any]]:
    """One batch: hostile items and records, and now and then a flood of big valid awards."""
    ops = draw(st.lists(XP_OPS, min_size=1, max_size=5))
    ops += draw(st.lists(RECORD_OPS, min_size=1, max_size=5))
    ops = draw(st.permutations(ops))
    if draw(st.integers(0, 3)) == 0:  # many levels at once: announced once
        count = draw(st.integers(2, 150))
        ops += [
            {"op": "add", "collection": "xp", "key": f"flood-{n}-{i}", "value": _xp(
                f"flood-{n}-{i}", MAX_AWARD)}
            for i in range(count)
        ]  # fmt: skip
    for op in ops:  # settings land on the person's record, as the integration writes them
        if op["collection"] == "settings":
            op["key"] = "person"
    return ops


def _marker(n: int) -> tuple[str, str, list[dict[str, Any]]]:
    """A valid XP item and notification record that end a delivery (the notification's id
    needs quoting in a query: it is read on its own through `records(collection, key)`)."""
    xp_id, note_id = f"marker-{n}", f"marker {n}+&#%/"
    note = NOTE | {"title": f"Marker {n}", "dedupe_key": f"marker-{n}"}
    return (
        xp_id,
        note_id,
        [
            {"op": "add", "collection": "xp", "key": xp_id, "value": _xp(xp_id, 1)},
            {"op": "set", "collection": "notifications", "key": note_id, "fields": note},
        ],
    )


def _drawn(
    strategy: Callable[[int], st.SearchStrategy[list[dict[str, Any]]]], examples: int
) -> list[list[dict[str, Any]]]:
    """`examples` deliveries drawn first (the n-th from `strategy(n)`), to run one by one."""
    drawn: list[list[dict[str, Any]]] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def draw(data: st.DataObject) -> None:
        drawn.append(data.draw(strategy(len(drawn))))

    draw()
    return drawn


def _taken_by_the_service(op: dict[str, Any]) -> bool:
    """Whether the service takes `op` on its own: it refuses some with a 400 itself (a lone
    surrogate, values nested too deep), through the same parser it answers with."""
    body = json.dumps({"ops": [op]}, separators=(",", ":")).encode()
    try:
        parse_operations(strict_loads(body)["ops"])
    except ValueError:
        return False
    return True


async def _write_what_it_takes(
    cabin: SyncClient, ops: list[dict[str, Any]], markers: list[dict[str, Any]]
) -> None:
    """Write a delivery at the cabin, in one write (so it reaches home as one change): what
    the service itself refuses is left out; the markers always go."""
    await cabin.write([op for op in ops if _taken_by_the_service(op)] + markers)


async def test_a_hostile_peer_cannot_crash_setup_storage_or_the_event_bus(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811 (the fixture of sync_sites.py)
    session: ClientSession,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    hass_client: ClientSessionGenerator,
) -> None:
    drawn = _drawn(deliveries, DELIVERIES)
    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    gamification = entry.runtime_data.gamification
    queue = entry.runtime_data.notifications.queue
    level_ups = async_capture_events(hass, "lifeops_level_up")
    cabin = SyncClient(session, sites.cabin.url, API_SECRET)
    store_key = f"lifeops.{entry.entry_id}"
    caplog.set_level(logging.WARNING)

    async def deliver(n: int, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write a batch at the cabin; wait until home read it; the level-ups it brought."""
        xp_id, note_id, markers = _marker(n)
        await _write_what_it_takes(cabin, ops, markers)
        before = len(level_ups)
        await _until(
            lambda: xp_id in gamification.log and queue.get(note_id) is not None, timeout=20
        )
        figures = await gamification.async_figures()
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert figures.level.level == level_for_xp(figures.total_xp)
        # Home Assistant's JSON storage writes everything the entry holds (it raises here on a
        # lone surrogate or an integer beyond 64 bits: the failure issue 16 found).
        await entry.runtime_data.store.async_save()
        json_bytes(entry.runtime_data.store.collect())
        stored = hass_storage[store_key]["data"]
        assert any(e["id"] == xp_id for e in stored["gamification"]["log"]["events"])
        return [event.data for event in level_ups[before:]]

    for n, ops in enumerate(drawn):
        announced = await deliver(n, ops)
        assert len(announced) <= 1, (n, announced)

    # 300 awards of 10,000 XP at once (3 million XP, dozens of levels): one event, the last level.
    flood = [
        {"op": "add", "collection": "xp", "key": f"big-{i}", "value": _xp(f"big-{i}", MAX_AWARD)}
        for i in range(300)
    ]
    level = gamification.figures.level.level
    announced = await deliver(len(drawn), flood)
    assert gamification.figures.level.level > level + 1  # several levels crossed
    assert announced == [
        {
            "config_entry_id": entry.entry_id,
            "level": gamification.figures.level.level,
            "previous_level": level,
            "total_xp": gamification.figures.total_xp,
        }
    ]
    xp_id = _marker(len(drawn))[0]
    # More habits and notifications than a site keeps of others': the rest refused.
    await cabin.write(
        [_set_op("habits", f"habit_{i}", HABIT | {"name": f"Habit {i}"}) for i in range(120)]
        + [
            _set_op("notifications", f"flood-{i}", NOTE | {"dedupe_key": f"f{i}"})
            for i in range(1010)
        ]
    )
    controller = entry.runtime_data.gamification
    await _until(
        lambda: len(controller.habits) == MAX_HABITS
        and sum(1 for item in queue.all() if item.mirrored) == MAX_MIRRORED,
        timeout=20,
    )

    assert all(0 <= e.amount <= MAX_AWARD for e in gamification.log)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    refused = diagnostics["runtime"]["sync"]["refused_records"]
    assert "xp" in refused, "no hostile item reached the integration: the test proves nothing"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage()[:300] for r in errors]
    # One warning per refused record (and reason), not one per read.
    warnings = [r.getMessage() for r in caplog.records if "Skipping another site's" in r.msg]
    assert warnings
    assert len(set(warnings)) == len(warnings)

    # What was stored sets the entry up again.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert xp_id in entry.runtime_data.gamification.log
    await _teardown(hass, entry)


# ---- what the service itself refuses, from a peer that signs its answers -------------------------

HOSTILE_VALUES = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 2**64, 10**300, "\ud800", "x" * 10_000]),
    ANY,
)
HOSTILE_KEYS = st.sampled_from(["ok", "k\ud800", "\udfff", "a+b&c#d", "x" * 300, ""])


@st.composite
def injected(draw: st.DrawFn, n: int) -> list[dict[str, Any]]:
    """Changes a dishonest service adds to a change-feed answer: any kind, collection and key."""
    changes = []
    for i in range(draw(st.integers(1, 6))):
        collection = draw(
            st.sampled_from(["xp", "habits", "work_sessions", "notifications",
                             "notification_dismissals", "settings", "longterm.health_metric",
                             "c\ud800"])
        )  # fmt: skip
        kind = "item" if collection in ("xp", "longterm.health_metric") else "field"
        value = draw(HOSTILE_VALUES)
        if collection == "xp" and draw(st.booleans()):
            fields = ("amount", "time", "description")
            hostile = st.fixed_dictionaries({}, optional=dict.fromkeys(fields, HOSTILE_VALUES))
            value = _xp(f"inj-{n}-{i}") | draw(hostile)
        key = draw(HOSTILE_KEYS)
        field = draw(st.sampled_from(["bedtime", "dismissed_at", "sleep", "\ud800"]))
        if collection == "settings":
            key = draw(st.sampled_from(["person", "agents"]))
        changes.append(
            {"kind": kind, "collection": collection, "key": key, "field": field,
             "value": value, "origin": "cabin"}
        )  # fmt: skip
    return changes


@contextlib.asynccontextmanager
async def _tampering(
    client_session: ClientSession,
    target: str,
    inject: list[dict[str, Any]],
    origin: str | None = None,
) -> AsyncIterator[str]:
    """A stand-in for a service (its address): answers as `target` does, but adds `inject` to
    every change-feed answer (and says it writes under `origin`, if given) and signs it again
    with the secret."""

    async def forward(request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-lifeops")}
        async with client_session.request(
            request.method, target + request.raw_path, data=await request.read(), headers=headers
        ) as answer:
            payload, status = await answer.read(), answer.status
            keep = {k: v for k, v in answer.headers.items() if k.lower().startswith("x-lifeops")}
        if status == 200 and request.path == "/v1/changes" and (inject or origin):
            doc = json.loads(payload)
            doc["changes"] += inject  # the same ones in every answer: read again and again
            if origin is not None:
                doc["origin"] = origin
            payload = json.dumps(doc).encode()  # NaN and lone surrogates as Python writes them
            nonce = request.headers["X-LifeOps-Nonce"]
            keep["X-LifeOps-Signature"] = response_signature(API_SECRET, nonce, 200, payload)
        return web.Response(status=status, body=payload, headers=keep)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    # (A feed request cut short by the entry's unload is not waited for at the end.)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_peer_that_signs_what_the_service_refuses_cannot_crash_it_either(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811 (the fixture of sync_sites.py)
    session: ClientSession,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """NaN, infinity and lone surrogates in keys and collections, added to the change feed's
    answers (and re-signed with the secret) by a stand-in between home and its service: the
    integration's own client and feed code read them."""
    drawn = _drawn(injected, 10)
    inject: list[dict[str, Any]] = []
    async with _tampering(session, sites.home.url, inject) as url:
        entry = await _connected(hass, url, mock_config_entry, options)
        gamification = entry.runtime_data.gamification
        level_ups = async_capture_events(hass, "lifeops_level_up")
        cabin = SyncClient(session, sites.cabin.url, API_SECRET)
        caplog.set_level(logging.WARNING)
        for n, changes in enumerate(drawn):
            inject[:] = changes
            xp_id, _, markers = _marker(n)
            before = len(level_ups)
            await cabin.write(markers[:1])
            await _until(lambda: xp_id in gamification.log, timeout=20)  # noqa: B023
            await gamification.async_figures()
            await hass.async_block_till_done()
            assert entry.state is ConfigEntryState.LOADED
            assert len(level_ups) - before <= 1
            await entry.runtime_data.store.async_save()
            json_bytes(entry.runtime_data.store.collect())
            json_bytes(entry.runtime_data.sync.info())  # the diagnostics' part too
        assert all(0 <= e.amount <= MAX_AWARD for e in gamification.log)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        assert not errors, [r.getMessage()[:300] for r in errors]
        warnings = [r.getMessage() for r in caplog.records if "Skipping another site's" in r.msg]
        assert warnings
        assert len(set(warnings)) == len(warnings)  # once, though every answer repeats them
        assert entry.runtime_data.sync.connected is True
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        await _teardown(hass, entry)


async def test_after_a_restore_the_sites_earlier_changes_are_taken_not_echoes(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811 (the fixture of sync_sites.py)
    session: ClientSession,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    """A replica restored from a backup writes under `home~1`; what the other sites send back
    of `home`'s changes may be changes this Home Assistant lost with the same restore: taken.
    Changes under `home~1` are this site's own writes coming back: skipped."""
    earlier = _xp("lost-with-the-restore", 25) | {"origin": "home"}
    echo = _xp("written-here-just-now", 7) | {"origin": "home"}
    inject = [
        {"kind": "item", "collection": "xp", "key": earlier["id"], "value": earlier,
         "origin": "home"},
        {"kind": "item", "collection": "xp", "key": echo["id"], "value": echo,
         "origin": "home~1"},
    ]  # fmt: skip
    async with _tampering(session, sites.home.url, inject, origin="home~1") as url:
        entry = await _connected(hass, url, mock_config_entry, options)
        gamification = entry.runtime_data.gamification
        xp_id, _, markers = _marker(0)
        await SyncClient(session, sites.cabin.url, API_SECRET).write(markers[:1])
        await _until(lambda: xp_id in gamification.log, timeout=20)
        assert earlier["id"] in gamification.log
        assert echo["id"] not in gamification.log
        await _teardown(hass, entry)
