"""The long-term store in Home Assistant: the writer started with a site, fed from the agents.

Thin: the writer, buffer, rollups and queries live in `timescale/` (no Home Assistant imports).
What is fed, as it happens (no timer): closed work sessions, closed screen-time spans and XP
events (published on the site's change hub, `core/changes.py`, by the agents' state objects; each
with its stable id, so feeding the same ones again changes nothing), what the agents announce as
activity events (wind-down, bedtime, level-ups, achievements, broken streaks), Oura's nights,
daily scores and workouts (from the Oura accounts' coordinators, as they update), numeric states
of the health entities the user chose (as health metrics named by entity id) and states of the
entities whose history the user wants kept (device states). Repair issues say when the database
is away and when the buffer is nearly full. With sync set up, the rows made here are also handed
to the other sites (`sync/long_term_rows.py`), and theirs arrive through the sync manager (those
from before this store started are fetched once it starts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
import logging
import math
from pathlib import Path
from typing import Any

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigEntryState,
)
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    ServiceResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_call_later, async_track_state_change_event
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from ..core.changes import ScreenTimeInterval, WorkSessionClosed, XpEventAdded
from ..core.intervals import JOIN_GAP
from ..core.work import WorkSession
from ..core.xp import XpEvent
from ..data import LifeOpsConfigEntry
from ..entry_kind import is_oura_entry
from ..oura_account.coordinator import OuraConfigEntry
from ..timescale import rows
from ..timescale.buffer import Row
from ..timescale.errors import InvalidQuery, StoreError
from ..timescale.queries import query_trend
from ..timescale.rollups import Retention
from ..timescale.schema import Edition
from ..timescale.writer import Writer, WriterStatus
from .activity import ACTIVITY_EVENTS, activity_row
from .options import (
    HEALTH_ENTITIES,
    RAW_DAYS,
    ROLLUP_DAYS,
    STATE_ENTITIES,
    store_config,
    store_options,
)

_LOGGER = logging.getLogger(__name__)

BUFFER_MAX_ROWS = 2_000_000
BUFFER_WARNING_FILL = 0.8
ISSUE_UNREACHABLE = "store_unreachable"
ISSUE_BUFFER = "store_buffer_filling"


# Options: one nested dict, so its "password" is redacted wherever options are shown.
def _number(state: str) -> float | None:
    try:
        value = float(state)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass
class LongTermStore:
    """One site's writer and what feeds it.

    Fed as things change, never by a timer: the agents' state objects publish on the site's
    change hub (`core/changes.py`), the Oura accounts' coordinators call their listeners, the
    agents announce activity on the bus and the chosen entities change state. At start (and
    after its options change) it also queues what the agents already hold, as it was away
    meanwhile; the rows' ids keep each fact once however often it is queued.
    """

    hass: HomeAssistant
    entry: LifeOpsConfigEntry
    values: dict[str, Any]
    writer: Writer
    _unsubs: list[Any] = field(default_factory=list)
    # Per Oura account: its coordinator, the listener's remover and the documents its last
    # data held (only what is new in the next data is queued).
    _oura: dict[str, tuple[Any, CALLBACK_TYPE, frozenset[tuple[str, str]]]] = field(
        default_factory=dict
    )
    # The last fact of each activity kind: a fact announced again at once (a level reached
    # again after merging another site's XP) is queued once.
    _last_activity: dict[str, Any] = field(default_factory=dict)
    _issues: set[str] = field(default_factory=set)
    _stop_unsub: CALLBACK_TYPE | None = None
    # Closed screen-time spans by (source, start): queued once `JOIN_GAP` has passed without
    # the screen coming back on (it would continue the span, same start, later end; the row's
    # id is the start, and the database keeps the first row of an id).
    _spans: dict[tuple[str, datetime], tuple[str, datetime, CALLBACK_TYPE]] = field(
        default_factory=dict
    )

    @property
    def site(self) -> str:
        """The origin site of this Home Assistant's rows."""
        return self.entry.runtime_data.site

    @property
    def edition(self) -> Edition | None:
        """The edition in use, once the database answered."""
        return self.writer.edition

    async def async_start(self) -> None:
        """Start the feeds, queue what the agents hold, then start the writer.

        Feeds first: rows queue in memory while the writer connects and migrates (a database
        that is away only raises a repair issue), so what changes meanwhile is kept too.
        """
        entities = [*self.values[HEALTH_ENTITIES], *self.values[STATE_ENTITIES]]
        if entities:
            self._unsubs.append(async_track_state_change_event(self.hass, entities, self._on_state))
        changes = self.entry.runtime_data.changes
        self._unsubs.extend(
            (
                changes.subscribe(WorkSessionClosed, self._on_work_closed),
                changes.subscribe(ScreenTimeInterval, self._on_screen_time),
                changes.subscribe(XpEventAdded, self._on_xp),
            )
        )
        for event_type in ACTIVITY_EVENTS:
            self._unsubs.append(self.hass.bus.async_listen(event_type, self._on_activity))
        # Oura accounts signed in later, or reloaded, bring a new coordinator.
        self._unsubs.append(
            async_dispatcher_connect(self.hass, SIGNAL_CONFIG_ENTRY_CHANGED, self._on_entry_changed)
        )
        # Home Assistant stopping does not unload entries: keep what waits in the buffer then.
        self._stop_unsub = self.hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._on_hass_stop
        )
        self._queue_held()
        for entry in self.hass.config_entries.async_loaded_entries(DOMAIN):
            self._follow_oura(entry)
        try:
            await self.writer.start()
        except BaseException:
            self._stop_feeds()  # no feed left behind for a store that did not start
            raise

    @callback
    def _stop_feeds(self) -> None:
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        for _, unsub, _ in self._oura.values():
            unsub()
        self._oura.clear()
        if self._stop_unsub is not None:
            self._stop_unsub()
            self._stop_unsub = None

    async def _on_hass_stop(self, event: Event) -> None:
        self._stop_unsub = None  # a once-listener is gone after it fired
        await self.async_stop()

    async def async_stop(self) -> None:
        """Stop the feeds; flush (or keep in the buffer) what waits."""
        self._stop_feeds()
        for key in list(self._spans):
            self._queue_span(key)  # as they ended; the next start queues them again if needed
        await self.writer.close()
        for issue in list(self._issues):
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(issue))
        self._issues.clear()

    @callback
    def _add(self, table: str, batch: list[Row]) -> None:
        """Queue rows made at this site; with sync set up, hand them to the other sites too.

        Only rows made here come through this: other sites' rows arrive through sync and go
        to the writer directly (`async_accept_synced`), so they are never sent back.
        """
        self.writer.add(table, batch)
        sync = self.entry.runtime_data.sync
        if sync is not None:
            sync.queue_long_term_rows(table, batch)

    async def async_accept_synced(self, batches: dict[str, list[Row]]) -> None:
        """Take other sites' rows for good (the writer's buffer); raises `StoreError`."""
        await self.writer.accept(batches)

    # -- feeds --------------------------------------------------------------------------------

    def _work_row(self, session: WorkSession) -> Row | None:
        if session.end is None or session.site:  # other sites' arrive as their site's rows
            return None
        return rows.work_session(
            self.site, session.start, session.end, source=session.source, id=session.id
        )

    def _screen_time_row(self, source: str, category: str, start: datetime, end: datetime) -> Row:
        return rows.screen_time(self.site, start, end, source=source, category=category)

    def _xp_row(self, event: XpEvent) -> Row:
        return rows.xp_event(
            event.origin or self.site,
            event.time,
            event.id,
            agent=event.agent,
            event_type=event.event_type,
            amount=event.amount,
            description=event.description or None,
        )

    @callback
    def _on_work_closed(self, change: WorkSessionClosed) -> None:
        if (row := self._work_row(change.session)) is not None:
            self._add("work_session", [row])

    @callback
    def _on_screen_time(self, change: ScreenTimeInterval) -> None:
        key = (change.source, change.start)
        if (waiting := self._spans.pop(key, None)) is not None:
            waiting[2]()  # it came back on and closed again: the later end counts

        @callback
        def settled(_now: datetime) -> None:
            self._queue_span(key)

        cancel = async_call_later(self.hass, JOIN_GAP, settled)
        self._spans[key] = (change.category, change.end, cancel)

    @callback
    def _queue_span(self, key: tuple[str, datetime]) -> None:
        if (waiting := self._spans.pop(key, None)) is None:
            return
        category, end, cancel = waiting
        cancel()
        self._add("screen_time", [self._screen_time_row(key[0], category, key[1], end)])

    @callback
    def _on_xp(self, change: XpEventAdded) -> None:
        self._add("xp_event", [self._xp_row(change.event)])

    @callback
    def _queue_held(self) -> None:
        """Queue the closed work sessions, screen-time spans and XP the agents hold."""
        runtime = self.entry.runtime_data
        work = [
            row for session in runtime.work.tracker.sessions() if (row := self._work_row(session))
        ]
        screen = [
            self._screen_time_row(
                source, category, datetime.fromisoformat(start), datetime.fromisoformat(end)
            )
            for source, category, start, end in runtime.screen_time.tracker.as_dict()["spans"]
            if end is not None
        ]
        xp = [self._xp_row(event) for event in runtime.gamification.log]
        for table, batch in (("work_session", work), ("screen_time", screen), ("xp_event", xp)):
            if batch:
                self._add(table, batch)

    @callback
    def _on_activity(self, event: Event[dict[str, Any]]) -> None:
        if event.data.get("config_entry_id") != self.entry.entry_id:
            return
        row = activity_row(self.site, event)
        if row is None:
            return
        # The row's id (index 2) names the fact; announced again at once, it is queued once.
        kind = row[3]
        if row[2] != self._last_activity.get(kind):
            self._last_activity[kind] = row[2]
            self._add("activity_event", [row])

    @callback
    def _on_state(self, event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is None or new.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return
        value = _number(new.state)
        when = new.last_updated
        if new.entity_id in self.values[HEALTH_ENTITIES] and value is not None:
            self._add("health_metric", [rows.health_metric(self.site, new.entity_id, when, value)])
        if new.entity_id in self.values[STATE_ENTITIES]:
            self._add(
                "device_state",
                [rows.device_state(self.site, new.entity_id, when, new.state[:255], value)],
            )

    # -- Oura ---------------------------------------------------------------------------------

    @callback
    def _on_entry_changed(self, change: ConfigEntryChange, entry: ConfigEntry[Any]) -> None:
        if entry.domain == DOMAIN and is_oura_entry(entry):
            self._follow_oura(entry)

    @callback
    def _follow_oura(self, entry: ConfigEntry[Any]) -> None:
        """Listen to a loaded Oura account's coordinator (a new one after a reload).

        Its data as it is now is queued at once; later, what each update brings that the
        previous data did not have.
        """
        followed = self._oura.get(entry.entry_id)
        loaded = entry.state is ConfigEntryState.LOADED and is_oura_entry(entry)
        coordinator = entry.runtime_data if loaded else None
        if followed is not None and followed[0] is coordinator:
            return
        if followed is not None:
            followed[1]()
            del self._oura[entry.entry_id]
        if coordinator is None:
            return

        @callback
        def updated() -> None:
            # A coordinator calls its listeners in a plain loop: what fails here must not stop
            # the account's refresh or the listeners after this one.
            try:
                self._queue_oura(entry)
            except Exception:
                _LOGGER.exception("Oura data of %s not queued for the long-term store", entry.title)

        unsub = coordinator.async_add_listener(updated)
        self._oura[entry.entry_id] = (coordinator, unsub, frozenset())
        self._queue_oura(entry)

    @callback
    def _queue_oura(self, entry: OuraConfigEntry) -> None:
        followed = self._oura.get(entry.entry_id)
        if followed is None or entry.runtime_data.data is None:
            return
        coordinator, unsub, before = followed
        now, batches = self._oura_rows(entry, before)
        self._oura[entry.entry_id] = (coordinator, unsub, now)
        for table, batch in batches:
            if batch:
                self._add(table, batch)

    def _oura_rows(
        self, entry: OuraConfigEntry, before: frozenset[tuple[str, str]]
    ) -> tuple[frozenset[tuple[str, str]], list[tuple[str, list[Row]]]]:
        """An Oura account's sleep period, daily scores and workouts not in its data `before`.

        Returns the documents its data holds now, and the rows by table. Their site is the
        Oura account (`oura:<user id>`), the same wherever it is signed in, so two sites' Home
        Assistants with one ring write each night (and workout) once.
        """
        data = entry.runtime_data.data
        assert data is not None
        held: set[tuple[str, str]] = set()
        sleep: list[Row] = []
        health: list[Row] = []
        workouts: list[Row] = []
        site = f"oura:{entry.unique_id}"
        period = data.sleep
        if (
            period is not None
            and period.bedtime_start is not None
            and period.bedtime_end is not None
        ):
            held.add(("sleep", period.id))
            if ("sleep", period.id) not in before:
                daily = data.daily_sleep
                sleep.append(
                    rows.sleep_session(
                        site,
                        period.bedtime_start,
                        period.bedtime_end,
                        score=daily.score if daily and daily.day == period.day else None,
                        source="oura",
                        id=period.id,
                        duration_s=period.total_sleep_duration,
                    )
                )
        for metric, document in (
            ("oura_sleep_score", data.daily_sleep),
            ("oura_readiness_score", data.readiness),
            ("oura_activity_score", data.activity),
        ):
            if document is None or document.score is None:
                continue
            held.add((metric, document.id))
            if (metric, document.id) not in before:
                when = dt_util.start_of_local_day(document.day)
                health.append(rows.health_metric(site, metric, when, document.score, "oura"))
        # Every workout of the last poll's days that has ended; Oura's id keeps each once.
        for workout in data.documents.workout:
            if workout.start_datetime is None or workout.end_datetime is None:
                continue
            held.add(("workout", workout.id))
            if ("workout", workout.id) in before:
                continue
            workouts.append(
                rows.workout(
                    site,
                    workout.start_datetime,
                    workout.end_datetime,
                    workout.id,
                    source="oura",
                    activity=workout.activity,
                    intensity=workout.intensity,
                    calories=workout.calories,
                    distance_m=workout.distance,
                    label=workout.label,
                    detected_by=workout.source,
                )
            )
        batches = [
            ("sleep_session", sleep),
            ("health_metric", health),
            ("activity_event", workouts),
        ]
        return frozenset(held), batches

    # -- status and repairs -------------------------------------------------------------------

    def _issue_id(self, issue: str) -> str:
        return f"{issue}_{self.entry.entry_id}"

    @callback
    def on_status(self, status: WriterStatus) -> None:
        """Raise or clear the repair issues as the writer's state changes."""
        self._set_issue(
            ISSUE_UNREACHABLE,
            not status.connected,
            {"buffered": str(status.buffered_rows)},
        )
        self._set_issue(
            ISSUE_BUFFER,
            status.buffer_fill >= BUFFER_WARNING_FILL or status.dropped_rows > 0,
            {
                "percent": str(round(status.buffer_fill * 100)),
                "dropped": str(status.dropped_rows),
            },
        )

    def _set_issue(self, issue: str, active: bool, placeholders: dict[str, str]) -> None:
        if active:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self._issue_id(issue),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=issue,
                translation_placeholders={"site": self.entry.title, **placeholders},
            )
            self._issues.add(issue)
        elif issue in self._issues:
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(issue))
            self._issues.discard(issue)

    def info(self) -> dict[str, Any]:
        """Status for system health and diagnostics (no credentials)."""
        status = self.writer.status
        return {
            "edition": status.edition.value if status.edition else None,
            "connected": status.connected,
            "buffered_rows": status.buffered_rows,
            "dropped_rows": status.dropped_rows,
            "written_rows": status.written_rows,
        }


