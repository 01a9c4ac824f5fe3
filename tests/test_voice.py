"""Voice: asking Assist about sleep, readiness, XP, work and screen time, and LifeOps' LLM tools.

Questions go through Home Assistant's conversation agent (`conversation.async_converse`, as
Assist does) with LifeOps' site set up and its entities holding figures, or missing them; the
LLM API is fetched and its tools called as an LLM conversation agent would.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er, intent, llm
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.lifeops.const import DOMAIN
from custom_components.lifeops.core import voice
from custom_components.lifeops.core.settings import Settings
from custom_components.lifeops.core.voice import (
    ANSWER_KEYS,
    INTENTS,
    Answer,
    Minutes,
    Phrasebook,
    Question,
)
from custom_components.lifeops.voice import (
    read_language,
    resolve_language,
    shipped_languages,
)
from tests.releases import assist_tool_name, call_tool, llm_context

from .test_oura import _mock_api, oura_entry, setup_credentials  # noqa: F401

# Wednesday 25 November 2026, 13:00 in Stockholm.
pytestmark = pytest.mark.freeze_time("2026-11-25T12:00:00+00:00")

SLEEP_SCORE = "sensor.bed_sleep_score"
READINESS = "sensor.watch_readiness"


@pytest.fixture
async def stockholm(hass: HomeAssistant) -> None:
    await hass.config.async_set_time_zone("Europe/Stockholm")


@pytest.fixture
async def assist(hass: HomeAssistant, stockholm: None) -> None:
    """Assist's conversation agent, as default_config has it."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})


@pytest.fixture
def options() -> dict[str, Any]:
    """A site with a sleep score and a readiness sensor chosen (from another integration)."""
    return {
        **Settings().as_options(),
        "sleep_score_entity": SLEEP_SCORE,
        "readiness_entity": READINESS,
    }


async def ask(hass: HomeAssistant, text: str, language: str = "en") -> str:
    """Say something to Assist; return what it answers."""
    result = await conversation.async_converse(
        hass, text, None, Context(), language=language, agent_id=None
    )
    return str(result.response.speech["plain"]["speech"])


