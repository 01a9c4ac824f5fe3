"""Shared fixtures: a test Home Assistant with LifeOps loadable and blocking-call detection on."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

from homeassistant import block_async_io
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.lifeops.const import CONF_NODE_ID, CONF_SITE, DOMAIN
from custom_components.lifeops.core.settings import Settings

NODE_ID = "0123456789abcdef0123456789abcdef"


def pytest_configure(config: pytest.Config) -> None:
    """Turn on Home Assistant's detection of blocking calls in the event loop, for every test.

    Booted Home Assistant turns it on in bootstrap; the test harness does not, so we do, once,
    from the main thread the tests' event loops run in.
    """
    if not block_async_io._BLOCKED_CALLS.calls:
        block_async_io.enable()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let the test Home Assistant load custom_components/lifeops."""


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Home Assistant's config folder, a fresh one per test."""
    folder = tmp_path / "config"
    folder.mkdir()
    hass.config.config_dir = str(folder)
    return folder


@pytest.fixture
def options() -> dict[str, Any]:
    """The options a new entry starts with."""
    return Settings().as_options()


@pytest.fixture
def mock_config_entry(options: dict[str, Any]) -> MockConfigEntry:
    """A LifeOps entry for the home site."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id="home",
        data={CONF_SITE: "home", CONF_NODE_ID: NODE_ID},
        options=options,
        entry_id="01JLIFEOPSENTRY00000000000",
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> Generator[MockConfigEntry]:
    """Set up LifeOps from the mock entry."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry
