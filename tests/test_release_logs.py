"""On the release under test, LifeOps' own paths log no warning or error about LifeOps.

Home Assistant reports what it deprecates (and what it will refuse) as warnings naming the
custom integration; an error logged during set-up is usually a platform that failed. This walks
what a person does first: set up the site, change its targets in the options, rename the site
(reconfigure, which reloads it), and reload it; and sign in an Oura account, whose history goes
into the recorder's long-term statistics. Then it reads every warning and error logged.
"""

from __future__ import annotations

import logging

from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.components.recorder import Recorder
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.lifeops.const import CONF_SITE, CONF_SITE_NAME, DOMAIN

from .test_config_flow import _open_options_step, _valid_options
from .test_oura import NOW, _mock_api, signed_in_entry


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """As in conftest, but the recorder's database is prepared before Home Assistant starts."""


def _about_lifeops(record: logging.LogRecord) -> bool:
    text = record.getMessage()
    # Said of every custom integration once it is loaded: not about anything LifeOps does.
    if text.startswith("We found a custom integration"):
        return False
    # asyncio's debug mode timing a step over 0.1 s ("Executing <Task ...> took 0.189 seconds"):
    # a busy machine or coverage's tracing (scripts/test), not something LifeOps logs.
    if record.name == "asyncio" and text.startswith("Executing <") and " took " in text:
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

    assert _logged_about_lifeops(caplog) == []


@pytest.mark.freeze_time(NOW)
async def test_an_oura_account_and_its_history_log_nothing_about_lifeops(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass, DOMAIN, ClientCredential("client-id", "client-secret"), "oura"
    )
    _mock_api(aioclient_mock)
    entry = signed_in_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    assert hass.states.get("sensor.oura_ring_sleep_score") is not None
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert _logged_about_lifeops(caplog) == []


def _logged_about_lifeops(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{record.levelname} {record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.WARNING and _about_lifeops(record)
    ]
