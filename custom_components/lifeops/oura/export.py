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

from collections.abc import Callable, Generator, Iterator
import contextlib
import csv
from dataclasses import dataclass, field
from functools import partial
import io
import json
from pathlib import Path, PurePosixPath
import re
import stat
from typing import IO, Any
import zipfile

from .exceptions import OuraError
from .history import OuraDocuments
from .models import DailyActivity, DailySpO2, DailyStress, HeartRate, Workout
from .more_documents import DailyCardiovascularAge, VO2Max
from .sleep_documents import DailyReadiness, DailySleep, SleepPeriod

# Caps a real export fits in with room to spare: ten years of 5-minute heart rate is about a
# million rows and 60 MB; a member's largest cell (a day's MET minutes, as JSON) a few kilobytes.
MAX_EXPORT_BYTES = 512 * 1024 * 1024  # read from all files together (counted as read, not declared)
MAX_FILE_BYTES = 256 * 1024 * 1024  # read from one file
MAX_FILE_ROWS = 2_000_000  # rows of one file
MAX_FIELD_BYTES = 4 * 1024 * 1024  # one CSV cell (Python's csv module stops at 128 KiB by default)
SUFFIXES = (".csv", ".json")
_MB = 1024 * 1024

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
    "vo2max": ("vo2_max", VO2Max.from_dict),
    "dailycardiovascularage": ("daily_cardiovascular_age", DailyCardiovascularAge.from_dict),
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
        # Per-interval codes: all digits, but text ("4432221..."), as the API sends them.
        "sleep_phase_5_min",
        "movement_30_sec",
        "class_5_min",
        "recommendation",
        "status",
    }
)
_INTEGER = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")


class OuraExportError(OuraError):
    """The path is not an Oura export LifeOps can read (the message says why, with no data)."""


@dataclass(slots=True)
class ExportContents:
    """What an export held: its documents, the files read and the rows that could not be read.

    `refused` names members that were not read because they are symbolic links: an export is
    plain files, and a link could point anywhere on the machine.
    """

    documents: OuraDocuments = field(default_factory=OuraDocuments)
    files: list[str] = field(default_factory=list)
    skipped_rows: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)


# Oura names some files after the range they cover: `sleep_2024-10-09_2024-11-03.csv`.
_DATE_RANGE = re.compile(r"[_ -]\d{4}-\d{2}-\d{2}([_ -]\d{4}-\d{2}-\d{2})?$")


def _key(name: str) -> str:
    stem = _DATE_RANGE.sub("", PurePosixPath(name).stem.lower())
    return re.sub(r"[^a-z0-9]", "", stem)


def kind_of(name: str) -> str | None:
    """The document kind a file holds, from its name; None for a file LifeOps does not read."""
    path = PurePosixPath(name)
    if path.suffix.lower() not in SUFFIXES or path.name.startswith("."):
        return None
    kind = _KINDS.get(_key(name))
    return None if kind is None else kind[0]


type _Opener = Callable[[], IO[bytes]]


def read_export(path: Path) -> ExportContents:
    """Read a ZIP, a folder or a single file of Oura's export (blocking: run it in an executor)."""
    contents = ExportContents()
    budget = _Budget(MAX_EXPORT_BYTES)
    if path.is_dir():
        members: list[tuple[str, _Opener]] = []
        for child in sorted(path.rglob("*")):
            if kind_of(child.name) is None:
                continue
            relative = child.relative_to(path)
            if any(p.is_symlink() for p in (child, *child.parents) if path in p.parents):
                contents.refused.append(str(relative))
            elif child.is_file():
                members.append((str(relative), _opener(child)))
        _read_members(contents, members, budget)
    elif path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = []
            for info in archive.infolist():
                if info.is_dir() or kind_of(info.filename) is None:
                    continue
                if stat.S_ISLNK(info.external_attr >> 16):
                    contents.refused.append(info.filename)
                else:
                    members.append((info.filename, partial(archive.open, info)))
            _read_members(contents, members, budget)
    elif path.is_file():
        if kind_of(path.name) is None:
            raise OuraExportError(f"{path.name} is not a file of Oura's export")
        _read_members(contents, [(path.name, _opener(path))], budget)
    else:
        raise OuraExportError("the path does not exist")
    if not contents.files:
        raise OuraExportError("no file of Oura's export was found there")
    return contents


