"""A sync service whose API secret was changed: Home Assistant asks for the new one.

A real service process is restarted with another secret under a site that is syncing with it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.lifeops.sync import SyncClient
from custom_components.lifeops.sync_link.options import CONF_SYNC, SYNC_SECRET, SYNC_URL

from .sync.nodes import API_SECRET
from .sync.test_sync_processes import Service, wait_up
from .sync_sites import (
    _award,
    _home_entry,
    _setup,
    _teardown,
    _until,
    config_dir_per_test,
    fast_retries,
    session,
)

__all__ = ["config_dir_per_test", "fast_retries", "session"]  # the fixtures, used by name

NEW_SECRET = "the-new-secret-0123456789"


async def _restart_with_new_secret(session: ClientSession, service: Service) -> None:
    await asyncio.to_thread(service.stop)
    service.args = ["--no-fsync", "--api-secret", NEW_SECRET]
    await asyncio.to_thread(service.start)
    await wait_up(session, service)


def _reauth_flows(hass: HomeAssistant, entry: MockConfigEntry) -> list[Any]:
    return list(entry.async_get_active_flows(hass, {SOURCE_REAUTH}))


async def test_a_changed_secret_asks_for_the_new_one_and_nothing_waits_in_vain(
    hass: HomeAssistant,
    tmp_path: Path,
    session: ClientSession,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = Service("home", tmp_path, ["--no-fsync"])
    await asyncio.to_thread(service.start)
    entry = _home_entry(mock_config_entry, options, service.url)
    try:
        await wait_up(session, service)
        await _setup(hass, entry)
        manager = entry.runtime_data.sync
        assert manager is not None
        await _until(lambda: manager.connected is True)
        assert not _reauth_flows(hass, entry)

        # The secret is changed in the add-on: the service restarts with the new one.
        await _restart_with_new_secret(session, service)
        await _until(lambda: manager.last_error == "invalid_auth")
        await hass.async_block_till_done()
        # Work goes on here meanwhile; the change waits.
        await _award(hass, agent="fitness", event_type="walk", amount=15, id="walk-meanwhile")
        await _until(lambda: len(_reauth_flows(hass, entry)) == 1)
        await asyncio.sleep(1.5)  # several refused retries: still one flow, not one per retry
        await hass.async_block_till_done()
        flows = _reauth_flows(hass, entry)
        assert len(flows) == 1
        flow_id = flows[0]["flow_id"]
        result = await hass.config_entries.flow.async_configure(flow_id)
        assert result["step_id"] == "reauth_sync"
        placeholders = result["description_placeholders"]
        assert (placeholders["site"], placeholders["url"]) == ("Home", service.url)

        before = dict(entry.options)
        for user_input, errors in (
            ({SYNC_SECRET: ""}, {SYNC_SECRET: "sync_secret_required"}),
            ({SYNC_SECRET: "still-the-wrong-one-0123"}, {"base": "sync_invalid_auth"}),
        ):
            result = await hass.config_entries.flow.async_configure(flow_id, user_input)
            assert result["type"] == "form"
            assert result["errors"] == errors
            assert dict(entry.options) == before  # nothing saved

        result = await hass.config_entries.flow.async_configure(flow_id, {SYNC_SECRET: NEW_SECRET})
        assert result["type"] == "abort"
        assert result["reason"] == "sync_reauth_successful"
        await hass.async_block_till_done()
        assert entry.options[CONF_SYNC] == {SYNC_URL: service.url, SYNC_SECRET: NEW_SECRET}
        # Everything else in the options is as it was.
        assert {k: v for k, v in entry.options.items() if k != CONF_SYNC} == {
            k: v for k, v in before.items() if k != CONF_SYNC
        }
        assert entry.state is ConfigEntryState.LOADED
        manager = entry.runtime_data.sync  # reloaded with the new secret
        assert manager is not None
        await _until(lambda: manager.connected is True and not manager.queue)
        items = await SyncClient(session, service.url, NEW_SECRET).items("xp")
        assert items["walk-meanwhile"]["amount"] == 15
        assert not _reauth_flows(hass, entry)
        assert NEW_SECRET not in caplog.text
        assert API_SECRET not in caplog.text
        await _teardown(hass, entry)
    finally:
        await asyncio.to_thread(service.stop)


async def test_reauth_without_sync_set_up_says_so(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    result = await init_integration.start_reauth_flow(hass)
    assert result["type"] == "abort"
    assert result["reason"] == "sync_not_set_up"
