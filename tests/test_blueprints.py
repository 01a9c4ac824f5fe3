"""The automation blueprints in blueprints/automation/lifeops, used as a person would use them.

Each blueprint is copied into a test Home Assistant's config folder and instantiated with
`use_blueprint`, with real entities (lights of a test integration, LifeOps' own entities, a
mobile_app phone); its trigger happens (LifeOps fires its event, the clock reaches the time, a
sensor changes) and the test checks what reached the lights, the phone or LifeOps' notifications.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
import shutil
from typing import Any
from urllib.parse import quote

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import persistent_notification
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.components.light import (
    ATTR_BRIGHTNESS,
    ATTR_COLOR_TEMP_KELVIN,
    ATTR_TRANSITION,
    ColorMode,
    LightEntity,
    LightEntityFeature,
)
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import (
    area_registry as ar,
    entity_registry as er,
)
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    async_fire_time_changed,
    async_mock_service,
    mock_config_flow,
    mock_integration,
    mock_platform,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker
import yaml

from custom_components.lifeops.const import DOMAIN
from tests.releases import SETUP_ENTRY_OK, find_device

BLUEPRINTS = Path(__file__).parent.parent / "blueprints" / "automation" / "lifeops"
SOURCE_URL = "https://github.com/lifeops/lifeops/blob/main/blueprints/automation/lifeops/"
RAW_URL = "https://raw.githubusercontent.com/lifeops/lifeops/main/blueprints/automation/lifeops/"
TEST_DOMAIN = "test"
# The one thing each of these blueprints acts on or reads, which only the person can choose.
INPUTS_WITHOUT_DEFAULT = {"phone", "sleep_score", "readiness"}
PUSH_URL = "https://mobile-push.home-assistant.dev/push"

# 13:00 in Stockholm (CET): daytime, outside the default quiet hours.
pytestmark = pytest.mark.freeze_time("2026-11-25T12:00:00+00:00")


class BlueprintYamlLoader(yaml.SafeLoader):
    """Reads blueprint files with their `!input` tags, for the structure checks."""


BlueprintYamlLoader.add_constructor("!input", lambda loader, node: {"!input": node.value})


class Light(LightEntity):
    """A light of a test integration; it remembers what the light component passed it."""

    _attr_should_poll = False

    def __init__(self, key: str, *, color_temp: bool, is_on: bool) -> None:
        """A colour-temperature light with transitions, or a plain dimmer."""
        self._attr_unique_id = f"light_{key}"
        self._attr_name = key.capitalize()
        # A device named unlike the entity, so the entity's name is its own and it may have an
        # area (2026.x); its id is fixed (2026.x would put the device's name into it).
        self.entity_id = f"light.{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(TEST_DOMAIN, key)}, name=f"Fixture for {key}"
        )
        mode = ColorMode.COLOR_TEMP if color_temp else ColorMode.BRIGHTNESS
        self._attr_supported_color_modes = {mode}
        self._attr_color_mode = mode
        self._attr_supported_features = (
            LightEntityFeature.TRANSITION if color_temp else LightEntityFeature(0)
        )
        self._attr_min_color_temp_kelvin = 2000
        self._attr_max_color_temp_kelvin = 6500
        self._attr_is_on = is_on
        self._attr_brightness = 255
        self.received: list[tuple[str, dict[str, Any]]] = []

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch on with what came through."""
        self.received.append(("on", {k: v for k, v in kwargs.items() if k != "color_temp"}))
        self._attr_is_on = True
        self._attr_brightness = kwargs.get(ATTR_BRIGHTNESS, self._attr_brightness)
        self.async_write_ha_state()

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch off."""
        self.received.append(("off", kwargs))
        self._attr_is_on = False
        self.async_write_ha_state()


class TestFlow(ConfigFlow):
    """The test integration's config flow (config entries need a handler)."""


@pytest.fixture
async def stockholm(hass: HomeAssistant) -> None:
    await hass.config.async_set_time_zone("Europe/Stockholm")


