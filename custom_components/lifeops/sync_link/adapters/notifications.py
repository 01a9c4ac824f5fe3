"""The notification queue and its dismissals.

Each site's own notifications are records `notifications/<id>` (`core.notifications.
SYNCED_FIELDS`; last writer wins per field), written when made and on each change, deleted when
their site prunes them. Other sites' show in the queue here marked with their site, are never
delivered here and count for the dedupe. A dismissal is the record
`notification_dismissals/<dedupe key>` (dismissed_at, site): the same notification at another
site, made before then, is dismissed there too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from ...core.notifications import MAX_MIRRORED, Status
from ...sync import Change, inbound
from ...sync.mirror import RecordsMirror, set_op
from .base import Adapter, Link

NOTIFICATIONS_COLLECTION: Final = "notifications"
DISMISSALS_COLLECTION: Final = "notification_dismissals"
# More notification records changed than this: the collection is read whole.
NOTIFICATION_READS: Final = 20


class Notifications(Adapter):
    """Notifications and dismissals made here written; the others' mirrored here."""

    def __init__(self, link: Link) -> None:
        """Nothing known to be held yet."""
        super().__init__(link)
        self.mirror = RecordsMirror(NOTIFICATIONS_COLLECTION, {}, whole=False, deletes=True)
        # Ids of notifications whose dismissal is written (or came from another site); None
        # until the first start with sync, which takes the dismissals already made as written.
        self.dismissed: set[str] | None = None
        # Other sites' notification records to read (None: the whole collection).
        self._reads: set[str] | None = None

    def load(self, stored: Mapping[str, Any]) -> None:
        """The dismissals written and this site's notifications as the service holds them."""
        dismissed = stored.get("dismissed")
        self.dismissed = set(dismissed) if isinstance(dismissed, list) else None
        # Missing in a store from before they were synced: the first start writes them once.
        self.mirror.known = dict(stored.get("notifications") or {})

    def dump(self) -> dict[str, Any]:
        """What is kept."""
        return {
            "dismissed": sorted(self.dismissed or ()),
            "notifications": dict(self.mirror.known or {}),
        }

    def start(self) -> None:
        """Follow the queue; queue the dismissals and changes made while sync was off."""
        entry = self.link.entry
        notifications = entry.runtime_data.notifications
        entry.async_on_unload(notifications.async_add_listener(self._on_dismissals))
        if self.dismissed is None:
            self.dismissed = {
                n.id for n in notifications.queue.all() if n.status is Status.DISMISSED
            }
        self._on_dismissals()
        entry.async_on_unload(notifications.async_add_listener(self._on_records))
        self._on_records()

    def forget(self) -> None:
        """A new service: this site's notifications are written again."""
        self.mirror.forget()
        self._on_records()

    async def reconcile(self) -> None:
        """Read the other sites' notifications whole after (re)connecting."""
        self._reads = None

    def unaccounted(self) -> None:
        """A delete may have gone by unseen: read whole."""
        self._reads = None

    @callback
    def _on_dismissals(self) -> None:
        """Write the dismissals made here since last written, by the notification's dedupe key.

        The same notification at another site has the same key (agent, title and message, or
        the key its caller gave), so dismissing it here dismisses it there.
        """
        if self.dismissed is None:
            return
        runtime = self.link.entry.runtime_data
        items = runtime.notifications.queue.all()
        self.dismissed &= {n.id for n in items}  # forgotten by the queue (pruned)
        now = dt_util.utcnow().isoformat()
        for notification in items:
            if notification.status is Status.DISMISSED and notification.id not in self.dismissed:
                self.dismissed.add(notification.id)
                fields = {"dismissed_at": now, "site": runtime.site}
                self.link.enqueue(set_op(DISMISSALS_COLLECTION, notification.dedupe_key, fields))

    @callback
    def _on_records(self) -> None:
        """Queue this site's notifications made, changed or pruned since last written."""
        runtime = self.link.entry.runtime_data
        own = {
            item.id: item.synced_fields(runtime.site)
            for item in runtime.notifications.queue.all()
            if not item.mirrored
        }
        self.link.enqueue(*self.mirror.local(own))

    def take(self, change: Change) -> bool:
        """A dismissal is applied at once; a changed record is read before the next request."""
        if change.collection == DISMISSALS_COLLECTION:
            if change.kind == "field" and change.field == "dismissed_at":
                self._apply_dismissal(change.key, change.value)
            return True
        if change.collection != NOTIFICATIONS_COLLECTION:
            return False
        if change.kind == "delete":
            self._forget(change.key)
            if self._reads is not None:
                self._reads.discard(change.key)
        elif self._reads is not None:
            self._reads.add(change.key)
        return True

    @callback
    def _apply_dismissal(self, dedupe_key: str, value: Any) -> None:
        """Dismiss here what another site dismissed: the same notification, made before then."""
        when, reason = inbound.dismissal(dedupe_key, value, now=dt_util.utcnow())
        if when is None:
            self.link.refusals.refuse(DISMISSALS_COLLECTION, dedupe_key, str(reason))
            return
        controller = self.link.entry.runtime_data.notifications
        for notification in controller.queue.all():
            if (
                notification.dedupe_key == dedupe_key
                and notification.status is not Status.DISMISSED
                and notification.created <= when
            ):
                if self.dismissed is not None:
                    self.dismissed.add(notification.id)  # not written back as this site's
                controller.async_dismiss(notification.id)

    @callback
    def _forget(self, notification_id: str) -> None:
        """Another site pruned its notification: it goes here too."""
        controller = self.link.entry.runtime_data.notifications
        if controller.queue.forget_synced(notification_id):
            controller.async_changed()

    async def reread(self) -> None:
        """Read the other sites' notification records that changed, and mirror them here."""
        keys = self._reads
        if keys is not None and not keys:
            return
        self._reads = set()
        client = self.link.client
        try:
            if keys is None or len(keys) > NOTIFICATION_READS:
                self._merge(await client.records(NOTIFICATIONS_COLLECTION), None)
            else:
                for key in sorted(keys):
                    self._merge(await client.records(NOTIFICATIONS_COLLECTION, key), {key})
        except BaseException:
            self._reads = None  # read them all next time
            raise

    @callback
    def _merge(self, records: Mapping[str, Mapping[str, Any]], keys: set[str] | None) -> None:
        """Mirror other sites' notifications; those of `keys` (None: all) without a record go."""
        runtime = self.link.entry.runtime_data
        controller = runtime.notifications
        changed = False
        now = dt_util.utcnow()
        room = MAX_MIRRORED - sum(1 for item in controller.queue.all() if item.mirrored)
        for notification_id, fields in records.items():
            if fields.get("site") == runtime.site:
                continue  # this site's own, written from here
            item, reason = inbound.notification(notification_id, fields, now=now)
            was = controller.queue.get(notification_id)
            if item is not None and was is None:
                room -= 1
                reason = inbound.REASON_TOO_MANY if room < 0 else None
            if item is None or reason is not None:
                self.link.refusals.refuse(NOTIFICATIONS_COLLECTION, notification_id, str(reason))
                continue
            if controller.queue.merge_synced(item):
                changed = True
                dismissed_there = item.status is Status.DISMISSED
                newly = was is None or was.status is not Status.DISMISSED
                if dismissed_there and newly and self.dismissed is not None:
                    self.dismissed.add(notification_id)  # not written back as this site's
        gone = [
            item.id
            for item in controller.queue.all()
            if item.mirrored and item.id not in records and (keys is None or item.id in keys)
        ]
        for notification_id in gone:
            changed = controller.queue.forget_synced(notification_id) or changed
        if changed:
            controller.async_changed()
