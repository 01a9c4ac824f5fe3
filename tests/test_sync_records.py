"""Sync of the habits, the work log and notification dismissals, through the public surface.

Home's Home Assistant with its site entry and the real home and cabin services (`sync_sites`);
the cabin is played by its local API, written to exactly as the integration writes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.core.notifications import Status, default_dedupe_key

from .sync.test_sync_processes import wait_up
from .sync_sites import (  # noqa: F401  (fixtures)
    MEDITATE_STREAK,
    TOTAL_XP,
    Sites,
    _client,
    _connected,
    _teardown,
    _two_sites,
    _until,
    _xp,
    config_dir_per_test,
    fast_retries,
    home_called,
    session,
    sites,
)


async def test_habits_and_their_completions_sync_both_ways(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    session = sites.session  # noqa: F811
    # A habit completed at the cabin (an XP event naming the habit) counts for home's streak.
    await hass.services.async_call(
        DOMAIN, "create_habit", {"name": "Meditate", "xp": 25}, blocking=True
    )
    completion = {
        **_xp("cabin-meditate", 25, "cabin"),
        "agent": "gamification",
        "event_type": "habit_completed",
        "description": "Meditate",
        "habit_id": "meditate",
    }
    await _client(session, sites.cabin).write(
        [{"op": "add", "collection": "xp", "key": "cabin-meditate", "value": completion}]
    )
    await _until(lambda: hass.states.get(TOTAL_XP).state == "25")
    await _until(lambda: hass.states.get(MEDITATE_STREAK).state == "1")

    # Habits: one created at home reaches the cabin; one created at the cabin appears here, and
    # goes when the cabin removes it.
    async def cabin_habits() -> dict[str, Any]:
        return await _client(session, sites.cabin).records("habits")

    deadline = asyncio.get_running_loop().time() + 8
    while "meditate" not in await cabin_habits():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    assert (await cabin_habits())["meditate"]["xp"] == 25
    stretch = {
        "id": "stretch",
        "name": "Stretch",
        "schedule": "daily",
        "times_per_week": 1,
        "xp": 15,
        "grace_days": 0,
    }
    cabin = _client(session, sites.cabin)
    await cabin.write([{"op": "set", "collection": "habits", "key": "stretch", "fields": stretch}])
    gamification = entry.runtime_data.gamification
    await _until(lambda: "stretch" in gamification.habits)
    assert gamification.habits["stretch"].xp == 15
    await _until(lambda: hass.states.get("sensor.lifeops_gamification_stretch_streak") is not None)
    await cabin.write([{"op": "delete", "collection": "habits", "key": "stretch"}])
    await _until(lambda: "stretch" not in gamification.habits)
    assert "meditate" in gamification.habits
    assert "meditate" in await cabin_habits()

    await _teardown(hass, entry)


async def test_home_shows_the_cabin_that_calls_in_across_a_restart(
    hass: HomeAssistant,
    home_called: Sites,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    sites = home_called  # noqa: F811
    home_api = _client(sites.session, sites.home)
    await _client(sites.session, sites.cabin).write(
        [
            {
                "op": "add",
                "collection": "xp",
                "key": "cabin-swim",
                "value": _xp("cabin-swim", 5, "cabin"),
            }
        ]
    )

    async def cabin_status() -> dict[str, Any]:
        status = await home_api.status()
        (peer,) = [p for p in status["peers"] if p["node_id"] == "cabin"]
        return peer

    deadline = asyncio.get_running_loop().time() + 8
    while (peer := await cabin_status())["last_success"] is None:
        assert asyncio.get_running_loop().time() < deadline, peer
        await asyncio.sleep(0.1)
    assert peer["calls_us"] is True and peer["url"] is None
    assert peer["lag_seconds"] is not None and peer["lag_seconds"] < 8

    # The status lives in the replica: a restart of home keeps it.
    sites.partition(True)
    await asyncio.to_thread(sites.home.stop)
    await asyncio.to_thread(sites.home.start)
    await wait_up(sites.session, sites.home)
    after = await cabin_status()
    assert after["calls_us"] is True
    assert after["last_success"] >= peer["last_success"]
    assert after["last_inbound"] is not None
    sites.partition(False)

    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    manager = entry.runtime_data.sync
    assert manager is not None
    registry = er.async_get(hass)
    await _until(
        lambda: len(
            [
                e
                for e in er.async_entries_for_config_entry(registry, entry.entry_id)
                if e.unique_id.endswith("_sync_last_success_cabin")
            ]
        )
        == 1
    )
    (sensor,) = [
        e
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.unique_id.endswith("_sync_last_success_cabin")
    ]
    await _until(
        lambda: (state := hass.states.get(sensor.entity_id)) is not None
        and state.state not in ("unknown", "unavailable")
    )
    await _until(lambda: hass.states.get(TOTAL_XP).state == "5")

    # sync_now at home: the cabin is not called from here, so it is listed with its last sync.
    response = await hass.services.async_call(
        DOMAIN, "sync_now", {}, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    (cabin,) = response["peers"]
    assert cabin["peer"] == "cabin" and cabin["calls_this_site"] is True
    assert cabin["success"] is None and cabin["last_success"] is not None
    await _teardown(hass, entry)


async def test_work_sessions_sync_both_ways_and_an_end_that_moves_follows(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    work = entry.runtime_data.work
    cabin = _client(sites.session, sites.cabin)

    # Home works a while: the session reaches the cabin open, then with its end.
    await hass.services.async_call(DOMAIN, "start_work", {"source": "desk"}, blocking=True)
    (home_session,) = work.tracker.sessions()

    async def at_cabin() -> dict[str, Any]:
        return (await cabin.records("work_sessions")).get(home_session.id) or {}

    deadline = asyncio.get_running_loop().time() + 8
    while (record := await at_cabin()).get("source") != "desk":
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    assert record["end"] is None and record["site"] == "home"
    await hass.services.async_call(DOMAIN, "stop_work", {"source": "desk"}, blocking=True)
    (home_session,) = work.tracker.sessions()
    assert home_session.end is not None
    while (record := await at_cabin()).get("end") is None:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    assert record["end"] == home_session.end.isoformat()

    # The cabin's integration writes its session as this one does: open, then ended, then
    # continued (its end moves later). Home counts it once it has ended, with the latest end.
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=30)
    fields = {"start": start.isoformat(), "end": None, "source": "laptop", "scheduled": False}
    await cabin.write(
        [
            {
                "op": "set",
                "collection": "work_sessions",
                "key": "cab1",
                "fields": fields | {"site": "cabin"},
            }
        ]
    )
    before = work.tracker.worked(start, now + timedelta(hours=1), now)

    async def cabin_worked() -> timedelta:
        return work.tracker.worked(start, now + timedelta(hours=1), now) - before

    for end, worked in ((now - timedelta(minutes=10), 20), (now - timedelta(minutes=5), 25)):
        await cabin.write(
            [
                {
                    "op": "set",
                    "collection": "work_sessions",
                    "key": "cab1",
                    "fields": {"end": end.isoformat()},
                }
            ]
        )
        await _until(
            lambda worked=worked: any(
                s.id == "cab1"
                and s.end is not None
                and (s.end - s.start) == timedelta(minutes=worked)
                for s in work.tracker.sessions()
            )
        )
        assert await cabin_worked() == timedelta(minutes=worked)
    (synced,) = [s for s in work.tracker.sessions() if s.id == "cab1"]
    assert synced.site == "cabin" and synced.source == "laptop"

    # Nothing of the cabin's goes back as this site's, and a restart keeps the merged session.
    assert set((await cabin.records("work_sessions")).get("cab1", {})) >= {"site"}
    assert (await cabin.records("work_sessions"))["cab1"]["site"] == "cabin"
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    sessions = {s.id: s for s in entry.runtime_data.work.tracker.sessions()}
    assert sessions["cab1"].site == "cabin" and sessions["cab1"].end == now - timedelta(minutes=5)
    assert sessions[home_session.id].site is None
    await _teardown(hass, entry)


async def test_a_dismissal_at_one_site_dismisses_the_same_notification_at_the_other(
    hass: HomeAssistant,
    sites: Sites,  # noqa: F811
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    entry = await _connected(hass, sites.home.url, mock_config_entry, options)
    queue = entry.runtime_data.notifications.queue
    cabin = _client(sites.session, sites.cabin)

    async def notify(title: str) -> str:
        response = await hass.services.async_call(
            DOMAIN,
            "notify",
            {"title": title, "message": "Time to stand up"},
            blocking=True,
            return_response=True,
        )
        assert isinstance(response, dict)
        return str(response["notification_id"])

    stretch, walk = await notify("Stretch"), await notify("Walk")
    stretch_key = default_dedupe_key(None, "Stretch", "Time to stand up")
    assert queue.get(stretch) is not None and queue.get(stretch).dedupe_key == stretch_key

    # The cabin's integration writes its dismissal of the same notification: home follows.
    await cabin.write(
        [
            {
                "op": "set",
                "collection": "notification_dismissals",
                "key": stretch_key,
                "fields": {"dismissed_at": datetime.now(UTC).isoformat(), "site": "cabin"},
            }
        ]
    )
    await _until(lambda: queue.get(stretch).status is Status.DISMISSED)
    assert queue.get(walk).status is not Status.DISMISSED

    # Dismissed at home: the cabin learns it by the key; home never wrote the cabin's back.
    await hass.services.async_call(
        DOMAIN, "dismiss_notification", {"notification_id": walk}, blocking=True
    )
    walk_key = queue.get(walk).dedupe_key
    deadline = asyncio.get_running_loop().time() + 8
    while walk_key not in (records := await cabin.records("notification_dismissals")):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    assert records[walk_key]["site"] == "home"
    home_records = await _client(sites.session, sites.home).records("notification_dismissals")
    assert home_records[stretch_key]["site"] == "cabin"

    # A new notification with the same text after the dismissal is not dismissed by it.
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    manager = entry.runtime_data.sync
    assert manager is not None
    await _until(lambda: manager.connected is True)
    queue = entry.runtime_data.notifications.queue
    again = await notify("Stretch")
    assert again != stretch
    await asyncio.sleep(0.5)
    assert queue.get(again).status is not Status.DISMISSED
    await _teardown(hass, entry)