@pytest.fixture
async def blueprint_config(hass: HomeAssistant, tmp_path: Path) -> AsyncIterator[Path]:
    """A config folder holding LifeOps' blueprints where Home Assistant looks for them."""
    target = tmp_path / "blueprints" / "automation" / "lifeops"
    await hass.async_add_executor_job(shutil.copytree, BLUEPRINTS, target)
    original = hass.config.config_dir
    hass.config.config_dir = str(tmp_path)
    yield target
    hass.config.config_dir = original
    # Turned off, the automations drop their time triggers' timers.
    if hass.services.has_service("automation", "turn_off"):
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "all"}, blocking=True
        )


@pytest.fixture
async def lights(hass: HomeAssistant, stockholm: None) -> dict[str, Light]:
    """Three lights of another integration: warm-white, a dimmer (in the bedroom) and one off."""
    entities = {
        "light.ceiling": Light("ceiling", color_temp=True, is_on=True),
        "light.dimmer": Light("dimmer", color_temp=False, is_on=True),
        "light.reading": Light("reading", color_temp=True, is_on=False),
    }

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool | None:
        await hass.config_entries.async_forward_entry_setups(entry, [Platform.LIGHT])
        return SETUP_ENTRY_OK

    async def add(
        hass: HomeAssistant, entry: ConfigEntry, add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        add_entities(entities.values())

    mock_integration(hass, MockModule(TEST_DOMAIN, async_setup_entry=setup_entry))
    mock_platform(hass, f"{TEST_DOMAIN}.config_flow")
    mock_platform(hass, f"{TEST_DOMAIN}.light", MockPlatform(async_setup_entry=add))
    with mock_config_flow(TEST_DOMAIN, TestFlow):
        entry = MockConfigEntry(domain=TEST_DOMAIN)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    bedroom = ar.async_get(hass).async_create("Bedroom")
    er.async_get(hass).async_update_entity("light.dimmer", area_id=bedroom.id)
    return entities


async def use_blueprint(hass: HomeAssistant, path: str, inputs: dict[str, Any]) -> None:
    """Create an automation from one of LifeOps' blueprints."""
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": path.removesuffix(".yaml"),
                "alias": path,
                "use_blueprint": {"path": f"lifeops/{path}", "input": inputs},
            }
        },
    )
    await hass.async_block_till_done()
    state = hass.states.get(f"automation.{path.removesuffix('.yaml')}_yaml")
    assert state is not None
    assert state.state == "on", state.attributes


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, to: str) -> None:
    """Move the clock to a UTC moment and let Home Assistant's timers run."""
    freezer.move_to(to)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def settle() -> None:
    """Let every ready task run, without waiting for timers."""
    for _ in range(20):
        await asyncio.sleep(0)


def lifeops_messages(hass: HomeAssistant) -> list[tuple[str, str]]:
    """What LifeOps has shown (with no notify targets, as persistent notifications)."""
    shown = persistent_notification._async_get_or_create_notifications(hass)
    return [
        (item["title"], item["message"]) for key, item in shown.items() if key.startswith(DOMAIN)
    ]


# ---- every blueprint ---------------------------------------------------------------------------


def _steps(node: Any) -> Iterator[dict[str, Any]]:
    """Every trigger, condition and action step in a blueprint's automation, nested ones too."""
    if isinstance(node, list):
        for item in node:
            yield from _steps(item)
        return
    if not isinstance(node, dict) or "!input" in node:
        return
    yield node
    for key in ("sequence", "then", "else", "conditions", "choose", "default"):
        if key in node:
            yield from _steps(node[key])
    if "repeat" in node:
        yield from _steps(node["repeat"]["sequence"])


@pytest.mark.parametrize("path", sorted(p.name for p in BLUEPRINTS.glob("*.yaml")))
async def test_blueprint_is_valid_and_complete(
    hass: HomeAssistant, blueprint_config: Path, path: str
) -> None:
    """Each blueprint loads in Home Assistant and follows the house style."""
    assert await async_setup_component(hass, "automation", {})
    blueprint = await async_get_blueprints(hass).async_get_blueprint(f"lifeops/{path}")
    assert blueprint.metadata["source_url"] == SOURCE_URL + path
    assert blueprint.metadata["domain"] == "automation"
    text = await hass.async_add_executor_job((BLUEPRINTS / path).read_text)
    raw = yaml.load(text, BlueprintYamlLoader)
    assert {"triggers", "actions"} <= raw.keys()
    assert not {"trigger", "condition", "action"} & raw.keys()
    inputs = raw["blueprint"]["input"]
    # Every input has a name and a selector; all but the thing it acts on have a default,
    # and numbers are bounded with the default inside the bounds.
    for key, spec in inputs.items():
        assert spec.get("name"), key
        assert spec.get("selector"), key
        assert "default" in spec or key in INPUTS_WITHOUT_DEFAULT, key
        if (number := spec["selector"].get("number")) is not None:
            assert number["min"] <= spec["default"] <= number["max"], key
    # Inputs are copied into variables (or trigger_variables) under their own names.
    copied = {**raw.get("trigger_variables", {}), **raw.get("variables", {})}
    used = {value["!input"] for value in copied.values() if isinstance(value, dict)}
    assert used == set(inputs), path
    for step in _steps([raw["triggers"], raw.get("conditions", []), raw["actions"]]):
        assert step.get("alias"), step


