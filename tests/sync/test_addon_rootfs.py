"""The add-on run as the Supervisor runs it, in a root filesystem built as its Dockerfile builds it.

scripts/addon_rootfs.py makes the root from Debian trixie's packages (`addon/debian-packages.txt`
and the Dockerfile's pinned Python), installs the sync service with pip as the Dockerfile does,
and adds `rootfs/` and `lifeops_sync`. Stand-ins for what only Home Assistant's base image has
(named in that script): s6-overlay's `with-contenv` and `s6-setuidgid`, bashio's config and log
functions. s6 itself is stood in for by this test, which starts the services in s6's order
(init-lifeops, postgres, lifeops-database, lifeops-sync, lifeops-discovery) and stops them with
their down signals. Everything runs in a network namespace of its own, on the image's own ports
(5432, 8765), so nothing here clashes with other servers on the machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import shutil
import signal
import stat
import subprocess
import time

import addon_rootfs
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addon"
S6 = Path("/etc/s6-overlay/s6-rc.d")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class Image:
    """A copy of the image's root with /data, and the network namespace it runs in."""

    root: Path
    netns: str
    logs: Path
    services: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def command(self, *args: str) -> list[str]:
        chroot = shutil.which("chroot") or "/usr/sbin/chroot"
        return ["ip", "netns", "exec", self.netns, chroot, str(self.root), *args]

    @property
    def env(self) -> dict[str, str]:
        return {"PATH": PATH, "LANG": "C.UTF-8", **addon_rootfs.dockerfile_env()}

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def oneshot(self, name: str) -> subprocess.CompletedProcess[str]:
        """An s6 oneshot: its `up` file names the script."""
        up = (self.root / str(S6 / name / "up").lstrip("/")).read_text().strip()
        return self.run(up)

    def longrun(self, name: str) -> None:
        """An s6 longrun: its `run` script, which execs the daemon."""
        log = (self.logs / f"{name}.log").open("ab")
        self.services[name] = subprocess.Popen(
            self.command(str(S6 / name / "run")), env=self.env, stdout=log, stderr=log
        )

    def stop(self, name: str, timeout: float) -> tuple[int, float]:
        """Send the service's down signal (SIGTERM unless `down-signal` says); (code, seconds)."""
        process = self.services.pop(name)
        down = self.root / str(S6 / name / "down-signal").lstrip("/")
        signum = getattr(signal, down.read_text().strip()) if down.exists() else signal.SIGTERM
        started = time.monotonic()
        process.send_signal(signum)
        code = process.wait(timeout)
        return code, time.monotonic() - started

    def kill_all(self) -> None:
        for process in self.services.values():
            process.kill()
            process.wait()
        self.services.clear()

    def psql(self, sql: str) -> str:
        """SQL as the role lifeops, with its password from /data, over TCP like LifeOps."""
        result = self.run(
            "bash",
            "-c",
            'PGPASSWORD="$(cat /data/secrets/lifeops_password)" '
            "/usr/lib/postgresql/17/bin/psql -h 127.0.0.1 -U lifeops -d lifeops -XAtq "
            '-v ON_ERROR_STOP=1 -c "$1"',
            "psql",
            sql,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def wait_for(self, check: list[str], seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while self.run(*check).returncode != 0:
            assert time.monotonic() < deadline, check
            time.sleep(0.3)

    def start(self) -> dict[str, str]:
        """Boot as s6 would; return each oneshot's stderr."""
        logs = {}
        init = self.oneshot("init-lifeops")
        assert init.returncode == 0, init.stderr
        logs["init-lifeops"] = init.stderr
        self.longrun("postgres")
        database = self.oneshot("lifeops-database")
        assert database.returncode == 0, database.stderr
        logs["lifeops-database"] = database.stderr
        self.longrun("lifeops-sync")
        self.wait_for(["/usr/lib/postgresql/17/bin/pg_isready", "-q", "-h", "127.0.0.1"])
        discovery = self.oneshot("lifeops-discovery")
        assert discovery.returncode == 0, discovery.stderr
        logs["lifeops-discovery"] = discovery.stderr
        return logs

    def sync_status(self) -> dict[str, object]:
        result = self.run(
            "/opt/lifeops/venv/bin/python",
            "-m",
            "lifeops_sync",
            "status",
            "--url",
            "http://127.0.0.1:8765",
            "--node-id",
            "home",
            "--api-secret-file",
            "/data/secrets/api_secret",
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def make_image(folder: Path, name: str) -> Image:
    """A fresh copy of the image's root in ``folder``, with its own network namespace."""
    built = addon_rootfs.build()
    root = folder / "root"
    subprocess.run(["cp", "-a", str(built), str(root)], check=True)
    addon_rootfs.add_addon(root)
    options = yaml.safe_load((ADDON / "config.yaml").read_text())["options"]
    (root / "data" / "options.json").write_text(json.dumps(options))  # as the Supervisor does
    netns = f"lifeops-addon-{os.getpid()}-{name}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    subprocess.run(["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"], check=True)
    logs = folder / "logs"
    logs.mkdir()
    return Image(root, netns, logs)


def drop_image(image: Image) -> None:
    image.kill_all()
    subprocess.run(["ip", "netns", "delete", image.netns], check=False)


def _needs_root() -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None or shutil.which("ip") is None:
        pytest.skip("the image's root needs root, apt-get and ip (network namespaces)")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Generator[Image]:
    _needs_root()
    result = make_image(tmp_path_factory.mktemp("addon-image"), "a")
    try:
        yield result
    finally:
        drop_image(result)


@pytest.fixture
def second_image(tmp_path: Path) -> Generator[Image]:
    _needs_root()
    result = make_image(tmp_path, "b")
    try:
        yield result
    finally:
        drop_image(result)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_addon_boots_stops_and_boots_again_with_its_data(image: Image) -> None:
    # Processes are waited for with sleeps: in a thread, away from the harness's event loop.
    await asyncio.to_thread(boot_stop_boot, image)


def boot_stop_boot(image: Image) -> None:
    """Start, check, stop, start again on the same /data, check, stop."""
    config = yaml.safe_load((ADDON / "config.yaml").read_text())
    data = image.root / "data"

    logs = image.start()
    assert "The lifeops database is ready" in logs["lifeops-database"]
    # No Supervisor here: the announcement fails, and that is not fatal.
    assert "Could not announce" in logs["lifeops-discovery"]
    status = image.sync_status()
    assert status["node_id"] == "home"
    assert status["version"] == config["version"]
    assert image.psql("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'") == (
        "2.19.3"
    )
    image.psql(
        "CREATE TABLE kept (time timestamptz NOT NULL, value float8);"
        "SELECT create_hypertable('kept', 'time');"
        "INSERT INTO kept VALUES (now(), 42)"
    )
    for folder in ("secrets", "sync", "backup"):
        assert mode(data / folder) == 0o700, folder
    for secret in ("api_secret", "timescaledb_password", "lifeops_password", "site_key"):
        assert mode(data / "secrets" / secret) == 0o600, secret
    assert mode(data / "sync" / "sync.db") == 0o600
    secrets = {p.name: p.read_text() for p in (data / "secrets").iterdir()}

    # Stop as s6 does, each service with its down signal, within the add-on's timeout.
    grace = int(addon_rootfs.dockerfile_env()["S6_SERVICES_GRACETIME"]) / 1000
    code, seconds = image.stop("lifeops-sync", grace)
    assert code == 0
    code, seconds = image.stop("postgres", grace)
    assert code == 0
    assert seconds < config["timeout"]
    postgres_log = (image.logs / "postgres.log").read_text()
    assert "fast shutdown request" in postgres_log
    assert "database system is shut down" in postgres_log

    # A second start on the same /data keeps everything.
    image.start()
    assert image.psql("SELECT value FROM kept") == "42"
    assert {p.name: p.read_text() for p in (data / "secrets").iterdir()} == secrets
    assert image.sync_status()["node_id"] == "home"
    assert "database system was shut down at" in (image.logs / "postgres.log").read_text()
    image.stop("lifeops-sync", grace)
    image.stop("postgres", grace)


async def test_a_backup_restores_into_a_new_data_folder_with_every_row(
    image: Image, second_image: Image
) -> None:
    await asyncio.to_thread(backup_and_restore, image, second_image)


def backup_and_restore(image: Image, second: Image) -> None:
    """backup_pre on a running add-on; the backup (without the excluded folders) restored into
    a new add-on's /data; it starts with every row and the same sync replica."""
    config = yaml.safe_load((ADDON / "config.yaml").read_text())
    image.start()
    image.psql(
        "INSERT INTO kept SELECT now() - i * interval '1 hour', i FROM generate_series(1, 500) i"
    )
    rows = image.psql("SELECT count(*), sum(value) FROM kept")
    write = image.run(
        "/opt/lifeops/venv/bin/python",
        "-m",
        "lifeops_sync",
        "write",
        "--url",
        "http://127.0.0.1:8765",
        "--node-id",
        "home",
        "--api-secret-file",
        "/data/secrets/api_secret",
        json.dumps([{"op": "set", "collection": "c", "key": "k", "fields": {"v": 7}}]),
    )
    assert write.returncode == 0, write.stderr
    for script in (config["backup_pre"], config["backup_post"]):
        done = image.run(script)
        assert done.returncode == 0, (script, done.stderr)
    vector = image.sync_status()["vector"]

    # The Supervisor's backup holds /data but the excluded folders; a restore puts it back.
    source, target = image.root / "data", second.root / "data"
    for item in source.iterdir():
        if item.name in config["backup_exclude"] or item.name == "options.json":
            continue
        subprocess.run(["cp", "-a", str(item), str(target / item.name)], check=True)
    logs = second.start()
    assert "Restoring the sync replica" in logs["init-lifeops"]
    deadline = time.monotonic() + 60
    while True:
        try:
            if second.psql("SELECT count(*), sum(value) FROM kept") == rows:
                break
        except AssertionError:
            pass
        assert time.monotonic() < deadline, (second.logs / "postgres.log").read_text()[-3000:]
        time.sleep(0.5)
    assert second.psql("SELECT count(*) FROM timescaledb_information.hypertables") == "1"
    assert second.sync_status()["vector"] == vector
    image.stop("lifeops-sync", 30)
    image.stop("postgres", 60)
    second.stop("lifeops-sync", 30)
    second.stop("postgres", 60)


async def test_data_of_another_major_is_refused_safely(second_image: Image) -> None:
    await asyncio.to_thread(another_major, second_image)


def another_major(image: Image) -> None:
    """The image has PostgreSQL 17 only (Debian trixie has no other major): data whose
    PG_VERSION says 16 is left untouched, TimescaleDB stays off and says why, sync runs."""
    image.start()
    image.stop("lifeops-sync", 30)
    image.stop("postgres", 60)
    pgdata = image.root / "data" / "postgres"
    (pgdata / "PG_VERSION").write_text("16\n")
    before = sorted(p.relative_to(pgdata).as_posix() for p in pgdata.rglob("*"))

    init = image.oneshot("init-lifeops")
    assert init.returncode == 0, init.stderr
    assert "the PostgreSQL 16 server is not in this image" in init.stderr
    assert "Your data is untouched" in init.stderr
    image.longrun("postgres")
    database = image.oneshot("lifeops-database")
    assert database.returncode == 0, database.stderr
    assert "TimescaleDB is off" in database.stderr
    image.longrun("lifeops-sync")
    image.wait_for(
        [
            "/opt/lifeops/venv/bin/python",
            "-c",
            "import urllib.request as u; u.urlopen('http://127.0.0.1:8765/v1/health')",
        ]
    )
    assert image.sync_status()["node_id"] == "home"
    assert sorted(p.relative_to(pgdata).as_posix() for p in pgdata.rglob("*")) == before
    assert not list((image.root / "data").glob("postgres-*"))
    image.stop("lifeops-sync", 30)
    image.stop("postgres", 10)  # the stand-in that sleeps in its place
