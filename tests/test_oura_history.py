"""Oura history: the export reader, the series, the statistics backfill, the import action, the
new-night event and the history option, through a test Home Assistant with a real recorder."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
import zipfile

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import (
    get_last_statistics,
    statistics_during_period,
)
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from oura_sample_export import write_export
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.oura import HeartRate, SleepPeriod
from custom_components.lifeops.oura.export import OuraExportError, kind_of, read_export
from custom_components.lifeops.oura.history import (
    build_series,
    day_start,
    hourly_heart_rate,
    main_sleep_by_day,
)
from tests.test_oura import (
    ACCOUNT_ID,
    FIXTURES,
    NOW,
    _fixture,
    _mock_api,
    _mock_token,
    signed_in_entry,
)

STAT = f"lifeops:oura_{ACCOUNT_ID.replace('-', '_')}_"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """As in conftest, but the recorder's database is prepared before Home Assistant starts."""


def _calls(aioclient_mock: AiohttpClientMocker, name: str) -> int:
    return sum(1 for _, url, _, _ in aioclient_mock.mock_calls if url.path.endswith(f"/{name}"))


@pytest.fixture
async def oura_entry(hass: HomeAssistant) -> MockConfigEntry:
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass, DOMAIN, ClientCredential("client-id", "client-secret"), "oura"
    )
    return signed_in_entry()


async def _statistics(hass: HomeAssistant, key: str) -> list[dict[str, Any]]:
    await async_wait_recording_done(hass)
    rows = await hass.async_add_executor_job(
        statistics_during_period,
        hass,
        datetime(2000, 1, 1, tzinfo=UTC),
        None,
        {f"{STAT}{key}"},
        "hour",
        None,
        {"mean", "min", "max"},
    )
    return list(rows.get(f"{STAT}{key}", []))


# --- the series, no Home Assistant -----------------------------------------------------------


def test_a_day_sits_at_the_hour_its_local_midnight_falls_in() -> None:
    stockholm_winter = timezone(timedelta(hours=1))
    assert day_start(date(2025, 3, 14), stockholm_winter) == datetime(2025, 3, 13, 23, tzinfo=UTC)
    india = timezone(timedelta(hours=5, minutes=30))
    assert day_start(date(2025, 3, 14), india) == datetime(2025, 3, 13, 18, tzinfo=UTC)


def test_heart_rate_becomes_hourly_mean_low_and_high() -> None:
    base = datetime(2025, 3, 14, 6, tzinfo=UTC)
    samples = [
        HeartRate(timestamp=base + timedelta(minutes=5 * i), bpm=bpm)
        for i, bpm in enumerate((50, 60, 70))
    ] + [HeartRate(timestamp=base + timedelta(hours=1, minutes=1), bpm=90)]
    points = hourly_heart_rate(reversed(samples))
    assert [(p.start, p.mean, p.min, p.max) for p in points] == [
        (base, 60, 50, 70),
        (base + timedelta(hours=1), 90, 90, 90),
    ]


def test_each_day_keeps_its_main_sleep_and_never_a_rest() -> None:
    day = date(2025, 3, 14)
    nap = SleepPeriod(id="nap", day=day, type="sleep", total_sleep_duration=1800)
    night = SleepPeriod(id="night", day=day, type="long_sleep", total_sleep_duration=25000)
    rest = SleepPeriod(id="rest", day=day, type="rest", total_sleep_duration=40000)
    assert main_sleep_by_day([nap, rest, night])[day].id == "night"
    assert main_sleep_by_day([rest]) == {}


def test_series_from_the_fixtures() -> None:
    contents = read_export(FIXTURES / "daily_sleep.json")
    documents = contents.documents
    series = build_series(documents, UTC)
    expected = {d["day"]: d["score"] for d in _fixture("daily_sleep")["data"] if d["score"]}
    assert {p.start.date().isoformat(): p.mean for p in series["sleep_score"]} == expected
    assert series["readiness_score"] == []


# --- the export reader -------------------------------------------------------------------------


def test_file_names_of_the_export_are_recognised() -> None:
    assert kind_of("DailySleep.csv") == "daily_sleep"
    assert kind_of("oura/daily_readiness.json") == "daily_readiness"
    assert kind_of("heartrate.csv") == "heartrate"
    assert kind_of("sleepmodel.csv") == "sleep"
    assert kind_of("notes.txt") is None
    assert kind_of("tags.csv") is None


