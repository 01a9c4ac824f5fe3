"""Polls one Oura account: the latest day's sleep, readiness, activity, SpO2, stress and bedtime."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from aiohttp import ClientError
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import OAuth2Session
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .data import OuraConfigEntry
from .oura import (
    DailyActivity,
    DailyReadiness,
    DailySleep,
    DailySpO2,
    DailyStress,
    OuraAuthError,
    OuraClient,
    OuraError,
    SleepPeriod,
    SleepTime,
    SleepType,
)

UPDATE_INTERVAL = timedelta(minutes=5)
DAYS_FETCHED = 2  # yesterday and today: a night is filed under the day it ends


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
    last_sync: datetime


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
    """The newest day's main sleep: its long sleep, else its longest period (no rests)."""
    counted = [
        period
        for period in periods
        if period.day <= today and period.type not in (SleepType.DELETED, SleepType.REST)
    ]
    if not counted:
        return None
    newest = max(period.day for period in counted)
    return max(
        (period for period in counted if period.day == newest),
        key=lambda period: (
            period.type == SleepType.LONG_SLEEP,
            period.total_sleep_duration or 0,
        ),
    )


def _tonight(sleep_time: SleepTime | None, now: datetime) -> tuple[datetime, datetime] | None:
    """Oura's latest optimal bedtime window, moved on by whole days until it has not ended."""
    if sleep_time is None or (bounds := sleep_time.optimal_bedtime_bounds) is None:
        return None
    start, end = bounds
    if end <= now:
        days = (now - end) // timedelta(days=1) + 1
        start, end = start + timedelta(days=days), end + timedelta(days=days)
    return start, end


class OuraCoordinator(DataUpdateCoordinator[OuraData]):
    """Fetches an Oura account's recent days every few minutes."""

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
        self.client = OuraClient(self._access_token, session=async_get_clientsession(hass))

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

    async def _async_update_data(self) -> OuraData:
        today = dt_util.now().date()
        start, end = today - timedelta(days=DAYS_FETCHED - 1), today + timedelta(days=1)
        try:
            daily_sleep = await self.client.get_daily_sleep(start, end)
            sleep = await self.client.get_sleep(start, end)
            readiness = await self.client.get_daily_readiness(start, end)
            activity = await self.client.get_daily_activity(start, end)
            spo2 = await self.client.get_daily_spo2(start, end)
            stress = await self.client.get_daily_stress(start, end)
            sleep_time = await self.client.get_sleep_time(start, end)
        except OuraAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="oura_auth_failed"
            ) from err
        except OuraError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="oura_update_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        latest_sleep_time = _latest(
            (item for item in sleep_time if item.optimal_bedtime is not None), today
        )
        return OuraData(
            daily_sleep=_latest(daily_sleep, today),
            sleep=_main_sleep(sleep, today),
            readiness=_latest(readiness, today),
            activity=_latest(activity, today),
            spo2=_latest(spo2, today),
            stress=_latest(stress, today),
            sleep_time=latest_sleep_time,
            recommended_bedtime=_tonight(latest_sleep_time, dt_util.utcnow()),
            last_sync=dt_util.utcnow(),
        )
