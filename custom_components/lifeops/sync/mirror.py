"""Mirrored collections: what the sync service is known to hold, and the operations to queue.

No Home Assistant imports. A site compares what it has now with what its service is known to
hold and queues only the difference; what comes from the other sites is taken unless a local
edit of the same field or record is still on its way (queued, or acknowledged after the read
began), in which case the collection is read again once that edit is in. Three kinds:

* `FieldsMirror`: one record of last-writer-wins fields (the person's targets, the agents'
  switches). A local snapshot queues the fields that differ; remote fields are taken one by one.
* `RecordsMirror`: records keyed by id, last writer wins per field (habits, work sessions, the
  notification queue). A snapshot queues the records made or changed (whole, or the changed
  fields only) and, where the collection deletes, a delete for each record gone.
* `AppendOnlySet`: items added once and never changed (the XP log): what the service lacks is
  added again after reconnecting.

Each counts the writes the service acknowledged (`acknowledged`) so that a remote value read
before a local edit landed is not taken over it. Untrusted input is checked elsewhere
(`inbound.py`): these classes only decide what to take and what to queue.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

type Op = dict[str, Any]
type Fields = dict[str, Any]


def set_op(collection: str, key: str, fields: Mapping[str, Any]) -> Op:
    """A `set` of some fields of one record."""
    return {"op": "set", "collection": collection, "key": key, "fields": dict(fields)}


def delete_op(collection: str, key: str) -> Op:
    """A `delete` of one record."""
    return {"op": "delete", "collection": collection, "key": key}


class FieldsMirror:
    """One record of last-writer-wins fields, as the service is known to hold it."""

    def __init__(self, collection: str, key: str, known: Mapping[str, Any] | None = None) -> None:
        """Start from what was kept (empty: never synced)."""
        self.collection = collection
        self.key = key
        self.known: Fields = dict(known or {})
        # Per field, the acknowledged write that last carried it.
        self._written: dict[str, int] = {}
        # A remote value was left for a local edit on its way: read the record again later.
        self.reread = False

    @property
    def synced(self) -> bool:
        """Whether the record was ever synced (the first sync reads before it writes)."""
        return bool(self.known)

    def forget(self) -> None:
        """A new service: nothing is known to be held there."""
        self.known = {}

    def local(self, values: Mapping[str, Any]) -> Op | None:
        """The `set` of the fields that differ from what the service holds (None: none do)."""
        changed = {key: value for key, value in values.items() if self.known.get(key) != value}
        if not changed:
            return None
        self.known.update(changed)
        return set_op(self.collection, self.key, changed)

    def acknowledged(self, op: Mapping[str, Any], write: int) -> None:
        """The service took `op` in its acknowledged write number `write`."""
        if op.get("collection") == self.collection and op.get("key") == self.key:
            for field in op.get("fields") or ():
                self._written[field] = write

    def remote(
        self, values: Mapping[str, Any], pending: Collection[str], writes_before: int
    ) -> Fields:
        """The remote fields to take; the others are left for a later read (`reread`).

        Left: a field a local edit carries (queued: `pending`) or one written after the read
        began (`writes_before`: the count of acknowledged writes then).
        """
        take: Fields = {}
        for key, value in values.items():
            if key in pending or self._written.get(key, 0) > writes_before:
                self.reread = True
            else:
                take[key] = value
        return take

    def held(self, values: Mapping[str, Any]) -> None:
        """The service holds these values (taken from it, after the input checks)."""
        self.known.update(values)


class RecordsMirror:
    """Records keyed by id, as the service is known to hold them.

    `whole`: a changed record is written whole (else only its changed fields). `deletes`: a
    record gone from the snapshot is deleted at the service (else only forgotten here: the
    service keeps it).
    """

    def __init__(
        self,
        collection: str,
        known: Mapping[str, Mapping[str, Any]] | None,
        *,
        whole: bool,
        deletes: bool,
    ) -> None:
        """Start from what was kept (None: never synced, the first read compares)."""
        self.collection = collection
        self.known: dict[str, Fields] | None = (
            None if known is None else {key: dict(fields) for key, fields in known.items()}
        )
        self.whole = whole
        self.deletes = deletes
        self.last_write = 0  # the acknowledged write that last carried one of its records

    def forget(self) -> None:
        """A new service: nothing is known to be held there (every record is written again)."""
        self.known = {}

    def local(self, current: Mapping[str, Mapping[str, Any]]) -> list[Op]:
        """The operations that make the service hold `current` (none before the first read)."""
        known = self.known
        if known is None:
            return []
        ops: list[Op] = []
        for key in [key for key in known if key not in current]:
            del known[key]
            if self.deletes:
                ops.append(delete_op(self.collection, key))
        for key, fields in current.items():
            was = known.get(key)
            if self.whole:
                changed = dict(fields) if was != fields else {}
            else:
                changed = {k: v for k, v in fields.items() if was is None or was.get(k) != v}
            if changed:
                known[key] = dict(fields)
                ops.append(set_op(self.collection, key, changed))
        return ops

    def acknowledged(self, op: Mapping[str, Any], write: int) -> None:
        """The service took `op` in its acknowledged write number `write`."""
        if op.get("collection") == self.collection:
            self.last_write = write

    def stale(self, writes_before: int) -> bool:
        """Whether a read begun at `writes_before` may predate a write of ours (read again)."""
        return self.last_write > writes_before

    def read_whole(
        self,
        remote: Collection[str],
        taken: Mapping[str, Mapping[str, Any]],
        pending: Collection[str],
    ) -> list[str]:
        """The collection was read whole (keys `remote`), `taken` of it accepted here.

        Returns the keys deleted elsewhere: known to the service before, gone from it now,
        and not with a local operation on its way (`pending`).
        """
        known: dict[str, Fields] = {} if self.known is None else self.known
        known.update({key: dict(fields) for key, fields in taken.items()})
        gone = [key for key in known if key not in remote and key not in pending]
        for key in gone:
            del known[key]
        self.known = known
        return gone


class AppendOnlySet:
    """Items added once and never changed; merged by key at the service."""

    def __init__(self, collection: str) -> None:
        """A set named `collection`."""
        self.collection = collection

    def add(self, key: str, value: Any) -> Op:
        """The `add` of one item."""
        return {"op": "add", "collection": self.collection, "key": key, "value": value}

    def missing(
        self,
        local: Iterable[tuple[str, Any]],
        remote: Collection[str],
        pending: Collection[str],
    ) -> list[Op]:
        """The `add`s of local items the service lacks and no queued operation brings."""
        return [
            self.add(key, value) for key, value in local if key not in remote and key not in pending
        ]
