"""Connect to the long-term store, find out which edition it is, and apply the migrations.

Also a command-line tool (the password comes from the environment, never the command line):

    LIFEOPS_DB_PASSWORD=... python -m custom_components.lifeops.timescale.migrate \
        --host 127.0.0.1 --port 5432 --database lifeops --user lifeops
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
import os
import ssl
import struct
import sys
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from .errors import (
    ExtensionMissing,
    StoreAuthFailed,
    StoreError,
    StoreUnreachable,
    TlsUnavailable,
    TlsUntrusted,
)
from .schema import LATEST, MIGRATIONS, SCHEMA, Edition
from .timezones import resolve

# Serialises migrations when several sites' Home Assistants start against one database.
# A connection of its own or one lent by a pool.
type Conn = asyncpg.Connection[Any] | PoolConnectionProxy[Any]

_LOCK_ID = 0x4C6966654F7073  # "LifeOps"
CONNECT_TIMEOUT = 10.0


# TLS to the server, as libpq names the modes: never; when the server offers it; always
# (certificate not checked); always, with the certificate and host name checked.
TLS_DISABLE = "disable"
TLS_PREFER = "prefer"
TLS_REQUIRE = "require"
TLS_VERIFY = "verify-full"
TLS_MODES = (TLS_DISABLE, TLS_PREFER, TLS_REQUIRE, TLS_VERIFY)
_SSL_REQUEST = struct.pack("!ii", 8, 80877103)  # PostgreSQL's SSLRequest message


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Where the long-term store is. The password never shows in repr() or logs.

    `ssl_context` is the TLS context to use for `prefer`, `require` and `verify-full`, made by
    the caller ahead of time (Home Assistant has its own, already loaded). Without one, a context
    is built here when needed, which reads certificate files: fine on the command line, not on
    an event loop that must not wait on the disk.
    """

    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)
    allow_postgresql: bool = False
    tls: str = TLS_PREFER
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def connect_kwargs(self, tls: ssl.SSLContext | bool = False) -> dict[str, Any]:
        """Keyword arguments for asyncpg.connect / create_pool (`tls` from `resolve_tls`).

        The TLS argument is always given, a context or False, so asyncpg never builds a context
        of its own on the event loop (it would read ~/.postgresql's certificate files there).
        Prepared statements stay cached without a lifetime: asyncpg would otherwise set a timer
        per statement to forget it after five minutes, a wake-up of an idle Home Assistant for
        nothing (a statement the server no longer knows is prepared again by asyncpg itself).
        """
        return {
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "user": self.user,
            "password": self.password,
            "timeout": CONNECT_TIMEOUT,
            "ssl": tls,
            "max_cached_statement_lifetime": 0,
            "server_settings": {"timezone": "UTC", "application_name": "lifeops"},
        }

    def context(self) -> ssl.SSLContext:
        """The TLS context for this mode: the caller's, or one made now."""
        if self.ssl_context is not None:
            return self.ssl_context
        context = ssl.create_default_context()
        if self.tls != TLS_VERIFY:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


async def offers_tls(host: str, port: int, timeout: float = CONNECT_TIMEOUT) -> bool:
    """Whether the server at host:port accepts TLS: it answers PostgreSQL's SSLRequest with S."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(_SSL_REQUEST)
                await writer.drain()
                answer = await reader.readexactly(1)
            finally:
                writer.close()
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as err:
        raise StoreUnreachable(type(err).__name__) from err
    return answer == b"S"


async def resolve_tls(config: StoreConfig) -> ssl.SSLContext | bool:
    """What to pass asyncpg as `ssl` for this server: a context, or False for none.

    `prefer` asks the server once (an SSLRequest) and uses TLS when it is offered; `require`
    and `verify-full` refuse a server without TLS. A Unix socket path never uses TLS.
    """
    if config.tls == TLS_DISABLE or config.host.startswith("/"):
        return False
    offered = await offers_tls(config.host, config.port)
    if not offered:
        if config.tls == TLS_PREFER:
            return False
        raise TlsUnavailable(f"{config.host}:{config.port} does not offer TLS")
    return config.context()


def map_error(err: BaseException) -> StoreError:
    """Turn a driver or socket error into the store's own."""
    if isinstance(err, StoreError):
        return err
    if isinstance(err, ssl.SSLCertVerificationError):
        return TlsUntrusted(err.verify_message or type(err).__name__)
    if isinstance(
        err, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return StoreAuthFailed(type(err).__name__)
    return StoreUnreachable(type(err).__name__)


CONNECTION_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InvalidPasswordError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.CannotConnectNowError,
)


async def connect(config: StoreConfig) -> asyncpg.Connection[Any]:
    """One connection, with the store's errors for what goes wrong."""
    try:
        tls = await resolve_tls(config)
        conn: asyncpg.Connection[Any] = await asyncpg.connect(**config.connect_kwargs(tls))
    except CONNECTION_ERRORS as err:
        raise map_error(err) from err
    return conn


