"""One adapter per synced collection (see `base.Adapter`); adding a collection adds one here."""

from __future__ import annotations

from .base import Adapter, Link
from .habits import Habits
from .notifications import Notifications
from .settings import AgentSwitches, PersonSettings
from .work import WorkLog
from .xp import XpLog


def make_adapters(link: Link) -> list[Adapter]:
    """The synced collections in the order the manager calls them (long-term rows apart)."""
    return [
        PersonSettings(link),
        AgentSwitches(link),
        XpLog(link),
        Habits(link),
        WorkLog(link),
        Notifications(link),
    ]


__all__ = ["Adapter", "Link", "make_adapters"]
