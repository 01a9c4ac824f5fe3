"""Oura webhooks: subscribed when Home Assistant has an HTTPS URL, verified, renewed, removed; a
notice makes LifeOps poll at once; bad or forged requests change nothing."""

from __future__ import annotations

from datetime import timedelta
import hashlib
import hmac
from http import HTTPStatus
import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.oura.webhooks import (
    DATA_TYPES,
    EVENT_TYPES,
    Subscription,
    notice_signature,
    verify_notice,
)
from tests.oura_recorded import recorded
from tests.test_oura import NOW, _mock_api, signed_in_entry

SUBSCRIPTIONS = "https://api.ouraring.com/v2/webhook/subscription"
EXTERNAL = "https://home.example.org"


def _subscription(url: str, event: str, data: str, expires: str) -> dict[str, str]:
    return {
        "id": f"{event}-{data}",
        "callback_url": url,
        "event_type": event,
        "data_type": data,
        "expiration_time": expires,
    }


def _signed(body: bytes, secret: str = "client-secret", timestamp: str = "1742040000") -> Any:
    """Headers as Oura sends them with a notice, signed with `secret`."""
    return {
        "Content-Type": "application/json",
        "x-oura-timestamp": timestamp,
        "x-oura-signature": notice_signature(secret, timestamp, body),
    }


def test_notice_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    # Worked by hand with hashlib: HMAC-SHA256("secret", "1700000000" + '{"a":1}').
    expected = hmac.new(b"secret", b'1700000000{"a":1}', hashlib.sha256).hexdigest()
    assert notice_signature("secret", "1700000000", b'{"a":1}') == expected.upper()
    assert verify_notice("secret", "1700000000", expected, b'{"a":1}')  # lower case too
    assert verify_notice("secret", "1700000000", expected.upper(), b'{"a":1}')
    assert not verify_notice("secret", "1700000001", expected, b'{"a":1}')  # other time
    assert not verify_notice("secret", "1700000000", expected, b'{"a":2}')  # other body
    assert not verify_notice("other", "1700000000", expected, b'{"a":1}')  # other secret
    assert not verify_notice("secret", None, expected, b'{"a":1}')
    assert not verify_notice("secret", "1700000000", None, b'{"a":1}')
    assert not verify_notice("secret", "1700000000", "ü" * 64, b'{"a":1}')


def test_recorded_subscription_answers_parse() -> None:
    """Oura's answers to creating and listing subscriptions, as another project recorded them
    (a bare list, `Z` expiry times)."""
    created = Subscription.from_dict(recorded("exoura_webhook_create.json"))
    assert created.data_type == "tag"
    assert created.expiration_time is not None
    assert created.expiration_time.utcoffset() == timedelta(0)
    [listed] = [Subscription.from_dict(item) for item in recorded("exoura_webhook_list.json")]
    assert listed.id == "c534043e-ba54-4131-9dce-e40537823bfd"
    assert listed.event_type == "create"


def _calls(aioclient_mock: AiohttpClientMocker, method: str, fragment: str) -> list[Any]:
    return [
        call
        for call in aioclient_mock.mock_calls
        if call[0].lower() == method.lower() and fragment in str(call[1])
    ]


@pytest.fixture
async def oura_entry(hass: HomeAssistant) -> MockConfigEntry:
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass, DOMAIN, ClientCredential("client-id", "client-secret"), "oura"
    )
    assert await async_setup_component(hass, "webhook", {})
    entry = signed_in_entry()
    entry.add_to_hass(hass)
    return entry


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


def _webhook_path(aioclient_mock: AiohttpClientMocker) -> str:
    created = _calls(aioclient_mock, "POST", "webhook/subscription")
    assert created
    url = created[0][2]["callback_url"]
    assert url.startswith(f"{EXTERNAL}/api/webhook/")
    return url.removeprefix(EXTERNAL)


