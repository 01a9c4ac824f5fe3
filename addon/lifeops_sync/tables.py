"""The replica's tables, the SQL that merges entries into them, and how values are stored.

Each of ``cells`` (fields and tombstones), ``items`` and ``rows`` holds the entry current for its
cell with that entry's origin and seq; the index on ``(origin, seq)`` makes them the change log.
Values are JSON text.
"""

from __future__ import annotations

import json

from .crdt import Json

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nodes(idx INTEGER PRIMARY KEY, node TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS cells(
    coll TEXT NOT NULL, key TEXT NOT NULL, field TEXT NOT NULL, value TEXT,
    hlc INTEGER NOT NULL, origin INTEGER NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY(coll, key, field)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cells_log ON cells(origin, seq);
CREATE INDEX IF NOT EXISTS cells_tombs ON cells(origin, seq) WHERE field = '';
CREATE TABLE IF NOT EXISTS items(
    coll TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    hlc INTEGER NOT NULL, origin INTEGER NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY(coll, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_log ON items(origin, seq);
CREATE TABLE IF NOT EXISTS rows(
    origin INTEGER NOT NULL, seq INTEGER NOT NULL, series TEXT NOT NULL,
    ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY(origin, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS watermarks(origin INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reader(origin TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS known(
    node TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY(node, origin)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gossip(
    node TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY(node, origin)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS peers(
    node TEXT PRIMARY KEY, last_success INTEGER, last_contact INTEGER, last_inbound INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS auth(key_id TEXT PRIMARY KEY, hwm INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS auth_nonce(
    key_id TEXT NOT NULL, nonce TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY(key_id, nonce)
) WITHOUT ROWID;
"""

# A field is stored unless a tombstone of its record with a greater stamp exists, and replaces the
# current value only if its stamp is greater. Stamps are (hlc, origin node id).
UPSERT_FIELD = """
INSERT INTO cells(coll, key, field, value, hlc, origin, seq)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
WHERE NOT EXISTS (
    SELECT 1 FROM cells t WHERE t.coll = ?1 AND t.key = ?2 AND t.field = ''
    AND (t.hlc > ?5 OR (t.hlc = ?5 AND node_gt(t.origin, ?6))))
ON CONFLICT(coll, key, field) DO UPDATE SET
    value = excluded.value, hlc = excluded.hlc, origin = excluded.origin, seq = excluded.seq
WHERE excluded.hlc > cells.hlc
    OR (excluded.hlc = cells.hlc AND node_gt(excluded.origin, cells.origin))
"""
# The same without the tombstone check, for when the replica holds no tombstone at all.
UPSERT_FIELD_NO_TOMBS = """
INSERT INTO cells(coll, key, field, value, hlc, origin, seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT(coll, key, field) DO UPDATE SET
    value = excluded.value, hlc = excluded.hlc, origin = excluded.origin, seq = excluded.seq
WHERE excluded.hlc > cells.hlc
    OR (excluded.hlc = cells.hlc AND node_gt(excluded.origin, cells.origin))
"""
UPSERT_TOMB = """
INSERT INTO cells(coll, key, field, value, hlc, origin, seq) VALUES(?1, ?2, '', NULL, ?3, ?4, ?5)
ON CONFLICT(coll, key, field) DO UPDATE SET
    hlc = excluded.hlc, origin = excluded.origin, seq = excluded.seq
WHERE excluded.hlc > cells.hlc
    OR (excluded.hlc = cells.hlc AND node_gt(excluded.origin, cells.origin))
"""
HIDE_FIELDS = """
DELETE FROM cells WHERE coll = ?1 AND key = ?2 AND field <> ''
AND (hlc < ?3 OR (hlc = ?3 AND node_gt(?4, origin)))
"""
# Append-only items: the first (least stamp) wins.
UPSERT_ITEM = """
INSERT INTO items(coll, key, value, hlc, origin, seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT(coll, key) DO UPDATE SET
    value = excluded.value, hlc = excluded.hlc, origin = excluded.origin, seq = excluded.seq
WHERE excluded.hlc < items.hlc
    OR (excluded.hlc = items.hlc AND node_gt(items.origin, excluded.origin))
"""
INSERT_ROW = "INSERT OR IGNORE INTO rows(origin, seq, series, ts, value) VALUES(?, ?, ?, ?, ?)"


dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def loads_all(texts: list[str]) -> list[Json]:
    """Decode many JSON texts in one call (much faster than one call each)."""
    return json.loads("[" + ",".join(texts) + "]") if texts else []
