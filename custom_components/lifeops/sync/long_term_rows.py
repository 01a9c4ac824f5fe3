"""Long-term store rows carried by sync: this site's rows out as items, other sites' rows back.

Each row a site writes to its own long-term store (health metrics, sleep sessions, activity
events, screen time, work sessions, device states) is also written to the sync service as an
item of the append-only set ``longterm.<table>``, keyed ``<site>|<id hex>|<time in µs>`` (the
table's primary key, so a row is one item however often it is handed over), with the row's
columns as a JSON array in the table's order: times as integer microseconds since the epoch
(exact), ids as hex, the rest as they are. The receiving site rebuilds the identical row, stable
id included, and gives it to its writer, which keeps ``(site, id, time)`` once.

Why items and not the engine's time-series rows: a row there is ``(ms, float)`` under a series
name, which cannot carry a Home Assistant state's microseconds nor an id derived from a local
time's ISO form (Oura's daily scores); a rebuilt row would then differ from the original and be
stored twice where both sites write it (an Oura ring signed in at two sites). The sync service
applies its ``retention_days`` to these items as to time-series rows.

XP events are not carried here: the XP log is synced on its own (``xp/<id>``) and every site
writes the merged log to its store with each event's origin as its site.

A site whose long-term store starts after its sync service has moved past other sites' rows
(the feed skips them while there is no store) fetches them with `backfill`: every
``longterm.<table>`` set read from the service page by page, other nodes' rows handed to the
writer. Its progress (per table, the last key handed over) lets a restart go on where it was;
a page handed over twice changes nothing, as the writer keeps ``(site, id, time)`` once.

No Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
import uuid

from ..core.text import storable
from ..timescale.buffer import Row
from ..timescale.schema import TABLES
from .client import Change, ItemsPage, SyncClient

COLLECTION_PREFIX: Final = "longterm."
SYNCED_TABLES: Final = frozenset(
    {
        "health_metric",
        "sleep_session",
        "activity_event",
        "screen_time",
        "work_session",
        "device_state",
    }
)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)
_INT64: Final = (-(2**63), 2**63 - 1)  # PostgreSQL's bigint


class RowDecodeError(ValueError):
    """An item that is not a long-term row of a known table."""


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // _US


def _encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "timestamptz":
        return _micros(value)
    if kind == "uuid":
        return value.hex
    return value


def _decode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "timestamptz":
        if not isinstance(value, int) or isinstance(value, bool):
            raise RowDecodeError("a time is not integer microseconds")
        try:
            return _EPOCH + value * _US
        except OverflowError as err:  # beyond year 1 or 9999
            raise RowDecodeError("a time out of range") from err
    if kind == "uuid":
        if not isinstance(value, str):
            raise RowDecodeError("an id is not hex")
        try:
            return uuid.UUID(hex=value)
        except ValueError as err:
            raise RowDecodeError("an id is not hex") from err
    if isinstance(value, dict | list):
        raise RowDecodeError("a column holds a structure")
    if isinstance(value, str) and ("\x00" in value or not storable(value)):
        raise RowDecodeError("a text PostgreSQL cannot hold (NUL or a lone surrogate)")
    if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
        raise RowDecodeError("an integer beyond 64 bits")
    return value


def row_key(row: Row) -> str:
    """The item key of a row: its primary key ``site|id|time``."""
    time, site, row_id = row[0], row[1], row[2]
    return f"{site}|{row_id.hex}|{_micros(time)}"


def sync_ops(table: str, rows: Iterable[Row]) -> list[dict[str, Any]]:
    """Write operations that hand a table's rows to the sync service (none for other tables)."""
    if table not in SYNCED_TABLES:
        return []
    kinds = [kind for _, kind in TABLES[table].columns]
    return [
        {
            "op": "add",
            "collection": COLLECTION_PREFIX + table,
            "key": row_key(row),
            "value": [_encode(kind, v) for kind, v in zip(kinds, row, strict=True)],
        }
        for row in rows
    ]