async def async_setup_long_term_store(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> None:
    """Start the site's long-term store if one is configured; restart it when its options change."""
    await _async_start(hass, entry)

    async def _options_updated(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> None:
        store = entry.runtime_data.long_term_store
        current = store.values if store is not None else None
        if store_options(entry.options) != current:
            await async_unload_long_term_store(entry)
            await _async_start(hass, entry)

    entry.async_on_unload(entry.add_update_listener(_options_updated))


def buffer_path(hass: HomeAssistant, entry_id: str) -> Path:
    """Where a site keeps rows the database has not taken yet."""
    return Path(hass.config.path(".storage", f"{DOMAIN}.{entry_id}.buffer.sqlite"))


def remove_buffer(path: Path) -> None:
    """Delete a removed site's buffer (SQLite's side files too); blocking."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


async def _async_start(hass: HomeAssistant, entry: LifeOpsConfigEntry) -> None:
    values = store_options(entry.options)
    config = store_config(values)
    entry.runtime_data.long_term_store = None
    if config is None:
        return
    writer = Writer(
        config,
        buffer_path(hass, entry.entry_id),
        timezone=str(hass.config.time_zone),
        retention=Retention(raw_days=values[RAW_DAYS], rollup_days=values[ROLLUP_DAYS]),
        max_buffer_rows=BUFFER_MAX_ROWS,
    )
    store = LongTermStore(hass, entry, values, writer)
    writer.on_status = store.on_status
    entry.runtime_data.long_term_store = store
    try:
        await store.async_start()
    except BaseException:
        entry.runtime_data.long_term_store = None
        raise
    if entry.runtime_data.sync is not None:
        # Other sites' rows the feed moved past before this store was there.
        entry.runtime_data.sync.start_long_term_backfill(store)


async def async_unload_long_term_store(entry: LifeOpsConfigEntry) -> None:
    """Stop the site's long-term store, if it runs."""
    store = entry.runtime_data.long_term_store
    if store is not None:
        entry.runtime_data.long_term_store = None
        await store.async_stop()


async def async_query_trend(entry: LifeOpsConfigEntry, data: dict[str, Any]) -> ServiceResponse:
    """lifeops.query_trend: a metric's buckets from the rollups, as response data."""
    store = entry.runtime_data.long_term_store
    if store is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="store_not_configured"
        )
    end: datetime = data.get("end") or dt_util.utcnow()
    start: datetime = data.get("start") or end - timedelta(days=data["days"])
    try:
        async with store.writer.connection() as conn:
            points = await query_trend(
                conn,
                data["metric"],
                start,
                end,
                bucket=data["bucket"],
                aggregation=data["aggregation"],
                site=data.get("site"),
                timezone=store.writer.schema_timezone,
            )
    except InvalidQuery as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=f"trend_{err.key}",
            translation_placeholders=err.placeholders,
        ) from err
    except StoreError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="store_unavailable"
        ) from err
    return {
        "metric": data["metric"],
        "bucket": data["bucket"],
        "aggregation": data["aggregation"],
        "start": start.isoformat(),
        "end": end.isoformat(),
        "edition": store.edition.value if store.edition else None,
        "points": [
            {"start": point.start.isoformat(), "value": point.value, "count": point.count}
            for point in points
        ],
    }
