"""Oura's member export in its real layout, made from the recorded answers: every row and every
column read back, every figure in the statistics, and the reader's bounds."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
import io
import json
import os
from pathlib import Path
import stat
from typing import Any
import zipfile

from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.oura import (
    DailyActivity,
    DailyReadiness,
    DailySleep,
    DailySpO2,
    DailyStress,
    HeartRate,
    SleepPeriod,
    Workout,
    export as export_module,
)
from custom_components.lifeops.oura.export import OuraExportError, kind_of, read_export
from custom_components.lifeops.oura.history import METRICS
from tests.oura_recorded import recorded_documents

# The file each kind has in the real export, how it is written, and the model that reads it.
LAYOUT: dict[str, tuple[str, dict[str, Any], Any]] = {
    "daily_sleep": ("dailysleep.csv", {"bom": True}, DailySleep),
    "daily_readiness": ("dailyreadiness.csv", {"bom": True}, DailyReadiness),
    "daily_activity": ("dailyactivity.csv", {}, DailyActivity),
    "daily_spo2": ("dailyspo2.csv", {}, DailySpO2),
    "daily_stress": ("dailystress.csv", {"bom": True}, DailyStress),
    "sleep": ("sleep_2024-10-09_2024-11-03.csv", {}, SleepPeriod),
    "heartrate": ("heartrate.csv", {"utc_z": True}, HeartRate),
    "workout": ("workout_2024-10-09_2024-11-03.csv", {"utc_z": True}, Workout),
}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """As in conftest, but the recorder's database is prepared before Home Assistant starts."""


def _as_cell(value: Any, utc_z: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return str(value).lower()
    if utc_z and isinstance(value, str) and value.endswith("+00:00"):
        return value.removesuffix("+00:00") + "Z"
    return str(value)


def _write_csv(
    path: Path, documents: list[dict[str, Any]], *, bom: bool = False, utc_z: bool = False
) -> None:
    """One file as Oura writes it: `;`-separated, CRLF, JSON in cells, every field a column."""
    columns = list(dict.fromkeys(key for doc in documents for key in doc))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns)
    for doc in documents:
        writer.writerow([_as_cell(doc.get(column), utc_z) for column in columns])
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode())


def write_real_layout(root: Path) -> Path:
    """The recorded account as a member export: `App Data/` with a file per kind."""
    folder = root / "App Data"
    folder.mkdir(parents=True)
    for kind, (name, style, _) in LAYOUT.items():
        _write_csv(folder / name, recorded_documents(kind), **style)
    return root


def test_date_range_file_names_are_recognised() -> None:
    assert kind_of("App Data/sleep_2024-10-09_2024-11-03.csv") == "sleep"
    assert kind_of("dailysleep_2024-10-09_2024-11-03.csv") == "daily_sleep"
    assert kind_of("heartrate_2024-10-09.csv") == "heartrate"
    assert kind_of("sleeptime_2024-10-09_2024-11-03.csv") is None


def test_the_real_layout_reads_every_row_and_column(tmp_path: Path) -> None:
    """Zero rows skipped, and each document equal to the API's (digit strings stay text)."""
    contents = read_export(write_real_layout(tmp_path / "export"))

    assert contents.skipped_rows == {}
    assert contents.refused == []
    assert sorted(contents.files) == sorted(name for name, _, _ in LAYOUT.values())
    for kind, (_, _, model) in LAYOUT.items():
        assert getattr(contents.documents, kind) == [
            model.from_dict(doc) for doc in recorded_documents(kind)
        ], kind
    night = next(p for p in contents.documents.sleep if p.type == "long_sleep")
    assert night.sleep_phase_5_min is not None and night.sleep_phase_5_min.isdigit()
    assert night.movement_30_sec is not None and night.movement_30_sec.isdigit()
    assert contents.documents.daily_activity[0].class_5_min is not None


def test_the_real_layout_as_a_zip(tmp_path: Path) -> None:
    root = write_real_layout(tmp_path / "export")
    archive = tmp_path / "oura.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(root.rglob("*.csv")):
            zipped.write(path, str(path.relative_to(root)))
    contents = read_export(archive)
    assert contents.skipped_rows == {}
    assert contents.documents.counts() == read_export(root).documents.counts()


