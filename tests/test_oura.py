"""An Oura account: OAuth2 sign-in with application credentials, polling, sensors and reauth."""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

# Diagnostics lazily imports the Supervisor client, whose models break when first imported under
# freezegun; importing it up front keeps the frozen-time tests below working.
import aiohasupervisor  # noqa: F401
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    config_entry_oauth2_flow,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.lifeops.const import (
    CONF_KIND,
    DOMAIN,
    KIND_OURA,
    OURA_AUTHORIZE_URL,
    OURA_NEW_PORTAL_TOKEN_URL,
    OURA_TOKEN_URL,
)
from tests.releases import find_device

FIXTURES = Path(__file__).parent / "fixtures" / "oura"
API = "https://api.ouraring.com/v2/usercollection"
CLIENT_ID = "oura-client-id"
CLIENT_SECRET = "oura-client-secret"
REDIRECT_URL = "https://example.com/auth/external/callback"
ACCOUNT_ID = "3aad6e3c-ffc4-52f2-80f9-5452b9ba27a1"  # personal_info.json
COLLECTIONS = (
    "daily_sleep",
    "sleep",
    "daily_readiness",
    "daily_activity",
    "daily_spo2",
    "daily_stress",
    "sleep_time",
    "workout",
    "daily_resilience",
    "vO2_max",
    "daily_cardiovascular_age",
    "session",
    "enhanced_tag",
    "rest_mode_period",
    "ring_battery_level",
    "ring_configuration",
)
SETTLED = timedelta(minutes=15)  # the poll interval once today's sleep and readiness are in
# Friday 14 March 2025, in the morning in the test's time zone (US/Pacific).
NOW = "2025-03-14T12:00:00+00:00"


def _fixture(name: str) -> Any:
    if name == "heartrate":  # both pages as one answer (the mock ignores next_token)
        pages = [_fixture(f"heartrate_page{page}") for page in (1, 2)]
        return {"data": [sample for page in pages for sample in page["data"]], "next_token": None}
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _mock_api(
    aioclient_mock: AiohttpClientMocker,
    *,
    status: int = 200,
    account_id: str = ACCOUNT_ID,
    answers: dict[str, Any] | None = None,
) -> None:
    """Answer every Oura request LifeOps makes: the fixtures (or `answers` for some
    collections), or `status` with no data."""
    aioclient_mock.clear_requests()
    person = {**_fixture("personal_info"), "id": account_id}
    aioclient_mock.get(f"{API}/personal_info", json=person)
    for name in (*COLLECTIONS, "heartrate"):
        if status == 200:
            aioclient_mock.get(f"{API}/{name}", json=(answers or {}).get(name) or _fixture(name))
        else:
            aioclient_mock.get(f"{API}/{name}", status=status, json={"detail": "no"})


def _mock_token(
    aioclient_mock: AiohttpClientMocker, access_token: str, url: str = OURA_TOKEN_URL
) -> None:
    aioclient_mock.post(
        url,
        json={
            "access_token": access_token,
            "refresh_token": f"{access_token}-refresh",
            "token_type": "Bearer",
            "expires_in": 86400,
        },
    )


@pytest.fixture
async def setup_credentials(hass: HomeAssistant) -> None:
    """Oura's client id and secret, added as application credentials."""
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass, DOMAIN, ClientCredential(CLIENT_ID, CLIENT_SECRET), "oura"
    )


