"""The Oura API v2 client against a real local HTTP server serving recorded, real-shaped data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.lifeops.oura import (
    DAILY_SLEEP,
    HEARTRATE,
    SANDBOX_COLLECTION_PATH,
    DailyStressSummary,
    HeartRateSource,
    OuraAuthError,
    OuraClient,
    OuraConnectionError,
    OuraError,
    OuraForbiddenError,
    OuraPayloadError,
    OuraRateLimitError,
    SleepTimeStatus,
    SleepType,
    WorkoutIntensity,
    parse_retry_after,
)
from tests.oura_recorded import recorded

FIXTURES = Path(__file__).parent / "fixtures" / "oura"
TOKEN = "oura-access-token-7Qx9Lm2Vb"
CET = timezone(timedelta(hours=1))

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@dataclass
class Seen:
    """One request as the server received it."""

    path: str
    query: dict[str, str]
    authorization: str | None


@dataclass
class FakeOura:
    """Answers like Oura's API v2 from the fixtures, and records every request it gets."""

    requests: list[Seen] = field(default_factory=list)
    overrides: dict[str, Handler] = field(default_factory=dict)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v2/usercollection/{name}", self._handle)
        app.router.add_get("/v2/sandbox/usercollection/{name}", self._handle)
        return app

    def reply(
        self, name: str, status: int, body: str = "", headers: dict[str, str] | None = None
    ) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, text=body, headers=headers)

        self.overrides[name] = handler

    def reply_json(self, name: str, payload: Any) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.json_response(payload)

        self.overrides[name] = handler

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append(
            Seen(request.path, dict(request.query), request.headers.get("Authorization"))
        )
        if name in self.overrides:
            return await self.overrides[name](request)
        if name == "heartrate":
            first = load_fixture("heartrate_page1")
            if request.query.get("next_token") == first["next_token"]:
                return web.json_response(load_fixture("heartrate_page2"))
            return web.json_response(first)
        if not (FIXTURES / f"{name}.json").exists():
            return web.json_response({"detail": "Not Found"}, status=404)
        return web.json_response(load_fixture(name))


@pytest.fixture
async def oura(socket_enabled: None) -> AsyncGenerator[FakeOura]:
    """A local Oura API on 127.0.0.1."""
    fake = FakeOura()
    server = TestServer(fake.app())
    await server.start_server()
    fake.base_url = str(server.make_url("/"))
    try:
        yield fake
    finally:
        fake.release.set()
        await server.close()


async def provide_token() -> str:
    return TOKEN


@pytest.fixture
async def client(oura: FakeOura) -> AsyncGenerator[OuraClient]:
    """A client for the local Oura API, with its own session and a short timeout."""
    async with OuraClient(provide_token, base_url=oura.base_url, timeout=5) as oura_client:
        yield oura_client


async def test_daily_sleep_request_and_documents(oura: FakeOura, client: OuraClient) -> None:
    days = await client.get_daily_sleep(date(2025, 3, 10), date(2025, 3, 14))

    assert oura.requests == [
        Seen(
            "/v2/usercollection/daily_sleep",
            {"start_date": "2025-03-10", "end_date": "2025-03-14"},
            f"Bearer {TOKEN}",
        )
    ]
    assert [d.day for d in days] == [date(2025, 3, d) for d in range(10, 15)]
    first = days[0]
    assert first.score == 82
    assert first.timestamp == datetime(2025, 3, 10, tzinfo=CET)
    assert first.timestamp.utcoffset() == timedelta(hours=1)
    assert first.contributors is not None
    assert first.contributors.deep_sleep == 88
    assert first.contributors.total_sleep == 81
    # A night the ring ran out of battery: Oura sends the day without a score.
    unscored = days[2]
    assert unscored.score is None
    assert unscored.contributors is not None
    assert unscored.contributors.efficiency == 93
    assert unscored.contributors.timing is None


