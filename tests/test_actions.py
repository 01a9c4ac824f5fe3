"""What every action shares: a field it does not have is named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.lifeops import privacy, services
from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.oura_services import SERVICE_IMPORT_OURA_EXPORT

# Midday where the harness lives (US/Pacific): no quiet hours hold a notification back.
pytestmark = pytest.mark.freeze_time("2026-11-25T20:00:00+00:00")

STRINGS = json.loads(
    (Path(__file__).parents[1] / "custom_components/lifeops/strings.json").read_text()
)
ACTIONS = sorted([*services.HANDLERS, *privacy.HANDLERS, SERVICE_IMPORT_OURA_EXPORT])
TOTAL_XP = "sensor.lifeops_gamification_total_xp"


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Home Assistant's config folder, a fresh one per test."""
    folder = tmp_path / "config"
    folder.mkdir()
    hass.config.config_dir = str(folder)
    return folder


async def _call(hass: HomeAssistant, action: str, data: dict[str, Any], **kwargs: Any) -> Any:
    response = await hass.services.async_call(DOMAIN, action, data, blocking=True, **kwargs)
    await hass.async_block_till_done()
    return response


def _held(entry: MockConfigEntry) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the site holds: its stored state and its settings."""
    return entry.runtime_data.store.collect(), dict(entry.options)


def _total_xp(hass: HomeAssistant) -> str:
    state = hass.states.get(TOTAL_XP)
    assert state is not None
    return state.state


async def test_every_action_is_covered(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    assert sorted(hass.services.async_services_for_domain(DOMAIN)) == ACTIONS


@pytest.mark.parametrize("action", ACTIONS)
async def test_a_field_the_action_does_not_have_is_named(
    hass: HomeAssistant, init_integration: MockConfigEntry, config_dir: Path, action: str
) -> None:
    await _call(hass, "award_xp", {"agent": "fitness", "event_type": "run", "amount": 40})
    before = _held(init_integration)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, action, {"bogus": 1}, return_response=True)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "unknown_field"
    assert err.value.translation_placeholders == {"field": "bogus"}
    assert _held(init_integration) == before
    assert list(config_dir.iterdir()) == []


async def test_an_unknown_field_beside_valid_ones_awards_nothing(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    data = {"agent": "fitness", "event_type": "run", "amount": 40, "bogus": "x"}
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "award_xp", data)
    assert err.value.translation_key == "unknown_field"
    assert err.value.translation_placeholders == {"field": "bogus"}
    assert _total_xp(hass) == "0"
    assert "unknown_field" in STRINGS["exceptions"]


async def test_a_websocket_command_names_an_unknown_field(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "lifeops/trend", "metric": "total_xp", "bogus": 1})
    result = await client.receive_json()
    assert not result["success"]
    assert result["error"]["translation_key"] == "unknown_field"
    assert result["error"]["translation_placeholders"] == {"field": "bogus"}