# ---- wind-down lights ---------------------------------------------------------------------------


async def test_wind_down_lights_dims_at_wind_down_and_turns_off_at_bedtime(
    hass: HomeAssistant,
    blueprint_config: Path,
    lights: dict[str, Light],
    init_integration: MockConfigEntry,
) -> None:
    """Lights chosen by entity and by area dim warm; lights that are off stay off."""
    await use_blueprint(
        hass,
        "wind_down_lights.yaml",
        {
            "light_entities": ["light.ceiling", "light.reading"],
            "areas": [ar.async_get(hass).async_get_area_by_name("Bedroom").id],
            "brightness_pct": 20,
            "color_temp_kelvin": 2300,
            "transition": 30,
            "off_at_bedtime": True,
            "lifeops_entry": init_integration.entry_id,
        },
    )
    # LifeOps starts wind-down (here through its action) and fires lifeops_wind_down_started.
    await hass.services.async_call(DOMAIN, "start_wind_down", {"duration": 30}, blocking=True)
    await hass.async_block_till_done()

    assert lights["light.ceiling"].received == [
        ("on", {ATTR_BRIGHTNESS: 51, ATTR_COLOR_TEMP_KELVIN: 2300, ATTR_TRANSITION: 30})
    ]
    # A dimmer gets the brightness only (the light component drops what it cannot do).
    assert lights["light.dimmer"].received == [("on", {ATTR_BRIGHTNESS: 51})]
    assert lights["light.reading"].received == []
    assert hass.states.get("light.reading").state == "off"

    # Bedtime from another site changes nothing; this site's bedtime turns them off.
    hass.bus.async_fire("lifeops_bedtime", {"config_entry_id": "another_site"})
    await hass.async_block_till_done()
    assert hass.states.get("light.ceiling").state == "on"
    hass.bus.async_fire("lifeops_bedtime", {"config_entry_id": init_integration.entry_id})
    await hass.async_block_till_done()
    assert hass.states.get("light.ceiling").state == "off"
    assert hass.states.get("light.dimmer").state == "off"
    assert lights["light.ceiling"].received[-1] == ("off", {ATTR_TRANSITION: 30})
    assert lights["light.reading"].received == []


async def test_wind_down_lights_can_turn_on_lights_that_are_off(
    hass: HomeAssistant,
    blueprint_config: Path,
    lights: dict[str, Light],
    init_integration: MockConfigEntry,
) -> None:
    """With "only lights that are on" off, every chosen light dims; bedtime stays off by default."""
    await use_blueprint(
        hass,
        "wind_down_lights.yaml",
        {"light_entities": ["light.reading"], "only_lights_on": False},
    )
    await hass.services.async_call(DOMAIN, "start_wind_down", {}, blocking=True)
    await hass.async_block_till_done()
    assert lights["light.reading"].received == [
        ("on", {ATTR_BRIGHTNESS: 76, ATTR_COLOR_TEMP_KELVIN: 2200, ATTR_TRANSITION: 60})
    ]
    hass.bus.async_fire("lifeops_bedtime", {"config_entry_id": init_integration.entry_id})
    await hass.async_block_till_done()
    assert hass.states.get("light.reading").state == "on"


# ---- bedtime reminder to a phone ------------------------------------------------------------


