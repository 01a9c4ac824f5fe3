"""What differs between the Home Assistant releases LifeOps supports, in one place.

LifeOps runs on its declared minimum (hacs.json, 2025.4) and on the current release; scripts/test
runs the whole suite on both. Where the two need different calls, the difference lives here and
is decided by what the running Home Assistant has (a feature, not a version number), so the rest
of the integration reads the same on every release. Each helper says when it can go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import STATISTIC_UNIT_TO_UNIT_CONVERTER
from homeassistant.helpers import llm
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.util.json import JsonObjectType

if TYPE_CHECKING:
    # From 2026.10 `voluptuous` is probatio under the old name, and Home Assistant's flow
    # helpers are typed with probatio's schema; the type checker (run against the current
    # release) is told the same. At run time each release gets its own `voluptuous`.
    import probatio as vol
else:
    import voluptuous as vol

__all__ = ["link_to_hub", "statistic_metadata", "tool_annotations", "tool_result", "vol"]

# 2026.x links a device to its parent by the parent's registry id (`via_device` is deprecated,
# removed in 2027.8); 2025.4's DeviceInfo knows only `via_device`, the parent's identifier.
HAS_VIA_DEVICE_ID: Final = "via_device_id" in DeviceInfo.__annotations__
# 2026.11 wants every statistic's unit class (without it: "will stop working"); 2025.4's
# StatisticMetaData has no such key.
HAS_UNIT_CLASS: Final = "unit_class" in StatisticMetaData.__annotations__
# 2026.x: tools answer with a ToolResult (a plain JSON object is deprecated, removed in 2027.11).
HAS_TOOL_RESULT: Final = hasattr(llm, "ToolResult")


def link_to_hub(info: DeviceInfo, hub: tuple[str, str], hub_device_id: str) -> DeviceInfo:
    """`info` linked to its hub device: by registry id where supported, else by identifier."""
    if HAS_VIA_DEVICE_ID:
        info["via_device_id"] = hub_device_id
    else:  # 2025.4 to 2025.x: can go when the minimum has via_device_id
        info["via_device"] = hub  # type: ignore[typeddict-unknown-key,unused-ignore]
    return info


def statistic_metadata(
    *,
    statistic_id: str,
    source: str,
    name: str | None,
    unit: str | None,
    mean_type: StatisticMeanType = StatisticMeanType.ARITHMETIC,
    has_sum: bool = False,
) -> StatisticMetaData:
    """A statistic's metadata (means by default), with its unit class where needed."""
    metadata: dict[str, Any] = {
        "mean_type": mean_type,
        "has_sum": has_sum,
        "name": name,
        "source": source,
        "statistic_id": statistic_id,
        "unit_of_measurement": unit,
    }
    if HAS_UNIT_CLASS:
        converter = STATISTIC_UNIT_TO_UNIT_CONVERTER.get(unit)
        metadata["unit_class"] = converter.UNIT_CLASS if converter is not None else None
    return metadata  # type: ignore[return-value]  # the keys above, per release


def tool_result(data: JsonObjectType) -> Any:
    """What an LLM tool returns: a ToolResult where the release has it, else the JSON itself."""
    return llm.ToolResult(data=data) if HAS_TOOL_RESULT else data


def tool_annotations(*, read_only: bool) -> Any:
    """How an LLM tool behaves, where the release describes tools (2026.x); None before.

    LifeOps' tools never destroy anything, give the same answer when called twice, and stay
    inside Home Assistant.
    """
    annotations = getattr(llm, "ToolAnnotations", None)
    if annotations is None:  # 2025.4 to 2025.x: can go when the minimum has ToolAnnotations
        return None
    return annotations(read_only=read_only, destructive=False, idempotent=True, open_world=False)
