"""An async client for the Oura API v2 (`/v2/usercollection/...`), with no Home Assistant in it.

The access token comes from an async callable asked before every request, so whoever owns the
OAuth2 session (Home Assistant's helper, a script with a personal access token) can refresh it; a
plain string works too. An injected `aiohttp.ClientSession` is used and left open; a session the
client made itself is closed by `close()` or on leaving `async with`. Each request runs under
`asyncio.timeout`, and collections follow Oura's `next_token` pages up to `max_pages`.

The base URL and collection path are settable, so the same client talks to Oura's sandbox
(`collection_path=SANDBOX_COLLECTION_PATH`) or to a local test server. The token is only ever put
in the Authorization header: never in a log line, an exception message or `repr`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from functools import partial
import json
import logging
from typing import Any, Final, Self

import aiohttp

from .exceptions import (
    OuraAuthError,
    OuraConnectionError,
    OuraError,
    OuraForbiddenError,
    OuraPayloadError,
    OuraRateLimitError,
)
from .models import DailyActivity, DailySpO2, DailyStress, HeartRate, Page, PersonalInfo, Workout
from .more_documents import (
    DailyCardiovascularAge,
    DailyResilience,
    RestModePeriod,
    RingBatteryLevel,
    RingConfiguration,
    Session,
    Tag,
    VO2Max,
)
from .sleep_documents import DailyReadiness, DailySleep, SleepPeriod, SleepTime

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://api.ouraring.com"
USER_COLLECTION_PATH: Final = "/v2/usercollection"
SANDBOX_COLLECTION_PATH: Final = "/v2/sandbox/usercollection"
DEFAULT_TIMEOUT: Final = 30.0  # seconds, for one request and its answer
DEFAULT_MAX_PAGES: Final = 100  # a collection with more pages is an error, not an endless loop

type TokenProvider = Callable[[], Awaitable[str]]
type Offload = Callable[[Callable[[], Any]], Awaitable[Any]]
OFFLOAD_BYTES: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class Collection[T]:
    """One of Oura's document collections: its path name and how to read its documents.

    Most collections are filtered by `start_date`/`end_date`; time series (`timestamped`) by
    `start_datetime`/`end_datetime`.
    """

    name: str
    parse: Callable[[object], T]
    timestamped: bool = False

    def range_params(self, start: date | None, end: date | None) -> dict[str, str]:
        """The query parameters for a range; either end may be left open."""
        params: dict[str, str] = {}
        for bound, value in (("start", start), ("end", end)):
            if value is None:
                continue
            if self.timestamped:
                if not isinstance(value, datetime):
                    raise TypeError(f"{self.name} is filtered by datetimes, not dates")
                if value.tzinfo is None:
                    raise ValueError(f"{self.name} needs timezone-aware datetimes")
                params[f"{bound}_datetime"] = value.isoformat()
            else:
                if isinstance(value, datetime):
                    raise TypeError(f"{self.name} is filtered by dates, not datetimes")
                params[f"{bound}_date"] = value.isoformat()
        return params


DAILY_SLEEP: Final = Collection("daily_sleep", DailySleep.from_dict)
SLEEP: Final = Collection("sleep", SleepPeriod.from_dict)
DAILY_READINESS: Final = Collection("daily_readiness", DailyReadiness.from_dict)
DAILY_ACTIVITY: Final = Collection("daily_activity", DailyActivity.from_dict)
DAILY_SPO2: Final = Collection("daily_spo2", DailySpO2.from_dict)
DAILY_STRESS: Final = Collection("daily_stress", DailyStress.from_dict)
WORKOUT: Final = Collection("workout", Workout.from_dict)
SLEEP_TIME: Final = Collection("sleep_time", SleepTime.from_dict)
HEARTRATE: Final = Collection("heartrate", HeartRate.from_dict, timestamped=True)
DAILY_RESILIENCE: Final = Collection("daily_resilience", DailyResilience.from_dict)
VO2_MAX: Final = Collection("vO2_max", VO2Max.from_dict)
DAILY_CARDIOVASCULAR_AGE: Final = Collection(
    "daily_cardiovascular_age", DailyCardiovascularAge.from_dict
)
SESSION: Final = Collection("session", Session.from_dict)
TAG: Final = Collection("enhanced_tag", Tag.from_dict)
REST_MODE_PERIOD: Final = Collection("rest_mode_period", RestModePeriod.from_dict)
RING_BATTERY_LEVEL: Final = Collection(
    "ring_battery_level", RingBatteryLevel.from_dict, timestamped=True
)
RING_CONFIGURATION: Final = Collection("ring_configuration", RingConfiguration.from_dict)
PERSONAL_INFO: Final = "personal_info"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait by a Retry-After header (delta-seconds or HTTP-date); None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class OuraClient:
    """Reads one person's Oura data through API v2."""

    def __init__(
        self,
        token: str | TokenProvider,
        *,
        session: aiohttp.ClientSession | None = None,
        base_url: str = DEFAULT_BASE_URL,
        collection_path: str = USER_COLLECTION_PATH,
        timeout: float = DEFAULT_TIMEOUT,
        max_pages: int = DEFAULT_MAX_PAGES,
        offload: Offload | None = None,
    ) -> None:
        """Set up the client; `token` is an access token or an async callable returning one.

        `offload` runs a blocking function elsewhere (Home Assistant's executor) and awaits it:
        pages larger than `OFFLOAD_BYTES` are decoded there instead of on the event loop.
        """
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        self._token: TokenProvider = _fixed_token(token) if isinstance(token, str) else token
        self._session = session
        self._own_session = session is None
        self._base_url = base_url.rstrip("/")
        self._collection_path = "/" + collection_path.strip("/")
        self._timeout = timeout
        self._max_pages = max_pages
        self._offload = offload

    def __repr__(self) -> str:
        """Where the client points; never the token."""
        return f"OuraClient(base_url={self._base_url!r}, collection_path={self._collection_path!r})"

    async def __aenter__(self) -> Self:
        """Use the client in `async with`; its own session is closed on the way out."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the session the client made (an injected one stays open)."""
        await self.close()

    async def close(self) -> None:
        """Close the session the client made itself; an injected session is left to its owner."""
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def get_page[T](
        self,
        collection: Collection[T],
        *,
        start: date | None = None,
        end: date | None = None,
        next_token: str | None = None,
    ) -> Page[T]:
        """One page of a collection; pass the previous page's `next_token` for the next one."""
        params = collection.range_params(start, end)
        if next_token is not None:
            params["next_token"] = next_token
        raw = await self._get_raw(collection.name, params)
        if self._offload is not None and len(raw) > OFFLOAD_BYTES:
            # A large page (weeks of heart rate) is decoded off the caller's event loop.
            page: Page[T] = await self._offload(partial(_read_page, collection, raw))
            return page
        return _read_page(collection, raw)

    async def iter_documents[T](
        self, collection: Collection[T], *, start: date | None = None, end: date | None = None
    ) -> AsyncIterator[T]:
        """Every document in a range, following `next_token` across pages (up to `max_pages`)."""
        next_token: str | None = None
        seen: set[str] = set()
        for _ in range(self._max_pages):
            page = await self.get_page(collection, start=start, end=end, next_token=next_token)
            for document in page.data:
                yield document
            if page.next_token is None:
                return
            if page.next_token in seen:
                raise OuraPayloadError(f"Oura's {collection.name} pages repeat a next_token")
            seen.add(page.next_token)
            next_token = page.next_token
        raise OuraPayloadError(f"Oura's {collection.name} has more than {self._max_pages} pages")

    async def get_all[T](
        self, collection: Collection[T], *, start: date | None = None, end: date | None = None
    ) -> list[T]:
        """Every document in a range, as a list."""
        return [
            document async for document in self.iter_documents(collection, start=start, end=end)
        ]

    async def get_daily_sleep(
        self, start: date | None = None, end: date | None = None
    ) -> list[DailySleep]:
        """Daily sleep scores, one a day, from `start` to `end` (Oura's defaults when None)."""
        return await self.get_all(DAILY_SLEEP, start=start, end=end)

    async def get_sleep(
        self, start: date | None = None, end: date | None = None
    ) -> list[SleepPeriod]:
        """Sleep periods (nights, naps, rests) of the days from `start` to `end`."""
        return await self.get_all(SLEEP, start=start, end=end)

    async def get_daily_readiness(
        self, start: date | None = None, end: date | None = None
    ) -> list[DailyReadiness]:
        """Daily readiness scores from `start` to `end`."""
        return await self.get_all(DAILY_READINESS, start=start, end=end)

    async def get_daily_activity(
        self, start: date | None = None, end: date | None = None
    ) -> list[DailyActivity]:
        """Daily activity from `start` to `end`."""
        return await self.get_all(DAILY_ACTIVITY, start=start, end=end)

    async def get_daily_spo2(
        self, start: date | None = None, end: date | None = None
    ) -> list[DailySpO2]:
        """Nightly blood oxygen from `start` to `end`."""
        return await self.get_all(DAILY_SPO2, start=start, end=end)

    async def get_daily_stress(
        self, start: date | None = None, end: date | None = None
    ) -> list[DailyStress]:
        """Daily stress from `start` to `end`."""
        return await self.get_all(DAILY_STRESS, start=start, end=end)

    async def get_workouts(
        self, start: date | None = None, end: date | None = None
    ) -> list[Workout]:
        """Workouts of the days from `start` to `end`."""
        return await self.get_all(WORKOUT, start=start, end=end)

    async def get_sleep_time(
        self, start: date | None = None, end: date | None = None
    ) -> list[SleepTime]:
        """Oura's recommended bedtime windows from `start` to `end`."""
        return await self.get_all(SLEEP_TIME, start=start, end=end)

    async def get_heartrate(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[HeartRate]:
        """Heart-rate samples between two timezone-aware moments."""
        return await self.get_all(HEARTRATE, start=start, end=end)

    async def get_personal_info(self) -> PersonalInfo:
        """The ring owner's profile (a single document, not a collection)."""
        return PersonalInfo.from_dict(await self._get_json(PERSONAL_INFO, {}))

    async def _get_json(self, name: str, params: Mapping[str, str]) -> object:
        """GET one resource of the collection path and decode its JSON, mapping every failure."""
        return _loads(name, await self._get_raw(name, params))

    async def _get_raw(self, name: str, params: Mapping[str, str]) -> bytes:
        """GET one resource of the collection path: its body, every failure mapped."""
        token = await self._token()
        url = f"{self._base_url}{self._collection_path}/{name}"
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._session.get(url, params=params, headers=headers) as response,
            ):
                status = response.status
                retry_after = response.headers.get("Retry-After")
                body = await response.read()
        except TimeoutError as err:
            raise OuraConnectionError(f"Oura did not answer {name} in {self._timeout} s") from err
        except aiohttp.ClientError as err:
            raise OuraConnectionError(
                f"Could not reach Oura for {name}: {type(err).__name__}"
            ) from err
        _LOGGER.debug("Oura %s: HTTP %s", name, status)
        _raise_for_status(name, status, retry_after)
        return body