def test_the_sample_export_reads_back_as_folder_and_zip(tmp_path: Path) -> None:
    files = write_export(tmp_path / "export", end=date(2025, 3, 14), days=30, heart_rate_days=2)
    folder = read_export(tmp_path / "export")
    assert folder.skipped_rows == {}
    assert folder.documents.counts()["daily_sleep"] == 30
    assert folder.documents.counts()["heartrate"] == 2 * 288
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in files:
            zipped.write(path, f"oura_export/{path.name}")
    zipped_contents = read_export(archive)
    assert zipped_contents.documents.counts() == folder.documents.counts()
    # Nested objects come back typed (written as JSON in their cell).
    readiness = zipped_contents.documents.daily_readiness[0]
    assert readiness.contributors is not None
    assert isinstance(readiness.contributors.hrv_balance, int)


def test_comma_csv_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "dailysleep.csv"
    path.write_text(
        "id,day,score,timestamp\n"
        "a,2025-03-12,71,2025-03-12T00:00:00+01:00\n"
        "b,not-a-day,80,2025-03-13T00:00:00+01:00\n"
        "c,2025-03-14,,2025-03-14T00:00:00+01:00\n"
    )
    contents = read_export(path)
    assert [(d.id, d.score) for d in contents.documents.daily_sleep] == [("a", 71), ("c", None)]
    assert contents.skipped_rows == {"dailysleep.csv": 1}


def test_what_is_not_an_export_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(OuraExportError, match="no file"):
        read_export(tmp_path)
    with pytest.raises(OuraExportError, match="does not exist"):
        read_export(tmp_path / "missing.zip")
    bad = tmp_path / "daily_sleep.json"
    bad.write_text("{not json")
    with pytest.raises(OuraExportError, match="not valid JSON"):
        read_export(bad)


# --- through Home Assistant ----------------------------------------------------------------


