"""Real answers of Oura's API (tests/fixtures/oura_recorded) through setup: sensors, statistics
and paging, served by a stand-in for Oura that filters by range and pages with `next_token`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import time
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.lifeops.const import CONF_HISTORY_DAYS, CONF_KIND, DOMAIN, KIND_OURA
from custom_components.lifeops.oura_account import statistics as oura_statistics
from custom_components.lifeops.oura_account.statistics import statistic_id
from tests.oura_recorded import RecordedOura, account_id, recorded_documents

ZONE = "Europe/Berlin"  # where the recorded account lived (+01:00/+02:00)
# Saturday 2 November 2024, early afternoon in Berlin: that night's documents are all in.
NOV_2 = "2024-11-02T12:00:00+00:00"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """As in conftest, but the recorder's database is prepared before Home Assistant starts."""


def recorded_entry(history_days: int = 0) -> MockConfigEntry:
    """The recorded account, signed in for a month; no history backfill unless asked for."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Oura",
        unique_id=account_id(),
        data={
            CONF_KIND: KIND_OURA,
            "auth_implementation": "oura",
            "token": {
                "access_token": "recorded-access-token",
                "refresh_token": "recorded-refresh-token",
                "token_type": "Bearer",
                "expires_in": 86400,
                "expires_at": time.time() + 30 * 86400,  # no refresh during a test
            },
        },
        options={CONF_HISTORY_DAYS: history_days},
    )


async def setup_recorded(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    *,
    page_size: int = 1000,
    days: int = 0,
    oura: RecordedOura | None = None,
) -> tuple[MockConfigEntry, RecordedOura]:
    """Sign the recorded account in (Berlin time) against the stand-in, and wait for setup."""
    await hass.config.async_set_time_zone(ZONE)
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass, DOMAIN, ClientCredential("client-id", "client-secret"), "oura"
    )
    oura = oura or RecordedOura(aioclient_mock, page_size=page_size)
    entry = recorded_entry(days)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry, oura


def state(hass: HomeAssistant, key: str) -> str:
    """A sensor's state (the device is named Oura Ring)."""
    found = hass.states.get(f"sensor.oura_ring_{key}")
    assert found is not None, key
    return found.state


async def statistics(hass: HomeAssistant, key: str) -> dict[str, dict[str, Any]]:
    """One figure's statistics of the recorded account, by local day."""
    await async_wait_recording_done(hass)
    wanted = statistic_id(account_id(), key)
    rows = await hass.async_add_executor_job(
        statistics_during_period,
        hass,
        datetime(2000, 1, 1, tzinfo=UTC),
        None,
        {wanted},
        "hour",
        None,
        {"mean", "min", "max"},
    )
    zone = ZoneInfo(ZONE)
    return {
        datetime.fromtimestamp(row["start"], zone).date().isoformat(): row
        for row in rows.get(wanted, [])
    }


