"""Polls one Oura account: the latest day's sleep, readiness, activity, SpO2, stress and bedtime.

Every 5 minutes while the day's data is still expected, every 15 once today's sleep and readiness
are in (only activity keeps moving), and every 30 while Oura's webhooks push changes. Each poll
adds its new points to the long-term statistics, and the first poll of a day compares the last
week with them (late nights, revised days). A new night fires `lifeops_sleep_updated`.
A refused sign-in (401) starts Home Assistant's reauth flow at once and raises a repair issue.
Every collection is read on its own: one that fails or answers malformed leaves only its own
sensors unavailable, and one Oura refuses (403: no membership) raises its own repair issue.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Protocol

from aiohttp import ClientError
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import OAuth2Session
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from ..oura import (
    DAILY_ACTIVITY,
    DAILY_CARDIOVASCULAR_AGE,
    DAILY_READINESS,
    DAILY_RESILIENCE,
    DAILY_SLEEP,
    DAILY_SPO2,
    DAILY_STRESS,
    HEARTRATE,
    REST_MODE_PERIOD,
    RING_BATTERY_LEVEL,
    RING_CONFIGURATION,
    SESSION,
    SLEEP,
    SLEEP_TIME,
    TAG,
    VO2_MAX,
    WORKOUT,
    Collection,
    DailyActivity,
    DailyCardiovascularAge,
    DailyReadiness,
    DailyResilience,
    DailySleep,
    DailySpO2,
    DailyStress,
    HeartRate,
    OuraAuthError,
    OuraClient,
    OuraError,
    OuraForbiddenError,
    RestModePeriod,
    RingBatteryLevel,
    RingConfiguration,
    Session,
    SleepPeriod,
    SleepTime,
    Tag,
    VO2Max,
    Workout,
)
from ..oura.history import OuraDocuments, main_sleep_by_day
from ..store import OuraStore
from .endpoints import OURA
from .statistics import OuraHistory, recorder_running

UPDATE_INTERVAL = timedelta(minutes=5)  # while the day's sleep and readiness are expected
SETTLED_INTERVAL = timedelta(minutes=15)  # today's night is in; only activity keeps moving
PUSHED_INTERVAL = timedelta(minutes=30)  # Oura's webhooks announce changes
DAYS_FETCHED = 2  # yesterday and today: a night is filed under the day it ends
WEEKS_FETCHED = 4  # for figures Oura updates now and then (VO2 max) and long rest modes
BATTERY_HOURS = 24  # ring battery readings fetched back this far
UTC_MIN = datetime.min.replace(tzinfo=UTC)
HEART_RATE_HOURS = 3  # heart rate fetched back from the start of this many hours ago
RECONCILE_DAYS = 7  # once a day, this many past days are compared with the statistics
# VO2 max, cardiovascular age and the ring's configuration change every few days at most: asked
# for this often, not at every poll (a poll is then 14 requests instead of 17).
SLOW_REFRESH = timedelta(hours=6)
EVENT_SLEEP_UPDATED = f"{DOMAIN}_sleep_updated"


@dataclass(frozen=True, kw_only=True)
class OuraData:
    """The newest document of each kind, up to today; None where Oura has none yet."""

    daily_sleep: DailySleep | None
    sleep: SleepPeriod | None  # the main sleep period of its day
    readiness: DailyReadiness | None
    activity: DailyActivity | None
    spo2: DailySpO2 | None
    stress: DailyStress | None
    sleep_time: SleepTime | None
    recommended_bedtime: tuple[datetime, datetime] | None  # tonight's optimal window
    heart_rate: HeartRate | None  # the newest sample
    last_workout: Workout | None
    workouts_today: int
    last_sync: datetime
    documents: OuraDocuments  # everything this poll fetched, for the statistics
    # Collections (`daily_sleep`, `sleep`, ...) that failed this poll: their sensors are
    # unavailable while the others keep working.
    failed: frozenset[str] = frozenset()
    bedtime_guidance: SleepTime | None = None  # the latest recommendation, with or without window
    resilience: DailyResilience | None = None
    vo2_max: VO2Max | None = None  # the latest estimate of the last weeks
    cardiovascular_age: DailyCardiovascularAge | None = None
    last_session: Session | None = None
    sessions_today: int = 0
    last_tag: Tag | None = None
    rest_mode: RestModePeriod | None = None  # the period on now, if any
    battery: RingBatteryLevel | None = None  # the newest reading
    ring: RingConfiguration | None = None  # the ring set up last


class _Daily(Protocol):
    @property
    def day(self) -> date: ...


def _latest[T: _Daily](documents: Iterable[T], today: date) -> T | None:
    """The document of the newest day up to today (a later one for the same day wins)."""
    latest: T | None = None
    for document in documents:
        if document.day <= today and (latest is None or document.day >= latest.day):
            latest = document
    return latest


def _main_sleep(periods: Iterable[SleepPeriod], today: date) -> SleepPeriod | None:
    """The newest night up to today: last night's long sleep until today's night has synced.

    Naps and short periods of today never replace it (see `is_night`).
    """
    by_day = {day: period for day, period in main_sleep_by_day(periods).items() if day <= today}
    return by_day[max(by_day)] if by_day else None


def _newest[T: (HeartRate, RingBatteryLevel)](readings: Iterable[T]) -> T | None:
    """The reading with the latest timestamp (the later one of two with the same)."""
    newest: T | None = None
    for reading in readings:
        if newest is None or reading.timestamp >= newest.timestamp:
            newest = reading
    return newest


def _ended_last[T: (Workout, Session)](items: Iterable[T], now: datetime) -> T | None:
    """The workout or session that ended last, up to now."""
    ended = [x for x in items if x.end_datetime is not None and x.end_datetime <= now]
    return max(ended, key=lambda x: x.end_datetime or now) if ended else None


def _last_tag(tags: Iterable[Tag], now: datetime) -> Tag | None:
    """The tag that started last, up to now (by day where a tag has no time)."""
    started = [t for t in tags if t.start_time is None or t.start_time <= now]
    return max(started, key=lambda t: (t.start_day, t.start_time or now)) if started else None


def _newest_ring(rings: Iterable[RingConfiguration]) -> RingConfiguration | None:
    """The ring set up last (a ring without a set-up time counts as the oldest)."""
    ordered = sorted(rings, key=lambda r: (r.set_up_at is not None, r.set_up_at or UTC_MIN))
    return ordered[-1] if ordered else None


def _tonight(sleep_time: SleepTime | None, now: datetime) -> tuple[datetime, datetime] | None:
    """Oura's latest optimal bedtime window, moved on by whole days until it has not ended."""
    if sleep_time is None or (bounds := sleep_time.optimal_bedtime_bounds) is None:
        return None
    start, end = bounds
    if end <= now:
        days = (now - end) // timedelta(days=1) + 1
        start, end = start + timedelta(days=days), end + timedelta(days=days)
    return start, end


