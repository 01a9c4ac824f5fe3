r"""JSON from the wire, strictly: valid UTF-8, no lone surrogates, no NaN, bounded depth and digits.

Python's ``json`` takes bytes with encoded surrogates (it decodes with ``surrogatepass``) and
escapes such as ``"\ud800"`` that make a string no UTF-8 encoder can write back; it raises
``RecursionError`` for very deep documents and ``ValueError`` for integers longer than 4300
digits. :func:`loads` turns all of these into one :class:`JsonTextError` (a ``ValueError``), so a
request carrying one is answered 400 and nothing of it is used.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: The deepest nesting of a value (a record's field, an item) taken from a client or a peer.
MAX_DEPTH = 64

#: A ``\\uD800``-``\\uDFFF`` escape in the text: only then can the decoded document hold a
#: surrogate, so only then is it walked (a valid pair, as ``ensure_ascii`` writes emoji, is fine).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class JsonTextError(ValueError):
    """The bytes are not strict JSON text."""


def _reject_constant(name: str) -> None:
    raise JsonTextError(f"{name} is not JSON")


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a code point UTF-8 cannot encode (a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_strings(doc: Any) -> None:
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if has_lone_surrogate(value):
                raise JsonTextError("a string holds a lone surrogate")
        elif isinstance(value, dict):
            for key, item in value.items():
                if has_lone_surrogate(key):
                    raise JsonTextError("a key holds a lone surrogate")
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)


def within_depth(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a decoded value nests at most ``limit`` containers deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if type(item) is dict else item if type(item) is list else None
        if children is None:
            continue
        if level > limit:
            return False
        stack.extend((c, level + 1) for c in children if type(c) is dict or type(c) is list)
    return True


def loads(data: bytes) -> Any:
    """Decode strict JSON text, or raise :class:`JsonTextError`."""
    try:
        text = data.decode("utf-8")  # strict: encoded surrogates are invalid UTF-8 too
    except UnicodeDecodeError as err:
        raise JsonTextError(f"not UTF-8: {err.reason} at byte {err.start}") from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise JsonTextError("nested too deeply") from None
    except JsonTextError:
        raise
    except ValueError as err:  # JSONDecodeError, or an integer of more than 4300 digits
        raise JsonTextError(f"not JSON: {str(err)[:200]}") from None
    if _SURROGATE_ESCAPE.search(data):
        _check_strings(doc)
    return doc
