"""The sync write queue's own file, through the public surface: the home site's entry and a real
home sync service process (as in test_sync). Changes wait in the file across restarts and are
written once; a write whose answer is lost is sent again harmlessly; a queue an older version
kept in the entry's store moves into the file; long-term rows are bounded, with a repair issue.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, get_system_health_info
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.sync.queue import QueueFile
from custom_components.lifeops.sync_link import manager as sync_manager
from custom_components.lifeops.sync_link.manager import SyncManager, queue_path
from custom_components.lifeops.timescale import rows

from .sync.test_sync_processes import Service, wait_up
from .sync_sites import (  # noqa: F401  (fixtures)
    TOTAL_XP,
    Gate,
    _award,
    _client,
    _home_entry,
    _setup,
    _sync_options,
    _teardown,
    _until,
    _xp,
    config_dir_per_test,
    fast_retries,
    session,
)

__all__ = ["config_dir_per_test", "fast_retries", "session"]  # the fixtures, used by name

ROWS_TABLE = "longterm.health_metric"


def _manager(entry: MockConfigEntry) -> SyncManager:
    manager = entry.runtime_data.sync
    assert manager is not None
    return manager


def _heart_rates(count: int, start: int = 0) -> list[tuple[Any, ...]]:
    when = datetime(2026, 3, 1, 7, tzinfo=UTC)
    return [
        rows.health_metric("home", "sensor.hr", when + timedelta(minutes=n), 60.0 + n, "oura")
        for n in range(start, start + count)
    ]


def _in_file(hass: HomeAssistant, entry: MockConfigEntry) -> int:
    file = QueueFile(queue_path(hass, entry.entry_id))
    try:
        loaded = file.load()
        return len(loaded.small) + loaded.rows
    finally:
        file.close()


async def test_changes_wait_in_the_file_across_a_restart_and_are_written_once(
    hass: HomeAssistant,
    tmp_path: Path,
    session: ClientSession,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    service = Service("home", tmp_path, ["--no-fsync"])
    entry = _home_entry(mock_config_entry, options, service.url)
    await _setup(hass, entry)
    manager = _manager(entry)
    await _until(lambda: manager.connected is False)
    await _award(hass, agent="fitness", event_type="walk", amount=15, id="offline-walk")
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "wake_time": "07:15:00"}
    )
    manager.queue_long_term_rows("health_metric", _heart_rates(3))
    await hass.async_block_till_done()
    queued = len(manager.queue)
    assert queued >= 5
    await _until(lambda: _in_file(hass, entry) == queued)  # on disk, not only in memory

    # A restart (the entry reloads): everything is still waiting.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    manager = _manager(entry)
    assert len(manager.queue) == queued

    await asyncio.to_thread(service.start)
    try:
        await wait_up(session, service)
        await _until(lambda: manager.connected is True and not manager.queue)
        api = _client(session, service)
        assert set(await api.items("xp")) == {"offline-walk"}
        assert len(await api.items(ROWS_TABLE)) == 3
        assert (await api.records("settings"))["person"]["wake_time"] == "07:15:00"
        assert _in_file(hass, entry) == 0
        vector = (await api.status())["vector"]

        # Another restart sends nothing again: what was acknowledged left the file.
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        manager = _manager(entry)
        await _until(lambda: manager.connected is True)
        response = await hass.services.async_call(
            DOMAIN, "sync_now", {}, blocking=True, return_response=True
        )
        assert response == {"peers": [], "queued": 0}
        assert (await api.status())["vector"] == vector
        assert hass.states.get(TOTAL_XP).state == "15"
        await _teardown(hass, entry)
    finally:
        await asyncio.to_thread(service.stop)


class LosingGate(Gate):
    """A gate that delivers the first writes but loses their answers."""

    def __init__(self, client: ClientSession, target: str, lose: int) -> None:
        super().__init__(client, target)
        self.lose = lose
        self.writes = 0

    async def forward(self, request: web.Request) -> web.Response:
        answer = await super().forward(request)
        if request.path == "/v1/write":
            self.writes += 1
            if self.lose > 0:
                self.lose -= 1
                return web.Response(status=502, text="answer lost")
        return answer


async def test_a_write_whose_answer_was_lost_is_sent_again_harmlessly(
    hass: HomeAssistant,
    tmp_path: Path,
    session: ClientSession,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    service = Service("home", tmp_path, ["--no-fsync"])
    await asyncio.to_thread(service.start)
    gate = LosingGate(session, service.url, lose=0)
    await gate.start()
    try:
        await wait_up(session, service)
        entry = _home_entry(mock_config_entry, options, gate.url)
        await _setup(hass, entry)
        manager = _manager(entry)
        await _until(lambda: manager.connected is True and not manager.queue)

        # Written, but the acknowledgement never arrives: the queue keeps it and sends it again.
        gate.lose, sent = 1, gate.writes
        await _award(hass, agent="fitness", event_type="walk", amount=15, id="walk")
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, "bedtime": "21:45:00"}
        )
        await hass.async_block_till_done()
        await _until(lambda: gate.writes >= sent + 2 and not manager.queue)
        api = _client(session, service)
        assert set(await api.items("xp")) == {"walk"}
        assert (await api.records("settings"))["person"]["bedtime"] == "21:45:00"
        await hass.async_block_till_done()
        assert hass.states.get(TOTAL_XP).state == "15"
        assert entry.options["bedtime"] == "21:45:00"
        await _teardown(hass, entry)
    finally:
        await gate.stop()
        await asyncio.to_thread(service.stop)


async def test_a_queue_the_entry_store_kept_moves_into_its_file(
    hass: HomeAssistant,
    tmp_path: Path,
    session: ClientSession,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
    hass_storage: dict[str, Any],
) -> None:
    service = Service("home", tmp_path, ["--no-fsync"])
    entry = _home_entry(mock_config_entry, options, service.url)
    key = f"lifeops.{entry.entry_id}"
    row = {"op": "add", "collection": ROWS_TABLE, "key": "home|ab|1", "value": [1]}
    old_queue = [
        {"op": "add", "collection": "xp", "key": "old-hike", "value": _xp("old-hike", 30, "home")},
        {
            "op": "set",
            "collection": "notification_dismissals",
            "key": "sleep|Bedtime|Time for bed",
            "fields": {"dismissed_at": datetime.now(UTC).isoformat(), "site": "home"},
        },
        row,
    ]
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"sync": {"node_id": None, "cursor": {}, "queue": old_queue}},
    }
    await _setup(hass, entry)
    manager = _manager(entry)
    assert len(manager.queue) >= 3
    # In the file now, and no longer in the store (saved at once).
    assert "queue" not in hass_storage[key]["data"]["sync"]
    assert _in_file(hass, entry) == len(manager.queue)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    manager = _manager(entry)
    assert len(manager.queue) >= 3

    await asyncio.to_thread(service.start)
    try:
        await wait_up(session, service)
        await _until(lambda: manager.connected is True and not manager.queue)
        api = _client(session, service)
        assert set(await api.items("xp")) == {"old-hike"}
        assert await api.items(ROWS_TABLE) == {"home|ab|1": [1]}
        dismissals = await api.records("notification_dismissals")
        assert dismissals["sleep|Bedtime|Time for bed"]["site"] == "home"
        assert _in_file(hass, entry) == 0
        await _teardown(hass, entry)
    finally:
        await asyncio.to_thread(service.stop)


async def test_a_full_queue_refuses_long_term_rows_only_and_says_so(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    tmp_path: Path,
    session: ClientSession,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sync_manager, "MAX_QUEUED", 10)
    service = Service("home", tmp_path, ["--no-fsync"])
    entry = _home_entry(mock_config_entry, options, service.url)
    assert await async_setup_component(hass, "diagnostics", {})
    assert await async_setup_component(hass, "system_health", {})
    await _setup(hass, entry)
    manager = _manager(entry)
    await _until(lambda: manager.connected is False)
    issues = ir.async_get(hass)
    issue_id = f"sync_queue_filling_{entry.entry_id}"
    base = len(manager.queue)
    assert base < 7

    manager.queue_long_term_rows("health_metric", _heart_rates(7 - base))
    assert len(manager.queue) == 7
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    manager.queue_long_term_rows("health_metric", _heart_rates(1, start=50))
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None and issue.translation_key == "sync_queue_filling"
    assert issue.translation_placeholders == {
        "site": "Home",
        "percent": "80",
        "queued": "8",
        "dropped": "0",
    }

    # Full: further rows are counted as dropped; settings and XP still wait.
    manager.queue_long_term_rows("health_metric", _heart_rates(5, start=60))
    assert (len(manager.queue), manager.queue.dropped) == (10, 3)
    await _award(hass, agent="fitness", event_type="walk", amount=15, id="walk")
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "wake_time": "07:15:00"}
    )
    await hass.async_block_till_done()
    assert len(manager.queue) == 12
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None and issue.translation_placeholders["dropped"] == "3"
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    sync = diagnostics["runtime"]["sync"]
    assert (sync["queued_operations"], sync["dropped_rows"], sync["queue_limit"]) == (12, 3, 10)
    info = await get_system_health_info(hass, DOMAIN)
    assert (info["sync_queued"], info["sync_dropped_rows"]) == ("12", "3")

    # The service back: the queue drains, the issue goes, the rows kept arrive.
    await asyncio.to_thread(service.start)
    try:
        await wait_up(session, service)
        await _until(lambda: manager.connected is True and not manager.queue)
        assert issues.async_get_issue(DOMAIN, issue_id) is None
        api = _client(session, service)
        assert len(await api.items(ROWS_TABLE)) == 10 - base
        assert set(await api.items("xp")) == {"walk"}
        await _teardown(hass, entry)
    finally:
        await asyncio.to_thread(service.stop)


async def test_a_damaged_queue_file_is_set_aside_and_removing_the_site_removes_it_all(
    hass: HomeAssistant,
    socket_enabled: None,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = _home_entry(mock_config_entry, options, "http://127.0.0.1:9")
    path = queue_path(hass, entry.entry_id)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all, " * 100)
    await _setup(hass, entry)  # starts all the same, with a new queue
    assert "could not be read; it was set aside" in caplog.text
    assert path.with_name(path.name + ".broken").read_bytes().startswith(b"not a database")
    manager = _manager(entry)
    await _award(hass, agent="fitness", event_type="walk", amount=15, id="walk")
    await _until(lambda: _in_file(hass, entry) >= 1)
    assert manager.queue
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
