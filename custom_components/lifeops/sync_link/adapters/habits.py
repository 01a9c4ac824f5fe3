"""The person's own habits as records `habits/<habit id>`.

Last writer wins per field; a habit is written whole and removing one deletes the record
everywhere. The collection is read whole when one of its records changes (fields may come
apart), and the first sync takes the service's habits before writing those only here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.core import callback

from ...core.habits import BUILTIN_IDS, MAX_HABITS, Habit
from ...sync import Change, inbound
from ...sync.mirror import RecordsMirror
from .base import Adapter, Link

HABITS_COLLECTION: Final = "habits"


class Habits(Adapter):
    """The person's habits here made what the service holds, but for local changes on the way."""

    def __init__(self, link: Link) -> None:
        """Never synced yet; read on the first connect."""
        super().__init__(link)
        self.mirror = RecordsMirror(HABITS_COLLECTION, None, whole=True, deletes=True)
        self._reread = True

    def load(self, stored: Mapping[str, Any]) -> None:
        """The habits the service was known to hold (None: never synced)."""
        known = stored.get("habits")
        self.mirror.known = dict(known) if isinstance(known, dict) else None

    def dump(self) -> dict[str, Any]:
        """What the service is known to hold."""
        return {"habits": self.mirror.known}

    def start(self) -> None:
        """Follow the habits; queue what changed while sync was off (not before a sync)."""
        gamification = self.link.entry.runtime_data.gamification
        self.link.entry.async_on_unload(gamification.async_add_habits_listener(self._on_habits))
        self._on_habits()

    @callback
    def _on_habits(self) -> None:
        """Queue the habits created, changed or removed here since the last sync."""
        habits = self.link.entry.runtime_data.gamification.habits
        self.link.enqueue(*self.mirror.local({h.id: h.as_dict() for h in habits.values()}))

    def forget(self) -> None:
        """A new service: a first sync again (its habits taken, then those only here written).

        What the old service held says nothing of the new one: kept, every habit it lacks
        would count as deleted elsewhere and be removed here.
        """
        self.mirror.known = None
        self._reread = True

    async def reconcile(self) -> None:
        """Read the habits whole after (re)connecting."""
        self._reread = True

    def take(self, change: Change) -> bool:
        """A record changed elsewhere: read the collection whole."""
        if change.collection != HABITS_COLLECTION:
            return False
        self._reread = True
        return True

    async def reread(self) -> None:
        """Read the habits whole when asked to.

        At once again when a write was acknowledged during the read and the read was left for
        it (as for the agents' switches).
        """
        while self._reread:
            self._reread = False
            writes_before = self.link.writes
            self._apply(await self.link.client.records(HABITS_COLLECTION), writes_before)
            pending = self.link.queue.pending_keys(HABITS_COLLECTION)
            if self.link.writes == writes_before or pending:
                break

    def acknowledged(self, op: Mapping[str, Any], write: int) -> None:
        """Note that a write carried a habit."""
        self.mirror.acknowledged(op, write)

    async def skipped(self, collections: set[Any]) -> None:
        """Show the habits that won over edits made here (and read again in the feed loop)."""
        if HABITS_COLLECTION in collections:
            self._reread = True
            self._apply(await self.link.client.records(HABITS_COLLECTION), self.link.writes)

    def unaccounted(self) -> None:
        """A delete may have gone by unseen: read whole."""
        self._reread = True

    @callback
    def _apply(self, remote: Mapping[str, Mapping[str, Any]], writes_before: int) -> None:
        if self.mirror.stale(writes_before):
            self._reread = True  # read before our write landed: read again
            return
        link = self.link
        pending = link.queue.pending_keys(HABITS_COLLECTION)
        first = self.mirror.known is None
        controller = link.entry.runtime_data.gamification
        taken: dict[str, dict[str, Any]] = {}
        add: list[Habit] = []
        room = MAX_HABITS - len(controller.habits)
        for habit_id, fields in remote.items():
            if habit_id in pending or habit_id in BUILTIN_IDS:
                continue
            habit, reason = inbound.habit(habit_id, fields)
            if habit is not None and habit_id not in controller.habits:
                room -= 1
                reason = inbound.REASON_TOO_MANY if room < 0 else None
            if habit is None or reason is not None:
                link.refusals.refuse(HABITS_COLLECTION, habit_id, str(reason))
                continue
            taken[habit_id] = habit.as_dict()
            if controller.habits.get(habit_id) != habit:
                add.append(habit)
        # Deleted elsewhere: known to the service before, gone from it now.
        gone = self.mirror.read_whole(remote, taken, pending)
        remove = [key for key in gone if key in controller.habits]
        if remove:
            controller.async_remove_habits(remove)
        for habit in add:
            controller.async_add_habit(habit)
        if first:
            self._on_habits()  # the habits only this site has go to the others
        link.save()
