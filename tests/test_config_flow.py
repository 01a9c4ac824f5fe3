"""The config, options and reconfigure flows, driven as the UI drives them."""

from __future__ import annotations

from datetime import time
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import area_registry as ar
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.lifeops.const import CONF_NODE_ID, CONF_SITE, CONF_SITE_NAME, DOMAIN
from custom_components.lifeops.core.settings import Settings
from tests.releases import find_device

from .conftest import NODE_ID


async def _start(hass: HomeAssistant) -> str:
    """Open the add-integration menu and pick the site."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == ["site", "oura"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "site"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "site"
    assert result["errors"] == {}
    return result["flow_id"]


@pytest.mark.parametrize(
    ("user_input", "site", "title"),
    [
        ({CONF_SITE: "home"}, "home", "Home"),
        ({CONF_SITE: "summer_cabin"}, "summer_cabin", "Summer cabin"),
        ({CONF_SITE: "winter_cabin"}, "winter_cabin", "Winter cabin"),
        ({CONF_SITE: "custom", CONF_SITE_NAME: " Fjällstugan "}, "fjallstugan", "Fjällstugan"),
    ],
)
async def test_user_flow_creates_entry(
    hass: HomeAssistant, user_input: dict[str, Any], site: str, title: str
) -> None:
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title
    entry = result["result"]
    assert entry.unique_id == site
    assert entry.data[CONF_SITE] == site
    node_id = entry.data[CONF_NODE_ID]
    assert len(node_id) == 32
    assert int(node_id, 16) >= 0
    assert entry.options["bedtime"] == "22:30:00"
    assert entry.state is ConfigEntryState.LOADED


async def test_node_ids_differ_between_sites(hass: HomeAssistant) -> None:
    ids = set()
    for site in ("home", "summer_cabin"):
        result = await hass.config_entries.flow.async_configure(
            await _start(hass), {CONF_SITE: site}
        )
        ids.add(result["result"].data[CONF_NODE_ID])
    assert len(ids) == 2


@pytest.mark.parametrize(
    "user_input",
    [{CONF_SITE: "home"}, {CONF_SITE: "custom", CONF_SITE_NAME: "HOME"}],
)
async def test_second_entry_for_same_site_aborts(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, user_input: dict[str, Any]
) -> None:
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_configure(await _start(hass), user_input)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


@pytest.mark.parametrize(
    ("site_name", "error"),
    [
        (None, "site_name_required"),
        ("   ", "site_name_required"),
        ("x" * 65, "site_name_too_long"),
        ("🏔️🌲", "site_name_invalid"),
        ("Cab\ud800in", "site_name_not_text"),
    ],
)
async def test_custom_site_needs_a_usable_name(
    hass: HomeAssistant, site_name: str | None, error: str
) -> None:
    flow_id = await _start(hass)
    user_input = {CONF_SITE: "custom"}
    if site_name is not None:
        user_input[CONF_SITE_NAME] = site_name
    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SITE_NAME: error}
    assert hass.config_entries.async_entries(DOMAIN) == []

    # The same form recovers once the name is fixed.
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SITE: "custom", CONF_SITE_NAME: "Boathouse"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "boathouse"


async def test_reconfigure_changes_site_and_keeps_node_id(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    entry = init_integration
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE: "custom", CONF_SITE_NAME: "Lake house"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.unique_id == "lake_house"
    assert entry.title == "Lake house"
    assert entry.data == {
        CONF_SITE: "lake_house",
        CONF_SITE_NAME: "Lake house",
        CONF_NODE_ID: NODE_ID,
    }
    assert entry.state is ConfigEntryState.LOADED
    # Entity ids stay as they were; the state and the hub device's name follow the site.
    assert hass.states.get("sensor.lifeops_home_site").state == "lake_house"
    hub = find_device(hass, (DOMAIN, NODE_ID))
    assert hub.name == "LifeOps Lake house"

    # And back to a preset site: the custom name goes.
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE: "summer_cabin"}
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {CONF_SITE: "summer_cabin", CONF_NODE_ID: NODE_ID}
    assert entry.title == "Summer cabin"


async def test_reconfigure_to_a_site_already_set_up_aborts(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    other = MockConfigEntry(
        domain=DOMAIN,
        unique_id="winter_cabin",
        data={CONF_SITE: "winter_cabin", CONF_NODE_ID: "f" * 32},
    )
    other.add_to_hass(hass)
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE: "winter_cabin"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert init_integration.unique_id == "home"
    assert init_integration.data[CONF_SITE] == "home"


async def test_reconfigure_invalid_name_shows_error(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE: "custom", CONF_SITE_NAME: ""}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SITE_NAME: "site_name_required"}
    assert init_integration.unique_id == "home"


async def _open_options_step(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> str:
    """Open the options menu and pick a step; returns the flow id."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step
    return result["flow_id"]


