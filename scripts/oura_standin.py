"""A local stand-in for Oura's API v2 and its OAuth2 endpoints, answering with recorded documents.

Serves tests/fixtures/oura_recorded (answers of Oura's API recorded by other projects) the way
Oura does: a collection filtered by the request's range (`start_date`..`end_date`, both days
included, or `start_datetime`..`end_datetime` for heart rate), cut into pages, the next page asked
for with an opaque `next_token` (with `+`, `/` and `=`, as Oura's have). The tests' stand-in
(tests/oura_recorded.py) answers through the same functions.

Run as a program (`scripts/develop` does) it listens on 127.0.0.1 with the recorded days moved
forward, each collection's newest day becoming today, so a development Home Assistant shows
current sleep and readiness and months of history. Its sign-in sends every browser straight back
to the `redirect_uri` with a code, its token endpoint trades such a code (or any refresh token)
for a token, and any bearer token reads the data, so a Home Assistant signed in before a restart
of the stand-in stays signed in: a development tool, never anything to expose.

    python scripts/oura_standin.py --port 8765
"""

from __future__ import annotations

import argparse
import base64
from datetime import date, datetime, timedelta
import json
from pathlib import Path
import re
import secrets
import sys
from typing import Any

from aiohttp import web
from yarl import URL

RECORDED = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "oura_recorded"
COLLECTIONS = "/v2/usercollection"

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
DEFAULT_PAGE_SIZE = 1000

_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT")


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


def next_token(collection: str, offset: int) -> str:
    """An opaque paging token, carrying `+`, `/` and `=` on purpose, as real ones do."""
    return "1+/" + base64.b64encode(f"{collection}:{offset}".encode()).decode() + "=="


def token_offset(token: str) -> int:
    """Where the page a `next_token` asks for starts."""
    if not token.startswith("1+/"):
        raise ValueError(f"not a token of this stand-in: {token!r}")
    return int(base64.b64decode(token[3:].removesuffix("==")).decode().rsplit(":", 1)[1])


def in_range(doc: dict[str, Any], query: dict[str, str]) -> bool:
    """Whether a document falls in the range a request asks for."""
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


def page(
    collection: str,
    matching: list[dict[str, Any]],
    query: dict[str, str],
    page_size: int = DEFAULT_PAGE_SIZE,
) -> dict[str, Any]:
    """The page of `matching` documents a request asks for, in Oura's shape."""
    offset = token_offset(query["next_token"]) if "next_token" in query else 0
    following = offset + page_size
    return {
        "data": matching[offset:following],
        "next_token": next_token(collection, following) if following < len(matching) else None,
    }


def newest_day(documents: list[dict[str, Any]]) -> date | None:
    """The newest day of a collection (the day of its newest heart-rate sample)."""
    days = [
        date.fromisoformat(doc["day"])
        if "day" in doc
        else datetime.fromisoformat(doc["timestamp"]).date()
        for doc in documents
    ]
    return max(days, default=None)


def shifted(value: Any, days: int) -> Any:
    """A document with every date and time in it `days` later (nested ones too)."""
    if isinstance(value, dict):
        return {key: shifted(item, days) for key, item in value.items()}
    if isinstance(value, list):
        return [shifted(item, days) for item in value]
    if isinstance(value, str):
        if _DATE.match(value):
            return (date.fromisoformat(value) + timedelta(days=days)).isoformat()
        if _DATETIME.match(value):
            with_offset = value.replace("Z", "+00:00")
            return (datetime.fromisoformat(with_offset) + timedelta(days=days)).isoformat()
    return value


def ending_on(documents: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """A collection moved forward by whole days so that its newest day is `today`."""
    newest = newest_day(documents)
    if newest is None:
        return documents
    days = (today - newest).days
    return [shifted(doc, days) for doc in documents]


class OuraStandIn:
    """The stand-in as an aiohttp application: Oura's collections and its OAuth2 endpoints."""

    def __init__(self, today: date | None = None, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        """Load the recorded documents; with `today`, move each collection to end on it."""
        self.page_size = page_size
        self.documents = {name: recorded_documents(name) for name in FILES}
        if today is not None:
            self.documents = {name: ending_on(docs, today) for name, docs in self.documents.items()}
        self.codes: set[str] = set()

    def app(self) -> web.Application:
        """The routes Oura answers on, as far as LifeOps asks."""
        app = web.Application()
        app.router.add_get("/oauth/authorize", self.authorize)
        app.router.add_post("/oauth/token", self.token)
        app.router.add_get(f"{COLLECTIONS}/personal_info", self.personal_info)
        app.router.add_get(COLLECTIONS + "/{collection}", self.collection)
        return app

    async def authorize(self, request: web.Request) -> web.StreamResponse:
        """Sign in at once: back to the `redirect_uri` with a code and the caller's state."""
        redirect_uri = request.query.get("redirect_uri")
        if not redirect_uri or request.query.get("response_type") != "code":
            raise web.HTTPBadRequest(text="redirect_uri and response_type=code are needed")
        code = secrets.token_urlsafe(16)
        self.codes.add(code)
        location = URL(redirect_uri).update_query(code=code, state=request.query.get("state", ""))
        raise web.HTTPFound(location)

    async def token(self, request: web.Request) -> web.Response:
        """A token for a code this stand-in gave (once), or for any refresh token."""
        form = await request.post()
        grant = form.get("grant_type")
        if grant == "authorization_code" and form.get("code") in self.codes:
            self.codes.discard(str(form["code"]))
        elif grant != "refresh_token" or not form.get("refresh_token"):
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response(
            {
                "access_token": secrets.token_urlsafe(24),
                "refresh_token": secrets.token_urlsafe(24),
                "token_type": "bearer",
                "expires_in": 86400,
            }
        )

    def _signed_in(self, request: web.Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise web.HTTPUnauthorized(text=json.dumps({"detail": "no valid token"}))

    async def personal_info(self, request: web.Request) -> web.Response:
        """The recorded account."""
        self._signed_in(request)
        return web.json_response(recorded(PERSONAL_INFO))

    async def collection(self, request: web.Request) -> web.Response:
        """One page of a collection in the asked range."""
        self._signed_in(request)
        name = request.match_info["collection"]
        if name in EMPTY:
            return web.json_response({"data": [], "next_token": None})
        if name not in self.documents:
            raise web.HTTPNotFound
        query = dict(request.query)
        matching = [doc for doc in self.documents[name] if in_range(doc, query)]
        return web.json_response(page(name, matching, query, self.page_size))


def main(argv: list[str] | None = None) -> int:
    """Serve until stopped."""
    parser = argparse.ArgumentParser(
        prog="oura_standin",
        description=(
            "Serve Oura's API v2 and OAuth2 endpoints on 127.0.0.1 from recorded answers, the "
            "days moved so the newest is today. For development only."
        ),
    )
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="the day each collection's newest day becomes (default: today, local time)",
    )
    args = parser.parse_args(argv)
    standin = OuraStandIn(today=args.today or datetime.now().astimezone().date())
    print(f"Oura stand-in on http://127.0.0.1:{args.port}", flush=True)
    web.run_app(standin.app(), host="127.0.0.1", port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
