"""Privacy actions: export, purge (confirmed) and import round trip, path safety, bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.lifeops.const import CONF_KIND, DOMAIN, KIND_OURA
from custom_components.lifeops.core.settings import Settings

# Midday where the harness lives (US/Pacific): no wind-down or quiet hours begin during a test,
# whatever the real clock says.
pytestmark = pytest.mark.freeze_time("2026-11-25T20:00:00+00:00")

TOTAL_XP = "sensor.lifeops_gamification_total_xp"
WORK_TODAY = "sensor.lifeops_work_life_work_today"
SCREEN_TODAY = "sensor.lifeops_screen_time_screen_time_today"
SLEEP_SWITCH = "switch.lifeops_sleep_agent_enabled"
BEDTIME = "time.lifeops_sleep_bedtime"
STREAK = "sensor.lifeops_gamification_stretch_streak"


async def _call(hass: HomeAssistant, action: str, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, action, data, blocking=True, return_response=True
    )
    await hass.async_block_till_done()
    assert response is not None
    return dict(response)


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


async def _fill(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """A person's day: work, screen time, XP, a habit, a notification, a switch, a bedtime."""
    await _call(hass, "start_work", source="desk")
    await _call(hass, "stop_work", source="desk")
    await _call(hass, "log_screen_time", minutes=42, category="phone", log_id="phone-1")
    await _call(hass, "award_xp", agent="fitness", event_type="run", amount=40, id="run-1")
    await _call(hass, "create_habit", name="Stretch", xp=15)
    await _call(hass, "complete_habit", habit="stretch", id="stretch-1")
    await _call(hass, "notify", title="Stand up", message="Time to stretch", notification_id="n1")
    await hass.services.async_call("switch", "turn_off", {"entity_id": SLEEP_SWITCH}, blocking=True)
    await hass.services.async_call(
        "time", "set_value", {"entity_id": BEDTIME, "time": "23:15:00"}, blocking=True
    )
    await hass.async_block_till_done()


def _check_document(document: dict[str, Any]) -> None:
    """The export of `_fill`'s day."""
    assert document["format"] == "lifeops_export"
    assert document["version"] == 1
    assert document["site"]["site"] == "home"
    assert document["settings"]["bedtime"] == "23:15:00"
    assert document["state"]["enabled"] == {"sleep": False}
    events = document["state"]["gamification"]["log"]["events"]
    assert {event["id"] for event in events} == {"run-1", "stretch-1"}
    assert [habit["id"] for habit in document["state"]["gamification"]["habits"]] == ["stretch"]
    assert "n1" in [item["id"] for item in document["state"]["notifications"]["items"]]
    assert len(document["state"]["work"]["tracker"]["sessions"]) == 1
    assert "phone-1" in document["state"]["screen_time"]["tracker"]["logs"]


async def test_export_purge_import_round_trip(
    hass: HomeAssistant, init_integration: MockConfigEntry, config_dir: Path
) -> None:
    # An Oura account with tokens beside the site: its credentials must never be exported.
    MockConfigEntry(
        domain=DOMAIN,
        title="Oura",
        unique_id="oura-user",
        data={
            CONF_KIND: KIND_OURA,
            "auth_implementation": DOMAIN,
            "token": {"access_token": "SECRET-ACCESS", "refresh_token": "SECRET-REFRESH"},
        },
    ).add_to_hass(hass)
    await _fill(hass, init_integration)
    assert _state(hass, TOTAL_XP) == "55"
    assert float(_state(hass, SCREEN_TODAY)) == 42
    assert _state(hass, SLEEP_SWITCH) == "off"
    assert _state(hass, STREAK) == "1"

    exported = await _call(hass, "export_data", config_entry_id=init_integration.entry_id)
    path = Path(exported["path"])
    assert path.parent == config_dir
    assert path.name.startswith("lifeops_export_home_")
    assert path.stat().st_mode & 0o077 == 0  # only the owner may read it
    text = path.read_text()
    assert "SECRET" not in text
    assert "access_token" not in text
    document = json.loads(text)
    _check_document(document)
    assert exported["counts"] == {
        "work_sessions": 1,
        "screen_time_spans": 0,
        "screen_time_logs": 1,
        "xp_events": 2,
        "habits": 1,
        "notifications": len(document["state"]["notifications"]["items"]),
    }

    purged = await _call(hass, "purge_data", confirm=True)
    assert purged["deleted"] == {
        **exported["counts"],
        "settings": True,
        "history_entities": [],
    }
    entry = hass.config_entries.async_get_entry(init_integration.entry_id)
    assert entry is not None
    assert entry.options == Settings().as_options()
    assert _state(hass, TOTAL_XP) == "0"
    assert float(_state(hass, SCREEN_TODAY)) == 0
    assert float(_state(hass, WORK_TODAY)) == 0
    assert init_integration.runtime_data.notifications.queue.all() == []
    assert _state(hass, SLEEP_SWITCH) == "on"
    assert _state(hass, BEDTIME) == Settings().bedtime.isoformat()
    assert hass.states.get(STREAK) is None or _state(hass, STREAK) == "unavailable"
    again = await _call(hass, "export_data", filename="after_purge.json")
    assert again["counts"] == dict.fromkeys(exported["counts"], 0)

    imported = await _call(hass, "import_data", filename=path.name)
    assert imported["imported"] == exported["counts"]
    assert _state(hass, TOTAL_XP) == "55"
    assert float(_state(hass, SCREEN_TODAY)) == 42
    queue = init_integration.runtime_data.notifications.queue
    assert "n1" in [item.id for item in queue.all()]
    assert _state(hass, SLEEP_SWITCH) == "off"
    assert _state(hass, BEDTIME) == "23:15:00"
    assert _state(hass, STREAK) == "1"
    # A second export of the imported data holds the same state.
    second = await _call(hass, "export_data", filename="second.json")
    assert json.loads(Path(second["path"]).read_text())["state"] == document["state"]


