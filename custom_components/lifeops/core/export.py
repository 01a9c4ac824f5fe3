"""The privacy export: one versioned JSON document with everything LifeOps holds about a person.

Pure logic: building the document from what the store holds, checking one that is read back
(every section must load with the same readers the agents use, before anything changes), and
counting what a document holds (what `purge_data` says it deleted). The format is documented in
docs/privacy.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sized
from datetime import UTC, datetime
import re
from typing import Any, Final

from .habits import Habit
from .notifications import NotificationQueue
from .screen_time import ScreenTimeLimit, ScreenTimeTracker
from .settings import Settings
from .sleep import SleepState
from .work import WorkAlerts, WorkTracker
from .xp import XpLog

FORMAT: Final = "lifeops_export"
VERSION: Final = 1
# The store's sections, in the order the document lists them.
SECTIONS: Final = (
    "enabled",
    "sleep",
    "work",
    "screen_time",
    "notifications",
    "gamification",
    "scene_snapshot",
)
# Keys that would hold a credential anywhere in a document: never exported, never imported.
SECRET_KEYS: Final = frozenset(
    {
        "access_token",
        "api_key",
        "client_secret",
        "password",
        "refresh_token",
        "secret",
        "sync_secret",
        "token",
        "webhook_id",
    }
)
# A file name in the config folder: no folders, no hidden files.
FILE_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\.json$")

ERROR_NOT_AN_EXPORT: Final = "import_not_an_export"
ERROR_VERSION: Final = "import_unsupported_version"
ERROR_SECTION: Final = "import_invalid_section"


class ExportError(ValueError):
    """A document that cannot be imported; `key` says why, `section` where."""

    def __init__(self, key: str, section: str = "-") -> None:
        """Name the reason and the section."""
        super().__init__(key, section)
        self.key = key
        self.section = section


def without_secrets(value: Any) -> Any:
    """A copy of `value` with every credential key left out, at any depth."""
    if isinstance(value, Mapping):
        return {key: without_secrets(item) for key, item in value.items() if key not in SECRET_KEYS}
    if isinstance(value, list | tuple):
        return [without_secrets(item) for item in value]
    return value


def file_name(site: str, now: datetime) -> str:
    """The default name of an export: `lifeops_export_<site>_<UTC timestamp>.json`."""
    safe_site = re.sub(r"[^A-Za-z0-9_-]", "_", site)[:40] or "site"
    return f"lifeops_export_{safe_site}_{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"


def build(
    *,
    site: str,
    title: str,
    node_id: str,
    settings: Mapping[str, Any],
    state: Mapping[str, Any],
    now: datetime,
    lifeops_version: str,
) -> dict[str, Any]:
    """The export document of one site (see docs/privacy.md)."""
    return without_secrets(  # type: ignore[no-any-return]
        {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": now.isoformat(),
            "lifeops_version": lifeops_version,
            "site": {"site": site, "title": title, "node_id": node_id},
            "settings": dict(settings),
            "state": {key: state[key] for key in SECTIONS if state.get(key) is not None},
        }
    )


def _check_gamification(data: Any) -> None:
    XpLog.from_dict(data.get("log") or {})
    for habit in data.get("habits") or ():
        Habit.from_dict(habit)


def _check_work(data: Any) -> None:
    WorkTracker.from_dict(data.get("tracker") or {})
    WorkAlerts.from_dict(data.get("alerts") or {})


def _check_screen_time(data: Any) -> None:
    ScreenTimeTracker.from_dict(data.get("tracker") or {})
    ScreenTimeLimit.from_dict(data.get("limit") or {})


def _check_mapping(data: Any) -> None:
    if not isinstance(data, Mapping):
        raise TypeError("not a mapping")


_CHECKS: Final[dict[str, Callable[[Any], object]]] = {
    "enabled": lambda data: {str(key): bool(value) for key, value in data.items()},
    "sleep": lambda data: SleepState.from_dict(data),
    "work": _check_work,
    "screen_time": _check_screen_time,
    "notifications": lambda data: NotificationQueue.from_dict(data, tz=UTC),
    "gamification": _check_gamification,
    "scene_snapshot": _check_mapping,
}


def read(document: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a document read back; returns its settings (as options) and its state sections.

    Raises ExportError naming the first problem; nothing is changed by reading.
    """
    if not isinstance(document, Mapping) or document.get("format") != FORMAT:
        raise ExportError(ERROR_NOT_AN_EXPORT)
    if document.get("version") != VERSION:
        raise ExportError(ERROR_VERSION, str(document.get("version")))
    settings = document.get("settings")
    state = document.get("state")
    if not isinstance(settings, Mapping):
        raise ExportError(ERROR_SECTION, "settings")
    if not isinstance(state, Mapping) or not set(state) <= set(SECTIONS):
        raise ExportError(ERROR_SECTION, "state")
    try:
        options = Settings.from_options(settings).as_options()
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ExportError(ERROR_SECTION, "settings") from err
    for section, value in state.items():
        try:
            _check_mapping(value)
            _CHECKS[section](value)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
            raise ExportError(ERROR_SECTION, section) from err
    return options, without_secrets(dict(state))


def _length(value: Any) -> int:
    return len(value) if isinstance(value, Sized) and not isinstance(value, str) else 0


def counts(state: Mapping[str, Any]) -> dict[str, int]:
    """How many records of each kind a store's sections hold."""
    work = state.get("work") or {}
    screen = (state.get("screen_time") or {}).get("tracker") or {}
    gamification = state.get("gamification") or {}
    notifications = state.get("notifications") or {}
    return {
        "work_sessions": _length((work.get("tracker") or {}).get("sessions")),
        "screen_time_spans": _length(screen.get("spans")),
        "screen_time_logs": _length(screen.get("logs")),
        "xp_events": _length((gamification.get("log") or {}).get("events")),
        "habits": _length(gamification.get("habits")),
        "notifications": _length(notifications.get("items")),
    }