def signed_in_entry(**kwargs: Any) -> MockConfigEntry:
    """A signed-in Oura account whose token is valid for another hour (shared by the tests)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Oura",
        unique_id=ACCOUNT_ID,
        data={
            CONF_KIND: KIND_OURA,
            "auth_implementation": "oura",
            "token": {
                "access_token": "stored-access-token",
                "refresh_token": "stored-refresh-token",
                "token_type": "Bearer",
                "expires_in": 86400,
                "expires_at": time.time() + 3600,
            },
        },
        **kwargs,
    )


@pytest.fixture
def oura_entry() -> MockConfigEntry:
    """A signed-in Oura account whose token is valid for another hour."""
    return signed_in_entry(entry_id="01JLIFEOPSOURA000000000000")


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def _sign_in(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, result: Any
) -> None:
    """Follow the external step: Oura redirects back to Home Assistant with a code."""
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    state = config_entry_oauth2_flow._encode_jwt(
        hass, {"flow_id": result["flow_id"], "redirect_uri": REDIRECT_URL}
    )
    url = urlsplit(result["url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == OURA_AUTHORIZE_URL
    query = parse_qs(url.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [REDIRECT_URL]
    assert query["state"] == [state]
    assert query["scope"] == ["personal daily heartrate workout spo2Daily tag session"]
    client = await hass_client_no_auth()
    response = await client.get(f"/auth/external/callback?code=abcd&state={state}")
    assert response.status == 200


async def _start_oura_flow(hass: HomeAssistant) -> Any:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "oura"}
    )


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("current_request_with_host", "setup_credentials")
async def test_sign_in_creates_the_oura_entry(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    result = await _start_oura_flow(hass)
    await _sign_in(hass, hass_client_no_auth, result)
    _mock_api(aioclient_mock)
    _mock_token(aioclient_mock, "new-access-token")

    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == ACCOUNT_ID
    assert entry.data[CONF_KIND] == KIND_OURA
    assert entry.data["token"]["access_token"] == "new-access-token"
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.oura_ring_sleep_score").state == "67"
    # Oura was asked for the account with the new token.
    headers = [call[3] for call in aioclient_mock.mock_calls if str(call[0]).lower() == "get"]
    assert headers
    assert all(h["Authorization"] == "Bearer new-access-token" for h in headers)


@pytest.mark.usefixtures("current_request_with_host", "setup_credentials")
async def test_signing_in_to_the_same_account_again_aborts(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
) -> None:
    oura_entry.add_to_hass(hass)
    result = await _start_oura_flow(hass)
    await _sign_in(hass, hass_client_no_auth, result)
    _mock_api(aioclient_mock)
    _mock_token(aioclient_mock, "new-access-token")

    result = await hass.config_entries.flow.async_configure(result["flow_id"])

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_oura_without_application_credentials_aborts(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "application_credentials", {})
    result = await _start_oura_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "missing_credentials"


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("setup_credentials")
async def test_sensors_show_the_latest_day(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, oura_entry: MockConfigEntry
) -> None:
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)

    def state(key: str) -> str:
        found = hass.states.get(f"sensor.oura_ring_{key}")
        assert found is not None, key
        return found.state

    assert state("sleep_score") == "67"
    assert state("readiness_score") == "70"
    assert state("activity_score") == "77"
    assert state("average_hrv") == "42"
    assert state("lowest_heart_rate") == "50"
    assert state("temperature_deviation") == "0.31"
    assert float(state("total_sleep")) == pytest.approx(21000 / 3600, abs=0.01)
    assert float(state("deep_sleep")) == pytest.approx(0.75, abs=0.01)
    assert float(state("awake_time")) == pytest.approx(2076 / 60, abs=0.1)
    assert state("sleep_efficiency") == "91"
    assert state("bedtime_start") == "2025-03-13T23:06:51+00:00"
    assert state("bedtime_end") == "2025-03-14T05:31:27+00:00"
    assert state("steps") == "2291"
    assert state("active_calories") == "96"
    assert state("average_spo2") == "95.402"
    assert float(state("high_stress")) == pytest.approx(15)
    # The latest window (22:30-23:30 at UTC+1) moved on to tonight.
    assert state("recommended_bedtime_start") == "2025-03-14T21:30:00+00:00"
    assert state("recommended_bedtime_end") == "2025-03-14T22:30:00+00:00"
    assert state("last_sync") == "2025-03-14T12:00:00+00:00"

    device = find_device(hass, (DOMAIN, f"oura_{ACCOUNT_ID}"))
    assert device is not None
    assert device.manufacturer == "Oura"
    # A site's platforms are not set up for an Oura account.
    assert not hass.states.async_entity_ids("switch")


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("setup_credentials")
async def test_sensor_platform_snapshot(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every Oura sensor's registry entry and state, from the fixtures."""
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)
    shown = {}
    for entry in er.async_entries_for_config_entry(entity_registry, oura_entry.entry_id):
        state = hass.states.get(entry.entity_id)
        assert state is not None
        shown[entry.entity_id] = {
            "unique_id": entry.unique_id,
            "translation_key": entry.translation_key,
            "entity_category": entry.entity_category,
            "state": state.state,
            # Plain keys: 2026.x names some attributes with StrEnum members.
            "attributes": {str(key): value for key, value in state.attributes.items()},
        }
    assert shown == snapshot