async def test_sleep_periods_with_a_late_nap(oura: FakeOura, client: OuraClient) -> None:
    periods = await client.get_sleep(date(2025, 3, 10), date(2025, 3, 14))

    assert oura.requests[0].path == "/v2/usercollection/sleep"
    assert [p.type for p in periods] == [
        SleepType.LONG_SLEEP,
        SleepType.LONG_SLEEP,
        SleepType.SLEEP,
        SleepType.LATE_NAP,
        SleepType.LONG_SLEEP,
        SleepType.LONG_SLEEP,
    ]
    night = periods[0]
    assert night.day == date(2025, 3, 10)
    assert night.bedtime_start == datetime(2025, 3, 9, 23, 14, 32, tzinfo=CET)
    assert night.bedtime_end == datetime(2025, 3, 10, 7, 2, 11, tzinfo=CET)
    assert night.time_in_bed == (night.bedtime_end - night.bedtime_start).total_seconds()
    assert night.total_sleep_duration == (
        (night.deep_sleep_duration or 0)
        + (night.rem_sleep_duration or 0)
        + (night.light_sleep_duration or 0)
    )
    assert night.average_heart_rate == pytest.approx(53.609)
    assert night.lowest_heart_rate == 50
    assert night.average_hrv == 43
    assert night.readiness is not None
    assert night.readiness.score == 79
    assert night.readiness.contributors is not None
    assert night.readiness.contributors.sleep_regularity == 82
    assert night.heart_rate is not None
    assert night.heart_rate.interval == 300
    assert night.heart_rate.items[3] is None  # a gap in the samples stays a gap
    assert len(night.heart_rate.items) == len(night.sleep_phase_5_min or "")
    # The nap ended after 6 pm, so it belongs to the next day and has no readiness of its own.
    nap = periods[3]
    assert nap.day == date(2025, 3, 13)
    assert nap.bedtime_start == datetime(2025, 3, 12, 18, 5, 3, tzinfo=CET)
    assert nap.readiness is None
    assert periods[2].low_battery_alert is True


async def test_every_daily_collection_parses_its_fixture(client: OuraClient) -> None:
    readiness = await client.get_daily_readiness(date(2025, 3, 10), date(2025, 3, 14))
    assert [r.score for r in readiness] == [79, 71, 63, 84, 70]
    assert readiness[0].temperature_deviation == pytest.approx(-0.12)
    assert readiness[2].contributors is not None
    assert readiness[2].contributors.previous_night is None

    activity = await client.get_daily_activity(date(2025, 3, 10), date(2025, 3, 14))
    assert [a.steps for a in activity] == [9412, 6120, 11873, 4388, 2291]
    assert activity[0].score == 86
    assert activity[0].total_calories == 1850 + (activity[0].active_calories or 0)
    assert activity[0].met is not None
    assert len(activity[0].met.items) == 24 * 60
    assert len(activity[0].class_5_min or "") == 24 * 12
    assert activity[4].non_wear_time

    spo2 = await client.get_daily_spo2(date(2025, 3, 10), date(2025, 3, 14))
    assert spo2[0].spo2_percentage is not None
    assert spo2[0].spo2_percentage.average == pytest.approx(96.418)
    assert spo2[2].spo2_percentage is None
    assert spo2[2].breathing_disturbance_index is None

    stress = await client.get_daily_stress(date(2025, 3, 10), date(2025, 3, 14))
    assert [s.day_summary for s in stress] == [
        DailyStressSummary.NORMAL,
        DailyStressSummary.STRESSFUL,
        DailyStressSummary.RESTORED,
        DailyStressSummary.NORMAL,
        None,
    ]
    assert stress[1].stress_high == 10800
    assert stress[1].recovery_high == 1800

    workouts = await client.get_workouts(date(2025, 3, 10), date(2025, 3, 14))
    assert [w.activity for w in workouts] == ["walking", "cycling", "strength_training"]
    gym = workouts[2]
    assert gym.intensity == WorkoutIntensity.HARD
    assert gym.distance is None
    assert gym.label == "Morning gym"
    assert gym.start_datetime == datetime(2025, 3, 13, 7, 10, tzinfo=CET)
    assert gym.calories == pytest.approx(318.5)


