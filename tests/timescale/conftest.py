"""A real TimescaleDB (and a plain PostgreSQL) on 127.0.0.1 for this folder's tests.

The servers come from scripts/timescaledb.py: installed once into ~/.cache/lifeops (about 12 s
on a fresh machine, from Debian's archive), started once per test session, stopped afterwards.
Each test gets a database of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
import contextlib
from dataclasses import dataclass
import os
import shutil
import uuid

import asyncpg
import pytest
import timescaledb

from custom_components.lifeops.timescale.migrate import StoreConfig
from tests.ports import free_port

PASSWORD = "lifeops-test-secret"


@dataclass(frozen=True)
class Server:
    """A running server."""

    name: str
    port: int
    plain: bool
    tls: bool = False

    def config(self, database: str, **changes: object) -> StoreConfig:
        """Settings for one of its databases."""
        values: dict[str, object] = {
            "host": "127.0.0.1",
            "port": self.port,
            "database": database,
            "user": "postgres",
            "password": PASSWORD,
            "allow_postgresql": self.plain,
        }
        values.update(changes)
        return StoreConfig(**values)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Stop it (it keeps its data)."""
        timescaledb.stop(self.name)

    def start(self) -> None:
        """Start it again."""
        timescaledb.start(self.name, self.port, PASSWORD, plain=self.plain, tls=self.tls)


def _server(plain: bool, tls: bool) -> Generator[Server]:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("a real TimescaleDB needs root and apt-get (scripts/timescaledb.py)")
    name = f"pytest-{'plain' if plain else 'tsdb'}-{os.getpid()}"
    server = Server(name=name, port=free_port(), plain=plain, tls=tls)
    timescaledb.start(name, server.port, PASSWORD, plain=plain, fresh=True, tls=tls)
    try:
        yield server
    finally:
        timescaledb.remove(name)


@pytest.fixture(scope="session")
def timescale_server() -> Generator[Server]:
    """TimescaleDB (whatever edition the cached packages are: Debian's is Apache-2).

    It offers TLS (self-signed), so Home Assistant's default, TLS when offered, runs over TLS.
    """
    yield from _server(plain=False, tls=True)


@pytest.fixture(scope="session")
def plain_server() -> Generator[Server]:
    """The same PostgreSQL without TimescaleDB preloaded: LifeOps' fallback (and no TLS)."""
    yield from _server(plain=True, tls=False)


async def _database(server: Server) -> AsyncGenerator[StoreConfig]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = server.config("postgres")
    conn = await asyncpg.connect(**admin.connect_kwargs())
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    try:
        yield server.config(name)
    finally:
        conn = await asyncpg.connect(**admin.connect_kwargs())
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await conn.close()


@pytest.fixture
async def database(timescale_server: Server, socket_enabled: None) -> AsyncGenerator[StoreConfig]:
    """A fresh, empty database on the TimescaleDB server."""
    async for config in _database(timescale_server):
        yield config


@pytest.fixture
async def plain_database(plain_server: Server, socket_enabled: None) -> AsyncGenerator[StoreConfig]:
    """A fresh, empty database on the plain PostgreSQL server."""
    async for config in _database(plain_server):
        yield config


@pytest.fixture
async def site_databases(
    timescale_server: Server, socket_enabled: None
) -> AsyncGenerator[dict[str, StoreConfig]]:
    """A fresh database each for home, the summer cabin and the winter cabin (one server)."""
    async with contextlib.AsyncExitStack() as stack:
        databases = {
            site: await stack.enter_async_context(
                contextlib.asynccontextmanager(_database)(timescale_server)
            )
            for site in ("home", "summer", "winter")
        }
        yield databases


@pytest.fixture
async def outage_server(socket_enabled: None) -> AsyncGenerator[Server]:
    """A server of this test's own, to stop and start."""
    name = f"pytest-outage-{os.getpid()}"
    server = Server(name=name, port=free_port(), plain=False)
    await asyncio.to_thread(timescaledb.start, name, server.port, PASSWORD, False, True)
    try:
        yield server
    finally:
        await asyncio.to_thread(timescaledb.remove, name)
