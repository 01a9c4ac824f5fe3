"""LifeOps for LLM conversation agents: the same questions as Assist answers, as tools.

Two ways in. The "LifeOps" API, registered once, shows where a conversation agent that runs an
LLM (OpenAI, Ollama, Google, Anthropic...) chooses what it may control; each of its tools answers
with the spoken sentence in the user's language and the figures behind it. And, from Home
Assistant 2026.x, this file is also LifeOps' LLM platform: `async_get_tools` adds LifeOps'
intents to Home Assistant's own Assist API ("Device control"), which before 2026.x listed every
registered intent by itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import intent, llm

from .compat import tool_annotations, tool_result
from .const import DOMAIN
from .core.voice import INTENTS, Question
from .entry_kind import loaded_sites
from .intent import DESCRIPTIONS
from .voice import async_answer

if TYPE_CHECKING:
    from homeassistant.components.llm import LLMTools

API_ID: Final = DOMAIN
API_NAME: Final = "LifeOps"
# For the LLM; not shown to the user.
API_PROMPT: Final = (
    "LifeOps tracks the user's sleep, readiness, work hours, screen time and habit XP. "
    "Use its tools to answer questions about them or to start wind-down before bed; "
    "each tool returns a sentence to say and the figures behind it. When a figure is "
    "missing, say so; never guess it."
)
TOOL_PREFIX: Final = "lifeops_"


# Only starting wind-down changes anything (the lights); the rest read LifeOps' figures.
ACTING_QUESTIONS: Final = frozenset({Question.START_WIND_DOWN})


class LifeOpsTool(llm.Tool):
    """One question, answered from LifeOps' entities."""

    integration = DOMAIN

    def __init__(self, question: Question) -> None:
        """A tool named after its question; it takes no arguments."""
        self.question = question
        self.name = f"{TOOL_PREFIX}{question.value}"
        self.description = DESCRIPTIONS[question]

        if annotations := _annotations(question):
            self.annotations = annotations

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> Any:
        """Answer in the conversation's language."""
        reply = await async_answer(
            hass, self.question, language=llm_context.language, context=llm_context.context
        )
        return tool_result({"speech": reply.speech, "answer": reply.answer.key, "data": reply.data})


class LifeOpsAPI(llm.API):
    """The LifeOps tools, offered to LLM conversation agents."""

    async def async_get_api_instance(self, llm_context: llm.LLMContext) -> llm.APIInstance:
        """Every question as a tool."""
        return llm.APIInstance(
            api=self,
            api_prompt=API_PROMPT,
            llm_context=llm_context,
            tools=[LifeOpsTool(question) for question in Question],
        )


@callback
def async_setup_llm_api(hass: HomeAssistant) -> None:
    """Offer the LifeOps API to LLM conversation agents (once per Home Assistant)."""
    if any(api.id == API_ID for api in llm.async_get_apis(hass)):
        return
    llm.async_register_api(hass, LifeOpsAPI(hass=hass, id=API_ID, name=API_NAME))


def _annotations(question: Question) -> Any:
    """How the tool behaves: only starting wind-down acts; none changes anything lasting."""
    return tool_annotations(read_only=question not in ACTING_QUESTIONS)


@callback
def async_get_tools(
    hass: HomeAssistant, llm_context: llm.LLMContext, api_id: str
) -> LLMTools | None:
    """LifeOps' intents as tools of Home Assistant's Assist API, while a site is loaded.

    Called by Home Assistant 2026.x's `llm` integration (this file is the LLM platform).
    """
    from homeassistant.components.llm import LLMTools  # 2026.x only

    if api_id != llm.LLM_API_ASSIST or not loaded_sites(hass):
        return None
    questions = {name: question for question, name in INTENTS.items()}
    tools: list[llm.Tool] = [
        llm.IntentTool(
            f"{DOMAIN}__{handler.intent_type}",
            handler,
            integration=DOMAIN,
            annotations=_annotations(questions[handler.intent_type]),
        )
        for handler in intent.async_get(hass)
        if handler.intent_type in questions
    ]
    return LLMTools(tools=tools)
