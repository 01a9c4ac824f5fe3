"""LifeOps' long-term store in TimescaleDB (or plain PostgreSQL): no Home Assistant imports.

* `schema`: the tables and versioned migrations; `migrate`: applies them (also `python -m`);
* `writer`: batched binary COPY through an asyncpg pool, never losing a row;
* `buffer`: the bounded on-disk buffer rows wait in while the database is away;
* `rollups`: hourly/daily rollups and retention where the server does not do them itself;
* `queries`: trends from the rollups.
"""
