"""The notification agent's persistent queue: priorities, quiet hours, dedupe, retries.

Pure logic with the time passed in. Nothing is dropped silently: a pending notification stays
until it is delivered, fails after its last retry, or is dismissed.

With sync, the queue also holds other sites' notifications, mirrored from their records
(`site` names the site; None is this site's own). A mirrored notification is never delivered
here: its status follows its site's record, and it counts for the dedupe, so the same
notification raised here while the other site has it pending (or made it within the dedupe
window) is merged into it rather than sent to the person a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, tzinfo
from enum import IntEnum, StrEnum
import hashlib
from typing import Any, Final
import uuid

from .changes import ChangeHub, NotificationDismissed, NotificationQueued
from .schedule import in_daily_window, next_occurrence


class Priority(IntEnum):
    """1 is urgent (gets through quiet hours), 4 is low."""

    URGENT = 1
    HIGH = 2
    NORMAL = 3
    LOW = 4


class Status(StrEnum):
    """Where a notification is in its life."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    DISMISSED = "dismissed"


# What the notify action takes (and what another site's record may hold).
MAX_TITLE_LENGTH: Final = 120
MAX_MESSAGE_LENGTH: Final = 2000
MAX_URL_LENGTH: Final = 2048
URL_PREFIXES: Final = ("/", "http://", "https://", "homeassistant://")
# Other sites' notifications a queue mirrors at most (a site's own are pruned after a week).
MAX_MIRRORED: Final = 1000

FINISHED = frozenset({Status.DELIVERED, Status.FAILED, Status.DISMISSED})

# How long another site's pending notification stands for the same one here: long enough for
# quiet hours there to end (it is delivered then), not so long that a site switched off with
# one pending (a cabin left for weeks) keeps the same reminder from going out here.
MIRRORED_PENDING_HOLD = timedelta(hours=12)

# What a site's record of its own notification holds; how it is delivered there (targets,
# attempts, errors, retries) stays with that site.
SYNCED_FIELDS: Final = (
    "title",
    "message",
    "priority",
    "agent",
    "url",
    "created",
    "scheduled",
    "status",
    "delivered_at",
    "dedupe_key",
    "count",
    "site",
)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


@dataclass(kw_only=True)
class Notification:
    """One notification and its delivery state."""

    id: str
    title: str
    message: str
    priority: Priority
    agent: str | None
    url: str | None
    targets: tuple[str, ...]
    created: datetime
    scheduled: datetime
    status: Status
    attempts: int
    next_attempt: datetime | None
    last_error: str | None
    delivered_at: datetime | None
    dedupe_key: str
    count: int
    site: str | None = None  # another site's notification, mirrored here; None: this site's

    @property
    def mirrored(self) -> bool:
        """Whether this is another site's notification (never delivered here)."""
        return self.site is not None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-safe copy."""
        return {
            "id": self.id,
            "title": self.title,
            "message": self.message,
            "priority": int(self.priority),
            "agent": self.agent,
            "url": self.url,
            "targets": list(self.targets),
            "created": self.created.isoformat(),
            "scheduled": self.scheduled.isoformat(),
            "status": self.status.value,
            "attempts": self.attempts,
            "next_attempt": _iso(self.next_attempt),
            "last_error": self.last_error,
            "delivered_at": _iso(self.delivered_at),
            "dedupe_key": self.dedupe_key,
            "count": self.count,
            "site": self.site,
        }

    def synced_fields(self, site: str) -> dict[str, Any]:
        """The fields of this site's record of it (`site` is this site's name)."""
        stored = self.as_dict()
        return {key: stored[key] for key in SYNCED_FIELDS} | {"site": site}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Notification:
        """Read a stored notification."""
        return cls(
            id=str(data["id"]),
            title=str(data["title"]),
            message=str(data["message"]),
            priority=Priority(int(data["priority"])),
            agent=data.get("agent"),
            url=data.get("url"),
            targets=tuple(data.get("targets") or ()),
            created=datetime.fromisoformat(data["created"]),
            scheduled=datetime.fromisoformat(data["scheduled"]),
            status=Status(data["status"]),
            attempts=int(data.get("attempts", 0)),
            next_attempt=_parse(data.get("next_attempt")),
            last_error=data.get("last_error"),
            delivered_at=_parse(data.get("delivered_at")),
            dedupe_key=str(data["dedupe_key"]),
            count=int(data.get("count", 1)),
            site=data.get("site"),
        )

    @classmethod
    def from_synced(cls, notification_id: str, fields: Mapping[str, Any]) -> Notification:
        """Another site's notification from its record (`UnreadableRecord` when it cannot be)."""
        site = fields.get("site")
        texts = (fields.get(key) for key in ("title", "message", "dedupe_key"))
        if not isinstance(site, str) or not site or not all(isinstance(v, str) for v in texts):
            raise UnreadableRecord(notification_id)
        try:
            item = cls.from_dict(
                {key: fields.get(key) for key in SYNCED_FIELDS}
                | {"id": notification_id, "count": fields.get("count", 1)}
            )
            for moment in (item.created, item.scheduled, item.delivered_at):
                if moment is not None:
                    _aware(moment)
        except (KeyError, TypeError, ValueError) as err:
            raise UnreadableRecord(notification_id) from err
        if item.count < 1:
            raise UnreadableRecord(notification_id)
        return item


