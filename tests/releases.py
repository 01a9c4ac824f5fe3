"""What the tests do differently on the Home Assistant releases they run on, in one place.

`scripts/test` runs the suite on the declared minimum (2025.4) and on the current release; the
integration's own differences live in `custom_components/lifeops/compat.py`, the tests' here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any

from homeassistant import config_entries
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import device_registry as dr, llm

# Whether Home Assistant serves an integration's own brand images (`components/brands`, 2026.3 on).
HAS_BRANDS_PROXY: bool = importlib.util.find_spec("homeassistant.components.brands") is not None

# What a mock integration's `async_setup_entry` returns when it worked: 2026.x wants None from
# integrations it counts as built in (the tests' mock ones), 2025.4 wants True.
SETUP_ENTRY_OK: bool | None = (
    None if hasattr(config_entries, "_async_process_entry_method_result") else True
)


def find_device(
    hass: HomeAssistant, identifier: tuple[str, str], entry_id: str | None = None
) -> dr.DeviceEntry | None:
    """The one device with `identifier` (of the config entry `entry_id`, when given).

    2026.x makes identifiers unique per config entry only, and `async_get_device(identifiers=)`
    and looking devices up in the registry's mapping are errors in tests; what both releases
    have is the list of an entry's devices.
    """
    registry = dr.async_get(hass)
    entry_ids = (
        [entry_id]
        if entry_id is not None
        else [entry.entry_id for entry in hass.config_entries.async_entries()]
    )
    found = {
        device.id: device
        for entry in entry_ids
        for device in dr.async_entries_for_config_entry(registry, entry)
        if identifier in device.identifiers
    }
    assert len(found) <= 1, f"{len(found)} devices have {identifier}"
    return next(iter(found.values()), None)


def assist_tool_name(intent_type: str) -> str:
    """The name an intent has as a tool of the Assist LLM API.

    2026.x: LifeOps' LLM platform adds it, named `lifeops__<intent>` as the release asks; 2025.4
    lists every registered intent under its own name.
    """
    from homeassistant.helpers import llm

    return f"lifeops__{intent_type}" if hasattr(llm, "ToolResult") else intent_type


def llm_context() -> llm.LLMContext:
    """A conversation's context in English, as each release builds it."""
    fields: dict[str, Any] = {
        "platform": "test",
        "context": Context(),
        "language": "en",
        "assistant": "conversation",
        "device_id": None,
    }
    if "user_prompt" in {field.name for field in dataclasses.fields(llm.LLMContext)}:
        fields["user_prompt"] = None  # 2025.4; gone in 2026.x
    return llm.LLMContext(**fields)


async def call_tool(api: llm.APIInstance, name: str) -> Any:
    """A tool's answer as JSON (2026.x wraps it in a ToolResult)."""
    result = await api.async_call_tool(llm.ToolInput(name, {}))
    return getattr(result, "data", result)