@pytest.mark.freeze_time("2025-03-12T20:00:00+00:00")
@pytest.mark.usefixtures("setup_credentials")
async def test_a_day_without_a_score_is_unknown(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, oura_entry: MockConfigEntry
) -> None:
    """12 March has a daily sleep with a null score and no SpO2: unknown, nothing fails."""
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)

    assert oura_entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.oura_ring_sleep_score").state == STATE_UNKNOWN
    assert hass.states.get("sensor.oura_ring_average_spo2").state == STATE_UNKNOWN
    assert hass.states.get("sensor.oura_ring_readiness_score").state == "63"


@pytest.mark.freeze_time("2025-03-01T12:00:00+00:00")
@pytest.mark.usefixtures("setup_credentials")
async def test_no_data_at_all_is_unknown(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, oura_entry: MockConfigEntry
) -> None:
    """Before the first night every document is in the future: every figure is unknown."""
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)

    for key in ("sleep_score", "total_sleep", "steps", "recommended_bedtime_start"):
        assert hass.states.get(f"sensor.oura_ring_{key}").state == STATE_UNKNOWN


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("setup_credentials")
async def test_a_server_error_makes_sensors_unavailable_until_oura_answers(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)

    _mock_api(aioclient_mock, status=500)
    freezer.tick(SETTLED)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.oura_ring_sleep_score").state == STATE_UNAVAILABLE

    _mock_api(aioclient_mock)
    freezer.tick(SETTLED)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.oura_ring_sleep_score").state == "67"
    assert oura_entry.state is ConfigEntryState.LOADED


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("setup_credentials")
async def test_a_refused_token_starts_reauth(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)

    _mock_api(aioclient_mock, status=401)
    freezer.tick(SETTLED)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    assert flows[0]["context"]["source"] == SOURCE_REAUTH
    assert flows[0]["context"]["entry_id"] == oura_entry.entry_id
    # A repair issue says what to do, and the sensors do not show stale figures meanwhile.
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"oura_signed_out_{oura_entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders == {"account": "Oura"}
    assert hass.states.get("sensor.oura_ring_sleep_score").state == STATE_UNAVAILABLE

    # Polling stops until the person signs in again; reauth reloads the entry, and once Oura
    # answers, the issue goes away by itself.
    _mock_api(aioclient_mock)
    assert await hass.config_entries.async_reload(oura_entry.entry_id)
    await hass.async_block_till_done()
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, f"oura_signed_out_{oura_entry.entry_id}") is None
    assert hass.states.get("sensor.oura_ring_sleep_score").state == "67"


