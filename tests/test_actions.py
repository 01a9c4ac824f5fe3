"""What every action shares: a field it does not have is named, and who may run which action."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized, UnknownUser
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.lifeops import privacy, services
from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.oura_account.services import SERVICE_IMPORT_OURA_EXPORT

# Midday where the harness lives (US/Pacific): no quiet hours hold a notification back.
pytestmark = pytest.mark.freeze_time("2026-11-25T20:00:00+00:00")

STRINGS = json.loads(
    (Path(__file__).parents[1] / "custom_components/lifeops/strings.json").read_text()
)
ACTIONS = sorted([*services.HANDLERS, *privacy.HANDLERS, SERVICE_IMPORT_OURA_EXPORT])
TOTAL_XP = "sensor.lifeops_gamification_total_xp"


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


# ---- administrators only ---------------------------------------------------------------------

ADMIN_ONLY = [
    ("dismiss_notification", {"notification_id": "n1"}),
    ("export_data", {"filename": "new.json"}),
    ("purge_data", {"confirm": True}),
    ("import_data", {"filename": "saved.json"}),
    (SERVICE_IMPORT_OURA_EXPORT, {"path": "oura"}),
]


@pytest.fixture
async def filled(hass: HomeAssistant, init_integration: MockConfigEntry, config_dir: Path) -> None:
    """A day with XP and a pending notification, and an export of an earlier one to import."""
    await _call(hass, "award_xp", {"agent": "fitness", "event_type": "run", "amount": 40})
    await _call(hass, "export_data", {"filename": "saved.json"})
    await _call(hass, "award_xp", {"agent": "fitness", "event_type": "walk", "amount": 5})
    await _call(
        hass, "notify", {"title": "Stand up", "message": "Stretch", "notification_id": "n1"}
    )
    assert _total_xp(hass) == "45"


def test_these_are_the_admin_only_actions() -> None:
    assert {action for action, _ in ADMIN_ONLY} == {
        *services.ADMIN_ONLY,
        *privacy.HANDLERS,
        SERVICE_IMPORT_OURA_EXPORT,
    }


@pytest.mark.usefixtures("filled")
@pytest.mark.parametrize(("action", "data"), ADMIN_ONLY)
async def test_a_user_who_is_not_an_administrator_is_refused(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    config_dir: Path,
    hass_read_only_user: User,
    action: str,
    data: dict[str, Any],
) -> None:
    before = _held(init_integration)
    files = sorted(config_dir.iterdir())
    with pytest.raises(Unauthorized):
        await _call(hass, action, data, context=Context(user_id=hass_read_only_user.id))
    assert _held(init_integration) == before
    assert _total_xp(hass) == "45"
    notification = init_integration.runtime_data.notifications.queue.get("n1")
    assert notification is not None
    assert notification.status != "dismissed"
    assert sorted(config_dir.iterdir()) == files


@pytest.mark.usefixtures("filled")
async def test_a_user_who_is_not_there_is_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    with pytest.raises(UnknownUser):
        await _call(hass, "purge_data", {"confirm": True}, context=Context(user_id="gone"))
    assert _total_xp(hass) == "45"


@pytest.mark.usefixtures("filled")
@pytest.mark.parametrize("who", ["administrator", "automation"])
async def test_an_administrator_or_an_automation_may_run_them(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    config_dir: Path,
    hass_admin_user: User,
    who: str,
) -> None:
    context = Context(user_id=hass_admin_user.id if who == "administrator" else None)

    dismissed = await _call(hass, *ADMIN_ONLY[0], context=context, return_response=True)
    assert dismissed["status"] == "dismissed"
    exported = await _call(hass, *ADMIN_ONLY[1], context=context, return_response=True)
    assert Path(exported["path"]) == config_dir / "new.json"
    purged = await _call(hass, *ADMIN_ONLY[2], context=context, return_response=True)
    assert purged["deleted"]["xp_events"] == 2
    assert _total_xp(hass) == "0"
    imported = await _call(hass, *ADMIN_ONLY[3], context=context, return_response=True)
    assert imported["imported"]["xp_events"] == 1
    assert _total_xp(hass) == "40"
    # Past the check, the Oura import needs the recorder this test has not started.
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, *ADMIN_ONLY[4], context=context, return_response=True)
    assert err.value.translation_key == "recorder_required"


@pytest.mark.usefixtures("filled")
async def test_the_websocket_api_cannot_run_them_for_a_read_only_user(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    reader = await hass_ws_client(hass, hass_read_only_access_token)
    await reader.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": "purge_data",
            "service_data": {"confirm": True},
        }
    )
    result = await reader.receive_json()
    assert not result["success"]
    # What call_service sends for any HomeAssistantError, as for Home Assistant's own admin actions.
    assert result["error"]["code"] == "home_assistant_error"
    assert _total_xp(hass) == "45"

    # Actions that are not the administrator's stay open to every user.
    await reader.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": "award_xp",
            "service_data": {"agent": "fitness", "event_type": "run", "amount": 5},
        }
    )
    result = await reader.receive_json()
    assert result["success"], result
    await hass.async_block_till_done()
    assert _total_xp(hass) == "50"
