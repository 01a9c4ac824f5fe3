"""Read the files of Oura's own data export, for history older than the API lets LifeOps fetch.

No Home Assistant imports. Oura hands its members their data as a ZIP of one file per kind of
document (daily sleep, sleep periods, readiness, activity, SpO2, stress, heart rate, workouts), as
CSV (comma- or semicolon-separated, a header row of Oura's field names, nested objects written as
JSON in their cell) or as JSON (`{"data": [...]}` as the API answers, or a bare list). This reader
takes such a ZIP, a folder of its files, or one file, recognises each file by its name
(`dailysleep.csv`, `daily_sleep.json`, `DailySleep.csv` all mean daily sleep), reads every row with
the same typed models as the API client, and counts the rows it could not read instead of failing
the whole import on one bad row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import csv
from dataclasses import dataclass, field
import io
import json
from pathlib import Path, PurePosixPath
import re
from typing import Any
import zipfile

from .exceptions import OuraError
from .history import OuraDocuments
from .models import (
    DailyActivity,
    DailyReadiness,
    DailySleep,
    DailySpO2,
    DailyStress,
    HeartRate,
    SleepPeriod,
    Workout,
)

MAX_EXPORT_BYTES = 512 * 1024 * 1024  # a ZIP that unpacks to more is refused (years fit easily)
SUFFIXES = (".csv", ".json")

# Normalised file name -> the document kind (an `OuraDocuments` field) and its parser.
_KINDS: dict[str, tuple[str, Callable[[object], Any]]] = {
    "dailysleep": ("daily_sleep", DailySleep.from_dict),
    "sleep": ("sleep", SleepPeriod.from_dict),
    "sleepmodel": ("sleep", SleepPeriod.from_dict),
    "dailyreadiness": ("daily_readiness", DailyReadiness.from_dict),
    "dailyactivity": ("daily_activity", DailyActivity.from_dict),
    "dailyspo2": ("daily_spo2", DailySpO2.from_dict),
    "dailystress": ("daily_stress", DailyStress.from_dict),
    "heartrate": ("heartrate", HeartRate.from_dict),
    "workout": ("workout", Workout.from_dict),
    "workouts": ("workout", Workout.from_dict),
}

# Fields that stay text in a CSV cell even when they look like numbers.
_TEXT_FIELDS = frozenset(
    {
        "id",
        "day",
        "timestamp",
        "type",
        "activity",
        "intensity",
        "label",
        "source",
        "bedtime_start",
        "bedtime_end",
        "start_datetime",
        "end_datetime",
        "day_summary",
        "sleep_algorithm_version",
    }
)
_INTEGER = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")


class OuraExportError(OuraError):
    """The path is not an Oura export LifeOps can read (the message says why, with no data)."""


@dataclass(slots=True)
class ExportContents:
    """What an export held: its documents, the files read and the rows that could not be read."""

    documents: OuraDocuments = field(default_factory=OuraDocuments)
    files: list[str] = field(default_factory=list)
    skipped_rows: dict[str, int] = field(default_factory=dict)


def kind_of(name: str) -> str | None:
    """The document kind a file holds, from its name; None for a file LifeOps does not read."""
    path = PurePosixPath(name)
    if path.suffix.lower() not in SUFFIXES or path.name.startswith("."):
        return None
    key = re.sub(r"[^a-z0-9]", "", path.stem.lower())
    kind = _KINDS.get(key)
    return None if kind is None else kind[0]


def read_export(path: Path) -> ExportContents:
    """Read a ZIP, a folder or a single file of Oura's export (blocking: run it in an executor)."""
    contents = ExportContents()
    if path.is_dir():
        members = (
            (str(child.relative_to(path)), child.read_bytes)
            for child in sorted(path.rglob("*"))
            if child.is_file() and kind_of(child.name) is not None
        )
        _read_members(contents, members)
    elif path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            infos = [
                info
                for info in archive.infolist()
                if not info.is_dir() and kind_of(info.filename) is not None
            ]
            if sum(info.file_size for info in infos) > MAX_EXPORT_BYTES:
                raise OuraExportError("the export unpacks to more than 512 MB")
            _read_members(
                contents,
                ((info.filename, _reader(archive, info)) for info in infos),
            )
    elif path.is_file():
        if kind_of(path.name) is None:
            raise OuraExportError(f"{path.name} is not a file of Oura's export")
        _read_members(contents, iter([(path.name, path.read_bytes)]))
    else:
        raise OuraExportError("the path does not exist")
    if not contents.files:
        raise OuraExportError("no file of Oura's export was found there")
    return contents


def _reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    return lambda: archive.read(info)


def _read_members(
    contents: ExportContents, members: Iterator[tuple[str, Callable[[], bytes]]]
) -> None:
    for name, read in members:
        kind = kind_of(name)
        if kind is None:
            continue
        parse = _KINDS[re.sub(r"[^a-z0-9]", "", PurePosixPath(name).stem.lower())][1]
        raw = read()
        if len(raw) > MAX_EXPORT_BYTES:
            raise OuraExportError(f"{PurePosixPath(name).name} is larger than 512 MB")
        text = raw.decode("utf-8-sig", errors="replace")
        rows = _json_rows(text) if name.lower().endswith(".json") else _csv_rows(text)
        target: list[Any] = getattr(contents.documents, kind)
        skipped = 0
        for row in rows:
            try:
                target.append(parse(row))
            except OuraError:
                skipped += 1
        contents.files.append(PurePosixPath(name).name)
        if skipped:
            contents.skipped_rows[PurePosixPath(name).name] = skipped


def _json_rows(text: str) -> list[object]:
    try:
        decoded = json.loads(text)
    except ValueError:
        raise OuraExportError("a JSON file of the export is not valid JSON") from None
    if isinstance(decoded, dict):
        decoded = decoded.get("data")
    if not isinstance(decoded, list):
        raise OuraExportError("a JSON file of the export holds no list of documents")
    return decoded


def _csv_rows(text: str) -> list[object]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    return [
        {key.strip(): _cell(key.strip(), value) for key, value in row.items() if key is not None}
        for row in reader
    ]


def _cell(key: str, value: str | None) -> object:
    """A CSV cell as the JSON value the API would have sent."""
    value = (value or "").strip()
    result: object = value
    if value == "":
        result = None
    elif key in _TEXT_FIELDS:
        result = value
    elif _INTEGER.fullmatch(value):
        result = int(value)
    elif _NUMBER.fullmatch(value):
        result = float(value)
    elif value.lower() in ("true", "false"):
        result = value.lower() == "true"
    elif value[0] in "{[":
        with contextlib.suppress(ValueError):
            result = json.loads(value)
    return result