@pytest.mark.usefixtures("setup_credentials")
async def test_a_failed_token_refresh_at_setup_starts_reauth(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, oura_entry: MockConfigEntry
) -> None:
    expired = {**oura_entry.data, "token": {**oura_entry.data["token"], "expires_at": 0}}
    entry = MockConfigEntry(domain=DOMAIN, title="Oura", unique_id=ACCOUNT_ID, data=expired)
    _mock_api(aioclient_mock)
    for url in (OURA_TOKEN_URL, OURA_NEW_PORTAL_TOKEN_URL):
        aioclient_mock.post(url, status=400, json={"error": "invalid_grant"})
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def _reauth(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    aioclient_mock: AiohttpClientMocker,
    entry: MockConfigEntry,
    account_id: str,
) -> Any:
    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await _sign_in(hass, hass_client_no_auth, result)
    _mock_api(aioclient_mock, account_id=account_id)
    _mock_token(aioclient_mock, "renewed-access-token")
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    await hass.async_block_till_done()
    return result


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("current_request_with_host", "setup_credentials")
async def test_reauth_renews_the_token(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
) -> None:
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)

    result = await _reauth(hass, hass_client_no_auth, aioclient_mock, oura_entry, ACCOUNT_ID)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert oura_entry.data["token"]["access_token"] == "renewed-access-token"
    assert oura_entry.data[CONF_KIND] == KIND_OURA
    assert oura_entry.state is ConfigEntryState.LOADED


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("current_request_with_host", "setup_credentials")
async def test_reauth_with_another_account_aborts(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
) -> None:
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)

    result = await _reauth(hass, hass_client_no_auth, aioclient_mock, oura_entry, "someone-else")

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert oura_entry.data["token"]["access_token"] == "stored-access-token"


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("setup_credentials")
async def test_oura_entry_options_are_its_history_and_it_has_no_reconfigure(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, oura_entry: MockConfigEntry
) -> None:
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)

    assert oura_entry.supports_options
    flow = await hass.config_entries.options.async_init(oura_entry.entry_id)
    assert flow["step_id"] == "history"
    assert flow["data_schema"]({})["history_days"] == 90
    result = await oura_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_not_supported"


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("setup_credentials")
async def test_oura_diagnostics_redact_tokens(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
) -> None:
    _mock_api(aioclient_mock)
    assert await async_setup_component(hass, "diagnostics", {})
    await _setup(hass, oura_entry)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, oura_entry)

    dumped = json.dumps(diagnostics)
    assert "stored-access-token" not in dumped
    assert "stored-refresh-token" not in dumped
    assert diagnostics["entry"]["data"]["token"] == "**REDACTED**"
    assert diagnostics["coordinator"]["days"]["daily_sleep"] == "2025-03-14"
    assert diagnostics["coordinator"]["last_update_success"] is True
    assert diagnostics["coordinator"]["failed"] == []
    assert any(
        item["entity_id"] == "sensor.oura_ring_sleep_score" and item["state"] == "67"
        for item in diagnostics["entities"]
    )


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("setup_credentials")
async def test_site_actions_ignore_the_oura_entry(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
    init_integration: MockConfigEntry,
) -> None:
    """With one site and one Oura account, actions need no config_entry_id."""
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)

    response = await hass.services.async_call(
        DOMAIN, "log_screen_time", {"minutes": 5}, blocking=True, return_response=True
    )
    assert response is not None


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("setup_credentials")
@pytest.mark.parametrize(("token_status", "reauth"), [(400, True), (500, False)])
async def test_a_failed_token_refresh_during_polling(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    token_status: int,
    reauth: bool,
) -> None:
    """Oura refusing the refresh token means sign in again; Oura failing means try again."""
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)

    _mock_api(aioclient_mock)
    for url in (OURA_TOKEN_URL, OURA_NEW_PORTAL_TOKEN_URL):
        aioclient_mock.post(url, status=token_status, json={"error": "no"})
    freezer.tick(timedelta(hours=2))  # past the token's expiry
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert hass.states.get("sensor.oura_ring_sleep_score").state == STATE_UNAVAILABLE
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ([SOURCE_REAUTH] if reauth else [])


