"""A site's rows in the long-term store, for the privacy actions: all of them out, or all gone.

No Home Assistant imports. `export_site` reads every row a site wrote (each table, oldest first)
as JSON-ready dicts; `purge_site` deletes them, and the site's rollups with them (deleted where
LifeOps keeps the rollup tables itself, recomputed where the server keeps continuous aggregates),
and says how many rows went from each table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from .migrate import Conn, stored_edition
from .schema import ROLLUP_DAILY, ROLLUP_HOURLY, TABLES

_BATCH = 10_000


def _plain(value: Any) -> Any:
    """A value as JSON can hold it (times in ISO 8601, ids as text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


async def export_site(conn: Conn, site: str) -> dict[str, list[dict[str, Any]]]:
    """Every row the site wrote, per table, oldest first."""
    exported: dict[str, list[dict[str, Any]]] = {}
    for name, table in TABLES.items():
        rows: list[dict[str, Any]] = []
        async with conn.transaction():
            cursor = conn.cursor(
                f"SELECT * FROM {table.qualified} WHERE site = $1 ORDER BY time, id", site
            )
            async for record in cursor:
                rows.append({key: _plain(value) for key, value in record.items()})
        exported[name] = rows
    return exported


async def purge_site(conn: Conn, site: str) -> dict[str, int]:
    """Delete every row the site wrote and its rollups; the number of rows deleted per table."""
    deleted: dict[str, int] = {}
    edition = await stored_edition(conn)
    async with conn.transaction():
        for name, table in TABLES.items():
            status = await conn.execute(f"DELETE FROM {table.qualified} WHERE site = $1", site)
            deleted[name] = int(status.rsplit(" ", 1)[-1])
        if edition is None or not edition.has_continuous_aggregates:
            for rollup in (ROLLUP_HOURLY, ROLLUP_DAILY):
                await conn.execute(f"DELETE FROM {rollup} WHERE site = $1", site)
    if edition is not None and edition.has_continuous_aggregates:
        # Continuous aggregates cannot be deleted from: recompute them without the site's rows.
        for view in (ROLLUP_HOURLY, ROLLUP_DAILY):
            await conn.execute(f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)")
    return deleted
