"""A name for Home Assistant's time zone that the database server knows.

Servers built with a trimmed tz database (Debian trixie's PostgreSQL, without `tzdata-legacy`)
refuse legacy link names such as `US/Pacific`, which Home Assistant accepts. `resolve` asks the
server about the name itself first; if refused, about the zones whose compiled tz data is
byte-for-byte the same (so they behave the same at every instant), canonical names first; and
last about the zone's POSIX rule (`PST8PDT,M3.2.0,M11.1.0`, from the data's footer), which gives
today's offsets and daylight-saving changes, though not historical ones. UTC if all else fails.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.resources
import logging
from pathlib import Path
from typing import TYPE_CHECKING
import zoneinfo

import asyncpg

if TYPE_CHECKING:
    from .migrate import Conn

_LOGGER = logging.getLogger(__name__)

# Prefixes of the legacy and backward-compatibility names: tried last among equivalents.
_LEGACY = ("US/", "Canada/", "Mexico/", "Brazil/", "Chile/", "Etc/", "SystemV/")
_MAX_CANDIDATES = 6


def _tzif(name: str) -> bytes | None:
    """The compiled tz data of a zone, from the system's tz database or the `tzdata` package."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        return None
    for folder in zoneinfo.TZPATH:
        path = Path(folder, name)
        if path.is_file():
            return path.read_bytes()
    try:
        resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
        return resource.read_bytes() if resource.is_file() else None
    except (ModuleNotFoundError, OSError):
        return None


def _rank(name: str) -> tuple[bool, bool, str]:
    return ("/" not in name, name.startswith(_LEGACY), name)


@functools.lru_cache(maxsize=16)
def candidates(name: str) -> tuple[str, ...]:
    """Names to try for `name`'s zone, best first (blocking: reads the tz database)."""
    data = _tzif(name)
    if data is None:
        return (name,)
    same = sorted(
        (
            other
            for other in zoneinfo.available_timezones()
            if other != name and _tzif(other) == data
        ),
        key=_rank,
    )
    found = [name, *same[: _MAX_CANDIDATES - 1]]
    rule = _posix_rule(data)
    if rule:
        found.append(rule)
    return tuple(dict.fromkeys(found))


def _posix_rule(data: bytes) -> str | None:
    """The POSIX TZ string a version 2+ TZif file ends with (between newlines), if any."""
    if not data.startswith(b"TZif") or data[4:5] < b"2" or not data.endswith(b"\n"):
        return None
    footer = data[:-1].rsplit(b"\n", 1)[-1]
    try:
        rule = footer.decode("ascii")
    except UnicodeDecodeError:
        return None
    return rule if rule and rule.isprintable() else None


async def _known(conn: Conn, name: str) -> bool:
    try:
        await conn.fetchval("SELECT now() AT TIME ZONE $1", name)
    except asyncpg.InvalidParameterValueError:
        return False
    return True


async def resolve(conn: Conn, name: str) -> str:
    """`name` if the server knows it, else the best equivalent it knows; one query if it does."""
    if await _known(conn, name):
        return name
    for candidate in await asyncio.to_thread(candidates, name):
        if candidate != name and await _known(conn, candidate):
            _LOGGER.info("The database does not know time zone %s; using %s", name, candidate)
            return candidate
    _LOGGER.warning("The database knows no name for time zone %s; using UTC", name)
    return "UTC"