class UnreadableRecord(ValueError):
    """Another site's notification record that cannot be read (named by its id)."""


def default_dedupe_key(agent: str | None, title: str, message: str) -> str:
    """A stable key for "the same notification": agent, title and message."""
    digest = hashlib.sha256("\x1f".join((agent or "", title, message)).encode()).hexdigest()
    return digest[:32]


class NotificationQueue:
    """Notifications waiting for delivery, and the recent ones that finished."""

    def __init__(
        self,
        *,
        tz: tzinfo,
        quiet_hours: tuple[time, time] | None = None,
        dedupe_window: timedelta = timedelta(minutes=10),
        max_attempts: int = 5,
        base_backoff: timedelta = timedelta(seconds=30),
        max_backoff: timedelta = timedelta(minutes=30),
        keep_finished: timedelta = timedelta(days=7),
        changes: ChangeHub | None = None,
    ) -> None:
        """Create an empty queue; new and dismissed notifications are published on `changes`."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.tz = tz
        self.quiet_hours = quiet_hours
        self.dedupe_window = dedupe_window
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.keep_finished = keep_finished
        self._items: dict[str, Notification] = {}
        self.changes = changes

    def set_quiet_hours(self, quiet_hours: tuple[time, time] | None) -> None:
        """Change the quiet hours (None: no quiet hours)."""
        self.quiet_hours = quiet_hours

    def is_quiet(self, now: datetime) -> bool:
        """Whether quiet hours hold non-urgent notifications now."""
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        return in_daily_window(_aware(now).astimezone(self.tz).time(), start, end)

    def add(
        self,
        now: datetime,
        *,
        title: str,
        message: str,
        priority: Priority | int = Priority.NORMAL,
        agent: str | None = None,
        url: str | None = None,
        targets: tuple[str, ...] | list[str] = (),
        scheduled: datetime | None = None,
        dedupe_key: str | None = None,
        notification_id: str | None = None,
    ) -> tuple[Notification, bool]:
        """Queue a notification; returns it and whether it is new (False: a duplicate)."""
        _aware(now)
        if not isinstance(title, str) or not title.strip():
            raise ValueError("title_required")
        if not isinstance(message, str) or not message.strip():
            raise ValueError("message_required")
        level = Priority(int(priority))
        if scheduled is not None:
            _aware(scheduled)
        if notification_id is not None and notification_id in self._items:
            return self._items[notification_id], False
        key = dedupe_key or default_dedupe_key(agent, title, message)
        for existing in self._items.values():
            if existing.dedupe_key != key or existing.status is Status.DISMISSED:
                continue
            age = now - existing.created
            held = existing.status is Status.PENDING and (
                not existing.mirrored or age < MIRRORED_PENDING_HOLD
            )
            if held or age < self.dedupe_window:
                existing.count += 1
                return existing, False
        notification = Notification(
            id=notification_id or uuid.uuid4().hex,
            title=title.strip(),
            message=message.strip(),
            priority=level,
            agent=agent,
            url=url,
            targets=tuple(targets),
            created=now,
            scheduled=scheduled or now,
            status=Status.PENDING,
            attempts=0,
            next_attempt=None,
            last_error=None,
            delivered_at=None,
            dedupe_key=key,
            count=1,
        )
        self._items[notification.id] = notification
        if self.changes is not None:
            self.changes.publish(NotificationQueued(notification))
        return notification, True

    def _sort_key(self, item: Notification) -> tuple[int, datetime, datetime]:
        return (int(item.priority), item.scheduled, item.created)

    def pending(self) -> list[Notification]:
        """Every pending notification, most important first."""
        return sorted(
            (item for item in self._items.values() if item.status is Status.PENDING),
            key=self._sort_key,
        )

    def due(self, now: datetime) -> list[Notification]:
        """Pending notifications of this site to deliver now, most important first."""
        quiet = self.is_quiet(now)
        return [
            item
            for item in self.pending()
            if not item.mirrored
            and item.scheduled <= now
            and (item.next_attempt is None or item.next_attempt <= now)
            and (not quiet or item.priority is Priority.URGENT)
        ]

    def next_wakeup(self, now: datetime) -> datetime | None:
        """The earliest future moment at which a pending notification may become due."""
        moments: list[datetime] = []
        quiet_end: datetime | None = None
        if self.is_quiet(now) and self.quiet_hours is not None:
            quiet_end = next_occurrence(now, self.quiet_hours[1], self.tz)
        for item in self.pending():
            if item.mirrored:
                continue  # delivered by its own site
            ready = max(item.scheduled, item.next_attempt or item.scheduled)
            if item.priority is not Priority.URGENT and quiet_end is not None:
                ready = max(ready, quiet_end)
            if ready > now:
                # Scheduled inside a later quiet window: wake then, due() decides again.
                moments.append(ready)
        return min(moments) if moments else None

    def get(self, notification_id: str) -> Notification | None:
        """A notification by id."""
        return self._items.get(notification_id)

    def _require(self, notification_id: str) -> Notification:
        if notification_id not in self._items:
            raise KeyError(notification_id)
        return self._items[notification_id]

    def mark_delivered(self, notification_id: str, now: datetime) -> Notification:
        """Record a delivery."""
        item = self._require(notification_id)
        item.status = Status.DELIVERED
        item.delivered_at = _aware(now)
        item.next_attempt = None
        return item

    def mark_failed_attempt(self, notification_id: str, now: datetime, error: str) -> Notification:
        """Record a failed delivery: retry later with backoff, or fail after the last attempt."""
        item = self._require(notification_id)
        item.attempts += 1
        item.last_error = error
        if item.attempts >= self.max_attempts:
            item.status = Status.FAILED
            item.next_attempt = None
        else:
            delay = min(self.base_backoff * 2 ** (item.attempts - 1), self.max_backoff)
            item.next_attempt = _aware(now) + delay
        return item

    def dismiss(self, notification_id: str, now: datetime) -> Notification:
        """Dismiss a notification (KeyError when unknown); dismissing twice is harmless."""
        item = self._require(notification_id)
        _aware(now)
        was = item.status
        item.status = Status.DISMISSED
        item.next_attempt = None
        if self.changes is not None and was is not Status.DISMISSED:
            self.changes.publish(NotificationDismissed(item))
        return item

    def merge_synced(self, item: Notification) -> bool:
        """Take another site's notification (`Notification.from_synced`); whether it changed.

        Its fields follow the record, but a dismissal made here stands (the dismissal reaches
        its site by the dedupe key, and its record follows). This site's own are never
        replaced.
        """
        if not item.mirrored:
            raise ValueError("not another site's notification")
        existing = self._items.get(item.id)
        if existing is not None and not existing.mirrored:
            return False
        if existing is not None and existing.status is Status.DISMISSED:
            item = replace(item, status=Status.DISMISSED)
        if existing == item:
            return False
        self._items[item.id] = item
        return True

    def forget_synced(self, notification_id: str) -> bool:
        """Drop another site's notification (its site forgot it); whether there was one."""
        existing = self._items.get(notification_id)
        if existing is None or not existing.mirrored:
            return False
        del self._items[notification_id]
        return True

    def all(self) -> list[Notification]:
        """Every notification kept, newest first."""
        return sorted(self._items.values(), key=lambda item: item.created, reverse=True)

    def prune(self, now: datetime) -> int:
        """Forget finished notifications older than `keep_finished`; pending ones stay."""
        cutoff = _aware(now) - self.keep_finished
        old = [
            key
            for key, item in self._items.items()
            if item.status in FINISHED and (item.delivered_at or item.created) < cutoff
        ]
        for key in old:
            del self._items[key]
        return len(old)

    def as_dict(self) -> dict[str, Any]:
        """The queue, JSON-safe."""
        return {"items": [item.as_dict() for item in self._items.values()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, tz: tzinfo, **kwargs: Any) -> NotificationQueue:
        """Read a stored queue."""
        queue = cls(tz=tz, **kwargs)  # `changes` among them: nothing stored is published
        for raw in data.get("items", []):
            item = Notification.from_dict(raw)
            queue._items[item.id] = item
        return queue

    def snapshot(self) -> list[Notification]:
        """Copies of every notification (for callers that must not mutate the queue)."""
        return [replace(item) for item in self._items.values()]