def _valid_options(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "bedtime": "23:00:00",
        "wake_time": "07:00:00",
        "wind_down_minutes": 30,
        "wind_down_lights": ["light.bedroom"],
        "wind_down_areas": [],
        "notify_targets": [],
        "quiet_hours_start": "22:00:00",
        "quiet_hours_end": "07:30:00",
        "weekly_work_target_hours": 37.5,
        "work_cutoff": "17:30:00",
        "screen_time_limit_minutes": 90,
    }
    values.update(changes)
    return values


@pytest.fixture
def bedroom_light(hass: HomeAssistant) -> None:
    hass.states.async_set("light.bedroom", "on", {"friendly_name": "Bedroom"})


async def test_options_saved_and_applied_without_restart(
    hass: HomeAssistant, init_integration: MockConfigEntry, bedroom_light: None
) -> None:
    before = hass.states.get("sensor.lifeops_sleep_next_bedtime").state
    flow_id = await _open_options_step(hass, init_integration, "targets")
    result = await hass.config_entries.options.async_configure(flow_id, _valid_options())
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options["bedtime"] == "23:00:00"
    assert init_integration.options["wind_down_lights"] == ["light.bedroom"]
    assert init_integration.options["weekly_work_target_hours"] == 37.5
    assert init_integration.runtime_data.settings.wind_down_minutes == 30

    after = hass.states.get("sensor.lifeops_sleep_next_bedtime").state
    assert after != before
    assert dt_util.as_local(dt_util.parse_datetime(after)).time() == time(23, 0)
    quiet = hass.states.get("binary_sensor.lifeops_notifications_quiet_hours")
    assert quiet.attributes["end"] == "07:30:00"


@pytest.mark.parametrize(
    "options",
    [{**Settings().as_options(), "activity_sources": ["binary_sensor.phone"], "step_goal": 12000}],
)
async def test_saving_the_targets_keeps_the_other_steps_options(
    hass: HomeAssistant, init_integration: MockConfigEntry, bedroom_light: None
) -> None:
    flow_id = await _open_options_step(hass, init_integration, "targets")
    result = await hass.config_entries.options.async_configure(flow_id, _valid_options())
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options["bedtime"] == "23:00:00"
    assert init_integration.options["activity_sources"] == ["binary_sensor.phone"]
    assert init_integration.options["step_goal"] == 12000


