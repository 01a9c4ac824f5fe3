"""Text that can be stored: valid Unicode (no lone surrogates), within a length.

Python strings may hold lone surrogates (an unpaired U+D800 to U+DFFF, from a JSON escape or a
caller); they cannot be encoded as UTF-8, so Home Assistant's storage fails to write a store that
holds one ("Failed to serialize to JSON"), and every later change to it is lost at restart. Every
text that LifeOps keeps, whether a local action or another site (through sync) gave it, is checked
here first.
"""

from __future__ import annotations

from typing import Any, Final

#: Ids, keys, sources and categories given to the actions (and kept from other sites).
MAX_SHORT_TEXT: Final = 64


def storable(text: str) -> bool:
    """Whether a string encodes as UTF-8 (it holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_text(value: Any, max_length: int, *, min_length: int = 0) -> str | None:
    """`value` stripped, when it is a storable string of `min_length` to `max_length` characters.

    None otherwise (not a string, a lone surrogate, too long or too short).
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not min_length <= len(text) <= max_length or not storable(text):
        return None
    return text