@pytest.mark.freeze_time(NOW)
async def test_first_setup_backfills_history_once(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
) -> None:
    _mock_api(aioclient_mock)
    oura_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(oura_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    # One poll plus one backfill (90 days and today) read daily sleep; heart rate a week at a time.
    assert _calls(aioclient_mock, "daily_sleep") == 2
    assert _calls(aioclient_mock, "heartrate") == 1 + 13
    backfill_range = [
        query
        for _, url, _, _ in aioclient_mock.mock_calls
        if url.path.endswith("/daily_sleep")
        for query in [dict(url.query)]
    ][1]
    assert backfill_range == {"start_date": "2024-12-14", "end_date": "2025-03-15"}

    scores = await _statistics(hass, "sleep_score")
    expected = {d["day"]: d["score"] for d in _fixture("daily_sleep")["data"] if d["score"]}
    # Days sit at local midnight (the test zone is US/Pacific).
    got = {
        (datetime.fromtimestamp(row["start"], UTC) + timedelta(hours=12)).date().isoformat(): row[
            "mean"
        ]
        for row in scores
    }
    assert got == expected
    # VO2 max and cardiovascular age are daily figures too.
    assert [row["mean"] for row in await _statistics(hass, "vo2_max")] == [43]
    assert [row["mean"] for row in await _statistics(hass, "cardiovascular_age")] == [36]
    heart = await _statistics(hass, "heart_rate")
    samples = _fixture("heartrate")["data"]
    assert sum(1 for _ in heart) == len({s["timestamp"][:13] for s in samples})
    assert min(row["min"] for row in heart) == min(s["bpm"] for s in samples)

    # A reload does not fetch the 90 days again, and writing the same days twice never duplicates.
    assert await hass.config_entries.async_reload(oura_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _calls(aioclient_mock, "daily_sleep") == 3
    assert len(await _statistics(hass, "sleep_score")) == len(scores)


@pytest.mark.freeze_time(NOW)
async def test_more_history_days_imports_only_the_older_days(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
) -> None:
    _mock_api(aioclient_mock)
    oura_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(oura_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    flow = await hass.config_entries.options.async_init(oura_entry.entry_id)
    assert flow["step_id"] == "history"
    result = await hass.config_entries.options.async_configure(
        flow["flow_id"], {"history_days": 120}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    assert oura_entry.options == {"history_days": 120}
    ranges = [
        dict(url.query)
        for _, url, _, _ in aioclient_mock.mock_calls
        if url.path.endswith("/daily_sleep")
    ]
    # The reload's poll, then only the 30 older days.
    assert ranges[-1] == {"start_date": "2024-11-14", "end_date": "2024-12-14"}


@pytest.mark.freeze_time(NOW)
async def test_import_oura_export_fills_the_statistics_once(
    recorder_mock: Recorder, hass: HomeAssistant, tmp_path: Path
) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    hass.config.config_dir = str(tmp_path)
    write_export(tmp_path / "oura", end=date(2025, 3, 13), days=60, heart_rate_days=3)

    response = await hass.services.async_call(
        DOMAIN, "import_oura_export", {"path": "oura"}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["documents"]["daily_sleep"] == 60
    assert response["first_day"] == "2025-01-13"
    assert response["last_day"] == "2025-03-13"
    assert response["statistic_id_prefix"] == "lifeops:oura_export_"
    assert response["skipped_rows"] == {}

    await async_wait_recording_done(hass)
    last = await hass.async_add_executor_job(
        get_last_statistics, hass, 1, "lifeops:oura_export_total_sleep", True, {"mean"}
    )
    assert last["lifeops:oura_export_total_sleep"][0]["mean"] > 4

    def count(statistic: str) -> int:
        rows = statistics_during_period(
            hass, datetime(2000, 1, 1, tzinfo=UTC), None, {statistic}, "hour", None, {"mean"}
        )
        return len(rows.get(statistic, []))

    assert await hass.async_add_executor_job(count, "lifeops:oura_export_sleep_score") == 60
    assert await hass.async_add_executor_job(count, "lifeops:oura_export_heart_rate") == 3 * 24
    await hass.services.async_call(
        DOMAIN, "import_oura_export", {"path": "oura"}, blocking=True, return_response=True
    )
    await async_wait_recording_done(hass)
    assert await hass.async_add_executor_job(count, "lifeops:oura_export_sleep_score") == 60


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"path": "/etc"}, "oura_export_not_allowed"),
        ({"path": "../outside"}, "oura_export_not_allowed"),
        ({"path": "missing.zip"}, "oura_export_unreadable"),
        ({"path": "notes"}, "oura_export_unreadable"),
        ({"path": "oura", "config_entry_id": "nope"}, "oura_entry_not_found"),
        ({"path": ""}, "invalid_data"),
    ],
)
async def test_import_oura_export_refuses_bad_input(
    recorder_mock: Recorder, hass: HomeAssistant, tmp_path: Path, data: dict[str, str], key: str
) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    hass.config.config_dir = str(tmp_path / "config")
    (tmp_path / "config" / "notes").mkdir(parents=True)
    (tmp_path / "config" / "notes" / "readme.txt").write_text("not Oura")
    write_export(tmp_path / "config" / "oura", end=date(2025, 3, 13), days=2, heart_rate_days=0)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "import_oura_export", data, blocking=True, return_response=True
        )
    assert err.value.translation_key == key


async def test_import_needs_the_recorder(hass: HomeAssistant, tmp_path: Path) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "import_oura_export", {"path": "oura"}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "recorder_required"


@pytest.mark.freeze_time(NOW)
async def test_a_new_night_is_announced_once(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    events: list[Event] = []
    hass.bus.async_listen("lifeops_sleep_updated", events.append)
    _mock_api(aioclient_mock)
    oura_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(oura_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert events == []  # the night already there when LifeOps starts is not news

    # The next morning the ring syncs a new night.
    freezer.tick(timedelta(days=1))
    daily = _fixture("daily_sleep")
    newest = max(daily["data"], key=lambda d: d["day"])
    night = {**newest, "id": "new-night", "day": "2025-03-15", "score": 88}
    _mock_api(aioclient_mock, answers={"daily_sleep": {"data": [*daily["data"], night]}})
    _mock_token(aioclient_mock, "renewed")  # a day later the stored token has expired
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [e.data["day"] for e in events] == ["2025-03-15"]
    assert events[0].data["day"] == "2025-03-15"
    assert events[0].data["sleep_score"] == 88
    assert events[0].data["config_entry_id"] == oura_entry.entry_id

    # Later polls of the same night, and a restart, announce nothing more.
    freezer.tick(timedelta(minutes=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await hass.config_entries.async_reload(oura_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [e.data["day"] for e in events] == ["2025-03-15"]