def _loads(name: str, body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        raise OuraPayloadError(f"Oura's {name} answer is not JSON") from None


def _read_page[T](collection: Collection[T], raw: bytes) -> Page[T]:
    """A page's documents from its body (pure: may run in an executor)."""
    body = _loads(collection.name, raw)
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        raise OuraPayloadError(f"Oura's {collection.name} answer has no data list")
    following = body.get("next_token")
    if following is not None and not isinstance(following, str):
        raise OuraPayloadError(f"Oura's {collection.name} next_token is not a string")
    documents = []
    for item in body["data"]:
        try:
            documents.append(collection.parse(item))
        except OuraPayloadError as err:
            # A document without its identity is left out; the rest of the page is kept.
            _LOGGER.debug("A document of Oura's %s was left out: %s", collection.name, err)
    return Page(data=tuple(documents), next_token=following or None)


def _raise_for_status(name: str, status: int, retry_after: str | None) -> None:
    if status < 400:
        return
    if status == 401:
        raise OuraAuthError(f"Oura refused access to {name} (HTTP {status})", status=status)
    if status == 403:
        raise OuraForbiddenError(f"Oura refused {name} to this account (HTTP 403)", status=status)
    if status == 429:
        wait = parse_retry_after(retry_after)
        raise OuraRateLimitError(
            f"Oura's rate limit reached on {name} (HTTP 429)", status=status, retry_after=wait
        )
    if status >= 500:
        raise OuraConnectionError(f"Oura failed on {name} (HTTP {status})", status=status)
    raise OuraError(f"Oura rejected the request for {name} (HTTP {status})", status=status)


def _fixed_token(token: str) -> TokenProvider:
    async def provide() -> str:
        return token

    return provide