def decode_row(table: str, value: Any) -> Row:
    """The row an item holds; raises `RowDecodeError` when it is not one."""
    kinds = [kind for _, kind in TABLES[table].columns]
    if not isinstance(value, list) or len(value) != len(kinds):
        raise RowDecodeError(f"not a row of {table}")
    row = tuple(_decode(kind, v) for kind, v in zip(kinds, value, strict=True))
    if row[0] is None or not isinstance(row[1], str) or row[2] is None:
        raise RowDecodeError("a row needs its time, site and id")
    return row


def received_rows(
    changes: Sequence[Change],
    own_node: str | None,
    refuse: Callable[[str, str, str], None] | None = None,
) -> dict[str, list[Row]]:
    """Other nodes' long-term rows in a change-feed answer, by table.

    Rows this node wrote are left out (they are in this site's store already: no echo); an
    item that cannot be read (written by a newer or broken client, or a hostile one: a time
    beyond year 9999, text PostgreSQL cannot hold) is skipped, and told to `refuse`
    (collection, key, reason).
    """
    found: dict[str, list[Row]] = {}
    for change in changes:
        table = table_of(change)
        if table is None or change.origin == own_node:
            continue
        try:
            row = decode_row(table, change.value)
        except RowDecodeError as err:
            if refuse is not None:
                refuse(change.collection, change.key, str(err))
            continue
        found.setdefault(table, []).append(row)
    return found


def table_of(change: Change) -> str | None:
    """The table of a long-term row item, or None for any other change."""
    if change.kind != "item" or not change.collection.startswith(COLLECTION_PREFIX):
        return None
    table = change.collection.removeprefix(COLLECTION_PREFIX)
    return table if table in SYNCED_TABLES else None


#: A table's backfill progress once all its rows were handed over.
BACKFILL_DONE: Final = "(done)"  # no row key: each has its "|"s
BACKFILL_PAGE: Final = 1000


def page_rows(table: str, page: ItemsPage, own_node: str | None) -> list[Row]:
    """Other nodes' rows in a page of ``longterm.<table>`` (unreadable items skipped)."""
    found: list[Row] = []
    for key, value in page.items.items():
        if page.origins.get(key) == own_node:
            continue  # this site's own: in its store already
        try:
            found.append(decode_row(table, value))
        except RowDecodeError:
            continue
    return found


def backfill_done(progress: Mapping[str, str]) -> bool:
    """Whether every synced table was read to its end."""
    return all(progress.get(table) == BACKFILL_DONE for table in SYNCED_TABLES)


async def backfill(
    client: SyncClient,
    progress: MutableMapping[str, str],
    accept: Callable[[dict[str, list[Row]]], Awaitable[None]],
    on_page: Callable[[], None],
    page_size: int | None = None,
) -> int:
    """Hand other nodes' long-term rows the service holds to ``accept``; the rows handed over.

    Table by table, page by page in key order, from where ``progress`` says (per table, the
    last key handed over, or `BACKFILL_DONE`); ``progress`` moves only after ``accept`` returned
    (the rows are kept then), and ``on_page`` is told each time so it can be saved. Raises what
    the client or ``accept`` raise, with ``progress`` as far as it got. Pages hold
    ``page_size`` items (default `BACKFILL_PAGE`).
    """
    size = page_size or BACKFILL_PAGE
    handed = 0
    for table in sorted(SYNCED_TABLES):
        after = progress.get(table)
        while after != BACKFILL_DONE:
            page = await client.items_page(COLLECTION_PREFIX + table, after, size)
            found = page_rows(table, page, client.node_id)
            if found:
                await accept({table: found})
                handed += len(found)
            after = page.next if page.more and page.next is not None else BACKFILL_DONE
            progress[table] = after
            on_page()
    return handed