def _token_posts(aioclient_mock: AiohttpClientMocker) -> list[str]:
    return [str(url) for method, url, _, _ in aioclient_mock.mock_calls if method.lower() == "post"]


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("current_request_with_host", "setup_credentials")
async def test_an_application_of_the_newer_portal_signs_in_at_its_token_endpoint(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The legacy endpoint refuses the application; the newer one issues the token, and the
    refreshes go straight there."""
    result = await _start_oura_flow(hass)
    await _sign_in(hass, hass_client_no_auth, result)
    _mock_api(aioclient_mock)
    aioclient_mock.post(OURA_TOKEN_URL, status=400, json={"error": "invalid_request"})
    _mock_token(aioclient_mock, "new-portal-token", OURA_NEW_PORTAL_TOKEN_URL)

    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.data["token"]["access_token"] == "new-portal-token"
    assert entry.data["token"]["token_url"] == OURA_NEW_PORTAL_TOKEN_URL
    assert _token_posts(aioclient_mock) == [OURA_TOKEN_URL, OURA_NEW_PORTAL_TOKEN_URL]
    assert hass.states.get("sensor.oura_ring_sleep_score").state == "67"

    aioclient_mock.clear_requests()
    _mock_api(aioclient_mock)
    aioclient_mock.post(OURA_TOKEN_URL, status=400, json={"error": "invalid_request"})
    _mock_token(aioclient_mock, "refreshed-token", OURA_NEW_PORTAL_TOKEN_URL)
    freezer.tick(timedelta(days=2))  # past the token's expiry
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert _token_posts(aioclient_mock) == [OURA_NEW_PORTAL_TOKEN_URL]
    assert entry.data["token"]["access_token"] == "refreshed-token"
    assert hass.states.get("sensor.oura_ring_sleep_score").state != STATE_UNAVAILABLE
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("setup_credentials")
async def test_a_refresh_the_legacy_endpoint_refuses_is_asked_of_the_newer_one(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An entry signed in before LifeOps knew the newer endpoint keeps working."""
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)

    _mock_api(aioclient_mock)
    aioclient_mock.post(OURA_TOKEN_URL, status=401, json={"error": "invalid_client"})
    _mock_token(aioclient_mock, "refreshed-token", OURA_NEW_PORTAL_TOKEN_URL)
    freezer.tick(timedelta(hours=2))  # past the token's expiry
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert _token_posts(aioclient_mock) == [OURA_TOKEN_URL, OURA_NEW_PORTAL_TOKEN_URL]
    assert oura_entry.data["token"]["access_token"] == "refreshed-token"
    assert hass.states.get("sensor.oura_ring_sleep_score").state == "67"
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("setup_credentials")
async def test_the_other_data_types_as_sensors(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, oura_entry: MockConfigEntry
) -> None:
    """Resilience, VO2 max, cardiovascular age, sessions, tags, rest mode, the ring and the
    bedtime guidance, from the documentation-shaped fixtures."""
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)

    def state(key: str) -> Any:
        found = hass.states.get(f"sensor.oura_ring_{key}")
        assert found is not None, key
        return found

    assert state("resilience").state == "strong"
    assert state("resilience").attributes["sleep_recovery"] == 80.4
    assert float(state("vo2_max").state) == 43  # the estimate of 9 March is still the latest
    assert state("cardiovascular_age").state == "36"
    assert state("last_session").state == "2025-03-14T06:50:00+00:00"
    assert state("last_session").attributes["type"] == "breathing"
    assert state("sessions_today").state == "1"
    assert state("last_tag").state == "2025-03-14T07:15:00+00:00"
    assert state("last_tag").attributes["tag"] == "tag_generic_caffeine"
    assert state("rest_mode").state == "off"  # the rest mode of 1-3 March has ended
    assert state("battery").state == "61"  # the newest reading
    assert state("firmware").state == "2.9.21"  # the ring set up last
    assert state("firmware").attributes["hardware_type"] == "gen3"
    assert state("bedtime_recommendation").state == "earlier_bedtime"
    assert state("bedtime_guidance_status").state == "optimal_found"


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("setup_credentials")
async def test_rarely_changing_collections_are_asked_for_every_six_hours(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """VO2 max, cardiovascular age and the ring's configuration: not at every poll; their
    sensors keep the last answer in between."""
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)
    slow = ("vO2_max", "daily_cardiovascular_age", "ring_configuration")

    def asked(name: str) -> int:
        return sum(1 for call in aioclient_mock.mock_calls if call[1].path.endswith(f"/{name}"))

    assert [asked(name) for name in slow] == [1, 1, 1]
    for _ in range(3):  # three polls within the next hour
        freezer.tick(SETTLED)
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert asked("daily_sleep") == 4
    assert [asked(name) for name in slow] == [1, 1, 1]
    assert float(hass.states.get("sensor.oura_ring_vo2_max").state) == 43
    assert hass.states.get("sensor.oura_ring_firmware").state == "2.9.21"

    _mock_token(aioclient_mock, "refreshed")  # the entry's token has expired by then
    freezer.tick(timedelta(hours=6))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert [asked(name) for name in slow] == [2, 2, 2]
    assert hass.states.get("sensor.oura_ring_cardiovascular_age").state == "36"


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("setup_credentials")
async def test_a_collection_the_sign_in_does_not_cover_is_only_unavailable(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, oura_entry: MockConfigEntry
) -> None:
    """Sessions and tags need scopes older sign-ins lack: Oura's 401 there is no reauth."""
    _mock_api(aioclient_mock)
    aioclient_mock.clear_requests()
    aioclient_mock.get(f"{API}/session", status=401, json={"detail": "scope"})
    aioclient_mock.get(f"{API}/enhanced_tag", status=401, json={"detail": "scope"})
    for name in (*COLLECTIONS, "heartrate", "personal_info"):
        if name not in ("session", "enhanced_tag"):
            aioclient_mock.get(f"{API}/{name}", json=_fixture(name))
    await _setup(hass, oura_entry)

    assert oura_entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.oura_ring_last_session").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.oura_ring_last_tag").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.oura_ring_sleep_score").state == "67"
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