@pytest.mark.freeze_time(NOW)
async def test_subscribes_verifies_and_polls_on_a_notice(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    oura_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await async_process_ha_core_config(hass, {"external_url": EXTERNAL})
    _mock_api(aioclient_mock)
    aioclient_mock.get(SUBSCRIPTIONS, json=[])
    aioclient_mock.post(
        SUBSCRIPTIONS,
        json=_subscription(f"{EXTERNAL}/x", "create", "sleep", "2025-04-14T12:00:00+00:00"),
    )
    await _setup(hass, oura_entry)

    # One subscription per event and data type, made with the application's credentials.
    created = _calls(aioclient_mock, "POST", "webhook/subscription")
    assert len(created) == len(EVENT_TYPES) * len(DATA_TYPES)
    assert {(c[2]["event_type"], c[2]["data_type"]) for c in created} == {
        (e, d) for e in EVENT_TYPES for d in DATA_TYPES
    }
    assert created[0][3]["x-client-id"] == "client-id"
    assert created[0][3]["x-client-secret"] == "client-secret"
    token = created[0][2]["verification_token"]
    path = _webhook_path(aioclient_mock)
    # While pushed, polling is only a safety net.
    assert oura_entry.runtime_data.update_interval == timedelta(minutes=30)

    client = await hass_client_no_auth()
    # Oura's verification: the right token gets the challenge back; anything else gets nothing.
    answer = await client.get(path, params={"verification_token": token, "challenge": "c-123"})
    assert answer.status == HTTPStatus.OK
    assert await answer.json() == {"challenge": "c-123"}
    answer = await client.get(path, params={"verification_token": "guess", "challenge": "c"})
    assert answer.status == HTTPStatus.UNAUTHORIZED

    polls = len(_calls(aioclient_mock, "GET", "usercollection/daily_sleep"))
    notice = json.dumps(
        {"event_type": "create", "data_type": "daily_sleep", "object_id": "x", "user_id": "u"}
    ).encode()
    answer = await client.post(path, data=notice, headers=_signed(notice))
    assert answer.status == HTTPStatus.OK
    freezer.tick(timedelta(seconds=11))  # past the refresh debouncer's cooldown
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len(_calls(aioclient_mock, "GET", "usercollection/daily_sleep")) == polls + 1

    # Unsigned, forged (another secret) or altered notices are refused and poll nothing.
    unsigned = {"Content-Type": "application/json"}
    forged = _signed(notice, secret="guessed-secret")
    altered = {**_signed(notice), "x-oura-timestamp": "1742040001"}
    for headers in (unsigned, forged, altered):
        answer = await client.post(path, data=notice, headers=headers)
        assert answer.status == HTTPStatus.UNAUTHORIZED
    refusals = [r for r in caplog.records if "Refused a notice" in r.getMessage()]
    assert len(refusals) == 1  # one warning, not one per forged request
    assert "client-secret" not in caplog.text
    # Malformed notices and data LifeOps does not read change nothing.
    answer = await client.post(path, data=b"{not json", headers=_signed(b"{not json"))
    assert answer.status == HTTPStatus.BAD_REQUEST
    other = json.dumps({"event_type": "create", "data_type": "tag"}).encode()
    answer = await client.post(path, data=other, headers=_signed(other))
    assert answer.status == HTTPStatus.OK
    freezer.tick(timedelta(seconds=11))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len(_calls(aioclient_mock, "GET", "usercollection/daily_sleep")) == polls + 1


@pytest.mark.freeze_time(NOW)
async def test_subscriptions_are_renewed_before_they_lapse_and_removed_with_the_entry(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await async_process_ha_core_config(hass, {"external_url": EXTERNAL})
    _mock_api(aioclient_mock)
    aioclient_mock.get(SUBSCRIPTIONS, json=[])
    aioclient_mock.post(
        SUBSCRIPTIONS,
        json=_subscription(f"{EXTERNAL}/x", "create", "sleep", "2025-04-14T12:00:00+00:00"),
    )
    await _setup(hass, oura_entry)
    url = EXTERNAL + _webhook_path(aioclient_mock)

    # Half a day later Oura lists them all; two lapse within three days and are renewed.
    listed = [
        _subscription(url, e, d, "2025-04-10T00:00:00+00:00")
        for e in EVENT_TYPES
        for d in DATA_TYPES
    ]
    listed[0]["expiration_time"] = "2025-03-15T12:00:00+00:00"
    listed[1]["expiration_time"] = "2025-03-16T12:00:00+00:00"
    listed.append(_subscription("https://someone.else/hook", "create", "sleep", "2025-04-10"))
    _mock_api(aioclient_mock)
    aioclient_mock.get(SUBSCRIPTIONS, json=listed)
    aioclient_mock.put(f"{SUBSCRIPTIONS}/renew/{listed[0]['id']}", json=listed[0])
    aioclient_mock.put(f"{SUBSCRIPTIONS}/renew/{listed[1]['id']}", json=listed[1])
    for item in listed:
        aioclient_mock.delete(f"{SUBSCRIPTIONS}/{item['id']}", status=204)
    freezer.tick(timedelta(hours=12))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    renewed = _calls(aioclient_mock, "PUT", "renew")
    assert sorted(str(c[1]).rsplit("/", 1)[1] for c in renewed) == sorted(
        [listed[0]["id"], listed[1]["id"]]
    )
    assert _calls(aioclient_mock, "POST", "webhook/subscription") == []

    # Removing the entry deletes its subscriptions, and only its own.
    await hass.config_entries.async_remove(oura_entry.entry_id)
    await hass.async_block_till_done()
    deleted = {
        str(c[1]).rsplit("/", 1)[1] for c in _calls(aioclient_mock, "DELETE", "subscription")
    }
    assert deleted == {item["id"] for item in listed[:-1]}


@pytest.mark.freeze_time(NOW)
async def test_without_an_https_url_it_polls(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, oura_entry: MockConfigEntry
) -> None:
    await async_process_ha_core_config(hass, {"external_url": "http://home.example.org"})
    _mock_api(aioclient_mock)
    await _setup(hass, oura_entry)
    assert _calls(aioclient_mock, "GET", "webhook/subscription") == []
    assert oura_entry.runtime_data.update_interval != timedelta(minutes=30)


@pytest.mark.freeze_time(NOW)
async def test_oura_refusing_subscriptions_falls_back_to_polling(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, oura_entry: MockConfigEntry
) -> None:
    await async_process_ha_core_config(hass, {"external_url": EXTERNAL})
    _mock_api(aioclient_mock)
    aioclient_mock.get(SUBSCRIPTIONS, status=401, json={"detail": "bad client"})
    await _setup(hass, oura_entry)
    assert oura_entry.runtime_data.pushed is False
    assert oura_entry.runtime_data.update_interval != timedelta(minutes=30)
    assert oura_entry.runtime_data.last_update_success
