"""Where a metric's history over a period comes from: Home Assistant's long-term statistics.

One small function, `async_trend`, so that another source (TimescaleDB, once configured) can
replace it without the websocket command changing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.recorder import get_instance

from .const import DOMAIN

type Period = Literal["hour", "day", "week", "month"]
PERIODS: tuple[Period, ...] = ("hour", "day", "week", "month")
_TYPES: set[Literal["max", "mean", "min", "state", "sum", "change"]] = {
    "max",
    "mean",
    "min",
    "state",
    "sum",
    "change",
}
_FIELDS = ("mean", "min", "max", "state", "sum", "change")


async def async_trend(
    hass: HomeAssistant, entity_id: str, start: datetime, end: datetime, period: Period
) -> list[dict[str, Any]]:
    """The statistics of `entity_id` between `start` and `end`, one point per `period`.

    Each point has `start` and `end` (ISO 8601) and the figures the statistic keeps (`mean`,
    `min`, `max` for measurements; `state`, `sum`, `change` for totals).
    """
    if "recorder" not in hass.config.components:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="recorder_not_loaded")

    rows = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, start, end, {entity_id}, period, None, _TYPES
    )
    points: list[dict[str, Any]] = []
    for row in rows.get(entity_id, []):
        point: dict[str, Any] = {
            "start": datetime.fromtimestamp(row["start"], start.tzinfo).isoformat(),
            "end": datetime.fromtimestamp(row["end"], start.tzinfo).isoformat(),
        }
        for name in _FIELDS:
            value = row.get(name)
            if value is not None:
                point[name] = value
        points.append(point)
    return points
