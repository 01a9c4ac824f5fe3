"""With Home Assistant's recorder: lifeops/trend reads long-term statistics; purge deletes them."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.history import get_significant_states
from homeassistant.components.recorder.models import StatisticMeanType
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.lifeops.compat import statistic_metadata

WORK_WEEK = "sensor.lifeops_work_life_work_this_week"
# The work week's hourly statistics as the recorder keeps them: a sum, no mean.
WORK_WEEK_METADATA = statistic_metadata(
    statistic_id=WORK_WEEK,
    source="recorder",
    name=None,
    unit="h",
    mean_type=StatisticMeanType.NONE,
    has_sum=True,
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """The recorder's database must be chosen before the test Home Assistant starts."""


async def test_trend_reads_long_term_statistics(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    hour = dt_util.utcnow().replace(minute=0, second=0, microsecond=0)
    async_import_statistics(
        hass,
        WORK_WEEK_METADATA,
        [
            {"start": hour - timedelta(days=2), "state": 8.0, "sum": 8.0},
            {"start": hour - timedelta(days=1), "state": 15.5, "sum": 15.5},
        ],
    )
    await async_wait_recording_done(hass)

    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "lifeops/trend", "metric": "work_this_week", "period": "hour", "days": 7}
    )
    result = await client.receive_json()
    assert result["success"], result
    data = result["result"]
    assert data["entity_id"] == WORK_WEEK
    assert data["unit"] == "h"
    assert [point["state"] for point in data["points"]] == [8.0, 15.5]
    assert dt_util.parse_datetime(data["points"][0]["start"]) == hour - timedelta(days=2)

    # Outside the period: nothing.
    await client.send_json_auto_id(
        {
            "type": "lifeops/trend",
            "metric": "work_this_week",
            "start": (hour - timedelta(days=30)).isoformat(),
            "end": (hour - timedelta(days=20)).isoformat(),
        }
    )
    result = await client.receive_json()
    assert result["result"]["points"] == []


async def test_purge_deletes_the_history_of_lifeops_entities(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    hour = dt_util.utcnow().replace(minute=0, second=0, microsecond=0)
    async_import_statistics(
        hass,
        WORK_WEEK_METADATA,
        [{"start": hour - timedelta(days=1), "state": 15.5, "sum": 15.5}],
    )
    await async_wait_recording_done(hass)

    response = await hass.services.async_call(
        "lifeops", "purge_data", {"confirm": True}, blocking=True, return_response=True
    )
    assert response is not None
    assert WORK_WEEK in response["deleted"]["history_entities"]  # type: ignore[operator]
    await async_wait_recording_done(hass)

    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "lifeops/trend", "metric": "work_this_week", "period": "hour", "days": 7}
    )
    result = await client.receive_json()
    assert result["result"]["points"] == []
    history = await recorder_mock.async_add_executor_job(
        lambda: get_significant_states(
            hass, hour - timedelta(days=2), None, [WORK_WEEK], significant_changes_only=False
        )
    )
    assert history.get(WORK_WEEK, [])[:-1] == []  # at most the state written after the purge
