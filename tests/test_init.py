"""Setting up, unloading and reloading the entry; its devices and entities."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.core.agents import Agent
from tests.releases import find_device

from .conftest import NODE_ID

SWITCHES = [f"switch.lifeops_{agent}_agent_enabled" for agent in Agent]


async def test_setup_unload_and_reload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.node_id == NODE_ID
    assert hass.states.get("sensor.lifeops_home_site").state == "home"

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    for entity_id in ("sensor.lifeops_home_site", *SWITCHES):
        assert hass.states.get(entity_id).state == "unavailable"

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.lifeops_home_site").state == "home"


async def test_hub_and_one_device_per_agent(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    devices = dr.async_get(hass)
    hub = find_device(hass, (DOMAIN, NODE_ID))
    assert hub is not None
    assert hub.name == "LifeOps Home"
    assert hub.entry_type is dr.DeviceEntryType.SERVICE

    agent_devices = [
        device
        for device in dr.async_entries_for_config_entry(devices, init_integration.entry_id)
        if device.id != hub.id
    ]
    assert {device.via_device_id for device in agent_devices} == {hub.id}
    assert sorted(device.name for device in agent_devices) == sorted(
        [
            "LifeOps Sleep",
            "LifeOps Fitness",
            "LifeOps Work-life",
            "LifeOps Screen time",
            "LifeOps Home scenes",
            "LifeOps Notifications",
            "LifeOps Gamification",
        ]
    )

    entities = er.async_get(hass)
    sleep_device = find_device(hass, (DOMAIN, f"{NODE_ID}_sleep"))
    on_sleep = {entry.entity_id for entry in er.async_entries_for_device(entities, sleep_device.id)}
    assert on_sleep == {
        "binary_sensor.lifeops_sleep_wind_down_active",
        "number.lifeops_sleep_wind_down_minutes",
        "sensor.lifeops_sleep_minutes_past_bedtime",
        "sensor.lifeops_sleep_next_bedtime",
        "sensor.lifeops_sleep_next_wind_down",
        "switch.lifeops_sleep_agent_enabled",
        "time.lifeops_sleep_bedtime",
        "time.lifeops_sleep_wake_time",
    }
    site = entities.async_get("sensor.lifeops_home_site")
    assert site.device_id == hub.id
    assert site.entity_category is EntityCategory.DIAGNOSTIC
    assert site.unique_id == f"{NODE_ID}_hub_site"


async def test_corrupted_stored_options_fail_setup_with_a_reason(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="home",
        data={"site": "home", "node_id": NODE_ID},
        options={"bedtime": "late"},
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert "late" in entry.reason
    assert hass.states.get("sensor.lifeops_home_site") is None


@pytest.fixture
async def stockholm(hass: HomeAssistant) -> None:
    await hass.config.async_set_time_zone("Europe/Stockholm")


@pytest.mark.freeze_time("2026-11-25T20:00:00+00:00")  # 21:00 in Stockholm
async def test_schedule_sensors_move_on_when_their_moment_passes(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    # Defaults: bedtime 22:30, wind-down 45 min → 21:45 local.
    def local(entity_id: str) -> datetime:
        return dt_util.as_local(dt_util.parse_datetime(hass.states.get(entity_id).state))

    assert local("sensor.lifeops_sleep_next_bedtime") == datetime(
        2026, 11, 25, 22, 30, tzinfo=dt_util.get_default_time_zone()
    )
    assert local("sensor.lifeops_sleep_next_wind_down").time() == time(21, 45)
    assert local("sensor.lifeops_sleep_next_wind_down").day == 25

    # Wind-down starts: the sensor moves to tomorrow's.
    freezer.move_to("2026-11-25T20:45:01+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert local("sensor.lifeops_sleep_next_wind_down").day == 26
    assert local("sensor.lifeops_sleep_next_bedtime").day == 25

    # Bedtime passes: next bedtime is tomorrow's.
    freezer.move_to("2026-11-25T21:30:01+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert local("sensor.lifeops_sleep_next_bedtime").day == 26


@pytest.mark.freeze_time("2026-11-25T20:30:00+00:00")  # 21:30 in Stockholm
async def test_quiet_hours_follow_the_clock(
    hass: HomeAssistant,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    entity_id = "binary_sensor.lifeops_notifications_quiet_hours"
    assert hass.states.get(entity_id).state == "off"  # quiet hours are 22:00-07:00

    freezer.tick(timedelta(minutes=30, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "on"

    freezer.move_to("2026-11-26T06:00:01+00:00")  # 07:00:01 local
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "off"


async def test_agent_switches_toggle_and_survive_a_restart(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    # What LifeOps stored before the restart: the fitness agent switched off.
    hass_storage[f"lifeops.{mock_config_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"lifeops.{mock_config_entry.entry_id}",
        "data": {"enabled": {"fitness": False}},
    }
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert hass.states.get("switch.lifeops_fitness_agent_enabled").state == "off"
    assert hass.states.get("switch.lifeops_sleep_agent_enabled").state == "on"

    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.lifeops_sleep_agent_enabled"}, blocking=True
    )
    assert hass.states.get("switch.lifeops_sleep_agent_enabled").state == "off"
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": "switch.lifeops_fitness_agent_enabled"}, blocking=True
    )
    assert hass.states.get("switch.lifeops_fitness_agent_enabled").state == "on"

    # Unloading saves at once; a new start reads it back.
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    stored = hass_storage[f"lifeops.{mock_config_entry.entry_id}"]["data"]["enabled"]
    assert stored == {"fitness": True, "sleep": False}
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("switch.lifeops_sleep_agent_enabled").state == "off"


async def test_removing_a_site_deletes_its_state_and_outage_buffer(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    tmp_path: Path,
    hass_storage: dict[str, Any],
) -> None:
    hass.config.config_dir = str(tmp_path)
    (tmp_path / ".storage").mkdir()
    buffer = tmp_path / ".storage" / f"lifeops.{mock_config_entry.entry_id}.buffer.sqlite"
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    buffer.write_bytes(b"rows the database never took")
    (tmp_path / ".storage" / f"{buffer.name}-wal").write_bytes(b"")
    (tmp_path / ".storage" / "lifeops.another-site.buffer.sqlite").write_bytes(b"")

    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    left = sorted(path.name for path in (tmp_path / ".storage").iterdir())
    assert left == ["lifeops.another-site.buffer.sqlite"]
    assert f"lifeops.{mock_config_entry.entry_id}" not in hass_storage
