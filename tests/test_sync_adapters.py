"""The sync adapters' merge rules on a site set up without processes.

Each adapter (`sync_link/adapters/`) gets a stand-in link: a write queue, a service that holds
what was written to it (records and items in memory) and the count of acknowledged writes. The
site itself is the real integration, set up from its entry. What the real service and the feed
add (clocks, causality, partitions) is tested with real processes in test_sync*.py.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.lifeops.core.agents import Agent
from custom_components.lifeops.core.habits import Habit
from custom_components.lifeops.core.notifications import Status
from custom_components.lifeops.sync import Change, inbound
from custom_components.lifeops.sync.queue import OpQueue
from custom_components.lifeops.sync_link.adapters.base import Adapter
from custom_components.lifeops.sync_link.adapters.habits import Habits
from custom_components.lifeops.sync_link.adapters.notifications import Notifications
from custom_components.lifeops.sync_link.adapters.settings import (
    AgentSwitches,
    PersonSettings,
    synced_values,
)
from custom_components.lifeops.sync_link.adapters.work import WorkLog
from custom_components.lifeops.sync_link.options import sync_options


class Service:
    """What the service holds: records by collection and key."""

    def __init__(self) -> None:
        self.held: dict[str, dict[str, dict[str, Any]]] = {}

    async def records(self, collection: str, key: str | None = None) -> dict[str, Any]:
        records = self.held.get(collection, {})
        if key is not None:
            return {key: dict(records[key])} if key in records else {}
        return {k: dict(v) for k, v in records.items()}

    async def items(self, collection: str) -> dict[str, Any]:
        return {}


class Link:
    """The manager as an adapter sees it, writing to a `Service` when asked."""

    def __init__(self, hass: HomeAssistant, entry: MockConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        self.client = Service()
        self.queue = OpQueue()
        self.refusals = inbound.Refusals(logging.getLogger(__name__), entry.title)
        self.options = sync_options(entry.options)
        self.last_error: str | None = None
        self.connected_event = asyncio.Event()
        self.writes = 0
        self.adapters: list[Adapter] = []

    def enqueue(self, *ops: dict[str, Any]) -> None:
        for op in ops:
            self.queue.add(op)

    def save(self) -> None:
        pass

    def write(self) -> None:
        """The service takes everything queued, in one acknowledged write."""
        ops, self.queue = list(self.queue), OpQueue()
        self.writes += 1
        for op in ops:
            records = self.client.held.setdefault(op["collection"], {})
            if op["op"] == "set":
                records.setdefault(op["key"], {}).update(op["fields"])
            elif op["op"] == "delete":
                records.pop(op["key"], None)
            for adapter in self.adapters:
                adapter.acknowledged(op, self.writes)

    def feed(self, *changes: Change) -> None:
        """One change-feed answer with other sites' changes, read before any later write."""
        for change in changes:
            any(adapter.take(change) for adapter in self.adapters)
        for adapter in self.adapters:
            adapter.taken(self.writes)


async def _site(hass: HomeAssistant, entry: MockConfigEntry) -> Link:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return Link(hass, entry)


def _field(key: str, field: str, value: Any) -> Change:
    return Change("field", "settings", key, field, value, "cabin")


