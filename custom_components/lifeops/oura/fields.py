"""Typed reads from Oura's JSON, shared by every document class.

Only a document's identity is required; any other field of the wrong JSON type is left out (None)
and logged at debug level, so one odd field loses that field and not the document (see `models`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
import logging
import math
from typing import TypeGuard

from .exceptions import OuraPayloadError

_LOGGER = logging.getLogger(__name__)


class Fields:
    """Typed reads from one JSON object; errors name the document and the field, never a value.

    A document's identity (`required_*`) must be right or the document is refused. Any other
    field of the wrong type is left out (None) and the rest of the document kept: one odd field
    from Oura loses that field, not the document or its page.
    """

    __slots__ = ("_raw", "_what")

    def __init__(self, raw: object, what: str) -> None:
        if not isinstance(raw, Mapping):
            raise OuraPayloadError(f"{what} is not a JSON object")
        self._raw: Mapping[str, object] = raw
        self._what = what

    def _wrong(self, key: str, expected: str) -> OuraPayloadError:
        return OuraPayloadError(f"{self._what}.{key} is not {expected}")

    def _present(self, key: str) -> None:
        if self._raw.get(key) is None:
            raise OuraPayloadError(f"{self._what}.{key} is missing")

    def _lenient[T](self, read: Callable[[str], T | None], key: str) -> T | None:
        try:
            return read(key)
        except OuraPayloadError as err:
            _LOGGER.debug("Left out of an Oura document: %s", err)
            return None

    def _text(self, key: str) -> str | None:
        value = self._raw.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self._wrong(key, "a string")

    def text(self, key: str) -> str | None:
        """A string field, or None."""
        return self._lenient(self._text, key)

    def required_text(self, key: str) -> str:
        """A string field the document cannot do without."""
        self._present(key)
        return self._text(key) or ""

    def _whole(self, key: str) -> int | None:
        value = self._raw.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise self._wrong(key, "an integer")

    def whole(self, key: str) -> int | None:
        """An integer field (a whole float counts), or None."""
        return self._lenient(self._whole, key)

    def required_whole(self, key: str) -> int:
        """An integer field the document cannot do without."""
        self._present(key)
        value = self._whole(key)
        return 0 if value is None else value

    def _number(self, key: str) -> float | None:
        value = self._raw.get(key)
        if value is None:
            return None
        if is_number(value):
            return float(value)
        raise self._wrong(key, "a number")

    def number(self, key: str) -> float | None:
        """A finite number field, or None."""
        return self._lenient(self._number, key)

    def _flag(self, key: str) -> bool | None:
        value = self._raw.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self._wrong(key, "true or false")

    def flag(self, key: str) -> bool | None:
        """A true/false field, or None."""
        return self._lenient(self._flag, key)

    def _numbers(self, key: str) -> tuple[float | None, ...] | None:
        value = self._raw.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(v is None or is_number(v) for v in value):
            raise self._wrong(key, "a list of numbers")
        return tuple(None if v is None else float(v) for v in value)

    def numbers(self, key: str) -> tuple[float | None, ...]:
        """A list of numbers (gaps None); empty when absent or wrong."""
        return self._lenient(self._numbers, key) or ()

    def _day(self, key: str) -> date | None:
        value = self._text(key)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self._wrong(key, "an ISO date") from None

    def day(self, key: str) -> date | None:
        """An ISO date field, or None."""
        return self._lenient(self._day, key)

    def required_day(self, key: str) -> date:
        """An ISO date field the document cannot do without."""
        self._present(key)
        value = self._day(key)
        assert value is not None
        return value

    def _moment(self, key: str) -> datetime | None:
        value = self._text(key)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self._wrong(key, "an ISO date-time") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def moment(self, key: str) -> datetime | None:
        """An ISO date-time field, timezone-aware (UTC when Oura gave no offset), or None."""
        return self._lenient(self._moment, key)

    def required_moment(self, key: str) -> datetime:
        """An ISO date-time field the document cannot do without."""
        self._present(key)
        value = self._moment(key)
        assert value is not None
        return value

    def nested[T](self, key: str, parse: Callable[[object], T]) -> T | None:
        """A nested object built by `parse`, or None when absent or unreadable."""
        value = self._raw.get(key)
        if value is None:
            return None
        try:
            return parse(value)
        except OuraPayloadError as err:
            _LOGGER.debug("Left out of an Oura document: %s.%s: %s", self._what, key, err)
            return None


def unless[T: (int, float)](value: T | None, marker: T) -> T | None:
    """None where Oura wrote its no-value marker."""
    return None if value == marker else value


def is_number(value: object) -> TypeGuard[int | float]:
    """Whether a JSON value is a finite number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
