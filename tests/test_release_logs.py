"""On the release under test, LifeOps' own paths log no warning or error about LifeOps.

Home Assistant reports what it deprecates (and what it will refuse) as warnings naming the
custom integration; an error logged during set-up is usually a platform that failed. This walks
what a person does first: set up the site, change its targets in the options, rename the site
(reconfigure, which reloads it), and reload it, and then reads every warning and error logged.
"""

from __future__ import annotations

import logging

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.lifeops.const import CONF_SITE, CONF_SITE_NAME

from .test_config_flow import _open_options_step, _valid_options


def _about_lifeops(record: logging.LogRecord) -> bool:
    text = record.getMessage()
    # Said of every custom integration once it is loaded: not about anything LifeOps does.
    if text.startswith("We found a custom integration"):
        return False
    return "lifeops" in f"{record.name} {text}".lower()


async def test_set_up_options_reconfigure_and_reload_log_nothing_about_lifeops(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    entry = mock_config_entry
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("calendar.lifeops_work_life_work") is not None

    flow_id = await _open_options_step(hass, entry, "targets")
    result = await hass.config_entries.options.async_configure(
        flow_id, _valid_options(wind_down_lights=[])
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE: "custom", CONF_SITE_NAME: "Lake house"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("calendar.lifeops_work_life_work") is not None

    logged = [
        f"{record.levelname} {record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.WARNING and _about_lifeops(record)
    ]
    assert logged == []
