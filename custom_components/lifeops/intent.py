"""Assist: LifeOps' questions as intents, and the sentences that reach them, with no setup step.

Home Assistant's `intent` integration calls `async_setup_intents` (this file is LifeOps' intent
platform). The sentences in `sentences/<language>.yaml` are registered with Assist's default
conversation agent as sentence triggers (Home Assistant's `conversation` trigger platform, the
one automations use) as soon as `conversation` is loaded; a matched sentence runs its intent
and Assist speaks the answer. Nothing is copied into the user's configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from homeassistant.const import EVENT_COMPONENT_LOADED
from homeassistant.core import Context, Event, HomeAssistant, callback
from homeassistant.helpers import intent
from homeassistant.helpers.script import ScriptRunResult
from homeassistant.helpers.trigger import (
    async_initialize_triggers,
    async_validate_trigger_config,
)

from .const import DOMAIN, LOGGER
from .core.voice import INTENTS, Question
from .voice import async_answer, read_language, shipped_languages

CONVERSATION: Final = "conversation"

# For an LLM choosing a tool (Assist's LLM API lists intents as tools); not spoken.
DESCRIPTIONS: Final[dict[Question, str]] = {
    Question.SLEEP: "How the user slept last night: LifeOps' sleep score and time asleep.",
    Question.READINESS: "The user's readiness today and LifeOps' workout recommendation.",
    Question.START_WIND_DOWN: "Start LifeOps' wind-down before bed (dims the chosen lights).",
    Question.XP: "The user's LifeOps XP in total, level and XP to the next level.",
    Question.WORK_WEEK: "Hours the user worked this week, against the weekly target.",
    Question.SCREEN_TIME: "The user's screen time today, against the daily limit.",
}
QUESTION_OF_INTENT: Final = {name: question for question, name in INTENTS.items()}


class LifeOpsIntentHandler(intent.IntentHandler):
    """Answers one of LifeOps' questions with a spoken sentence."""

    def __init__(self, question: Question) -> None:
        """Handle the intent of `question`."""
        self.question = question
        self.intent_type = INTENTS[question]
        self.description = DESCRIPTIONS[question]

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Answer from LifeOps' entities in the intent's language."""
        reply = await async_answer(
            intent_obj.hass,
            self.question,
            language=intent_obj.language,
            context=intent_obj.context,
        )
        response = intent_obj.create_response()
        response.response_type = (
            intent.IntentResponseType.ACTION_DONE
            if self.question is Question.START_WIND_DOWN
            else intent.IntentResponseType.QUERY_ANSWER
        )
        response.async_set_speech(reply.speech)
        return response


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register LifeOps' intents (called by Home Assistant's intent integration)."""
    for question in Question:
        intent.async_register(hass, LifeOpsIntentHandler(question))


def all_sentences() -> dict[str, list[str]]:
    """Each intent's sentences in every shipped language (reads files: run in the executor)."""
    sentences: dict[str, list[str]] = {name: [] for name in QUESTION_OF_INTENT}
    for language in shipped_languages():
        for name, templates in (read_language(language).get("intents") or {}).items():
            if name in sentences:
                sentences[name].extend(str(template) for template in templates)
    return sentences


@callback
def async_setup_sentences(hass: HomeAssistant) -> None:
    """Register the sentences with Assist once `conversation` is loaded (now, or when it is)."""
    if CONVERSATION in hass.config.components:
        hass.async_create_task(_async_register_sentences(hass), "lifeops sentences")
        return

    unsubscribe: Callable[[], None] | None = None

    @callback
    def loaded(event: Event[Any]) -> None:
        if event.data.get("component") != CONVERSATION or unsubscribe is None:
            return
        unsubscribe()
        hass.async_create_task(_async_register_sentences(hass), "lifeops sentences")

    unsubscribe = hass.bus.async_listen(EVENT_COMPONENT_LOADED, loaded)


async def _async_register_sentences(hass: HomeAssistant) -> None:
    sentences = await hass.async_add_executor_job(all_sentences)
    config = [
        {"platform": CONVERSATION, "id": name, "command": templates}
        for name, templates in sentences.items()
        if templates
    ]
    validated = await async_validate_trigger_config(hass, config)

    async def on_sentence(
        run_variables: dict[str, Any], context: Context | None = None
    ) -> ScriptRunResult:
        """Run the matched sentence's intent; Assist speaks what it answers."""
        trigger = run_variables["trigger"]
        user_input = trigger.get("user_input") or {}
        asked = user_input.get("context") or {}
        response = await intent.async_handle(
            hass,
            DOMAIN,
            trigger["id"],
            {},
            trigger.get("sentence"),
            Context(user_id=asked.get("user_id"), parent_id=asked.get("id")),
            user_input.get("language"),
            assistant=CONVERSATION,
            device_id=trigger.get("device_id"),
        )
        speech = response.speech.get("plain", {}).get("speech", "")
        return ScriptRunResult(conversation_response=speech, service_response=None, variables={})

    def log(level: int, message: str, **kwargs: Any) -> None:
        LOGGER.log(level, "Assist sentences: %s", message, **kwargs)

    remove = await async_initialize_triggers(hass, validated, on_sentence, DOMAIN, DOMAIN, log)
    if remove is None:
        LOGGER.warning("Assist did not take LifeOps' sentences")