@pytest.mark.freeze_time(NOV_2)
async def test_recorded_day_shows_in_the_sensors(
    recorder_mock: Recorder, hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """2 November 2024 as the recorded account saw it, read in pages of two documents."""
    _, oura = await setup_recorded(hass, aioclient_mock, page_size=2)

    assert state(hass, "sleep_score") == "79"
    assert state(hass, "readiness_score") == "87"
    assert float(state(hass, "total_sleep")) == pytest.approx(7.94, abs=0.005)
    assert float(state(hass, "average_spo2")) == pytest.approx(96.963)
    assert state(hass, "lowest_heart_rate") == "58"
    assert state(hass, "sleep_efficiency") == "91"
    assert state(hass, "average_hrv") == "37"
    assert state(hass, "bedtime_start") == "2024-11-02T00:16:31+00:00"
    assert state(hass, "bedtime_end") == "2024-11-02T09:00:11+00:00"
    # The recorded activity is of 11 November, the heart rate of December: not yet.
    assert state(hass, "activity_score") == "unknown"
    assert state(hass, "heart_rate") == "unknown"
    # Two days of sleep periods (1 and 2 November: four) came in two pages, the second asked for
    # with the first's token, `+`, `/` and `=` intact.
    sleep_queries = oura.calls("sleep")
    assert len(sleep_queries) == 2
    assert "next_token" not in sleep_queries[0]
    assert sleep_queries[1]["next_token"].startswith("1+/")
    assert sleep_queries[1]["next_token"].endswith("==")


@pytest.mark.freeze_time("2024-11-13T12:00:00+00:00")
async def test_recorded_history_fills_the_statistics(
    recorder_mock: Recorder, hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """800 days of the recorded account, a hundred documents a page, into the statistics."""
    _, oura = await setup_recorded(hass, aioclient_mock, page_size=100, days=800)

    first_day = "2022-09-05"  # 800 days before 13 November 2024
    daily_sleep = [d for d in recorded_documents("daily_sleep") if d["day"] >= first_day]
    scores = await statistics(hass, "sleep_score")
    assert {day: row["mean"] for day, row in scores.items()} == {
        d["day"]: d["score"] for d in daily_sleep if d["score"] is not None
    }
    readiness = await statistics(hass, "readiness_score")
    assert len(readiness) == len(
        [d for d in recorded_documents("daily_readiness") if d["day"] >= first_day]
    )
    assert readiness["2024-11-02"]["mean"] == 87
    # The backfill read daily sleep in pages: 800 days hold more than a hundred documents.
    backfill_pages = [q for q in oura.calls("daily_sleep") if q.get("start_date") == first_day]
    assert len(backfill_pages) == -(-len(daily_sleep) // 100)
    assert all("next_token" in q for q in backfill_pages[1:])

    total_sleep = await statistics(hass, "total_sleep")
    assert total_sleep["2024-11-02"]["mean"] == pytest.approx(28590 / 3600)
    # Oura's no-value markers never become points: 0.0 % SpO2 (three nights in 2022) and the
    # 255 bpm of short periods; days with only short periods or naps have no sleep figures.
    spo2 = await statistics(hass, "spo2")
    assert "2022-10-30" not in spo2
    assert min(row["mean"] for row in spo2.values()) > 80
    lowest = await statistics(hass, "lowest_heart_rate")
    assert max(row["mean"] for row in lowest.values()) < 100
    nights = {d["day"] for d in recorded_documents("sleep") if d["type"] == "long_sleep"}
    assert set(total_sleep) == nights
    stress = await statistics(hass, "stress_high")
    assert stress  # the stress days of the range are there


@pytest.mark.freeze_time("2024-10-11T06:00:00+00:00")
async def test_last_night_stays_until_tonight_has_synced(
    recorder_mock: Recorder, hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """At 8 am on 11 October only a 30-second period of the day has reached Oura (efficiency 3,
    lowest heart rate 255): the sensors keep the night of 10 October."""
    now = datetime.fromisoformat("2024-10-11T06:00:00+00:00")
    oura = RecordedOura(aioclient_mock)
    oura.hidden = lambda name, doc: name == "sleep" and (
        datetime.fromisoformat(doc["bedtime_end"]) > now
    )
    await setup_recorded(hass, aioclient_mock, oura=oura)

    assert float(state(hass, "total_sleep")) == pytest.approx(23220 / 3600, abs=0.005)
    assert state(hass, "lowest_heart_rate") == "60"
    assert state(hass, "sleep_efficiency") == "80"
    assert state(hass, "bedtime_end") == "2024-10-10T07:04:12+00:00"


@pytest.mark.freeze_time("2024-10-16T12:00:00+00:00")
async def test_no_value_markers_are_unknown_in_the_sensors(
    recorder_mock: Recorder, hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """A night whose only period has Oura's 255 and an SpO2 night of 0.0 show as unknown."""
    oura = RecordedOura(aioclient_mock)
    short = next(
        doc
        for doc in oura.documents["sleep"]
        if doc["day"] == "2024-10-13" and doc["lowest_heart_rate"] == 255
    )
    # Only today's night, and it is as long as a night but has no lowest heart rate.
    oura.documents["sleep"] = [{**short, "day": "2024-10-16", "total_sleep_duration": 4 * 3600}]
    oura.documents["daily_spo2"] = [
        {"id": "no-spo2", "day": "2024-10-16", "spo2_percentage": {"average": 0.0}}
    ]
    await setup_recorded(hass, aioclient_mock, oura=oura)

    assert state(hass, "lowest_heart_rate") == "unknown"
    assert state(hass, "average_spo2") == "unknown"
    assert float(state(hass, "total_sleep")) == pytest.approx(4.0)
    await async_wait_recording_done(hass)
    assert "2024-10-16" not in await statistics(hass, "lowest_heart_rate")
    assert "2024-10-16" not in await statistics(hass, "spo2")
    assert (await statistics(hass, "total_sleep"))["2024-10-16"]["mean"] == pytest.approx(4.0)


@pytest.mark.freeze_time(NOV_2)
async def test_a_failing_or_malformed_collection_leaves_only_its_sensors_unavailable(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    entry, oura = await setup_recorded(hass, aioclient_mock)
    oura.failing = {"daily_readiness": 500}
    oura.malformed = {"sleep"}
    freezer.tick(timedelta(minutes=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    for key in ("readiness_score", "temperature_deviation", "total_sleep", "lowest_heart_rate"):
        assert state(hass, key) == STATE_UNAVAILABLE, key
    assert state(hass, "sleep_score") == "79"
    assert float(state(hass, "average_spo2")) == pytest.approx(96.963)
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"oura_membership_{entry.entry_id}") is None

    oura.failing, oura.malformed = {}, set()
    freezer.tick(timedelta(minutes=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state(hass, "readiness_score") == "87"
    assert float(state(hass, "total_sleep")) == pytest.approx(7.94, abs=0.005)


@pytest.mark.freeze_time(NOV_2)
async def test_refused_data_raises_the_membership_issue_and_a_refused_token_reauth(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """403 on some collections: their sensors unavailable and a repair issue, no reauth;
    401 on any one: reauth as before."""
    entry, oura = await setup_recorded(hass, aioclient_mock)
    issue_id = f"oura_membership_{entry.entry_id}"
    oura.failing = {"daily_spo2": 403, "heartrate": 403}
    freezer.tick(timedelta(minutes=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "oura_membership_needed"
    assert issue.translation_placeholders == {"account": "Oura", "data": "daily_spo2, heartrate"}
    assert state(hass, "average_spo2") == STATE_UNAVAILABLE
    assert state(hass, "sleep_score") == "79"
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)

    oura.failing = {}
    freezer.tick(timedelta(minutes=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert float(state(hass, "average_spo2")) == pytest.approx(96.963)

    oura.failing = {"sleep": 401}
    freezer.tick(timedelta(minutes=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert state(hass, "sleep_score") == STATE_UNAVAILABLE


@pytest.mark.freeze_time("2024-11-13T12:00:00+00:00")
async def test_a_daily_reconcile_brings_late_and_revised_days(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The night of 10 November reaches Oura late and 8 November's score is revised: the next
    day's reconcile writes those two points and nothing else."""
    oura = RecordedOura(aioclient_mock)
    late = "2024-11-10"
    oura.hidden = lambda name, doc: name == "daily_sleep" and doc["day"] == late
    await setup_recorded(hass, aioclient_mock, days=30, oura=oura)
    scores = await statistics(hass, "sleep_score")
    assert late not in scores
    assert scores["2024-11-08"]["mean"] == 86

    oura.hidden = lambda _name, _doc: False
    oura.documents["daily_sleep"] = [
        {**doc, "score": 90} if doc["day"] == "2024-11-08" else doc
        for doc in oura.documents["daily_sleep"]
    ]
    written: list[tuple[str, str]] = []
    original = oura_statistics.async_add_external_statistics

    def spy(hass: HomeAssistant, metadata: Any, points: list[Any]) -> None:
        key = metadata["statistic_id"].removeprefix(statistic_id(account_id(), ""))
        zone = ZoneInfo(ZONE)
        written.extend((key, p["start"].astimezone(zone).date().isoformat()) for p in points)
        original(hass, metadata, points)

    monkeypatch.setattr(oura_statistics, "async_add_external_statistics", spy)
    freezer.tick(timedelta(days=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    scores = await statistics(hass, "sleep_score")
    assert scores[late]["mean"] == 73
    assert scores["2024-11-08"]["mean"] == 90
    assert sorted(written) == [("sleep_score", "2024-11-08"), ("sleep_score", late)]
    reconciles = [q for q in oura.calls("daily_sleep") if q.get("start_date") == "2024-11-07"]
    assert len(reconciles) == 1

    # Once a day: the next poll of the same day does not compare again.
    freezer.tick(timedelta(minutes=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len([q for q in oura.calls("daily_sleep") if q.get("start_date") == "2024-11-07"]) == 1
