"""An Oura account's history in Home Assistant's long-term statistics.

Each figure (sleep score, readiness, total sleep, heart rate, ...) is an external statistic
`lifeops:oura_<account>_<figure>`, so statistics graphs show months at once instead of filling up
over weeks. On first setup a backfill fetches the chosen number of days (90 by default); every poll
then adds only the points it has not written yet (or whose value Oura revised), and once a day
the last week is compared with what the statistics hold, so nights that reach Oura late and days
Oura revises arrive too (only the points that differ are written). Writing a point
again replaces it, so importing twice never duplicates. The recorder writes in its own thread;
the series are built in the executor, so a year of heart rate never blocks the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from homeassistant.components.recorder import get_instance
from homeassistant.components.recorder.models import (
    StatisticData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import translation
from homeassistant.util import dt as dt_util, slugify

from ..compat import statistic_metadata
from ..const import DOMAIN, LOGGER
from ..oura import DAILY_CARDIOVASCULAR_AGE, VO2_MAX, Collection, OuraClient, OuraError
from ..oura.history import (
    HEART_RATE,
    METRICS,
    OuraDocuments,
    Point,
    build_series,
    day_start,
    hourly_heart_rate,
    split_range,
)

HEART_RATE_STEP = timedelta(days=7)  # a week of heart rate per request: small pages to parse
DEFAULT_HISTORY_DAYS = 90
MAX_HISTORY_DAYS = 3650
WRITE_PIECE = 500  # points handed to the recorder at once
RELEASE_PIECE = 5000  # documents freed at once


def statistic_id(account: str, key: str) -> str:
    """The external statistic id of one figure of one account."""
    return f"{DOMAIN}:oura_{slugify(account)}_{key}"


def recorder_running(hass: HomeAssistant) -> bool:
    """Whether long-term statistics can be written (the recorder is set up)."""
    return "recorder" in hass.config.components


async def async_metric_names(hass: HomeAssistant) -> dict[str, str]:
    """Each figure's name in the configured language (the Oura sensors' names)."""
    strings = await translation.async_get_translations(
        hass, hass.config.language, "entity", [DOMAIN]
    )
    prefix = f"component.{DOMAIN}.entity.sensor."
    names = {}
    for metric in METRICS:
        name = strings.get(f"{prefix}{metric.key}.name", metric.key)
        names[metric.key] = f"Oura {name}"
    return names


async def async_write_series(
    hass: HomeAssistant, account: str, series: dict[str, list[Point]], names: dict[str, str]
) -> int:
    """Queue every point for the recorder; returns how many were queued.

    In pieces of at most `WRITE_PIECE` points, letting the event loop run between them: a year
    of hourly heart rate handed over at once would hold the loop for a good part of a second.
    """
    written = 0
    for metric in METRICS:
        points = series.get(metric.key)
        if not points:
            continue
        metadata = statistic_metadata(
            statistic_id=statistic_id(account, metric.key),
            source=DOMAIN,
            name=names.get(metric.key, metric.key),
            unit=metric.unit,
        )
        for first in range(0, len(points), WRITE_PIECE):
            piece = points[first : first + WRITE_PIECE]
            async_add_external_statistics(
                hass,
                metadata,
                [StatisticData(start=p.start, mean=p.mean, min=p.min, max=p.max) for p in piece],
            )
            written += len(piece)
            await asyncio.sleep(0)
    return written


async def async_fetch_documents(
    hass: HomeAssistant, client: OuraClient, start: date, end: date
) -> OuraDocuments:
    """Every document of the days `start`..`end` (end excluded).

    Heart rate comes a week at a time and each week is reduced to hourly points in the executor
    as it arrives: a year of samples (over 100,000 objects) is never held at once, which would
    also make Python's garbage collector pause every thread for a quarter of a second.
    """
    documents = await async_fetch_daily(client, start, end)
    async for hours in async_heart_rate_weeks(hass, client, start, end):
        documents.heartrate_hours.extend(hours)
    return documents


async def async_fetch_daily(client: OuraClient, start: date, end: date) -> OuraDocuments:
    """The daily documents and sleep periods of `start`..`end` (end excluded), no heart rate."""
    return OuraDocuments(
        daily_sleep=await client.get_daily_sleep(start, end),
        sleep=await client.get_sleep(start, end),
        daily_readiness=await client.get_daily_readiness(start, end),
        daily_activity=await client.get_daily_activity(start, end),
        daily_spo2=await client.get_daily_spo2(start, end),
        daily_stress=await client.get_daily_stress(start, end),
        vo2_max=await _async_optional(client, VO2_MAX, start, end),
        daily_cardiovascular_age=await _async_optional(
            client, DAILY_CARDIOVASCULAR_AGE, start, end
        ),
    )


async def async_heart_rate_weeks(
    hass: HomeAssistant, client: OuraClient, start: date, end: date
) -> AsyncIterator[list[Point]]:
    """Hourly heart rate of `start`..`end`, a week at a time, each week reduced in the executor."""
    zone = dt_util.get_default_time_zone()
    # Whole UTC hours at both ends, so no hour is split between two requests.
    first, last = day_start(start, zone), day_start(end, zone)
    for piece_start, piece_end in split_range(first, last, HEART_RATE_STEP):
        samples = await client.get_heartrate(piece_start, piece_end)
        yield await hass.async_add_executor_job(hourly_heart_rate, samples)
        del samples


async def _async_optional[T](
    client: OuraClient, collection: Collection[T], start: date, end: date
) -> list[T]:
    """A collection not every account has (VO2 max needs a newer ring): none when refused."""
    try:
        return await client.get_all(collection, start=start, end=end)
    except OuraError as err:
        LOGGER.debug("Oura %s history not read: %s", collection.name, err)
        return []


class OuraHistory:
    """Keeps one account's statistics filled: a backfill once, then each poll's new points."""

    def __init__(self, hass: HomeAssistant, account: str) -> None:
        """Write the history of `account` (the Oura user id)."""
        self.hass = hass
        self.account = account
        self._names: dict[str, str] | None = None
        # The last value written per (figure, hour): a poll writes only what changed.
        self._written: dict[tuple[str, datetime], tuple[float, float, float]] = {}

    async def _async_names(self) -> dict[str, str]:
        if self._names is None:
            self._names = await async_metric_names(self.hass)
        return self._names

    async def async_add(self, documents: OuraDocuments) -> int:
        """Write the points of freshly fetched documents that are new or changed."""
        if not recorder_running(self.hass):
            return 0
        series = build_series(documents, dt_util.get_default_time_zone())
        fresh: dict[str, list[Point]] = {}
        for key, points in series.items():
            for point in points:
                value = (point.mean, point.min, point.max)
                if self._written.get((key, point.start)) != value:
                    self._written[(key, point.start)] = value
                    fresh.setdefault(key, []).append(point)
        self._forget_before(dt_util.utcnow() - timedelta(days=7))
        if not fresh:
            return 0
        return await async_write_series(self.hass, self.account, fresh, await self._async_names())

    def _forget_before(self, moment: datetime) -> None:
        if len(self._written) < 2048:
            return
        self._written = {key: v for key, v in self._written.items() if key[1] >= moment}

    async def async_import(self, documents: OuraDocuments) -> int:
        """Write every point of a large batch (a backfill or an export), built in the executor."""
        if not recorder_running(self.hass):
            return 0
        zone = dt_util.get_default_time_zone()
        series = await self.hass.async_add_executor_job(build_series, documents, zone)
        return await async_write_series(self.hass, self.account, series, await self._async_names())

    async def async_reconcile(self, client: OuraClient, start: date, end: date) -> int | None:
        """Compare the days `start`..`end` with the statistics; write only what differs.

        Oura revises recent days and receives some nights late (a ring synced days after);
        a poll only sees two days, so this catches the rest. None (logged) when Oura could not
        be read.
        """
        if not recorder_running(self.hass) or start >= end:
            return 0
        try:
            documents = await async_fetch_documents(self.hass, client, start, end)
        except OuraError as err:
            LOGGER.debug("Oura days from %s to %s not reconciled yet: %s", start, end, err)
            return None
        zone = dt_util.get_default_time_zone()
        series = await self.hass.async_add_executor_job(build_series, documents, zone)
        stored = await get_instance(self.hass).async_add_executor_job(
            _stored_points, self.hass, self.account, day_start(start, zone)
        )
        changed: dict[str, list[Point]] = {}
        for key, points in series.items():
            for point in points:
                value = (point.mean, point.min, point.max)
                self._written[(key, point.start)] = value
                if not _same(stored.get((key, point.start)), value):
                    changed.setdefault(key, []).append(point)
        if not changed:
            return 0
        written = await async_write_series(
            self.hass, self.account, changed, await self._async_names()
        )
        LOGGER.debug("Oura days from %s to %s reconciled: %s points changed", start, end, written)
        return written

    async def async_backfill(self, client: OuraClient, start: date, end: date) -> int | None:
        """Fetch and write the days `start`..`end`; None (logged) when Oura could not be read.

        The recorder writes the daily figures while the heart rate is still being fetched, and
        each week of heart rate as soon as it has arrived: the writing, in the recorder's thread,
        overlaps the waiting for Oura instead of following it. A failure part-way leaves what was
        written (the next try writes the same hours again, replacing them).
        """
        if not recorder_running(self.hass) or start >= end:
            return 0
        names = await self._async_names()
        try:
            documents = await async_fetch_daily(client, start, end)
            zone = dt_util.get_default_time_zone()
            series = await self.hass.async_add_executor_job(build_series, documents, zone)
            written = await async_write_series(self.hass, self.account, series, names)
            await _async_release(documents)
            async for hours in async_heart_rate_weeks(self.hass, client, start, end):
                written += await async_write_series(
                    self.hass, self.account, {HEART_RATE.key: hours}, names
                )
        except OuraError as err:
            LOGGER.warning("Oura history from %s to %s not imported yet: %s", start, end, err)
            return None
        LOGGER.debug("Oura history from %s to %s: %s points", start, end, written)
        return written


async def _async_release(documents: OuraDocuments) -> None:
    """Free a large batch a piece at a time, the event loop running in between.

    Dropping a year of heart rate at once (hundreds of thousands of objects) holds the loop for
    a tenth of a second.
    """
    for kind in (*documents.counts(), "heartrate_hours"):
        items: list[Any] = getattr(documents, kind)
        while items:
            del items[-RELEASE_PIECE:]
            await asyncio.sleep(0)


def _stored_points(
    hass: HomeAssistant, account: str, since: datetime
) -> dict[tuple[str, datetime], tuple[float, float, float]]:
    """The account's hourly statistics from `since` on (runs in the recorder's executor)."""
    ids = {statistic_id(account, metric.key): metric.key for metric in METRICS}
    rows = statistics_during_period(
        hass, since, None, set(ids), "hour", None, {"mean", "min", "max"}
    )
    stored: dict[tuple[str, datetime], tuple[float, float, float]] = {}
    for stat_id, stat_rows in rows.items():
        for row in stat_rows:
            start = datetime.fromtimestamp(row["start"], UTC)
            mean, low, high = row.get("mean"), row.get("min"), row.get("max")
            if mean is not None and low is not None and high is not None:
                stored[(ids[stat_id], start)] = (mean, low, high)
    return stored


def _same(stored: tuple[float, float, float] | None, value: tuple[float, float, float]) -> bool:
    return stored is not None and all(
        abs(a - b) <= 1e-9 * max(1.0, abs(b)) for a, b in zip(stored, value, strict=True)
    )


def history_summary(documents: OuraDocuments) -> dict[str, Any]:
    """What a batch covers: document counts and its first and last day (for action responses)."""
    days = sorted(
        {
            document.day
            for kind in (
                documents.daily_sleep,
                documents.sleep,
                documents.daily_readiness,
                documents.daily_activity,
                documents.daily_spo2,
                documents.daily_stress,
            )
            for document in kind
        }
        | {sample.timestamp.astimezone(UTC).date() for sample in documents.heartrate[:1]}
        | {sample.timestamp.astimezone(UTC).date() for sample in documents.heartrate[-1:]}
    )
    return {
        "documents": documents.counts(),
        "first_day": days[0].isoformat() if days else None,
        "last_day": days[-1].isoformat() if days else None,
    }
