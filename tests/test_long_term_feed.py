"""The long-term store is fed as the agents' state changes: no timer, nothing lost while away.

The database here is away (nothing listens on its port): rows queue in the writer all the same.
The clock is frozen and never moved, so a row that arrives came from the change itself. Last,
what the site's change hub hears when actions change habits, XP and notifications.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.core.changes import (
    Change,
    HabitChanged,
    NotificationDismissed,
    NotificationQueued,
    XpEventAdded,
)
from custom_components.lifeops.long_term.options import CONF_STORE, DEFAULTS
from custom_components.lifeops.timescale.buffer import Row
from custom_components.lifeops.timescale.writer import Writer
from tests.ports import free_port
from tests.test_oura import (
    ACCOUNT_ID as OURA_ACCOUNT_ID,
    NOW as OURA_NOW,
    _mock_api as mock_oura_api,
    oura_entry,  # noqa: F401
    setup_credentials,  # noqa: F401
)

SCREEN = "binary_sensor.phone_screen_on"


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Row]]:
    """Every row the writer is handed, as (table, row), still queued by the real writer."""
    seen: list[tuple[str, Row]] = []
    add = Writer.add

    def recording(self: Writer, table: str, rows: Any) -> None:
        seen.extend((table, row) for row in rows)
        add(self, table, rows)

    monkeypatch.setattr(Writer, "add", recording)
    return seen


@pytest.fixture
def site(
    hass: HomeAssistant,
    tmp_path: Path,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
    socket_enabled: None,
) -> MockConfigEntry:
    """The home site with a long-term store whose database is away (its port refuses)."""
    hass.config.config_dir = str(tmp_path)
    hass.states.async_set(SCREEN, "off")
    store = {**DEFAULTS, "host": "127.0.0.1", "port": free_port(), "password": "x"}
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={**options, "screen_time_sources": [SCREEN], CONF_STORE: store},
    )
    return mock_config_entry


def _tables(queued: list[tuple[str, Row]]) -> list[str]:
    return [table for table, _ in queued]


@pytest.mark.freeze_time("2026-03-02T09:00:00+00:00")
async def test_rows_queue_on_each_change_without_a_periodic_export(
    hass: HomeAssistant,
    site: MockConfigEntry,
    queued: list[tuple[str, Row]],
    freezer: FrozenDateTimeFactory,
) -> None:
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    store = site.runtime_data.long_term_store
    assert store is not None
    assert not store.writer.connected
    queued.clear()

    await hass.services.async_call(DOMAIN, "start_work", {"source": "laptop"}, blocking=True)
    assert _tables(queued) == []  # an open session is not a row yet
    await hass.services.async_call(DOMAIN, "stop_work", {"source": "laptop"}, blocking=True)
    assert _tables(queued) == ["work_session"]
    assert queued[0][1][5] == "laptop"

    await hass.services.async_call(
        DOMAIN,
        "award_xp",
        {"agent": "fitness", "event_type": "workout", "amount": 25, "id": "xp-1"},
        blocking=True,
    )
    assert _tables(queued)[1:] == ["xp_event"]
    assert queued[1][1][5] == 25

    hass.states.async_set(SCREEN, "on")
    await hass.async_block_till_done()
    assert len(queued) == 2
    hass.states.async_set(SCREEN, "off")
    await hass.async_block_till_done()
    # A closed span waits a minute (the screen coming back on would continue it), then queues.
    assert len(queued) == 2
    freezer.tick(61)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert _tables(queued)[2:] == ["screen_time"]
    assert queued[2][1][5] == SCREEN

    # The database is away: a flush keeps every row in the writer's buffer.
    await store.writer.flush()
    assert store.writer.status.buffered_rows >= 3
    assert await hass.config_entries.async_unload(site.entry_id)


@pytest.mark.freeze_time("2026-03-02T09:00:00+00:00")
async def test_a_closed_screen_span_is_not_left_behind_at_an_unload(
    hass: HomeAssistant, site: MockConfigEntry, queued: list[tuple[str, Row]]
) -> None:
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    queued.clear()
    hass.states.async_set(SCREEN, "on")
    await hass.async_block_till_done()
    hass.states.async_set(SCREEN, "off")
    await hass.async_block_till_done()
    assert _tables(queued) == []  # its minute has not passed
    assert await hass.config_entries.async_unload(site.entry_id)
    assert _tables(queued) == ["screen_time"]


@pytest.mark.freeze_time("2026-03-02T09:00:00+00:00")
async def test_what_the_agents_hold_is_queued_at_start(
    hass: HomeAssistant, site: MockConfigEntry, queued: list[tuple[str, Row]]
) -> None:
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call(DOMAIN, "start_work", {"source": "laptop"}, blocking=True)
    await hass.services.async_call(DOMAIN, "stop_work", {"source": "laptop"}, blocking=True)
    assert await hass.config_entries.async_unload(site.entry_id)
    queued.clear()
    # Started again (a restart): what the agents hold is queued again; its ids keep it once.
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    assert _tables(queued) == ["work_session"]
    assert await hass.config_entries.async_unload(site.entry_id)


@pytest.mark.freeze_time(OURA_NOW)
async def test_oura_rows_come_from_the_coordinator_listener(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    setup_credentials: None,  # noqa: F811 (the fixture imported above)
    oura_entry: MockConfigEntry,  # noqa: F811
    site: MockConfigEntry,
    queued: list[tuple[str, Row]],
) -> None:
    mock_oura_api(aioclient_mock)
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    queued.clear()
    # The account is signed in after the site's store started: its data arrives as it loads.
    oura_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(oura_entry.entry_id)
    await hass.async_block_till_done()
    account = f"oura:{OURA_ACCOUNT_ID}"
    tables = sorted(_tables(queued))
    assert tables == sorted(["sleep_session", *["health_metric"] * 3, *["activity_event"] * 3])
    assert {row[1] for _, row in queued} == {account}
    # The coordinator's next update with the same documents: nothing new.
    coordinator = oura_entry.runtime_data
    coordinator.async_set_updated_data(coordinator.data)
    await hass.async_block_till_done()
    assert len(queued) == 7
    # Reloaded (a new coordinator): its data is queued once more (the ids keep it once).
    assert await hass.config_entries.async_reload(oura_entry.entry_id)
    await hass.async_block_till_done()
    assert len(queued) == 14
    assert await hass.config_entries.async_unload(site.entry_id)
    assert await hass.config_entries.async_unload(oura_entry.entry_id)


@pytest.mark.freeze_time("2026-03-02T09:00:00+00:00")
async def test_the_site_hub_hears_what_the_actions_change(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    heard: list[Change] = []
    init_integration.runtime_data.changes.subscribe(Change, heard.append)

    await hass.services.async_call(
        DOMAIN, "create_habit", {"name": "Meditate"}, blocking=True, return_response=True
    )
    await hass.services.async_call(
        DOMAIN, "complete_habit", {"habit": "meditate"}, blocking=True, return_response=True
    )
    await hass.services.async_call(DOMAIN, "remove_habit", {"habit": "meditate"}, blocking=True)
    await hass.services.async_call(
        DOMAIN,
        "notify",
        {"title": "Hello", "message": "Time to stretch", "notification_id": "stretch-1"},
        blocking=True,
    )
    await hass.services.async_call(
        DOMAIN, "dismiss_notification", {"notification_id": "stretch-1"}, blocking=True
    )
    await hass.async_block_till_done()

    habits = [c for c in heard if isinstance(c, HabitChanged)]
    assert [(c.habit_id, c.habit is not None) for c in habits] == [
        ("meditate", True),
        ("meditate", False),
    ]
    assert [c.event.habit_id for c in heard if isinstance(c, XpEventAdded)] == ["meditate"]
    assert [
        (type(c), c.notification.id)
        for c in heard
        if isinstance(c, NotificationQueued | NotificationDismissed)
    ] == [(NotificationQueued, "stretch-1"), (NotificationDismissed, "stretch-1")]


async def test_a_screen_that_comes_back_on_within_a_minute_is_one_span_with_its_last_end(
    hass: HomeAssistant,
    site: MockConfigEntry,
    queued: list[tuple[str, Row]],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to("2026-03-02T09:00:00+00:00")
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    queued.clear()
    for on, seconds in (("on", 600), ("off", 20), ("on", 300), ("off", 0)):
        hass.states.async_set(SCREEN, on)
        await hass.async_block_till_done()
        freezer.tick(seconds)
    assert _tables(queued) == []  # off for less than a minute yet
    freezer.tick(61)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert _tables(queued) == ["screen_time"]
    row = queued[0][1]
    # The span from 09:00 to 09:15:20: the short pause inside it does not end it.
    assert (row[3] - row[0]).total_seconds() == row[4] == 600 + 20 + 300
    assert await hass.config_entries.async_unload(site.entry_id)