async def _installable(conn: Conn) -> bool:
    """Whether CREATE EXTENSION timescaledb would work: available and preloaded."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') "
            "AND current_setting('shared_preload_libraries') LIKE '%timescaledb%'"
        )
    )


async def detect_edition(conn: Conn, *, create: bool = True) -> Edition | None:
    """The server's edition; installs the extension when it is available and `create` is set.

    None when TimescaleDB is neither installed nor installable in this database.
    """
    version = await conn.fetchval(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    )
    # Only where the server preloads it: loading it otherwise ends the session.
    if version is None and create and await _installable(conn):
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except asyncpg.PostgresError:
            return None
        version = await conn.fetchval(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        )
    if version is None:
        return None
    license_name = await conn.fetchval("SELECT current_setting('timescaledb.license', true)")
    return Edition.FULL if license_name == "timescale" else Edition.APACHE


async def stored_edition(conn: Conn) -> Edition | None:
    """The edition the schema was created for, or None before the first migration."""
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{SCHEMA}.migrations")
    if not exists:
        return None
    value = await conn.fetchval(f"SELECT edition FROM {SCHEMA}.migrations WHERE version = 1")
    return Edition(value) if value else None


@dataclass(frozen=True, slots=True)
class MigrationResult:
    """What migrate() found and did."""

    edition: Edition
    applied: tuple[int, ...]
    version: int


async def migrate(
    conn: Conn, *, timezone: str = "UTC", allow_postgresql: bool = False
) -> MigrationResult:
    """Apply every missing migration, in order; safe to run again and from several sites at once.

    The schema keeps the edition it was created for (a database created on plain PostgreSQL
    stays on LifeOps' own rollups even if TimescaleDB is installed later).
    """
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        edition = await stored_edition(conn)
        if edition is None:
            edition = await detect_edition(conn)
            if edition is None:
                if not allow_postgresql:
                    raise ExtensionMissing("timescaledb")
                edition = Edition.POSTGRESQL
        elif edition.has_hypertables and await detect_edition(conn, create=False) is None:
            raise ExtensionMissing("timescaledb")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.migrations (version integer PRIMARY KEY, "
            "name text NOT NULL, edition text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in await conn.fetch(f"SELECT version FROM {SCHEMA}.migrations")}
        if not done.issuperset(MIGRATIONS):
            timezone = await resolve(conn, timezone)  # a name this server knows
        applied = []
        for version in sorted(MIGRATIONS):
            if version in done:
                continue
            name, statements = MIGRATIONS[version]
            # One statement at a time outside a transaction block: continuous aggregates cannot
            # be created inside one. Every statement is idempotent, so an interrupted migration
            # simply runs again.
            for statement in statements(edition, timezone):
                await conn.execute(statement)
            await conn.execute(
                f"INSERT INTO {SCHEMA}.migrations (version, name, edition) VALUES ($1, $2, $3)",
                version,
                name,
                edition.value,
            )
            applied.append(version)
        return MigrationResult(edition=edition, applied=tuple(applied), version=LATEST)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)


async def check(config: StoreConfig) -> Edition:
    """Connect and say which edition LifeOps would use; raise the store's errors. Changes nothing.

    Used by the options flow to test settings before saving them.
    """
    conn = await connect(config)
    try:
        edition = await stored_edition(conn) or await detect_edition(conn, create=False)
        if edition is None and await _installable(conn):
            license_name = await conn.fetchval(
                "SELECT current_setting('timescaledb.license', true)"
            )
            edition = Edition.FULL if license_name == "timescale" else Edition.APACHE
        if edition is None:
            if not config.allow_postgresql:
                raise ExtensionMissing("timescaledb")
            edition = Edition.POSTGRESQL
        return edition
    except asyncpg.PostgresError as err:
        raise map_error(err) from err
    finally:
        await conn.close()


async def _main(args: argparse.Namespace) -> int:
    password = os.environ.get("LIFEOPS_DB_PASSWORD") or os.environ.get("PGPASSWORD") or ""
    config = StoreConfig(args.host, args.port, args.database, args.user, password, tls=args.tls)
    try:
        conn = await connect(config)
    except StoreError as err:
        print(f"cannot connect: {type(err).__name__}", file=sys.stderr)
        return 2
    try:
        result = await migrate(conn, timezone=args.timezone, allow_postgresql=args.allow_postgresql)
    except ExtensionMissing:
        print(
            "the database has no TimescaleDB; pass --allow-postgresql to use plain tables",
            file=sys.stderr,
        )
        return 3
    finally:
        await conn.close()
    applied = ", ".join(map(str, result.applied)) or "none (up to date)"
    print(f"edition: {result.edition.value}; schema version {result.version}; applied: {applied}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: apply LifeOps' migrations to a database."""
    parser = argparse.ArgumentParser(
        description="Apply LifeOps' long-term store migrations. The password is read from "
        "LIFEOPS_DB_PASSWORD (or PGPASSWORD)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--database", default="lifeops")
    parser.add_argument("--user", default="lifeops")
    parser.add_argument("--timezone", default="UTC", help="the time zone of daily rollups")
    parser.add_argument("--tls", choices=TLS_MODES, default=TLS_PREFER, help="TLS to the server")
    parser.add_argument(
        "--allow-postgresql",
        action="store_true",
        help="use plain PostgreSQL tables when TimescaleDB is not there",
    )
    return asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