def account_id(entry: OuraConfigEntry) -> str:
    """The account's id (Oura's, the entry's unique id): in its devices, sensors and history."""
    return entry.unique_id or entry.entry_id


def auth_issue_id(entry: OuraConfigEntry) -> str:
    """The repair issue raised while an account's sign-in is refused."""
    return f"oura_signed_out_{entry.entry_id}"


def membership_issue_id(entry: OuraConfigEntry) -> str:
    """The repair issue raised while Oura refuses an account's data (HTTP 403)."""
    return f"oura_membership_{entry.entry_id}"


FETCHED: Final = tuple(
    collection.name
    for collection in (
        DAILY_SLEEP,
        SLEEP,
        DAILY_READINESS,
        DAILY_ACTIVITY,
        DAILY_SPO2,
        DAILY_STRESS,
        HEARTRATE,
        WORKOUT,
        SLEEP_TIME,
    )
)


@dataclass(frozen=True, kw_only=True)
class _MoreDocuments:
    """One poll's documents of the collections not every account has."""

    resilience: list[DailyResilience]
    vo2_max: list[VO2Max]
    cardiovascular_age: list[DailyCardiovascularAge]
    sessions: list[Session]
    tags: list[Tag]
    rest_mode: list[RestModePeriod]
    battery: list[RingBatteryLevel]
    rings: list[RingConfiguration]