async def test_sleep_time_gives_the_recommended_bedtime_window(
    oura: FakeOura, client: OuraClient
) -> None:
    guidance = await client.get_sleep_time(date(2025, 3, 10), date(2025, 3, 14))

    assert oura.requests[0].path == "/v2/usercollection/sleep_time"
    assert guidance[0].optimal_bedtime is None
    assert guidance[0].optimal_bedtime_bounds is None
    assert guidance[0].status == SleepTimeStatus.ONLY_RECOMMENDED_FOUND
    window = guidance[1].optimal_bedtime
    assert window is not None
    assert (window.day_tz, window.start_offset, window.end_offset) == (3600, -4500, -900)
    assert guidance[1].optimal_bedtime_bounds == (
        datetime(2025, 3, 10, 22, 45, tzinfo=CET),
        datetime(2025, 3, 10, 23, 45, tzinfo=CET),
    )


async def test_heartrate_uses_datetimes_and_follows_next_token(
    oura: FakeOura, client: OuraClient
) -> None:
    start = datetime(2025, 3, 13, 6, 0, tzinfo=CET)
    end = datetime(2025, 3, 13, 8, 30, tzinfo=CET)

    samples = await client.get_heartrate(start, end)

    first_page = load_fixture("heartrate_page1")
    window = {
        "start_datetime": "2025-03-13T06:00:00+01:00",
        "end_datetime": "2025-03-13T08:30:00+01:00",
    }
    assert [(seen.path, seen.query) for seen in oura.requests] == [
        ("/v2/usercollection/heartrate", window),
        ("/v2/usercollection/heartrate", {**window, "next_token": first_page["next_token"]}),
    ]
    assert all(seen.authorization == f"Bearer {TOKEN}" for seen in oura.requests)
    assert len(samples) == 12 + 8
    assert samples[0].timestamp == datetime.fromisoformat(first_page["data"][0]["timestamp"])
    assert samples[0].timestamp.utcoffset() == timedelta(0)
    assert samples[0].bpm == first_page["data"][0]["bpm"]
    assert samples[0].source == HeartRateSource.SLEEP
    assert samples[-1].source == HeartRateSource.AWAKE
    assert [s.timestamp for s in samples] == sorted(s.timestamp for s in samples)


async def test_pages_one_at_a_time(oura: FakeOura, client: OuraClient) -> None:
    start = datetime(2025, 3, 13, 6, 0, tzinfo=CET)
    first = await client.get_page(HEARTRATE, start=start)
    assert len(first.data) == 12
    assert first.next_token == load_fixture("heartrate_page1")["next_token"]

    second = await client.get_page(HEARTRATE, start=start, next_token=first.next_token)
    assert len(second.data) == 8
    assert second.next_token is None

    streamed = [sample async for sample in client.iter_documents(HEARTRATE, start=start)]
    assert streamed == [*first.data, *second.data]


async def test_pagination_is_bounded(oura: FakeOura) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        page = int(request.query.get("next_token", "0"))
        return web.json_response({"data": [], "next_token": str(page + 1)})

    oura.overrides["daily_sleep"] = endless
    async with OuraClient(TOKEN, base_url=oura.base_url, max_pages=3) as client:
        with pytest.raises(OuraPayloadError, match="more than 3 pages"):
            await client.get_daily_sleep(date(2025, 3, 10))
    assert len(oura.requests) == 3


async def test_a_repeated_next_token_stops_pagination(oura: FakeOura, client: OuraClient) -> None:
    oura.reply_json("daily_sleep", {"data": [], "next_token": "same"})
    with pytest.raises(OuraPayloadError, match="repeat"):
        await client.get_daily_sleep()
    assert len(oura.requests) == 2


async def test_personal_info_is_a_single_document(oura: FakeOura, client: OuraClient) -> None:
    info = await client.get_personal_info()

    assert oura.requests == [Seen("/v2/usercollection/personal_info", {}, f"Bearer {TOKEN}")]
    assert info.age == 38
    assert info.weight == pytest.approx(72.5)
    assert info.height == pytest.approx(1.78)
    assert info.biological_sex == "male"
    assert info.email == "alex.lifeops@example.com"


async def test_token_provider_is_asked_before_every_request(oura: FakeOura) -> None:
    tokens = iter(["first-token", "refreshed-token"])

    async def refreshing_token() -> str:
        return next(tokens)

    async with OuraClient(refreshing_token, base_url=oura.base_url) as client:
        await client.get_personal_info()
        await client.get_personal_info()

    assert [seen.authorization for seen in oura.requests] == [
        "Bearer first-token",
        "Bearer refreshed-token",
    ]