async def test_a_target_edited_here_keeps_its_value_over_an_older_remote_one(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    link = await _site(hass, mock_config_entry)
    entry = mock_config_entry
    settings = PersonSettings(link)
    settings.load({"settings": synced_values(entry.options)})  # synced before
    link.adapters = [settings]
    settings.start()

    # The person moves bedtime here (queued); the cabin's older edits of it and of the work
    # cut-off arrive before the write: the cut-off is taken, bedtime waits.
    hass.config_entries.async_update_entry(entry, options={**entry.options, "bedtime": "21:45:00"})
    await hass.async_block_till_done()
    assert link.queue.pending_fields("settings", "person") == {"bedtime"}
    link.feed(_field("person", "bedtime", "23:15:00"), _field("person", "work_cutoff", "17:00:00"))
    await hass.async_block_till_done()
    assert entry.options["bedtime"] == "21:45:00"
    assert entry.options["work_cutoff"] == "17:00:00"
    assert settings.mirror.reread

    # Written; a value read before the write landed is not taken either; the read after it
    # shows what the service holds: this site's edit.
    writes_before = link.writes
    link.write()
    settings.apply({"bedtime": "23:15:00"}, writes_before)
    assert entry.options["bedtime"] == "21:45:00"
    await settings.reread()
    await hass.async_block_till_done()
    assert entry.options["bedtime"] == "21:45:00"
    assert settings.mirror.known["bedtime"] == "21:45:00"
    assert link.client.held["settings"]["person"]["bedtime"] == "21:45:00"

    # A later remote edit with nothing on its way is taken; a value failing the checks is
    # refused and counted (diagnostics: sync.refused_records).
    link.feed(_field("person", "bedtime", "23:00:00"))
    link.feed(_field("person", "wake_time", "23:00:00"))  # equal to bedtime: refused
    await hass.async_block_till_done()
    assert entry.options["bedtime"] == "23:00:00"
    assert entry.options["wake_time"] != "23:00:00"
    assert link.refusals.as_dict() == {"settings": 1}
    assert link.last_error == "invalid_synced_settings"
    assert not link.queue  # taken from the service: nothing to write back


async def test_the_first_sync_takes_the_other_sites_switches_then_writes_its_own(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    link = await _site(hass, mock_config_entry)
    runtime = mock_config_entry.runtime_data
    switches = AgentSwitches(link)
    switches.load({})  # never synced
    link.adapters = [switches]
    switches.start()
    assert not link.queue  # the first sync compares first
    link.client.held["settings"] = {"agents": {"sleep": False, "bogus": "yes"}}
    await switches.reconcile()
    await hass.async_block_till_done()
    values = switches.values()
    assert values["sleep"] is False
    assert runtime.is_enabled(Agent.SLEEP) is False
    assert link.refusals.as_dict() == {"settings": 1}  # the unknown switch
    # Then every switch the service lacks is written, the one taken from it is not.
    [op] = list(link.queue)
    assert "sleep" not in op["fields"] and set(op["fields"]) == set(values) - {"sleep"}


async def test_habits_a_local_change_on_its_way_is_kept_and_deletes_go_both_ways(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    link = await _site(hass, mock_config_entry)
    gamification = mock_config_entry.runtime_data.gamification
    habits = Habits(link)
    habits.load({})  # never synced: the first read compares
    link.adapters = [habits]
    habits.start()
    gamification.async_add_habit(Habit(id="meditate", name="Meditate", xp=25))
    await hass.async_block_till_done()
    assert not link.queue

    # The first sync: the service's habit comes here, the one only here goes there.
    stretch = Habit(id="stretch", name="Stretch", xp=15).as_dict()
    link.client.held["habits"] = {"stretch": stretch}
    await habits.reread()
    assert "stretch" in gamification.habits
    assert link.queue.pending_keys("habits") == {"meditate"}
    link.write()
    assert set(link.client.held["habits"]) == {"meditate", "stretch"}

    # Meditate changed here (queued) while the service still holds the old one: kept.
    gamification.async_add_habit(Habit(id="meditate", name="Meditate", xp=40))
    await hass.async_block_till_done()
    link.feed(Change("field", "habits", "stretch", "xp", 15, "cabin"))
    await habits.reread()
    assert gamification.habits["meditate"].xp == 40

    # Stretch deleted elsewhere: gone here. Meditate deleted here: gone there.
    link.write()
    del link.client.held["habits"]["stretch"]
    link.feed(Change("delete", "habits", "stretch", None, None, "cabin"))
    await habits.reread()
    assert "stretch" not in gamification.habits
    gamification.async_remove_habits(["meditate"])
    await hass.async_block_till_done()
    link.write()
    assert link.client.held["habits"] == {}
    assert habits.mirror.known == {}


async def test_work_sessions_write_what_changed_and_take_the_other_sites_checked(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    link = await _site(hass, mock_config_entry)
    runtime = mock_config_entry.runtime_data
    work = WorkLog(link)
    work.load({})
    link.adapters = [work]
    work.start()

    # A session started here is written whole with this site's name; its end alone later.
    session = await runtime.work.async_start_work("manual")
    await hass.async_block_till_done()
    [op] = list(link.queue)
    assert op["key"] == session.id
    assert op["fields"] == {
        "start": session.start.isoformat(),
        "end": None,
        "source": "manual",
        "scheduled": False,
        "site": runtime.site,
    }
    link.write()
    await runtime.work.async_stop_work(None)
    await hass.async_block_till_done()
    [op] = list(link.queue)
    assert set(op["fields"]) == {"end"}
    link.write()

    # The cabin's session comes here marked with its site; one that fails the checks is
    # refused and counted; none of it is written back.
    now = dt_util.utcnow()
    link.client.held["work_sessions"]["cabin-1"] = {
        "start": (now - timedelta(hours=2)).isoformat(),
        "end": (now - timedelta(hours=1)).isoformat(),
        "source": "manual",
        "scheduled": False,
        "site": "cabin",
    }
    link.client.held["work_sessions"]["cabin-2"] = {"start": "soon", "site": "cabin"}
    link.feed(Change("field", "work_sessions", "cabin-1", "end", None, "cabin"))
    await work.reread()
    await hass.async_block_till_done()
    sessions = {s.id: s for s in runtime.work.tracker.sessions()}
    assert sessions["cabin-1"].site == "cabin"
    assert "cabin-2" not in sessions
    assert link.refusals.as_dict() == {"work_sessions": 1}
    assert not link.queue


async def test_a_dismissal_from_another_site_dismisses_here_and_is_not_written_back(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    link = await _site(hass, mock_config_entry)
    controller = mock_config_entry.runtime_data.notifications
    notifications = Notifications(link)
    notifications.load({})
    link.adapters = [notifications]
    notifications.start()
    stretch, _ = await controller.async_notify(title="Stretch", message="Stand up")
    walk, _ = await controller.async_notify(title="Walk", message="Go out")
    await hass.async_block_till_done()
    assert link.queue.pending_keys("notifications") == {stretch.id, walk.id}
    link.write()

    # Dismissed at the cabin (the same dedupe key, after it was made): dismissed here, and
    # the dismissal is not written again as this site's. One that fails the checks counts.
    later = (dt_util.utcnow() + timedelta(seconds=1)).isoformat()
    link.feed(
        Change("field", "notification_dismissals", stretch.dedupe_key, "dismissed_at", later, "c"),
        Change("field", "notification_dismissals", walk.dedupe_key, "dismissed_at", "never", "c"),
    )
    await hass.async_block_till_done()
    assert controller.queue.get(stretch.id).status is Status.DISMISSED
    assert controller.queue.get(walk.id).status is not Status.DISMISSED
    assert link.refusals.as_dict() == {"notification_dismissals": 1}
    assert link.queue.pending_keys("notification_dismissals") == set()

    # Dismissed here: written by its dedupe key (and the record's new status).
    controller.async_dismiss(walk.id)
    await hass.async_block_till_done()
    assert link.queue.pending_keys("notification_dismissals") == {walk.dedupe_key}
    assert link.queue.pending_fields("notifications", walk.id) >= {"status"}


async def test_a_new_service_gets_this_sites_habits_and_sessions_and_removes_none(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    # The site synced with one service, then is pointed at another (a new address, another
    # node id) that holds nothing yet: what the old one held says nothing of it.
    link = await _site(hass, mock_config_entry)
    runtime = mock_config_entry.runtime_data
    habits, work = Habits(link), WorkLog(link)
    link.adapters = [habits, work]
    for adapter in link.adapters:
        adapter.load({})
        adapter.start()
    runtime.gamification.async_add_habit(Habit(id="meditate", name="Meditate", xp=25))
    session = await runtime.work.async_start_work("manual")
    await hass.async_block_till_done()
    await habits.reread()
    link.write()
    assert set(link.client.held["habits"]) == {"meditate"}
    assert set(link.client.held["work_sessions"]) == {session.id}

    link.client = Service()  # the new service, empty
    for adapter in link.adapters:
        adapter.forget()
        await adapter.reconcile()
    await habits.reread()
    await work.reread()
    await hass.async_block_till_done()
    assert "meditate" in runtime.gamification.habits  # not taken for deleted elsewhere
    link.write()
    assert set(link.client.held["habits"]) == {"meditate"}
    assert set(link.client.held["work_sessions"]) == {session.id}