class _Fetch:
    """Runs one poll's requests, each on its own: a failing collection is noted, not raised.

    A refused token (401) still ends the poll: every other request would be refused too.
    """

    def __init__(self, client: OuraClient, kept: dict[str, tuple[datetime, list[Any]]]) -> None:
        self.client = client
        self.failed: dict[str, OuraError] = {}
        self.forbidden: list[str] = []
        self.kept = kept  # the slow collections' last answers, with when they came

    async def slow[T](
        self,
        collection: Collection[T],
        now: datetime,
        start: date | None = None,
        end: date | None = None,
    ) -> list[T]:
        """An optional collection that changes rarely: its last answer while it is fresh."""
        kept = self.kept.get(collection.name)
        if kept is not None and now - kept[0] < SLOW_REFRESH:
            return kept[1]
        documents = await self.optional(collection, start, end)
        if collection.name in self.failed:
            self.kept.pop(collection.name, None)
        else:
            self.kept[collection.name] = (now, documents)
        return documents

    async def __call__[T](
        self, collection: Collection[Any], request: Coroutine[Any, Any, list[T]]
    ) -> list[T]:
        try:
            return await request
        except OuraAuthError:
            raise
        except OuraForbiddenError as err:
            self.forbidden.append(collection.name)
            self.failed[collection.name] = err
        except OuraError as err:
            self.failed[collection.name] = err
        return []

    async def optional[T](
        self, collection: Collection[T], start: date | None = None, end: date | None = None
    ) -> list[T]:
        """A collection not every account or sign-in has (a newer ring, a scope granted later).

        Any refusal, 401 included, only makes its own sensors unavailable.
        """
        try:
            return await self.client.get_all(collection, start=start, end=end)
        except OuraForbiddenError as err:
            self.forbidden.append(collection.name)
            self.failed[collection.name] = err
        except OuraError as err:
            self.failed[collection.name] = err
        return []


# An Oura account's entry holds its coordinator.
type OuraConfigEntry = ConfigEntry[OuraCoordinator]