@pytest.fixture
async def phone(hass: HomeAssistant, stockholm: None, aioclient_mock: AiohttpClientMocker) -> str:
    """A phone registered with the Companion app; its pushes land in aioclient_mock."""
    aioclient_mock.post(PUSH_URL, json={"rateLimits": {"maximum": 150, "successful": 1}})
    entry = MockConfigEntry(
        domain="mobile_app",
        source="registration",
        title="Phone",
        data={
            "app_data": {"push_token": "token", "push_url": PUSH_URL},
            "app_id": "io.homeassistant.mobile_app",
            "app_name": "Home Assistant",
            "app_version": "2025.4",
            "device_id": "phone-1",
            "device_name": "Phone",
            "manufacturer": "Example",
            "model": "Phone",
            "os_name": "Android",
            "os_version": "15",
            "secret": "secret",
            "supports_encryption": False,
            "user_id": "user",
            "webhook_id": "phone_webhook",
        },
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "mobile_app", {"mobile_app": {}})
    await hass.async_block_till_done()
    device = find_device(hass, ("mobile_app", "phone-1"))
    assert device is not None
    return device.id


@pytest.mark.freeze_time("2026-11-25T21:00:00+00:00")  # 22:00 in Stockholm
async def test_bedtime_reminder_reaches_the_phone_before_bedtime(
    hass: HomeAssistant,
    blueprint_config: Path,
    phone: str,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """20 minutes before the 22:30 bedtime, the phone gets the reminder; once."""
    await use_blueprint(
        hass, "bedtime_reminder.yaml", {"phone": phone, "minutes_before": 20, "title": "Bed"}
    )
    await tick(hass, freezer, "2026-11-25T21:09:00+00:00")
    assert aioclient_mock.call_count == 0
    await tick(hass, freezer, "2026-11-25T21:10:00+00:00")
    assert aioclient_mock.call_count == 1
    push = aioclient_mock.mock_calls[0][2]
    assert push["title"] == "Bed"
    assert push["message"] == ("Bedtime is at 22:30, in 20 minutes. Time to put the screens away.")
    await tick(hass, freezer, "2026-11-25T21:20:00+00:00")
    assert aioclient_mock.call_count == 1
    # Past bedtime the sensor moves on to tomorrow's; the next night gets its reminder too.
    await tick(hass, freezer, "2026-11-25T21:31:00+00:00")
    await tick(hass, freezer, "2026-11-26T21:09:00+00:00")
    assert aioclient_mock.call_count == 1
    await tick(hass, freezer, "2026-11-26T21:10:00+00:00")
    assert aioclient_mock.call_count == 2


# ---- poor-sleep morning message, workout suggestion --------------------------------------------


@pytest.mark.freeze_time("2026-11-26T06:00:00+00:00")  # 07:00 in Stockholm
async def test_poor_sleep_message_in_the_morning_once(
    hass: HomeAssistant,
    blueprint_config: Path,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A score under the threshold gets one message from the morning time on; a good one none."""
    await async_setup_component(hass, "persistent_notification", {})
    hass.states.async_set("sensor.oura_sleep_score", "58")
    await use_blueprint(
        hass,
        "poor_sleep_message.yaml",
        {"sleep_score": "sensor.oura_sleep_score", "threshold": 65, "morning": "07:30:00"},
    )
    hass.states.async_set("sensor.oura_sleep_score", "57")  # before the morning time
    await hass.async_block_till_done()
    assert lifeops_messages(hass) == []
    await tick(hass, freezer, "2026-11-26T06:30:00+00:00")  # 07:30
    assert lifeops_messages(hass) == [
        (
            "A short night",
            "Your sleep score is 57. Take it easy today and try an earlier bedtime tonight.",
        )
    ]
    hass.states.async_set("sensor.oura_sleep_score", "55")  # a late correction: no second one
    await hass.async_block_till_done()
    assert len(lifeops_messages(hass)) == 1


@pytest.mark.freeze_time("2026-11-26T06:00:00+00:00")  # 07:00 in Stockholm
async def test_poor_sleep_message_not_for_a_good_night(
    hass: HomeAssistant,
    blueprint_config: Path,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await async_setup_component(hass, "persistent_notification", {})
    hass.states.async_set("sensor.oura_sleep_score", "unknown")
    await use_blueprint(hass, "poor_sleep_message.yaml", {"sleep_score": "sensor.oura_sleep_score"})
    await tick(hass, freezer, "2026-11-26T07:00:00+00:00")  # 08:00, no score yet
    hass.states.async_set("sensor.oura_sleep_score", "82")
    await hass.async_block_till_done()
    assert lifeops_messages(hass) == []
    hass.states.async_set("sensor.oura_sleep_score", "64")  # score arrives later: counts
    await hass.async_block_till_done()
    assert [title for title, _ in lifeops_messages(hass)] == ["A short night"]


async def test_workout_suggestion_when_readiness_is_high(
    hass: HomeAssistant,
    blueprint_config: Path,
    stockholm: None,
    init_integration: MockConfigEntry,
) -> None:
    """Readiness over the threshold suggests LifeOps' recommended workout, once a day."""
    await async_setup_component(hass, "persistent_notification", {})
    hass.states.async_set("sensor.oura_readiness", "70")
    hass.config_entries.async_update_entry(
        init_integration,
        options={**init_integration.options, "readiness_entity": "sensor.oura_readiness"},
    )
    await hass.async_block_till_done()
    await use_blueprint(
        hass, "workout_suggestion.yaml", {"readiness": "sensor.oura_readiness", "threshold": 80}
    )
    assert lifeops_messages(hass) == []
    hass.states.async_set("sensor.oura_readiness", "88")
    await hass.async_block_till_done()
    assert lifeops_messages(hass) == [
        ("A good day to train", "Readiness is 88 today: a good day for a intense workout.")
    ]
    hass.states.async_set("sensor.oura_readiness", "70")
    hass.states.async_set("sensor.oura_readiness", "90")
    await hass.async_block_till_done()
    assert len(lifeops_messages(hass)) == 1


# ---- screen time, work cut-off ----------------------------------------------------------------


async def test_screen_time_limit_reached_notifies_and_turns_off_the_tv(
    hass: HomeAssistant,
    blueprint_config: Path,
    stockholm: None,
    init_integration: MockConfigEntry,
) -> None:
    """LifeOps' screen time reaching its limit sends a message and turns off the TV."""
    await async_setup_component(hass, "persistent_notification", {})
    turned_off = async_mock_service(hass, "media_player", "turn_off")
    await use_blueprint(
        hass, "screen_time_limit.yaml", {"media_players": ["media_player.living_room_tv"]}
    )
    await hass.services.async_call(
        DOMAIN, "log_screen_time", {"minutes": 100, "category": "phone"}, blocking=True
    )
    await hass.async_block_till_done()
    assert lifeops_messages(hass) == []
    assert turned_off == []
    await hass.services.async_call(
        DOMAIN, "log_screen_time", {"minutes": 25, "category": "tablet"}, blocking=True
    )
    await hass.async_block_till_done()
    # LifeOps' own nudge at its limit comes too; the blueprint's message is its own.
    assert (
        "Screen time is up",
        "125 minutes of screen time today, the limit is 120. Time for something else.",
    ) in lifeops_messages(hass)
    assert [call.data["entity_id"] for call in turned_off] == [["media_player.living_room_tv"]]


async def test_screen_time_limit_of_its_own(
    hass: HomeAssistant,
    blueprint_config: Path,
    stockholm: None,
    init_integration: MockConfigEntry,
) -> None:
    """A limit in the blueprint wins over LifeOps' own; no media players, only the message."""
    await async_setup_component(hass, "persistent_notification", {})
    await use_blueprint(hass, "screen_time_limit.yaml", {"limit_minutes": 30})
    await hass.services.async_call(DOMAIN, "log_screen_time", {"minutes": 31}, blocking=True)
    await hass.async_block_till_done()
    assert [message for _, message in lifeops_messages(hass)] == [
        "31 minutes of screen time today, the limit is 30. Time for something else."
    ]


@pytest.mark.freeze_time("2026-11-25T16:00:00+00:00")  # Wednesday 17:00 in Stockholm
async def test_work_cutoff_reminder_while_working(
    hass: HomeAssistant,
    blueprint_config: Path,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Still working at the cut-off gets one reminder; starting again later gets none more."""
    await async_setup_component(hass, "persistent_notification", {})
    await use_blueprint(hass, "work_cutoff_reminder.yaml", {"cutoff": "17:30:00"})
    await hass.services.async_call(DOMAIN, "start_work", {}, blocking=True)
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.lifeops_work_life_working").state == "on"
    assert lifeops_messages(hass) == []
    await tick(hass, freezer, "2026-11-25T16:30:00+00:00")
    assert lifeops_messages(hass) == [
        ("Time to stop working", "It is past 17:30. Wrap up and call it a day.")
    ]
    await hass.services.async_call(DOMAIN, "stop_work", {}, blocking=True)
    await hass.services.async_call(DOMAIN, "start_work", {}, blocking=True)
    await hass.async_block_till_done()
    assert len(lifeops_messages(hass)) == 1


@pytest.mark.freeze_time("2026-11-28T16:00:00+00:00")  # Saturday 17:00 in Stockholm
async def test_work_cutoff_reminder_not_on_other_days_nor_when_not_working(
    hass: HomeAssistant,
    blueprint_config: Path,
    stockholm: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await async_setup_component(hass, "persistent_notification", {})
    await use_blueprint(hass, "work_cutoff_reminder.yaml", {"cutoff": "17:30:00"})
    await hass.services.async_call(DOMAIN, "start_work", {}, blocking=True)
    await tick(hass, freezer, "2026-11-28T16:30:00+00:00")  # Saturday: not a chosen day
    await hass.services.async_call(DOMAIN, "stop_work", {}, blocking=True)
    await tick(hass, freezer, "2026-11-30T16:30:00+00:00")  # Monday, but not working
    assert lifeops_messages(hass) == []
    await hass.services.async_call(DOMAIN, "start_work", {}, blocking=True)  # starts late
    await hass.async_block_till_done()
    assert len(lifeops_messages(hass)) == 1


# ---- XP celebration -----------------------------------------------------------------------------


async def test_xp_celebration_flashes_lights_on_level_up(
    hass: HomeAssistant,
    blueprint_config: Path,
    lights: dict[str, Light],
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Reaching level 2 flashes the lights twice (they end as they were) and says so."""
    await async_setup_component(hass, "persistent_notification", {})
    toggles: list[ServiceCall] = []
    hass.bus.async_listen(
        "call_service",
        lambda event: toggles.append(event) if event.data["service"] == "toggle" else None,
    )
    await use_blueprint(
        hass,
        "xp_celebration.yaml",
        {"lights": ["light.ceiling", "light.reading"], "flashes": 2, "flash_ms": 500},
    )
    # 100 XP: LifeOps reaches level 2 and fires lifeops_level_up.
    await hass.services.async_call(
        DOMAIN, "award_xp", {"agent": "fitness", "event_type": "run", "amount": 100}, blocking=True
    )
    # The flashes are under way (the automation waits between them): no block_till_done here.
    await settle()
    assert lifeops_messages(hass) == [("Level 2!", "You reached level 2 with 100 XP. Well done!")]
    assert hass.states.get("light.ceiling").state == "off"
    assert hass.states.get("light.reading").state == "on"
    seen = [len(toggles)]
    for expected in (2, 3, 4, 4):
        freezer.tick(timedelta(milliseconds=500))
        async_fire_time_changed(hass)
        # On a busy machine a flash can take more than a few turns of the loop to land.
        for _ in range(500):
            if len(toggles) >= expected:
                break
            await asyncio.sleep(0)
        await settle()
        seen.append(len(toggles))
    assert seen == [1, 2, 3, 4, 4]
    assert hass.states.get("light.ceiling").state == "on"
    assert hass.states.get("light.reading").state == "off"
    # An achievement ("First step" needs a habit) is celebrated too, with its name.
    await hass.services.async_call(
        DOMAIN, "complete_habit", {"habit": "wind_down_honoured"}, blocking=True
    )
    await settle()
    assert ("Achievement unlocked", "First step: unlocked. Well done!") in lifeops_messages(hass)


def test_docs_offer_every_blueprint_with_an_import_button() -> None:
    """docs/blueprints.md has a My Home Assistant import link for each file."""
    readme = (Path(__file__).parent.parent / "docs" / "blueprints.md").read_text(encoding="utf-8")
    for path in sorted(BLUEPRINTS.glob("*.yaml")):
        raw = RAW_URL + path.name
        link = "https://my.home-assistant.io/redirect/blueprint_import/?blueprint_url=" + quote(
            raw, safe=""
        )
        assert f"]({link})" in readme, path.name
