"""A stand-in for Oura's API that serves the recorded answers in tests/fixtures/oura_recorded.

It answers through the test harness's `aioclient_mock` like Oura would: each collection is
filtered by the request's range (`start_date`..`end_date`, both days included, or
`start_datetime`..`end_datetime` for heart rate), cut into pages of `page_size` documents, and the
next page is asked for with a `next_token` shaped like Oura's (base64 with `+`, `/` and `=`).
Tests change what it serves (`answers`, `hidden`, `failing`) between polls.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date, datetime
import json
from pathlib import Path
from typing import Any

from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from yarl import URL

RECORDED = Path(__file__).parent / "fixtures" / "oura_recorded"
API = "https://api.ouraring.com/v2/usercollection"

# Collection name -> the recorded file that answers it.
FILES = {
    "daily_sleep": "exoura_daily_sleep_2018_2024.json",
    "daily_readiness": "exoura_daily_readiness_2018_2024.json",
    "daily_activity": "exoura_daily_activity_1d.json",
    "daily_spo2": "exoura_daily_spo2_2022_2024.json",
    "daily_stress": "exoura_daily_stress_2023_2024.json",
    "sleep": "exoura_sleep_2024-10.json",
    "sleep_time": "exoura_sleep_time_2024-10.json",
    "workout": "exoura_workout_2024-10.json",
    "heartrate": "exoura_heartrate_default_range.json",
}
PERSONAL_INFO = "exoura_personal_info_redacted.json"
# Collections the recorded account has no documents of: answered with an empty page.
EMPTY = (
    "daily_resilience",
    "vO2_max",
    "daily_cardiovascular_age",
    "session",
    "enhanced_tag",
    "rest_mode_period",
    "ring_battery_level",
    "ring_configuration",
)


def recorded(name: str) -> Any:
    """One recorded file, decoded."""
    return json.loads((RECORDED / name).read_text())


def recorded_documents(collection: str) -> list[dict[str, Any]]:
    """The recorded documents of a collection."""
    documents: list[dict[str, Any]] = recorded(FILES[collection])["data"]
    return documents


def account_id() -> str:
    """The recorded account's user id (redacted by the recorder, but stable)."""
    return str(recorded(PERSONAL_INFO)["id"])


def _token(collection: str, offset: int) -> str:
    # Oura's tokens are opaque; these carry `+`, `/` and `=` on purpose, as real ones do.
    return "1+/" + base64.b64encode(f"{collection}:{offset}".encode()).decode() + "=="


def _offset(token: str) -> int:
    assert token.startswith("1+/"), token
    return int(base64.b64decode(token[3:].removesuffix("==")).decode().rsplit(":", 1)[1])


class RecordedOura:
    """Oura's API answering from recorded documents, registered on `aioclient_mock`."""

    def __init__(self, aioclient_mock: AiohttpClientMocker, *, page_size: int = 1000) -> None:
        """Serve every collection; `page_size` documents a page."""
        self.mock = aioclient_mock
        self.page_size = page_size
        self.documents: dict[str, list[dict[str, Any]]] = {
            name: recorded_documents(name) for name in FILES
        }
        # A collection answered with this HTTP status (and no data) instead of its documents.
        self.failing: dict[str, int] = {}
        # Collections answered with 200 but not in Oura's shape.
        self.malformed: set[str] = set()
        # A filter that hides documents Oura has not received yet.
        self.hidden: Callable[[str, dict[str, Any]], bool] = lambda _name, _doc: False
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.serve()

    def serve(self) -> None:
        """(Re-)register the stand-in on the mock (after `clear_requests`)."""
        self.mock.get(f"{API}/personal_info", json=recorded(PERSONAL_INFO))
        for name in FILES:
            self.mock.get(f"{API}/{name}", side_effect=self._answer)
        for name in EMPTY:
            self.mock.get(f"{API}/{name}", json={"data": [], "next_token": None})

    async def _answer(self, method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        name = url.path.rsplit("/", 1)[1]
        query = dict(url.query)
        self.requests.append((name, query))
        if name in self.failing:
            return AiohttpClientMockResponse(
                method, url, status=self.failing[name], json={"detail": "refused"}
            )
        if name in self.malformed:
            return AiohttpClientMockResponse(method, url, json={"data": "not a list"})
        matching = [
            doc
            for doc in self.documents[name]
            if _in_range(doc, query) and not self.hidden(name, doc)
        ]
        offset = _offset(query["next_token"]) if "next_token" in query else 0
        page = matching[offset : offset + self.page_size]
        following = offset + self.page_size
        body = {
            "data": page,
            "next_token": _token(name, following) if following < len(matching) else None,
        }
        return AiohttpClientMockResponse(method, url, json=body)

    def calls(self, name: str) -> list[dict[str, str]]:
        """The queries of every request to one collection."""
        return [query for called, query in self.requests if called == name]


def _in_range(doc: dict[str, Any], query: dict[str, str]) -> bool:
    if "timestamp" in doc and "day" not in doc:
        moment = datetime.fromisoformat(doc["timestamp"])
        start = query.get("start_datetime")
        end = query.get("end_datetime")
        return (start is None or datetime.fromisoformat(start) <= moment) and (
            end is None or moment <= datetime.fromisoformat(end)
        )
    day = date.fromisoformat(doc["day"])
    start, end = query.get("start_date"), query.get("end_date")
    return (start is None or date.fromisoformat(start) <= day) and (
        end is None or day <= date.fromisoformat(end)
    )
