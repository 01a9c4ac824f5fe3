"""scripts/develop's Oura: the stand-in's answers and sign-in, and how LifeOps is pointed at it."""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import TestClient, TestServer
from oura_standin import OuraStandIn, ending_on, newest_day, recorded_documents
import pytest
from yarl import URL

from custom_components.lifeops.const import OURA_AUTHORIZE_URL, OURA_TOKEN_URL
from custom_components.lifeops.oura import DEFAULT_BASE_URL
from custom_components.lifeops.oura_account.endpoints import (
    DEV_OURA_URL_ENV,
    OURA_CLOUD,
    oura_endpoints,
)

TODAY = date(2026, 12, 3)


def test_oura_is_reached_unless_a_local_stand_in_is_named() -> None:
    assert oura_endpoints({}) == OURA_CLOUD
    assert (OURA_CLOUD.api, OURA_CLOUD.authorize, OURA_CLOUD.token) == (
        DEFAULT_BASE_URL,
        OURA_AUTHORIZE_URL,
        OURA_TOKEN_URL,
    )
    standin = oura_endpoints({DEV_OURA_URL_ENV: "http://127.0.0.1:8765/"})
    assert standin.api == "http://127.0.0.1:8765"
    assert standin.authorize == "http://127.0.0.1:8765/oauth/authorize"
    assert standin.token == "http://127.0.0.1:8765/oauth/token"
    assert standin.new_portal_token == "http://127.0.0.1:8765/oauth/v2/ext/oauth-token"
    # Only this machine: anything else (or nonsense) leaves Oura's own servers in place.
    for elsewhere in ("https://example.com", "ftp://127.0.0.1:21", "127.0.0.1:8765", " "):
        assert oura_endpoints({DEV_OURA_URL_ENV: elsewhere}) == OURA_CLOUD, elsewhere


def test_recorded_days_are_moved_to_end_today() -> None:
    sleep = ending_on(recorded_documents("sleep"), TODAY)
    assert newest_day(sleep) == TODAY
    [night] = [doc for doc in sleep if doc["day"] == "2026-12-03" and doc["type"] == "long_sleep"]
    # 2024-11-02 became 2026-12-03: every date and time in the document moved by the same days.
    assert night["bedtime_end"].startswith("2026-12-03T")
    assert night["heart_rate"]["timestamp"].startswith("2026-12-0")
    daily = ending_on(recorded_documents("daily_sleep"), TODAY)
    assert newest_day(daily) == TODAY
    assert len(daily) == len(recorded_documents("daily_sleep"))
    beats = ending_on(recorded_documents("heartrate"), TODAY)
    assert newest_day(beats) == TODAY


async def test_stand_in_signs_in_and_serves_pages(socket_enabled: None) -> None:
    standin = OuraStandIn(today=TODAY, page_size=10)
    async with TestClient(TestServer(standin.app())) as client:
        # Sign-in: straight back to the caller with a code and its state.
        back = "http://127.0.0.1:9/auth/external/callback"
        answer = await client.get(
            "/oauth/authorize",
            params={"response_type": "code", "redirect_uri": back, "state": "s+1"},
            allow_redirects=False,
        )
        assert answer.status == 302
        location = URL(answer.headers["Location"])
        assert str(location.with_query(None)) == back
        assert location.query["state"] == "s+1"
        code = location.query["code"]
        token = await client.post(
            "/oauth/token", data={"grant_type": "authorization_code", "code": code}
        )
        assert token.status == 200
        access = (await token.json())["access_token"]
        # A code is good once.
        again = await client.post(
            "/oauth/token", data={"grant_type": "authorization_code", "code": code}
        )
        assert again.status == 400

        # No token, no data.
        assert (await client.get("/v2/usercollection/daily_sleep")).status == 401
        headers = {"Authorization": f"Bearer {access}"}
        days: list[str] = []
        params = {"start_date": "2026-11-01", "end_date": "2026-12-03"}
        while True:
            page = await (
                await client.get("/v2/usercollection/daily_sleep", params=params, headers=headers)
            ).json()
            days += [doc["day"] for doc in page["data"]]
            if page["next_token"] is None:
                break
            params = {**params, "next_token": page["next_token"]}
        assert days[0] == "2026-11-01"
        assert days[-1] == "2026-12-03"
        empty = await client.get("/v2/usercollection/vO2_max", headers=headers)
        assert await empty.json() == {"data": [], "next_token": None}


@pytest.mark.parametrize("form", [{"grant_type": "authorization_code", "code": "made-up"}, {}])
async def test_stand_in_refuses_codes_it_did_not_give(
    socket_enabled: None, form: dict[str, str]
) -> None:
    async with TestClient(TestServer(OuraStandIn().app())) as client:
        assert (await client.post("/oauth/token", data=form)).status == 400