async def test_sandbox_collection_path_and_open_range(oura: FakeOura) -> None:
    async with OuraClient(
        TOKEN, base_url=oura.base_url, collection_path=SANDBOX_COLLECTION_PATH
    ) as client:
        days = await client.get_daily_sleep()

    assert oura.requests == [Seen("/v2/sandbox/usercollection/daily_sleep", {}, f"Bearer {TOKEN}")]
    assert len(days) == 5


async def test_unknown_fields_are_ignored_and_missing_ones_are_none(
    oura: FakeOura, client: OuraClient
) -> None:
    oura.reply_json(
        "daily_readiness",
        {
            "data": [{"id": "r1", "day": "2025-03-10", "brand_new_metric": {"value": 1}}],
            "next_token": None,
            "also_new": True,
        },
    )

    [readiness] = await client.get_daily_readiness(date(2025, 3, 10))

    assert readiness.id == "r1"
    assert readiness.day == date(2025, 3, 10)
    assert readiness.score is None
    assert readiness.timestamp is None
    assert readiness.contributors is None
    assert readiness.temperature_deviation is None


@pytest.mark.parametrize(
    "payload",
    [
        {"data": {"id": "s1"}, "next_token": None},
        {"data": [], "next_token": 42},
        [{"id": "s1", "day": "2025-03-10"}],
    ],
    ids=["data-not-list", "token-not-str", "not-an-envelope"],
)
async def test_unexpected_shapes_are_payload_errors(
    oura: FakeOura, client: OuraClient, payload: Any
) -> None:
    oura.reply_json("daily_sleep", payload)
    with pytest.raises(OuraPayloadError):
        await client.get_daily_sleep()


async def test_a_malformed_field_loses_the_field_and_a_malformed_document_itself(
    oura: FakeOura, client: OuraClient
) -> None:
    """Only the envelope is all or nothing: a page keeps every document it can read."""
    oura.reply_json(
        "daily_sleep",
        {
            "data": [
                {"id": "s1", "day": "2025-03-10", "score": "high", "timestamp": "yesterday"},
                {"id": "s2", "day": "10/03/2025", "score": 70},
                {"id": "s3"},
                "not a document",
                {"id": "s4", "day": "2025-03-11", "score": 81, "contributors": [1, 2]},
                {"id": "s5", "day": "2025-03-12", "score": 77, "contributors": {"timing": "x"}},
            ],
            "next_token": None,
        },
    )

    documents = await client.get_daily_sleep()

    assert [(d.id, d.score, d.timestamp) for d in documents] == [
        ("s1", None, None),
        ("s4", 81, None),
        ("s5", 77, None),
    ]
    assert documents[1].contributors is None
    assert documents[2].contributors is not None
    assert documents[2].contributors.timing is None


async def test_invalid_json_is_a_payload_error(oura: FakeOura, client: OuraClient) -> None:
    oura.reply("daily_sleep", 200, '{"data": [', {"Content-Type": "application/json"})
    with pytest.raises(OuraPayloadError):
        await client.get_daily_sleep()


async def test_refused_token_is_an_auth_error(oura: FakeOura, client: OuraClient) -> None:
    oura.reply("daily_sleep", 401, '{"detail": "Unauthorized"}')
    with pytest.raises(OuraAuthError) as caught:
        await client.get_daily_sleep()
    assert caught.value.status == 401


async def test_refused_data_is_not_an_auth_error(oura: FakeOura, client: OuraClient) -> None:
    """403: the token is fine, Oura does not share this data (membership, scope)."""
    oura.reply("daily_sleep", 403, '{"detail": "Forbidden"}')
    with pytest.raises(OuraForbiddenError) as caught:
        await client.get_daily_sleep()
    assert caught.value.status == 403
    assert not isinstance(caught.value, OuraAuthError)


