"""The change hub: what the agents' state objects changed, told to whoever subscribed, at once.

One hub per site entry. The state objects (work tracker, screen-time tracker, XP log, habits,
notification queue) publish a typed change on it as they change; the long-term store (and
anyone else) subscribes to the kinds it wants instead of comparing the state objects with what
it saw before. Synchronous and in-process: `publish` calls each subscriber in turn before it
returns, and costs a dictionary lookup when nobody listens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .habits import Habit
    from .notifications import Notification
    from .work import WorkSession
    from .xp import XpEvent

_LOGGER = logging.getLogger(__name__)


class Change:
    """Base of every change (subscribe to it to hear them all)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class WorkSessionChanged(Change):
    """A session opened, or went on again (a source back within the join gap); `end` is None."""

    session: WorkSession


@dataclass(frozen=True, slots=True)
class WorkSessionClosed(Change):
    """A session of this site ended; a continued session closes again, under the same id."""

    session: WorkSession


@dataclass(frozen=True, slots=True)
class ScreenTimeInterval(Change):
    """A screen's span of use ended (not time logged by hand)."""

    source: str
    category: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class XpEventAdded(Change):
    """An event new to the XP log (earned here or merged from another site)."""

    event: XpEvent


@dataclass(frozen=True, slots=True)
class HabitChanged(Change):
    """A habit was created or changed (`habit`), or deleted (`habit` None)."""

    habit_id: str
    habit: Habit | None


@dataclass(frozen=True, slots=True)
class NotificationQueued(Change):
    """A new notification waits for delivery (a duplicate only counts up, and is not one)."""

    notification: Notification


@dataclass(frozen=True, slots=True)
class NotificationDismissed(Change):
    """A notification was dismissed."""

    notification: Notification


type Subscriber = Callable[[Any], None]


class ChangeHub:
    """Subscribers by change kind; `publish` calls those of the change's kind, then of `Change`.

    A subscriber that raises is logged and the others still hear the change: one listener's
    bug never loses another's rows. Subscribing or unsubscribing while a change is published
    takes effect from the next change.
    """

    __slots__ = ("_subscribers",)

    def __init__(self) -> None:
        """Start with nobody listening."""
        self._subscribers: dict[type[Change], tuple[Subscriber, ...]] = {}

    def subscribe[C: Change](
        self, kind: type[C], callback: Callable[[C], None]
    ) -> Callable[[], None]:
        """Call `callback` with every change of `kind` (`Change`: all); returns the unsubscriber.

        Unsubscribing twice is harmless.
        """
        self._subscribers[kind] = (*self._subscribers.get(kind, ()), callback)

        def unsubscribe() -> None:
            current = self._subscribers.get(kind, ())
            if callback in current:
                kept = list(current)
                kept.remove(callback)
                if kept:
                    self._subscribers[kind] = tuple(kept)
                else:
                    del self._subscribers[kind]

        return unsubscribe

    def publish(self, change: Change) -> None:
        """Tell the subscribers of the change's kind, then those of every change."""
        subscribers = self._subscribers
        if not subscribers:
            return
        # Both lists as they are now: who subscribes meanwhile hears the next change.
        callbacks = (*subscribers.get(type(change), ()), *subscribers.get(Change, ()))
        for callback in callbacks:
            try:
                callback(change)
            except Exception:
                _LOGGER.exception("A change subscriber failed on %s", type(change).__name__)

    def __len__(self) -> int:
        """How many subscriptions there are."""
        return sum(len(callbacks) for callbacks in self._subscribers.values())
