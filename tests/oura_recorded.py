"""A stand-in for Oura's API that serves the recorded answers in tests/fixtures/oura_recorded.

It answers through the test harness's `aioclient_mock`, with the functions of the stand-in that
scripts/develop runs (scripts/oura_standin.py): each collection is filtered by the request's range
(`start_date`..`end_date`, both days included, or `start_datetime`..`end_datetime` for heart
rate), cut into pages of `page_size` documents, and the next page is asked for with a
`next_token` shaped like Oura's (base64 with `+`, `/` and `=`). Tests change what it serves
(`answers`, `hidden`, `failing`) between polls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oura_standin import (
    EMPTY,
    FILES,
    PERSONAL_INFO,
    account_id,
    in_range,
    page,
    recorded,
    recorded_documents,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from yarl import URL

API = "https://api.ouraring.com/v2/usercollection"

__all__ = ["API", "RecordedOura", "account_id", "recorded", "recorded_documents"]


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
            if in_range(doc, query) and not self.hidden(name, doc)
        ]
        return AiohttpClientMockResponse(
            method, url, json=page(name, matching, query, self.page_size)
        )

    def calls(self, name: str) -> list[dict[str, str]]:
        """The queries of every request to one collection."""
        return [query for called, query in self.requests if called == name]
