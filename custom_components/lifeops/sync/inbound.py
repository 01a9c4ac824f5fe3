"""Other sites' records and items, checked as untrusted input before they reach this site.

Whatever the change feed and the records and items reads bring was written by another site, and
a site (or anyone holding a peer secret) may be wrong or hostile. Each collection has its own
validator here, standalone so that whatever merges a collection calls it: it takes the key and
the raw value and returns the value as this site keeps it and None, or None and the reason it is
refused. The limits are the ones the actions and forms that make the same data locally apply, read
from the same constants (`core.xp`, `core.habits`, `core.notifications`, `core.text`), plus what
keeps the store writable: storable text (no lone surrogates), whole numbers that JSON storage
holds, finite floats, times in a sane range.

`Refusals` counts what was refused (for diagnostics) and logs one warning per refused record and
reason (not one per read), at most `MAX_WARNINGS` of them a run.

No Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
import logging
import math
import re
from typing import Any, Final

from ..core import settings as s
from ..core.agents import Agent
from ..core.habits import BUILTIN_IDS, HABIT_ID, HABIT_SCHEDULE, Habit, Schedule, validate_habit
from ..core.notifications import (
    MAX_MESSAGE_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_URL_LENGTH,
    SYNCED_FIELDS,
    URL_PREFIXES,
    Notification,
    Priority,
    Status,
)
from ..core.sites import MAX_SITE_NAME_LENGTH
from ..core.text import MAX_SHORT_TEXT, clean_text, storable
from ..core.work import MAX_SOURCE_LENGTH, WorkSession
from ..core.xp import (
    EARLIEST_EVENT,
    EVENT_TYPE_PATTERN,
    ID_PATTERN,
    LATEST_EVENT,
    MAX_AWARD,
    MAX_DESCRIPTION_LENGTH,
    SYNCED_AHEAD,
    XpEvent,
)

type Checked[T] = tuple[T, None] | tuple[None, str]

MAX_WARNINGS: Final = 20  # warnings a run logs about refused records; later ones at debug
MAX_COUNT: Final = 10**9  # a notification's repeat count
MAX_COLLECTIONS: Final = 32  # collections counted apart
MAX_REMEMBERED: Final = 100_000  # refused keys remembered (beyond: counted again when re-read)
_HABIT_ID: Final = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")  # `core.sites.site_id`'s slugs
_AGENTS: Final = frozenset(agent.value for agent in Agent)
_MAX_INT: Final = 2**53  # JSON storage and every reader hold whole numbers up to this

REASON_NOT_AN_OBJECT: Final = "not_an_object"
REASON_KEY: Final = "invalid_key"
REASON_TIME: Final = "invalid_time"
REASON_TEXT: Final = "invalid_text"
REASON_AMOUNT: Final = "invalid_amount"
REASON_FIELD: Final = "invalid_field"
REASON_TOO_MANY: Final = "too_many"  # beyond what this site keeps of the collection


def _time(value: Any, now: datetime) -> datetime | None:
    """An aware ISO time from EARLIEST_EVENT up to now + SYNCED_AHEAD (before LATEST_EVENT)."""
    if not isinstance(value, str) or not storable(value) or len(value) > MAX_SHORT_TEXT:
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None or moment.utcoffset() is None:
            return None
        if not EARLIEST_EVENT <= moment <= now + SYNCED_AHEAD or moment >= LATEST_EVENT:
            return None
    except (ValueError, OverflowError):
        return None
    return moment


def _whole(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return int(value)


def json_safe(value: Any, depth: int = 0) -> bool:  # noqa: PLR0911
    """Whether a value can be kept in JSON storage.

    Storable text, whole numbers up to 2^53, finite floats; lists and objects of those, shallow.
    """
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -_MAX_INT <= value <= _MAX_INT
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return storable(value)
    if depth >= 8:
        return False
    if isinstance(value, list):
        return all(json_safe(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and storable(k) and json_safe(v, depth + 1) for k, v in value.items()
        )
    return False


# ---- the collections --------------------------------------------------------------------------


def xp_event(key: str | None, value: Any, *, now: datetime) -> Checked[XpEvent]:  # noqa: PLR0911
    """An item `xp/<id>`: an event as `award_xp`, `complete_habit` and the goals log them.

    The id (the item's key too) as an action takes it; a known agent; the event type a slug;
    the amount whole, 0 to `MAX_AWARD`; the description storable, up to 255 characters; the time
    aware, from 2000 to a day ahead of now; the origin and habit storable short texts.
    """
    if not isinstance(value, Mapping):
        return None, REASON_NOT_AN_OBJECT
    event_id = value.get("id")
    if not isinstance(event_id, str) or not ID_PATTERN.fullmatch(event_id):
        return None, REASON_KEY
    if key is not None and key != event_id:
        return None, REASON_KEY
    moment = _time(value.get("time"), now)
    if moment is None:
        return None, REASON_TIME
    amount = _whole(value.get("amount"), 0, MAX_AWARD)
    if amount is None:
        return None, REASON_AMOUNT
    agent, event_type = value.get("agent"), value.get("event_type")
    if not isinstance(agent, str) or agent not in _AGENTS or not isinstance(event_type, str):
        return None, REASON_FIELD
    if not EVENT_TYPE_PATTERN.fullmatch(event_type):
        return None, REASON_FIELD
    description = value.get("description") or ""
    origin = value.get("origin") or ""
    habit_id = value.get("habit_id") or None
    if (
        clean_text(description, MAX_DESCRIPTION_LENGTH) != description
        or clean_text(origin, MAX_SITE_NAME_LENGTH) != origin
        or (
            habit_id is not None
            and (not isinstance(habit_id, str) or not ID_PATTERN.fullmatch(habit_id))
        )
    ):
        return None, REASON_TEXT
    try:
        event = XpEvent(
            id=event_id,
            time=moment,
            agent=str(agent),
            event_type=event_type,
            amount=amount,
            description=description,
            origin=origin,
            habit_id=habit_id,
        )
    except (ValueError, OverflowError):
        return None, REASON_TIME
    return event, None


def habit(key: str, fields: Any) -> Checked[Habit]:
    """A record `habits/<id>`: a habit as the habits form (`validate_habit`) makes it.

    The id a habit id (a slug, not a built-in goal's); name, schedule, XP, grace days and times a
    week within the form's limits.
    """
    if not isinstance(fields, Mapping):
        return None, REASON_NOT_AN_OBJECT
    if not _HABIT_ID.fullmatch(key) or len(key) > MAX_SHORT_TEXT or key in BUILTIN_IDS:
        return None, REASON_KEY
    data = {k: v for k, v in fields.items() if k != HABIT_ID}
    if data.get(HABIT_SCHEDULE) != Schedule.WEEKLY:
        data.pop("times_per_week", None)  # read only for a weekly schedule
    if not json_safe(data):
        return None, REASON_FIELD
    checked, errors = validate_habit(data, habit_id=key)
    if checked is None:
        return None, f"{REASON_FIELD}:{','.join(sorted(errors))}"
    return checked, None


def work_session(key: str, fields: Any, *, now: datetime) -> Checked[WorkSession]:  # noqa: PLR0911
    """A record `work_sessions/<id>`: another site's session.

    Its source storable text as `start_work` or an entity id gives it, start and end times from
    2000 to a day ahead, the end not before the start, its site a site name.
    """
    if not isinstance(fields, Mapping):
        return None, REASON_NOT_AN_OBJECT
    if clean_text(key, MAX_SHORT_TEXT, min_length=1) != key:
        return None, REASON_KEY
    source, site = fields.get("source"), fields.get("site")
    if clean_text(source, MAX_SOURCE_LENGTH, min_length=1) is None:
        return None, REASON_TEXT
    if clean_text(site, MAX_SITE_NAME_LENGTH, min_length=1) is None:
        return None, REASON_TEXT
    start = _time(fields.get("start"), now)
    end_value = fields.get("end")
    end = _time(end_value, now) if end_value is not None else None
    if start is None or (end_value is not None and (end is None or end < start)):
        return None, REASON_TIME
    scheduled = fields.get("scheduled", False)
    if not isinstance(scheduled, bool):
        return None, REASON_FIELD
    return (
        WorkSession(
            id=key, start=start, end=end, source=str(source), scheduled=scheduled, site=str(site)
        ),
        None,
    )


def notification(key: str, fields: Any, *, now: datetime) -> Checked[Notification]:  # noqa: PLR0911
    """A record `notifications/<id>`: another site's notification, as `notify` takes one.

    Title and message storable and as long as `notify` allows, a priority 1-4, a known agent
    (or none), a URL as `notify` takes it, aware times from 2000 to a day ahead, a known status,
    a short dedupe key, a whole count from 1, a site name.
    """
    if not isinstance(fields, Mapping):
        return None, REASON_NOT_AN_OBJECT
    if clean_text(key, MAX_SHORT_TEXT, min_length=1) != key:
        return None, REASON_KEY
    values = {field: fields.get(field) for field in SYNCED_FIELDS}
    if (
        clean_text(values["title"], MAX_TITLE_LENGTH, min_length=1) is None
        or clean_text(values["message"], MAX_MESSAGE_LENGTH, min_length=1) is None
        or clean_text(values["dedupe_key"], MAX_SHORT_TEXT, min_length=1) is None
        or clean_text(values["site"], MAX_SITE_NAME_LENGTH, min_length=1) is None
    ):
        return None, REASON_TEXT
    url = values["url"]
    if url is not None and (
        clean_text(url, MAX_URL_LENGTH) is None or not str(url).startswith(URL_PREFIXES)
    ):
        return None, REASON_TEXT
    agent = values["agent"]
    if agent is not None and (not isinstance(agent, str) or agent not in _AGENTS):
        return None, REASON_FIELD
    if _whole(values["priority"], Priority.URGENT, Priority.LOW) is None:
        return None, REASON_FIELD
    if not isinstance(values["status"], str) or values["status"] not in set(Status):
        return None, REASON_FIELD
    count = fields.get("count", 1)
    if _whole(count, 1, MAX_COUNT) is None:
        return None, REASON_FIELD
    for field in ("created", "scheduled"):
        if _time(values[field], now) is None:
            return None, REASON_TIME
    if values["delivered_at"] is not None and _time(values["delivered_at"], now) is None:
        return None, REASON_TIME
    try:
        item = Notification.from_synced(key, {**values, "count": count})
    except ValueError:
        return None, REASON_FIELD
    return item, None


def dismissal(key: str, value: Any, *, now: datetime) -> Checked[datetime]:
    """A field `notification_dismissals/<dedupe key>.dismissed_at`: when, aware, in range."""
    if clean_text(key, MAX_SHORT_TEXT, min_length=1) != key:
        return None, REASON_KEY
    moment = _time(value, now)
    if moment is None:
        return None, REASON_TIME
    return moment, None


def settings_fields(
    remote: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Fields of `settings/person`, checked as the options form checks them, over `current`.

    Taken together when they pass together (two fields may only make sense with each other: a
    new bedtime and wake time); otherwise the fields the check names are refused and the rest
    returned (the caller checks those again with the current settings).
    """
    refused: dict[str, str] = {
        field: REASON_FIELD for field, value in remote.items() if not json_safe(value)
    }
    take = {field: value for field, value in remote.items() if field not in refused}
    settings, errors = s.validate({**current, **take})
    if settings is None:
        for field, error in errors.items():
            if field in take:
                del take[field]
                refused[field] = f"{REASON_FIELD}:{error}"
    return take, refused


def agent_switches(remote: Mapping[str, Any]) -> tuple[dict[str, bool], dict[str, str]]:
    """Fields of `settings/agents`: an agent's switch is true or false; other agents' unknown."""
    take: dict[str, bool] = {}
    refused: dict[str, str] = {}
    for field, value in remote.items():
        if field not in _AGENTS:
            refused[field] = REASON_KEY
        elif not isinstance(value, bool):
            refused[field] = REASON_FIELD
        else:
            take[field] = value
    return take, refused


# ---- counting and telling -----------------------------------------------------------------------


def _shown(text: str) -> str:
    """Text as it can be logged (a lone surrogate escaped)."""
    return text if storable(text) else text.encode("utf-8", "backslashreplace").decode()


def readable_change(collection: str, key: str) -> bool:
    """Whether a change's collection and key are text this site can keep and ask for."""
    return storable(collection) and storable(key)


class Refusals:
    """What was refused, per collection: counted once per record and said once in the log."""

    def __init__(self, logger: logging.Logger, site: str) -> None:
        """Count for one site (named in the warnings)."""
        self._logger = logger
        self._site = site
        self._said: set[tuple[str, str, str]] = set()  # (collection, key, reason) logged
        self._counted: set[tuple[str, str]] = set()
        self.counts: dict[str, int] = {}
        self._warned = 0

    def refuse(self, collection: str, key: str, reason: str) -> None:
        """Note a refused record or item: counted once per key, logged once per key and reason."""
        collection = _shown(collection)[:80]
        if collection not in self.counts and len(self.counts) >= MAX_COLLECTIONS:
            collection = "(other)"  # a peer inventing collections does not grow this
        said = (collection, key, reason)
        if said in self._said:
            return
        if (collection, key) not in self._counted:
            self.counts[collection] = self.counts.get(collection, 0) + 1
        if len(self._said) < MAX_REMEMBERED:
            self._said.add(said)
            self._counted.add((collection, key))
        shown = _shown(key)
        if self._warned < MAX_WARNINGS:
            self._warned += 1
            self._logger.warning(
                "Skipping another site's %s record %r for %s: %s%s",
                collection,
                shown[:80],
                self._site,
                reason,
                ""
                if self._warned < MAX_WARNINGS
                else " (further ones are counted in the diagnostics and logged at debug level)",
            )
        else:
            self._logger.debug(
                "Skipping another site's %s record %r: %s", collection, shown[:80], reason
            )

    def as_dict(self) -> dict[str, int]:
        """Refused records per collection, for diagnostics."""
        return dict(sorted(self.counts.items()))