@pytest.mark.parametrize(
    ("header", "expected"),
    [({"Retry-After": "120"}, 120.0), ({"Retry-After": "soon"}, None), ({}, None)],
)
async def test_rate_limit_carries_retry_after(
    oura: FakeOura, client: OuraClient, header: dict[str, str], expected: float | None
) -> None:
    oura.reply("daily_sleep", 429, '{"detail": "Too Many Requests"}', header)
    with pytest.raises(OuraRateLimitError) as caught:
        await client.get_daily_sleep()
    assert caught.value.status == 429
    assert caught.value.retry_after == expected


async def test_rate_limit_retry_after_as_http_date(oura: FakeOura, client: OuraClient) -> None:
    later = datetime.now(UTC) + timedelta(seconds=90)
    oura.reply("daily_sleep", 429, "", {"Retry-After": format_datetime(later, usegmt=True)})
    with pytest.raises(OuraRateLimitError) as caught:
        await client.get_daily_sleep()
    assert caught.value.retry_after is not None
    assert 80 <= caught.value.retry_after <= 90


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        (" 30 ", 30.0),
        ("Fri, 14 Mar 2025 12:02:00 GMT", 120.0),
        ("Fri, 14 Mar 2025 11:59:00 GMT", 0.0),  # already past
        ("-5", None),
        ("1.5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == expected


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_connection_errors(
    oura: FakeOura, client: OuraClient, status: int
) -> None:
    oura.reply("daily_sleep", status, "upstream failure")
    with pytest.raises(OuraConnectionError) as caught:
        await client.get_daily_sleep()
    assert caught.value.status == status


async def test_other_client_errors_are_plain_oura_errors(
    oura: FakeOura, client: OuraClient
) -> None:
    oura.reply("daily_sleep", 422, '{"detail": [{"msg": "bad date"}]}')
    with pytest.raises(OuraError) as caught:
        await client.get_daily_sleep()
    assert type(caught.value) is OuraError
    assert caught.value.status == 422


async def test_a_slow_answer_times_out_as_a_connection_error(oura: FakeOura) -> None:
    async def stalled(request: web.Request) -> web.StreamResponse:
        await oura.release.wait()
        return web.json_response({"data": [], "next_token": None})

    oura.overrides["daily_sleep"] = stalled
    async with OuraClient(TOKEN, base_url=oura.base_url, timeout=0.2) as client:
        with pytest.raises(OuraConnectionError, match="did not answer"):
            await client.get_daily_sleep()


async def test_an_unreachable_server_is_a_connection_error(socket_enabled: None) -> None:
    server = TestServer(web.Application())
    await server.start_server()
    base_url = str(server.make_url("/"))
    await server.close()  # nothing listens there any more

    async with OuraClient(TOKEN, base_url=base_url) as client:
        with pytest.raises(OuraConnectionError, match="Could not reach"):
            await client.get_personal_info()


async def test_an_injected_session_is_used_and_left_open(oura: FakeOura) -> None:
    async with aiohttp.ClientSession() as session:
        async with OuraClient(TOKEN, session=session, base_url=oura.base_url) as client:
            await client.get_personal_info()
        await client.close()
        assert not session.closed
        # Still usable by its owner after the client is done.
        async with session.get(f"{oura.base_url}v2/usercollection/personal_info") as response:
            assert response.status == 200


async def test_an_own_session_is_closed_with_the_client(oura: FakeOura) -> None:
    client = OuraClient(TOKEN, base_url=oura.base_url)
    await client.get_personal_info()
    session = client._session
    assert session is not None
    assert not session.closed

    await client.close()

    assert session.closed


def test_range_parameters_are_checked() -> None:
    naive = datetime(2025, 3, 13, 6, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        HEARTRATE.range_params(naive, None)
    with pytest.raises(TypeError):
        HEARTRATE.range_params(date(2025, 3, 13), None)
    with pytest.raises(TypeError):
        DAILY_SLEEP.range_params(datetime(2025, 3, 13, tzinfo=UTC), None)
    assert DAILY_SLEEP.range_params(date(2025, 3, 1), None) == {"start_date": "2025-03-01"}


async def test_the_token_never_appears_in_errors_or_logs(
    oura: FakeOura, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    failures: list[BaseException] = []

    async def stalled(request: web.Request) -> web.StreamResponse:
        await oura.release.wait()
        return web.json_response({})

    async def echo_refusal(request: web.Request) -> web.StreamResponse:
        # A server that echoes what it was sent must not get the token into our messages either.
        echoed = {"detail": f"refused {request.headers.get('Authorization')}"}
        return web.json_response(echoed, status=401)

    async with OuraClient(TOKEN, base_url=oura.base_url, timeout=0.2) as client:
        assert TOKEN not in repr(client)
        oura.overrides["daily_sleep"] = echo_refusal
        for name, status, body in [
            ("daily_readiness", 429, ""),
            ("daily_activity", 500, ""),
            ("daily_spo2", 200, "<html>not json</html>"),
            ("daily_stress", 404, ""),
        ]:
            oura.reply(name, status, body, {"Retry-After": "5"})
        oura.overrides["workout"] = stalled
        calls = [
            client.get_daily_sleep,
            client.get_daily_readiness,
            client.get_daily_activity,
            client.get_daily_spo2,
            client.get_daily_stress,
            client.get_workouts,
        ]
        for call in calls:
            with pytest.raises(OuraError) as caught:
                await call()
            failures.append(caught.value)
        await client.get_personal_info()  # and a successful request

    assert len(failures) == len(calls)
    for failure in failures:
        chain = [failure, failure.__cause__, failure.__context__]
        for error in (e for e in chain if e is not None):
            assert TOKEN not in str(error)
            assert TOKEN not in repr(error)
            assert all(TOKEN not in str(arg) for arg in error.args)
    assert caplog.records  # the client does log, at debug level
    assert TOKEN not in caplog.text


def test_fixtures_are_real_shaped_envelopes() -> None:
    for path in sorted(FIXTURES.glob("*.json")):
        payload = json.loads(path.read_text())
        if path.stem == "personal_info":
            assert isinstance(payload, dict)
            assert "data" not in payload
            continue
        assert set(payload) == {"data", "next_token"}, path.name
        assert isinstance(payload["data"], list)
        assert payload["data"], path.name


async def test_large_pages_are_decoded_by_the_offload_and_small_ones_in_place(
    oura: FakeOura,
) -> None:
    """A week of heart rate is decoded by the injected executor, never on the event loop."""
    week = [
        {
            "bpm": 50 + i % 40,
            "source": "awake",
            "timestamp": f"2025-03-{10 + i // 288:02d}T00:00:00+00:00",
        }
        for i in range(2016)
    ]
    oura.reply_json("heartrate", {"data": week, "next_token": None})
    offloaded: list[str] = []

    async def offload(job: Any) -> Any:
        offloaded.append("job")
        return await asyncio.to_thread(job)

    async with OuraClient(provide_token, base_url=oura.base_url, offload=offload) as client:
        samples = await client.get_heartrate(
            datetime(2025, 3, 10, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC)
        )
        assert len(samples) == 2016
        assert samples[0].bpm == 50
        assert offloaded == ["job"]
        await client.get_daily_sleep(date(2025, 3, 10), date(2025, 3, 14))
        assert offloaded == ["job"]  # a small page is read where it arrived
        # A malformed large page is the same typed error either way.
        oura.reply("heartrate", 200, "{" * 70_000)
        with pytest.raises(OuraPayloadError):
            await client.get_heartrate(
                datetime(2025, 3, 10, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC)
            )


@pytest.mark.parametrize("token_suffix", ["", "+/=="])
async def test_a_recorded_next_token_comes_back_verbatim(
    oura: FakeOura, client: OuraClient, token_suffix: str
) -> None:
    """A real heart-rate page's `next_token` (and one with `+`, `/` and `=`, as Oura's can
    carry) reaches Oura unchanged over real HTTP, and the following page is read."""
    first = recorded("goura_heartrate_page0.json")
    token = first["next_token"] + token_suffix
    second = {
        "data": recorded("exoura_heartrate_default_range.json")["data"][:5],
        "next_token": None,
    }

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.query.get("next_token") == token:
            return web.json_response(second)
        return web.json_response({**first, "next_token": token})

    oura.overrides["heartrate"] = handler
    start = datetime(2024, 1, 10, tzinfo=UTC)

    samples = await client.get_heartrate(start, start + timedelta(days=1))

    assert len(samples) == 2 + 5
    assert oura.requests[1].query["next_token"] == token
