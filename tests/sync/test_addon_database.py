"""The add-on's post stage (``lifeops-database.sh``) against the real TimescaleDB the image pins.

The server and its ``psql``/``pg_isready`` are the Debian trixie packages from
``addon/debian-packages.txt`` (scripts/timescaledb.py), run in their unpacked root. Stand-ins:
bashio's log functions (print to stderr), ``s6-setuidgid`` (runs the command as is), and the
connection (TCP with the superuser's password here, the socket with trust in the add-on).
"""

from __future__ import annotations

from collections.abc import Generator
import os
from pathlib import Path
import shlex
import stat
import subprocess

import asyncpg
import pytest
import timescaledb

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "addon" / "rootfs" / "etc" / "s6-overlay" / "scripts" / "lifeops-database.sh"
SUPERUSER_PASSWORD = "addon-post-stage-test"


# A server of this module's own, on a free port (never the suite's 55432-55440), named per
# process so runs on both releases at once do not meet.
PORT = free_port()
NAME = f"addon-post-{os.getpid()}"
BASHIO = """
bashio::log.info() { echo "INFO: $*" >&2; }
bashio::log.warning() { echo "WARNING: $*" >&2; }
bashio::log.error() { echo "ERROR: $*" >&2; }
"""


@pytest.fixture(scope="module")
def server() -> Generator[int]:
    timescaledb.start(NAME, PORT, SUPERUSER_PASSWORD, fresh=True)
    try:
        yield PORT
    finally:
        timescaledb.remove(NAME)


def _tool(folder: Path, name: str, root: Path) -> None:
    """A stand-in on PATH that runs the image's own program in its unpacked root; it also
    records its arguments, to check no secret is on a command line."""
    path = folder / name
    program = f"{timescaledb.PG_BIN}/{name}"
    path.write_text(
        "#!/bin/sh\n"
        f'echo "{name} $*" >> {shlex.quote(str(folder / "commands.log"))}\n'
        f'exec chroot --userspec={timescaledb.UID}:{timescaledb.GID} {root} {program} "$@"\n'
    )
    path.chmod(0o755)


def make_world(tmp_path: Path) -> Path:
    """Stand-ins on PATH (the image's psql and pg_isready, s6-setuidgid), bashio, /data, /run."""
    root = timescaledb.install()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("psql", "pg_isready"):
        _tool(bin_dir, name, root)
    (bin_dir / "s6-setuidgid").write_text('#!/bin/sh\nshift\nexec "$@"\n')
    (bin_dir / "s6-setuidgid").chmod(0o755)
    (tmp_path / "bashio.sh").write_text(BASHIO)
    (tmp_path / "data").mkdir()
    (tmp_path / "run").mkdir()
    return tmp_path


@pytest.fixture
def world(tmp_path: Path, server: int) -> Path:
    return make_world(tmp_path)


def run_post_stage(
    world: Path, port: int = PORT, password: str = SUPERUSER_PASSWORD
) -> subprocess.CompletedProcess[str]:
    """The post stage as the add-on runs it, against the server on ``port``."""
    env = {
        **os.environ,
        "PATH": f"{world / 'bin'}:{os.environ['PATH']}",
        "POSTGRES_MAJOR": "17",
        "LIFEOPS_DATA": str(world / "data"),
        "LIFEOPS_RUN": str(world / "run"),
        "PG_BIN": str(world / "bin"),
        "PG_USER": "postgres",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(port),
        "PGPASSWORD": password,
    }
    command = f'source "{world / "bashio.sh"}"; source "{SCRIPT}"'
    return subprocess.run(
        ["bash", "-c", command], env=env, capture_output=True, text=True, check=False
    )


async def connect_as_lifeops(password: str) -> asyncpg.Connection:
    return await asyncpg.connect(
        host="127.0.0.1", port=PORT, user="lifeops", password=password, database="lifeops"
    )


async def test_the_post_stage_makes_the_lifeops_database_with_timescaledb(
    world: Path, socket_enabled: None
) -> None:
    result = run_post_stage(world)
    assert result.returncode == 0, result.stderr
    assert "The lifeops database is ready" in result.stderr
    password_file = world / "data" / "secrets" / "lifeops_password"
    password = password_file.read_text().strip()
    assert len(password) >= 32
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert password not in (world / "bin" / "commands.log").read_text()

    conn = await connect_as_lifeops(password)
    try:
        version = await conn.fetchval(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        )
        pinned = timescaledb.pinned_packages()["postgresql-17-timescaledb"]
        assert pinned.startswith(version + "+")  # 2.19.3 from 2.19.3+dfsg-1+deb13u1
        # The role owns the database: it can make the store's tables and hypertables.
        await conn.execute("CREATE TABLE metrics (time timestamptz NOT NULL, value float8)")
        await conn.fetchval("SELECT create_hypertable('metrics', 'time')")
        await conn.execute("INSERT INTO metrics VALUES (now(), 1.5)")
        assert await conn.fetchval("SELECT count(*) FROM metrics") == 1
    finally:
        await conn.close()

    # Again (every start): nothing is lost, the password stays, the data stays.
    again = run_post_stage(world)
    assert again.returncode == 0, again.stderr
    assert password_file.read_text().strip() == password
    conn = await connect_as_lifeops(password)
    try:
        assert await conn.fetchval("SELECT count(*) FROM metrics") == 1
    finally:
        await conn.close()


async def test_a_lost_role_password_is_set_again_from_the_kept_one(
    world: Path, socket_enabled: None
) -> None:
    assert run_post_stage(world).returncode == 0
    password = (world / "data" / "secrets" / "lifeops_password").read_text().strip()
    admin = await asyncpg.connect(
        host="127.0.0.1", port=PORT, user="postgres", password=SUPERUSER_PASSWORD
    )
    try:
        await admin.execute("ALTER ROLE lifeops PASSWORD 'something-else-entirely'")
    finally:
        await admin.close()
    assert run_post_stage(world).returncode == 0
    conn = await connect_as_lifeops(password)
    await conn.close()


def test_nothing_is_done_while_timescaledb_is_off(world: Path) -> None:
    (world / "run" / "lifeops-postgres-disabled").write_text("a reason\n")
    result = run_post_stage(world)
    assert result.returncode == 0, result.stderr
    assert "TimescaleDB is off" in result.stderr
    assert not (world / "data" / "secrets").exists()
