"""Diagnostics: what a user can download and share, with every secret redacted."""

from __future__ import annotations

import json

# Diagnostics lazily imports the Supervisor client, whose models break when first imported under
# freezegun; importing it up front keeps the frozen-time snapshot below deterministic.
import aiohasupervisor  # noqa: F401
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.lifeops.const import CONF_NODE_ID, CONF_SITE, DOMAIN
from custom_components.lifeops.core.settings import Settings

from .conftest import NODE_ID

SECRETS = {
    "access_token": "oura-access-token-SECRET",
    "refresh_token": "oura-refresh-token-SECRET",
    "password": "timescale-password-SECRET",
    "sync_secret": "peer-secret-SECRET",
}


@pytest.mark.freeze_time("2026-11-25T12:00:00+00:00")
async def test_diagnostics_snapshot_redacts_secrets(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    # Secrets as later parts of LifeOps will store them: OAuth tokens in data, database and
    # sync credentials in options. None may appear in diagnostics.
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id="home",
        data={
            CONF_SITE: "home",
            CONF_NODE_ID: NODE_ID,
            "token": {
                "access_token": SECRETS["access_token"],
                "refresh_token": SECRETS["refresh_token"],
            },
        },
        options={
            **Settings().as_options(),
            "timescale": {"host": "127.0.0.1", "password": SECRETS["password"]},
            "sync_secret": SECRETS["sync_secret"],
        },
        entry_id="01JLIFEOPSENTRY00000000000",
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "diagnostics", {})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    dumped = json.dumps(diagnostics)
    for secret in SECRETS.values():
        assert secret not in dumped
    assert diagnostics["entry"]["data"]["token"] == "**REDACTED**"
    assert diagnostics["entry"]["options"]["timescale"]["password"] == "**REDACTED**"
    assert diagnostics["entry"]["options"]["timescale"]["host"] == "127.0.0.1"
    assert diagnostics == snapshot
