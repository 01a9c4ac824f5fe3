"""LifeOps as an LLM API: the same questions as Assist answers, as tools for an LLM agent.

Registered once, it shows as "LifeOps" where a conversation agent that runs an LLM (OpenAI,
Ollama, Google, Anthropic...) chooses what it may control. Each tool answers with the spoken
sentence in the user's language and the figures behind it.
"""

from __future__ import annotations

from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import llm
from homeassistant.util.json import JsonObjectType

from .const import DOMAIN
from .core.voice import Question
from .intent import DESCRIPTIONS
from .voice import async_answer

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


class LifeOpsTool(llm.Tool):
    """One question, answered from LifeOps' entities."""

    def __init__(self, question: Question) -> None:
        """A tool named after its question; it takes no arguments."""
        self.question = question
        self.name = f"{TOOL_PREFIX}{question.value}"
        self.description = DESCRIPTIONS[question]

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> JsonObjectType:
        """Answer in the conversation's language."""
        reply = await async_answer(
            hass, self.question, language=llm_context.language, context=llm_context.context
        )
        return {"speech": reply.speech, "answer": reply.answer.key, "data": reply.data}


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
    """Offer the LifeOps API to LLM agents (once per Home Assistant)."""
    if any(api.id == API_ID for api in llm.async_get_apis(hass)):
        return
    llm.async_register_api(hass, LifeOpsAPI(hass=hass, id=API_ID, name=API_NAME))