class OuraCoordinator(DataUpdateCoordinator[OuraData]):
    """Fetches an Oura account's recent days, more often while new data is expected."""

    config_entry: OuraConfigEntry

    def __init__(self, hass: HomeAssistant, entry: OuraConfigEntry, session: OAuth2Session) -> None:
        """Set up the client with Home Assistant's OAuth2 session as its token source."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} Oura {entry.title}",
            update_interval=UPDATE_INTERVAL,
        )
        self.oauth_session = session
        self.client = OuraClient(
            self._access_token,
            session=async_get_clientsession(hass),
            base_url=OURA.api,
            offload=self._async_offload,
        )
        self.history = OuraHistory(hass, account_id(entry))
        self.store = OuraStore(hass, entry.entry_id)
        self.pushed = False  # set while webhook subscriptions are active
        self._reconciling = False
        self._kept: dict[str, tuple[datetime, list[Any]]] = {}  # see _Fetch.slow
        self.options = dict(entry.options)  # as set up: a change of options reloads the entry

    async def _async_offload(self, job: Callable[[], Any]) -> Any:
        """Run a blocking job (decoding a large page) in Home Assistant's executor."""
        return await self.hass.async_add_executor_job(job)

    async def _access_token(self) -> str:
        """A valid access token, refreshed first when it is about to expire."""
        try:
            await self.oauth_session.async_ensure_token_valid()
        except (ClientError, TimeoutError) as err:
            status = getattr(err, "status", None)
            if status is not None and 400 <= status < 500:
                raise OuraAuthError("Oura refused to refresh the token", status=status) from err
            raise OuraError(f"Could not refresh the Oura token: {type(err).__name__}") from err
        return str(self.oauth_session.token["access_token"])

    async def _async_setup(self) -> None:
        await self.store.async_load()

    async def _async_update_data(self) -> OuraData:
        now = dt_util.utcnow()
        today = dt_util.as_local(now).date()
        start, end = today - timedelta(days=DAYS_FETCHED - 1), today + timedelta(days=1)
        since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HEART_RATE_HOURS)
        client = self.client
        try:
            await self._access_token()  # a refused or failed refresh ends the poll at once
            fetch = _Fetch(client, self._kept)
            documents = OuraDocuments(
                daily_sleep=await fetch(DAILY_SLEEP, client.get_daily_sleep(start, end)),
                sleep=await fetch(SLEEP, client.get_sleep(start, end)),
                daily_readiness=await fetch(
                    DAILY_READINESS, client.get_daily_readiness(start, end)
                ),
                daily_activity=await fetch(DAILY_ACTIVITY, client.get_daily_activity(start, end)),
                daily_spo2=await fetch(DAILY_SPO2, client.get_daily_spo2(start, end)),
                daily_stress=await fetch(DAILY_STRESS, client.get_daily_stress(start, end)),
                heartrate=await fetch(HEARTRATE, client.get_heartrate(since, now)),
                workout=await fetch(WORKOUT, client.get_workouts(start, end)),
            )
            sleep_time = await fetch(SLEEP_TIME, client.get_sleep_time(start, end))
            weeks = today - timedelta(weeks=WEEKS_FETCHED)
            more = _MoreDocuments(
                resilience=await fetch.optional(DAILY_RESILIENCE, start, end),
                vo2_max=await fetch.slow(VO2_MAX, now, weeks, end),
                cardiovascular_age=await fetch.slow(DAILY_CARDIOVASCULAR_AGE, now, weeks, end),
                sessions=await fetch.optional(SESSION, start, end),
                tags=await fetch.optional(TAG, start, end),
                rest_mode=await fetch.optional(REST_MODE_PERIOD, weeks, end),
                battery=await fetch.optional(
                    RING_BATTERY_LEVEL, now - timedelta(hours=BATTERY_HOURS), now
                ),
                rings=await fetch.slow(RING_CONFIGURATION, now),
            )
            documents.vo2_max = more.vo2_max
            documents.daily_cardiovascular_age = more.cardiovascular_age
        except OuraAuthError as err:
            self._raise_auth_issue()
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="oura_auth_failed"
            ) from err
        except OuraError as err:  # the token could not be refreshed: nothing was asked
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="oura_update_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        ir.async_delete_issue(self.hass, DOMAIN, auth_issue_id(self.config_entry))
        self._update_membership_issue(fetch.forbidden)
        if all(name in fetch.failed for name in FETCHED):
            # Nothing answered: one error for the whole account (every sensor unavailable).
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="oura_update_failed",
                translation_placeholders={"error": str(next(iter(fetch.failed.values())))},
            )
        for name, error in fetch.failed.items():
            LOGGER.debug("Oura %s not read this time: %s", name, error)
        latest_sleep_time = _latest(
            (item for item in sleep_time if item.optimal_bedtime is not None), today
        )
        data = OuraData(
            daily_sleep=_latest(documents.daily_sleep, today),
            sleep=_main_sleep(documents.sleep, today),
            readiness=_latest(documents.daily_readiness, today),
            activity=_latest(documents.daily_activity, today),
            spo2=_latest(documents.daily_spo2, today),
            stress=_latest(documents.daily_stress, today),
            sleep_time=latest_sleep_time,
            recommended_bedtime=_tonight(latest_sleep_time, now),
            heart_rate=_newest(documents.heartrate),
            last_workout=_ended_last(documents.workout, now),
            workouts_today=sum(1 for w in documents.workout if w.day == today),
            last_sync=now,
            documents=documents,
            failed=frozenset(fetch.failed),
            bedtime_guidance=_latest(sleep_time, today),
            resilience=_latest(more.resilience, today),
            vo2_max=_latest(more.vo2_max, today),
            cardiovascular_age=_latest(more.cardiovascular_age, today),
            last_session=_ended_last(more.sessions, now),
            sessions_today=sum(1 for x in more.sessions if x.day == today),
            last_tag=_last_tag(more.tags, now),
            rest_mode=next((p for p in more.rest_mode if p.active_at(now)), None),
            battery=_newest(more.battery),
            ring=_newest_ring(more.rings),
        )
        self.update_interval = self._next_interval(data, today)
        await self.history.async_add(documents)
        self._announce_night(data)
        self._schedule_reconcile(today)
        return data

    def _schedule_reconcile(self, today: date) -> None:
        """Once a day (on its first poll), compare the last week with the statistics."""
        if (
            not recorder_running(self.hass)
            or self._reconciling
            or self.store.history_from is None  # the first backfill has not finished
            or self.store.reconciled_on == today
        ):
            return
        self._reconciling = True
        self.config_entry.async_create_background_task(
            self.hass, self._async_reconcile(today), "lifeops Oura reconcile"
        )

    async def _async_reconcile(self, today: date) -> None:
        try:
            start = today - timedelta(days=RECONCILE_DAYS)
            end = today + timedelta(days=1)
            if await self.history.async_reconcile(self.client, start, end) is not None:
                self.store.set_reconciled_on(today)
        finally:
            self._reconciling = False

    async def async_backfill(self, days: int) -> None:
        """Put the last `days` days into the statistics, once (more when `days` grows)."""
        if not recorder_running(self.hass) or days <= 0:
            return
        today = dt_util.now().date()
        wanted = today - timedelta(days=days)
        have = self.store.history_from
        if have is not None and have <= wanted:
            return
        end = have if have is not None else today + timedelta(days=1)
        if await self.history.async_backfill(self.client, wanted, end) is not None:
            self.store.set_history_from(wanted)
            self.store.set_reconciled_on(today)  # the backfill just wrote the last week

    def _next_interval(self, data: OuraData, today: date) -> timedelta:
        if self.pushed:
            return PUSHED_INTERVAL
        settled = (
            data.daily_sleep is not None
            and data.daily_sleep.day == today
            and data.readiness is not None
            and data.readiness.day == today
        )
        return SETTLED_INTERVAL if settled else UPDATE_INTERVAL

    def _announce_night(self, data: OuraData) -> None:
        """Fire `lifeops_sleep_updated` once per new night (not for nights known before)."""
        night = data.daily_sleep or data.sleep
        if night is None:
            return
        announced = self.store.announced_night
        if announced is not None and night.day <= announced:
            return
        self.store.set_announced_night(night.day)
        if announced is None:
            return  # the first night LifeOps sees is where it starts, not news
        sleep = data.sleep if data.sleep is not None and data.sleep.day == night.day else None
        self.hass.bus.async_fire(
            EVENT_SLEEP_UPDATED,
            {
                "config_entry_id": self.config_entry.entry_id,
                "day": night.day.isoformat(),
                "sleep_score": data.daily_sleep.score if data.daily_sleep else None,
                "readiness_score": (
                    data.readiness.score
                    if data.readiness is not None and data.readiness.day == night.day
                    else None
                ),
                "total_sleep_seconds": sleep.total_sleep_duration if sleep else None,
                "efficiency": sleep.efficiency if sleep else None,
                "average_hrv": sleep.average_hrv if sleep else None,
                "lowest_heart_rate": sleep.lowest_heart_rate if sleep else None,
                "bedtime_start": (
                    sleep.bedtime_start.isoformat() if sleep and sleep.bedtime_start else None
                ),
                "bedtime_end": sleep.bedtime_end.isoformat()
                if sleep and sleep.bedtime_end
                else None,
            },
        )

    def _update_membership_issue(self, forbidden: list[str]) -> None:
        """Say that Oura refuses data (403) while it does; signing in again would not help."""
        issue_id = membership_issue_id(self.config_entry)
        if not forbidden:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="oura_membership_needed",
            translation_placeholders={
                "account": self.config_entry.title,
                "data": ", ".join(forbidden),
            },
        )

    def _raise_auth_issue(self) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            auth_issue_id(self.config_entry),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="oura_signed_out",
            translation_placeholders={"account": self.config_entry.title},
        )