@pytest.mark.freeze_time("2024-12-14T12:00:00+00:00")
async def test_importing_the_real_layout_fills_every_figure(
    recorder_mock: Recorder, hass: HomeAssistant, tmp_path: Path
) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    hass.config.config_dir = str(tmp_path)
    write_real_layout(tmp_path / "oura")

    response = await hass.services.async_call(
        DOMAIN, "import_oura_export", {"path": "oura"}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["skipped_rows"] == {}
    assert response["refused_files"] == []
    assert response["documents"]["sleep"] == 48
    assert response["documents"]["daily_activity"] == 1

    await async_wait_recording_done(hass)
    # The recorded account has no VO2 max or cardiovascular age (an older ring): every other figure.
    absent = {"vo2_max", "cardiovascular_age"}
    ids = {f"lifeops:oura_export_{m.key}" for m in METRICS if m.key not in absent}
    rows = await hass.async_add_executor_job(
        statistics_during_period,
        hass,
        datetime(2000, 1, 1, tzinfo=UTC),
        None,
        ids,
        "hour",
        None,
        {"mean"},
    )
    assert {key for key in ids if rows.get(key)} == ids


def test_a_cell_over_128_kib_is_read(tmp_path: Path) -> None:
    """Python's csv module stops at 128 KiB a cell; the reader allows more, within its cap."""
    met = {"interval": 60.0, "items": [1.25] * 40000, "timestamp": "2024-11-11T04:00:00+01:00"}
    assert len(json.dumps(met)) > 128 * 1024
    doc = {**recorded_documents("daily_activity")[0], "met": met}
    path = tmp_path / "dailyactivity.csv"
    _write_csv(path, [doc])
    contents = read_export(path)
    assert contents.skipped_rows == {}
    assert contents.documents.daily_activity[0].met is not None
    assert len(contents.documents.daily_activity[0].met.items) == 40000


def test_a_cell_over_the_cap_loses_its_row_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "MAX_FIELD_BYTES", 1000)
    path = tmp_path / "dailysleep.csv"
    path.write_text(
        f"id;day;score\r\na;2024-11-01;70\r\nb;2024-11-02;{'9' * 5000}\r\nc;2024-11-03;80\r\n"
    )
    contents = read_export(path)
    assert [d.id for d in contents.documents.daily_sleep] == ["a", "c"]
    assert contents.skipped_rows == {"dailysleep.csv": 1}
    assert csv.field_size_limit() == 128 * 1024  # the csv module's limit is left as it was


def test_a_zip_bomb_is_stopped_by_what_it_unpacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small ZIP unpacking to far more than it declares stops at the cap, not at the end."""
    monkeypatch.setattr(export_module, "MAX_FILE_BYTES", 1024 * 1024)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(
            "heartrate.csv", "timestamp;bpm\r\n" + "2024-11-01T00:00:00Z;60\r\n" * 400000
        )
    assert archive.stat().st_size < 100 * 1024
    with pytest.raises(OuraExportError, match="larger than 1 MB"):
        read_export(archive)


def test_the_whole_export_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_module, "MAX_EXPORT_BYTES", 3000)
    for name in ("dailysleep.csv", "dailyreadiness.csv"):
        (tmp_path / name).write_text("id;day;score\r\n" + "x;2024-11-01;70\r\n" * 100)
    with pytest.raises(OuraExportError, match="unpacks to more than"):
        read_export(tmp_path)


def test_rows_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_module, "MAX_FILE_ROWS", 10)
    (tmp_path / "dailysleep.csv").write_text("id;day;score\r\n" + "x;2024-11-01;70\r\n" * 11)
    with pytest.raises(OuraExportError, match="more than 10 rows"):
        read_export(tmp_path)


def test_symlinked_members_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "dailysleep.csv").write_text("id;day;score\r\nx;2024-11-01;70\r\n")
    export = tmp_path / "export"
    (export / "App Data").mkdir(parents=True)
    (export / "App Data" / "dailyreadiness.csv").write_text("id;day;score\r\nr;2024-11-01;80\r\n")
    os.symlink(outside / "dailysleep.csv", export / "App Data" / "dailysleep.csv")
    os.symlink(outside, export / "linked")
    contents = read_export(export)
    assert contents.documents.daily_sleep == []
    assert [d.id for d in contents.documents.daily_readiness] == ["r"]
    assert contents.refused == [str(Path("App Data") / "dailysleep.csv")]

    archive = tmp_path / "links.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("dailyreadiness.csv", "id;day;score\r\nr;2024-11-01;80\r\n")
        link = zipfile.ZipInfo("dailysleep.csv")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zipped.writestr(link, "../../secret/dailysleep.csv")
    contents = read_export(archive)
    assert contents.refused == ["dailysleep.csv"]
    assert contents.documents.daily_sleep == []


async def test_an_export_too_large_is_a_validation_error(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the bounds refuse reaches the person as the action's translated error."""
    monkeypatch.setattr(export_module, "MAX_FILE_ROWS", 2)
    assert await async_setup_component(hass, DOMAIN, {})
    hass.config.config_dir = str(tmp_path)
    (tmp_path / "dailysleep.csv").write_text("id;day;score\r\n" + "x;2024-11-01;70\r\n" * 3)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "import_oura_export",
            {"path": "dailysleep.csv"},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "oura_export_unreadable"