async def test_assist_answers_from_lifeops_figures(
    hass: HomeAssistant,
    assist: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Each question gets a sentence built from the figures LifeOps' entities show."""
    hass.states.async_set(SLEEP_SCORE, "81")
    hass.states.async_set(READINESS, "88")
    await hass.services.async_call(
        DOMAIN, "award_xp", {"agent": "fitness", "event_type": "run", "amount": 350}, blocking=True
    )
    await hass.services.async_call(
        DOMAIN, "log_screen_time", {"minutes": 95, "category": "phone"}, blocking=True
    )
    await hass.services.async_call(DOMAIN, "start_work", {}, blocking=True)
    freezer.tick(timedelta(hours=2, minutes=30))
    await hass.services.async_call(DOMAIN, "stop_work", {}, blocking=True)
    await hass.async_block_till_done()

    assert await ask(hass, "How did I sleep last night?") == (
        "Your sleep score for last night is 81."
    )
    assert await ask(hass, "what's my readiness") == (
        "Your readiness is 88. Today suits an intense workout."
    )
    assert await ask(hass, "How much XP do I have?") == (
        "You have 350 XP and are at level 3. 250 XP to level 4."
    )
    assert await ask(hass, "how long did I work this week") == (
        "You have worked 2 hours and 30 minutes this week; your target is 40 hours."
    )
    assert await ask(hass, "How much screen time today?") == (
        "1 hour and 35 minutes of screen time today; your limit is 2 hours."
    )


async def test_assist_says_when_figures_are_over_the_target(
    hass: HomeAssistant, assist: None, init_integration: MockConfigEntry
) -> None:
    """A poor night, a day to rest, screen time over the limit."""
    hass.states.async_set(SLEEP_SCORE, "58.4")
    hass.states.async_set(READINESS, "52")
    await hass.services.async_call(
        DOMAIN, "log_screen_time", {"minutes": 150, "category": "tv"}, blocking=True
    )
    await hass.async_block_till_done()
    assert await ask(hass, "what was my sleep score") == (
        "Your sleep score for last night is 58. That is under your target of 70."
    )
    assert await ask(hass, "how ready am I today") == (
        "Your readiness is 52. Today is a day to rest."
    )
    assert await ask(hass, "what is my screen time") == (
        "2 hours and 30 minutes of screen time today, 30 minutes over your limit of 2 hours."
    )


async def test_assist_says_what_is_missing(
    hass: HomeAssistant, assist: None, init_integration: MockConfigEntry
) -> None:
    """No figure yet: Assist says so instead of guessing."""
    hass.states.async_set(SLEEP_SCORE, "unknown")
    hass.states.async_set(READINESS, "unavailable")
    assert await ask(hass, "how did I sleep") == "There is no sleep data for last night yet."
    assert await ask(hass, "what is my readiness") == ("There is no readiness score for today yet.")
    assert await ask(hass, "how much xp do I have") == (
        "You have no XP yet. Complete a habit to earn your first."
    )
    assert await ask(hass, "how many hours did I work this week") == (
        "No work recorded this week yet."
    )
    assert await ask(hass, "how much screen time have I had today") == ("No screen time today yet.")
    # A LifeOps entity turned off by the user: LifeOps says it cannot read it.
    er.async_get(hass).async_update_entity(
        "sensor.lifeops_gamification_total_xp", disabled_by=er.RegistryEntryDisabler.USER
    )
    await hass.async_block_till_done()
    assert await ask(hass, "what level am I") == "LifeOps cannot read that right now."


@pytest.mark.parametrize("options", [Settings().as_options()])
async def test_assist_says_where_to_choose_a_sleep_source(
    hass: HomeAssistant, assist: None, init_integration: MockConfigEntry
) -> None:
    """Without a sleep score or readiness entity (and no Oura account), Assist says what to do."""
    assert await ask(hass, "how did I sleep") == (
        "LifeOps has no sleep score to read. Choose one in LifeOps' options, under Sleep, "
        "or add an Oura account."
    )
    assert await ask(hass, "what is my readiness score") == (
        "LifeOps has no readiness score to read. Choose one in LifeOps' options, under "
        "Fitness, or add an Oura account."
    )


async def test_start_wind_down_by_voice(
    hass: HomeAssistant, assist: None, init_integration: MockConfigEntry
) -> None:
    """ "Start wind-down" starts it (as the action does); asked again, it is already on."""
    events = []
    hass.bus.async_listen("lifeops_wind_down_started", events.append)
    assert await ask(hass, "Start wind-down") == "Wind-down started, until 13:45."
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.lifeops_sleep_wind_down_active").state == "on"
    assert len(events) == 1
    assert await ask(hass, "start winding down") == "Wind-down is already on, until 13:45."
    await hass.async_block_till_done()
    assert len(events) == 1


async def test_sentences_registered_when_conversation_loads_later(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    """LifeOps loaded before Assist: its sentences still reach Assist, with no manual step."""
    hass.states.async_set(SLEEP_SCORE, "77")
    assert "conversation" not in hass.config.components
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    await hass.async_block_till_done()
    assert await ask(hass, "how did I sleep") == "Your sleep score for last night is 77."


async def test_assist_without_a_lifeops_site(hass: HomeAssistant, assist: None) -> None:
    """LifeOps installed but no site added yet."""
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert await ask(hass, "how did I sleep") == "LifeOps is not set up yet."


async def test_asked_in_swedish_answers_in_swedish(
    hass: HomeAssistant,
    assist: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Another language's file brings its own sentences and answers, units included."""
    hass.states.async_set(SLEEP_SCORE, "unknown")
    await hass.services.async_call(DOMAIN, "start_work", {}, blocking=True)
    freezer.tick(timedelta(hours=1, minutes=1))
    await hass.services.async_call(DOMAIN, "stop_work", {}, blocking=True)
    await hass.async_block_till_done()
    assert await ask(hass, "Hur sov jag i natt?", "sv") == (
        "Det finns inga sömndata för i natt än."
    )
    assert await ask(hass, "hur många timmar har jag jobbat den här veckan", "sv") == (
        "Du har jobbat 1 timme och 1 minut den här veckan; ditt mål är 40 timmar."
    )


async def test_answers_in_a_language_without_a_file_fall_back_to_english(
    hass: HomeAssistant, assist: None, init_integration: MockConfigEntry
) -> None:
    """The intents answer in the asker's language when LifeOps has it, else in English."""
    hass.states.async_set(SLEEP_SCORE, "90")
    response = await intent.async_handle(
        hass, "test", INTENTS[Question.SLEEP], {}, None, Context(), language="de"
    )
    assert response.speech["plain"]["speech"] == "Your sleep score for last night is 90."
    response = await intent.async_handle(
        hass, "test", INTENTS[Question.SLEEP], {}, None, Context(), language="en-GB"
    )
    assert response.response_type is intent.IntentResponseType.QUERY_ANSWER


# ---- with an Oura account ---------------------------------------------------------------------


@pytest.mark.freeze_time("2025-03-14T12:00:00+00:00")
@pytest.mark.parametrize("options", [Settings().as_options()])
@pytest.mark.usefixtures("setup_credentials")
async def test_sleep_and_readiness_from_an_oura_account(
    hass: HomeAssistant,
    assist: None,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,  # noqa: F811
    mock_config_entry: MockConfigEntry,
) -> None:
    """With nothing chosen in the options, the Oura account's sensors answer, time asleep too."""
    _mock_api(aioclient_mock)
    for entry in (oura_entry, mock_config_entry):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert await ask(hass, "how did I sleep") == (
        "Last night you slept 5 hours and 50 minutes, with a sleep score of 67. "
        "That is under your target of 70."
    )
    assert await ask(hass, "what's my readiness") == "Your readiness is 70."


@pytest.mark.freeze_time("2025-03-15T12:00:00+00:00")
@pytest.mark.parametrize("options", [Settings().as_options()])
@pytest.mark.usefixtures("setup_credentials")
async def test_oura_without_last_nights_sleep_yet(
    hass: HomeAssistant,
    assist: None,
    aioclient_mock: AiohttpClientMocker,
    oura_entry: MockConfigEntry,  # noqa: F811
    mock_config_entry: MockConfigEntry,
) -> None:
    """Oura's newest night ended the day before yesterday's: last night's is not in yet."""
    _mock_api(aioclient_mock)
    for entry in (oura_entry, mock_config_entry):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.oura_ring_sleep_score").state == "67"
    assert await ask(hass, "how did I sleep") == "There is no sleep data for last night yet."


# ---- the LLM API ------------------------------------------------------------------------------


async def test_llm_api_tools_answer_with_figures(
    hass: HomeAssistant, stockholm: None, init_integration: MockConfigEntry
) -> None:
    """The LifeOps API offers a tool per question; each says a sentence and gives figures."""
    hass.states.async_set(SLEEP_SCORE, "unknown")
    hass.states.async_set(READINESS, "75")
    await hass.services.async_call(
        DOMAIN, "log_screen_time", {"minutes": 42, "category": "phone"}, blocking=True
    )
    await hass.async_block_till_done()
    assert "lifeops" in [api.id for api in llm.async_get_apis(hass)]
    context = llm_context()
    api = await llm.async_get_api(hass, "lifeops", context)
    assert sorted(tool.name for tool in api.tools) == sorted(
        f"lifeops_{question.value}" for question in Question
    )
    assert "never guess" in api.api_prompt

    readiness = await call_tool(api, "lifeops_readiness")
    assert readiness == {
        "speech": "Your readiness is 75. Today suits a moderate workout.",
        "answer": "readiness",
        "data": {"readiness": 75.0, "recommendation": "moderate", "source": READINESS},
    }
    sleep = await call_tool(api, "lifeops_sleep")
    assert sleep["answer"] == "sleep_no_data"
    assert sleep["data"]["sleep_score"] is None
    screen = await call_tool(api, "lifeops_screen_time")
    assert screen["data"] == {"minutes_today": 42, "daily_limit_minutes": 120}
    assert screen["speech"] == "42 minutes of screen time today; your limit is 2 hours."
    started = await call_tool(api, "lifeops_start_wind_down")
    assert started["data"]["started"] is True
    assert hass.states.get("binary_sensor.lifeops_sleep_wind_down_active").state == "on"


async def test_assist_llm_api_offers_lifeops_intents(
    hass: HomeAssistant, assist: None, init_integration: MockConfigEntry
) -> None:
    """With Home Assistant's own Assist API, an LLM sees LifeOps' intents as tools."""
    hass.states.async_set(READINESS, "64")
    await hass.async_block_till_done()
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, llm_context())
    names = {assist_tool_name(name) for name in INTENTS.values()}
    assert names <= {tool.name for tool in api.tools}
    result = await call_tool(api, assist_tool_name("LifeOpsReadiness"))
    assert result["speech"]["plain"]["speech"] == (
        "Your readiness is 64. Today suits a light workout."
    )


async def test_every_phrase_in_the_docs_is_understood(
    hass: HomeAssistant, assist: None, init_integration: MockConfigEntry
) -> None:
    """What docs/voice.md tells people to say reaches LifeOps (no "Sorry, I couldn't ...")."""
    page = (Path(__file__).parent.parent / "docs" / "voice.md").read_text(encoding="utf-8")
    section = page.split("## What to say", 1)[1].split("\n## ", 1)[0]
    phrases = [
        phrase
        for line in section.splitlines()
        if line.startswith('| "')
        for phrase in re.findall(r'"([^"]+)"', line.split("|")[1])
    ]
    assert len(phrases) >= 6
    for phrase in phrases:
        result = await conversation.async_converse(hass, phrase, None, Context(), language="en")
        assert result.response.response_type is not intent.IntentResponseType.ERROR, phrase
        if "wind" in phrase.lower():
            await hass.services.async_call(DOMAIN, "end_wind_down", {}, blocking=True)


# ---- the language files -----------------------------------------------------------------------


@pytest.mark.parametrize("language", shipped_languages())
def test_language_file_phrases_every_answer(language: str) -> None:
    """Each shipped language has sentences for every intent and phrases every answer."""
    data = read_language(language)
    assert data["language"] == language
    assert set(data["intents"]) == set(INTENTS.values())
    assert all(data["intents"].values())
    book = Phrasebook(data)
    assert book.missing() == []
    sample = {
        "score": 1,
        "threshold": 1,
        "until": "22:00",
        "xp": 1,
        "level": 1,
        "xp_to_next": 1,
        "next_level": 2,
        "duration": Minutes(61),
        "over": Minutes(1),
        "target": Minutes(60),
        "limit": Minutes(60),
    }
    for key in ANSWER_KEYS:
        assert "{" not in book.say(Answer(key, sample)), key


def test_durations_and_plurals_in_english() -> None:
    book = Phrasebook(read_language("en"))
    assert book.duration(0) == "0 minutes"
    assert book.duration(1) == "1 minute"
    assert book.duration(59.6) == "1 hour"
    assert book.duration(61) == "1 hour and 1 minute"
    assert book.duration(445) == "7 hours and 25 minutes"
    assert book.duration(120) == "2 hours"


def test_answers_choose_what_the_figures_allow() -> None:
    """The answer rules alone, for the cases the conversations above do not reach."""
    assert voice.sleep(
        has_source=True, score=None, asleep_minutes=412, last_night=True, threshold=70
    ) == Answer("sleep_duration", {"duration": Minutes(412)})
    assert voice.sleep(
        has_source=True, score=80, asleep_minutes=412, last_night=False, threshold=70
    ) == Answer("sleep_no_data")
    assert voice.readiness(has_source=True, score=81.6, recommendation=None) == Answer(
        "readiness", {"score": 82}
    )
    assert voice.xp(total=300, level=3, to_next=300).keys == ("xp", "xp_to_next_level")
    over = voice.work_week(hours=42.5, target_hours=40)
    assert over.key == "work_week_over"
    assert over.values["over"] == Minutes(150)
    assert voice.work_week(hours=40, target_hours=40).key == "work_week"
    assert voice.work_week(hours=3, target_hours=0).key == "work_week_no_target"
    assert voice.screen_time(minutes=30, limit_minutes=0).key == "screen_time_no_limit"
    assert voice.screen_time(minutes=120.2, limit_minutes=120).key == "screen_time"
    book = Phrasebook(read_language("en"))
    assert book.say(over) == (
        "You have worked 42 hours and 30 minutes this week, 2 hours and 30 minutes over your "
        "target of 40 hours."
    )


def test_a_language_tag_never_reaches_outside_the_sentences_folder() -> None:
    """Whatever language a request names, only shipped files are read."""
    shipped = shipped_languages()
    assert resolve_language("en-GB", shipped) == "en"
    assert resolve_language("../../secrets", shipped) == "en"
    assert resolve_language("xx", []) is None
    assert read_language("../../secrets")["language"] == "en"