async def test_options_accept_existing_areas_and_notify_targets(
    hass: HomeAssistant, init_integration: MockConfigEntry, bedroom_light: None
) -> None:
    area = ar.async_get(hass).async_create("Bedroom")

    async def _noop(call: Any) -> None:
        return None

    hass.services.async_register("notify", "mobile_app_phone", _noop)
    flow_id = await _open_options_step(hass, init_integration, "targets")
    result = await hass.config_entries.options.async_configure(
        flow_id,
        _valid_options(wind_down_areas=[area.id], notify_targets=["notify.mobile_app_phone"]),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options["wind_down_areas"] == [area.id]
    assert init_integration.options["notify_targets"] == ["notify.mobile_app_phone"]


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"wake_time": "23:00:00"}, {"wake_time": "wake_equals_bedtime"}),
        ({"quiet_hours_end": "22:00:00"}, {"quiet_hours_end": "quiet_hours_empty"}),
        ({"wind_down_minutes": -10}, {"wind_down_minutes": "negative"}),
        ({"wind_down_minutes": 241}, {"wind_down_minutes": "wind_down_too_long"}),
        ({"wind_down_minutes": 12.5}, {"wind_down_minutes": "not_whole"}),
        (
            {"bedtime": "23:00:00", "wake_time": "21:00:00", "wind_down_minutes": 120},
            {"wind_down_minutes": "wind_down_overlaps_wake"},
        ),
        ({"weekly_work_target_hours": -1}, {"weekly_work_target_hours": "negative"}),
        ({"weekly_work_target_hours": 169}, {"weekly_work_target_hours": "work_target_too_high"}),
        ({"screen_time_limit_minutes": -5}, {"screen_time_limit_minutes": "negative"}),
        (
            {"screen_time_limit_minutes": 1441},
            {"screen_time_limit_minutes": "screen_time_too_high"},
        ),
        ({"wind_down_lights": ["light.nowhere"]}, {"wind_down_lights": "unknown_light"}),
        ({"wind_down_areas": ["attic"]}, {"wind_down_areas": "unknown_area"}),
        ({"notify_targets": ["notify.nobody"]}, {"notify_targets": "unknown_notify_target"}),
        (
            {"wake_time": "23:00:00", "wind_down_minutes": -1, "wind_down_areas": ["attic"]},
            {
                "wake_time": "wake_equals_bedtime",
                "wind_down_minutes": "negative",
                "wind_down_areas": "unknown_area",
            },
        ),
    ],
)
async def test_options_invalid_fields_show_errors_and_save_nothing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    bedroom_light: None,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    stored = dict(init_integration.options)
    flow_id = await _open_options_step(hass, init_integration, "targets")
    result = await hass.config_entries.options.async_configure(flow_id, _valid_options(**changes))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert dict(init_integration.options) == stored

    # Correcting the form saves it.
    result = await hass.config_entries.options.async_configure(result["flow_id"], _valid_options())
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options["bedtime"] == "23:00:00"


@pytest.mark.parametrize(
    "changes",
    [
        {"bedtime": "25:00"},
        {"wake_time": "seven"},
        {"quiet_hours_start": ""},
        {"work_cutoff": "17:61"},
        {"wind_down_lights": ["switch.bedroom"]},
        {"wind_down_minutes": "many"},
    ],
)
async def test_options_malformed_values_rejected_by_the_form_schema(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    bedroom_light: None,
    changes: dict[str, Any],
) -> None:
    """Values the UI's pickers cannot produce (sent over the API) fail the schema; nothing saved."""
    stored = dict(init_integration.options)
    flow_id = await _open_options_step(hass, init_integration, "targets")
    with pytest.raises(InvalidData) as err:
        await hass.config_entries.options.async_configure(flow_id, _valid_options(**changes))
    assert err.value.schema_errors
    assert dict(init_integration.options) == stored


async def test_every_error_key_is_translated(hass: HomeAssistant) -> None:
    """Each error the flows can return has a text in strings.json."""
    import json
    from pathlib import Path

    from custom_components.lifeops.core import settings

    strings = json.loads(
        (Path(__file__).parents[1] / "custom_components/lifeops/strings.json").read_text()
    )
    keys = {
        value
        for name, value in vars(settings).items()
        if name.startswith("ERROR_") and isinstance(value, str)
    } | {"unknown_light", "unknown_area", "unknown_notify_target"}
    assert keys <= set(strings["options"]["error"])