async def test_purge_needs_confirmation(
    hass: HomeAssistant, init_integration: MockConfigEntry, config_dir: Path
) -> None:
    await _call(hass, "award_xp", agent="fitness", event_type="run", amount=40)
    for data in ({}, {"confirm": False}, {"confirm": "maybe"}):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(DOMAIN, "purge_data", data, blocking=True)
        assert err.value.translation_key == "invalid_field_confirm"
    assert _state(hass, TOTAL_XP) == "40"


@pytest.mark.parametrize(
    "filename",
    ["../outside.json", "/tmp/outside.json", "sub/inside.json", ".hidden.json", "x.yaml", ""],
)
async def test_export_and_import_stay_in_the_config_folder(
    hass: HomeAssistant, init_integration: MockConfigEntry, config_dir: Path, filename: str
) -> None:
    before = {path.name for path in config_dir.parent.rglob("*")}
    for action in ("export_data", "import_data"):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(DOMAIN, action, {"filename": filename}, blocking=True)
        assert err.value.translation_key == "invalid_field_filename"
    assert {path.name for path in config_dir.parent.rglob("*")} == before


async def test_a_symlink_out_of_the_config_folder_is_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry, config_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.json"
    (config_dir / "link.json").symlink_to(outside)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "export_data", filename="link.json")
    assert err.value.translation_key == "invalid_field_filename"
    assert not outside.exists()


async def test_an_existing_file_is_not_overwritten(
    hass: HomeAssistant, init_integration: MockConfigEntry, config_dir: Path
) -> None:
    (config_dir / "mine.json").write_text("keep me")
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "export_data", filename="mine.json")
    assert err.value.translation_key == "export_file_exists"
    assert (config_dir / "mine.json").read_text() == "keep me"


async def test_a_bad_file_imports_nothing(
    hass: HomeAssistant, init_integration: MockConfigEntry, config_dir: Path
) -> None:
    await _call(hass, "award_xp", agent="fitness", event_type="run", amount=40)
    exported = await _call(hass, "export_data", filename="good.json")
    document = json.loads(Path(exported["path"]).read_text())
    await _call(hass, "award_xp", agent="fitness", event_type="run", amount=5)

    broken_log = json.loads(json.dumps(document))
    broken_log["state"]["gamification"]["log"]["events"][0]["amount"] = "lots"
    broken_settings = {**document, "settings": {**document["settings"], "bedtime": "late"}}
    cases: list[tuple[str, Any, str]] = [
        ("text.json", "not json at all", "import_not_an_export"),
        ("other.json", {"some": "thing"}, "import_not_an_export"),
        ("future.json", {**document, "version": 99}, "import_unsupported_version"),
        ("log.json", broken_log, "import_invalid_section"),
        ("settings.json", broken_settings, "import_invalid_section"),
        ("extra.json", {**document, "state": {"passwords": {}}}, "import_invalid_section"),
    ]
    for name, content, key in cases:
        text = content if isinstance(content, str) else json.dumps(content)
        (config_dir / name).write_text(text)
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, "import_data", filename=name)
        assert err.value.translation_key == key, name
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "import_data", filename="missing.json")
    assert err.value.translation_key == "import_file_not_found"
    assert _state(hass, TOTAL_XP) == "45"  # nothing changed

    # Credentials in a file are never taken in.
    document["state"]["scene_snapshot"] = {"light.x": {"state": "on", "token": "SECRET"}}
    (config_dir / "secret.json").write_text(json.dumps(document))
    await _call(hass, "import_data", filename="secret.json")
    assert _state(hass, TOTAL_XP) == "40"
    runtime = init_integration.runtime_data
    assert runtime.scenes.snapshot == {"light.x": {"state": "on"}}