def _opener(path: Path) -> _Opener:
    return lambda: path.open("rb")


class _Budget:
    """Bytes the whole export may still unpack to."""

    __slots__ = ("left",)

    def __init__(self, total: int) -> None:
        self.left = total


class _Bounded(io.RawIOBase):
    """A binary stream that refuses to give more than its file's and the export's share.

    The sizes a ZIP declares are not trusted: what counts is what is actually unpacked.
    """

    def __init__(self, raw: IO[bytes], name: str, budget: _Budget) -> None:
        super().__init__()
        self._raw = raw
        self._name = name
        self._budget = budget
        self._left = MAX_FILE_BYTES

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(min(len(view), self._left + 1, self._budget.left + 1))
        self._left -= len(data)
        self._budget.left -= len(data)
        if self._left < 0:
            raise OuraExportError(f"{self._name} is larger than {MAX_FILE_BYTES // _MB} MB")
        if self._budget.left < 0:
            raise OuraExportError(f"the export unpacks to more than {MAX_EXPORT_BYTES // _MB} MB")
        view[: len(data)] = data
        return len(data)


def _read_members(
    contents: ExportContents, members: list[tuple[str, _Opener]], budget: _Budget
) -> None:
    for name, open_member in members:
        kind = kind_of(name)
        if kind is None:
            continue
        file_name = PurePosixPath(name).name
        parse = _KINDS[_key(name)][1]
        target: list[Any] = getattr(contents.documents, kind)
        with open_member() as raw:
            stream = io.BufferedReader(_Bounded(raw, file_name, budget))
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
            rows = _json_rows(text) if name.lower().endswith(".json") else _csv_rows(text)
            # Closed however the loop ends: the CSV reader restores the csv module's limit.
            with contextlib.closing(rows):
                skipped = _parse_rows(rows, parse, target, file_name)
        contents.files.append(file_name)
        if skipped:
            contents.skipped_rows[file_name] = skipped


def _parse_rows(
    rows: Iterator[object], parse: Callable[[object], Any], target: list[Any], file_name: str
) -> int:
    """Parse every row into `target`; returns how many rows could not be read."""
    skipped = 0
    for count, row in enumerate(rows, 1):
        if count > MAX_FILE_ROWS:
            raise OuraExportError(f"{file_name} has more than {MAX_FILE_ROWS} rows")
        if row is None:
            skipped += 1
            continue
        try:
            target.append(parse(row))
        except OuraError:
            skipped += 1
    return skipped


def _json_rows(text: IO[str]) -> Generator[object]:
    try:
        decoded = json.loads(text.read())
    except ValueError:
        raise OuraExportError("a JSON file of the export is not valid JSON") from None
    if isinstance(decoded, dict):
        decoded = decoded.get("data")
    if not isinstance(decoded, list):
        raise OuraExportError("a JSON file of the export holds no list of documents")
    yield from decoded


def _csv_rows(text: IO[str]) -> Generator[dict[str, object] | None]:
    """Each row as the JSON object the API would have sent; None for a row that cannot be read.

    Oura writes `;`-separated files (older tools wrote `,`): the header line decides.
    """
    header = text.readline()
    delimiter = ";" if header.count(";") > header.count(",") else ","
    names = [name.strip() for name in next(csv.reader([header], delimiter=delimiter), [])]
    with _field_limit(MAX_FIELD_BYTES):
        reader = csv.reader(text, delimiter=delimiter)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                # A cell over the limit or broken quoting: that row is lost, not the file.
                yield None
                continue
            if not cells:
                continue
            yield {key: _cell(key, value) for key, value in zip(names, cells, strict=False) if key}


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """Let the csv module read cells up to `limit` characters while an export is read."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


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
