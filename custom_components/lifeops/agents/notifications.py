"""The notification agent: a persistent queue delivered through the person's notify targets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ..const import LOGGER
from ..core.agents import Agent
from ..core.changes import ChangeHub
from ..core.notifications import Notification, NotificationQueue, Priority
from ..core.settings import Settings
from ..data import LifeOpsConfigEntry
from ..store import LifeOpsStore
from ..texts import async_notification_text
from .base import AgentController

STORE_KEY = "notifications"


def fallback_id(notification: Notification) -> str:
    """The persistent notification that stands in when a target fails."""
    return f"lifeops_{notification.id}"


class NotificationsController(AgentController):
    """Queue, hold through quiet hours, deliver, retry, fall back; never drop silently."""

    agent = Agent.NOTIFICATIONS

    def __init__(
        self,
        hass: HomeAssistant,
        entry: LifeOpsConfigEntry,
        store: LifeOpsStore,
        settings: Settings,
        changes: ChangeHub,
    ) -> None:
        """Load the queue from the store."""
        super().__init__(hass, entry, store)
        stored = store.data.get(STORE_KEY)
        self.queue = (
            NotificationQueue.from_dict(stored, tz=self.tz, changes=changes)
            if stored
            else NotificationQueue(tz=self.tz, changes=changes)
        )
        self.queue.set_quiet_hours((settings.quiet_hours_start, settings.quiet_hours_end))
        self._processing = False

    def as_dict(self) -> Any:
        """The queue, as stored."""
        return self.queue.as_dict()

    async def async_start(self) -> None:
        """Deliver whatever became due while Home Assistant was down."""
        await super().async_start()
        self.entry.async_create_task(self.hass, self.async_process(), "lifeops notifications")

    async def async_notify(self, **fields: Any) -> tuple[Notification, bool]:
        """Queue a notification (see NotificationQueue.add) and deliver it when it is due."""
        notification, created = self.queue.add(dt_util.utcnow(), **fields)
        self.async_changed()
        await self.async_process()
        return notification, created

    async def async_notify_text(
        self,
        key: str,
        *,
        agent: str,
        priority: Priority = Priority.NORMAL,
        dedupe_key: str | None = None,
        **placeholders: object,
    ) -> Notification | None:
        """Queue one of LifeOps' own notifications, in HA's language; None when switched off."""
        if not self.enabled:
            return None
        title, message = await async_notification_text(self.hass, key, **placeholders)
        notification, _ = await self.async_notify(
            title=title, message=message, priority=priority, agent=str(agent), dedupe_key=dedupe_key
        )
        return notification

    @callback
    def async_dismiss(self, notification_id: str) -> Notification:
        """Dismiss a notification (KeyError when unknown), and its stand-in if one was shown."""
        notification = self.queue.dismiss(notification_id, dt_util.utcnow())
        persistent_notification.async_dismiss(self.hass, fallback_id(notification))
        self.async_changed()
        return notification

    async def async_process(self, now: datetime | None = None) -> None:
        """Deliver everything due, then sleep until the next thing may be due."""
        if self._processing:
            return
        self._processing = True
        try:
            now = dt_util.utcnow()
            for notification in self.queue.due(now):
                await self._async_deliver(notification, now)
            self.queue.prune(now)
            self.async_changed()
        finally:
            self._processing = False
        self.async_set_timer("process", self.queue.next_wakeup(now), self.async_process)

    async def _async_deliver(self, notification: Notification, now: datetime) -> None:
        targets = notification.targets or self.runtime.settings.notify_targets
        if not targets:
            self._show_persistent(notification)
            self.queue.mark_delivered(notification.id, now)
            return
        errors: list[str] = []
        for target in targets:
            try:
                await self._async_send(target, notification)
            except Exception as err:
                errors.append(f"{target}: {err}")
        if len(errors) < len(targets):
            self.queue.mark_delivered(notification.id, now)
            if errors:
                LOGGER.warning("Notification %s not delivered to %s", notification.id, errors)
                self._show_persistent(notification)
            return
        # Every target failed: show it in Home Assistant now, keep retrying the targets.
        self._show_persistent(notification)
        updated = self.queue.mark_failed_attempt(notification.id, now, "; ".join(errors))
        LOGGER.warning(
            "Notification %s failed (attempt %s): %s", notification.id, updated.attempts, errors
        )

    async def _async_send(self, target: str, notification: Notification) -> None:
        domain, _, name = target.partition(".")
        if domain != "notify" or not name:
            raise ValueError(f"not a notify target: {target}")
        if self.hass.services.has_service("notify", name):
            data: dict[str, Any] = {"title": notification.title, "message": notification.message}
            extra: dict[str, Any] = {}
            if notification.url:
                extra["url"] = notification.url
                extra["clickAction"] = notification.url
            if notification.priority == Priority.URGENT:
                extra["priority"] = "high"
                extra["ttl"] = 0
                extra["push"] = {"interruption-level": "time-sensitive"}
            if extra:
                data["data"] = extra
            await self.hass.services.async_call("notify", name, data, blocking=True)
            return
        if self.hass.states.get(target) is not None:
            await self.hass.services.async_call(
                "notify",
                "send_message",
                {"title": notification.title, "message": notification.message},
                target={"entity_id": target},
                blocking=True,
            )
            return
        raise ValueError(f"no such notify target: {target}")

    @callback
    def _show_persistent(self, notification: Notification) -> None:
        message = notification.message
        if notification.url:
            message = f"{message}\n\n{notification.url}"
        persistent_notification.async_create(
            self.hass, message, notification.title, fallback_id(notification)
        )
