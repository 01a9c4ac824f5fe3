#!/usr/bin/env python3
"""Run a real TimescaleDB (or plain PostgreSQL) on 127.0.0.1 for LifeOps' tests and benchmarks.

Debian bookworm has no TimescaleDB; Debian trixie (same archive) has PostgreSQL 17 with the
Apache-2 edition of TimescaleDB, at the exact versions the add-on's image installs (both read
addon/debian-packages.txt). This script downloads those packages once with a private apt
configuration (the machine's own apt state is not touched), unpacks them with dpkg-deb into a root
folder under ~/.cache/lifeops/timescaledb, and runs the server in a chroot of that folder as an
unprivileged user. The host talks to it over TCP.

    timescaledb.py install                         # once; quick when cached
    timescaledb.py start --name tests --port 55432 # initdb on first use, then pg_ctl start
    timescaledb.py start --name fallback --port 55433 --plain   # no timescaledb preloaded
    timescaledb.py stop --name tests
    timescaledb.py remove --name tests             # stop and delete its data folder
    timescaledb.py status --name tests

Data folders live inside the root (ROOT/data/NAME), since the server only sees the chroot;
`--fresh` wipes one first. The superuser is `postgres` with the password from `--password`
(default `lifeops`), checked with scram-sha-256. Needs root (chroot) and apt-get, dpkg-deb.
Set LIFEOPS_CACHE to move the cache.
"""

from __future__ import annotations

import argparse
import fcntl
import gzip
import os
from pathlib import Path
import shutil
import subprocess
import sys
import time

import debian_root

SUITE = "trixie"
#: The add-on image's database packages, pinned; the tests run on exactly these.
PACKAGE_LIST = Path(__file__).resolve().parents[1] / "addon" / "debian-packages.txt"
# Not needed to run the server: the JIT (llvm, z3), perl scripts, locale data beyond C.UTF-8.
SKIP_PREFIXES = ("libllvm", "libz3", "perl", "libperl", "locales", "libclang", "llvm")
PG_BIN = "/usr/lib/postgresql/17/bin"
UID = GID = 70170
LAYOUT = 1  # bump when the unpacked root's layout changes, to rebuild caches


def pinned_packages(path: Path = PACKAGE_LIST) -> dict[str, str]:
    """``{package: version}`` from the add-on's list (``name=version`` lines, ``#`` comments)."""
    pinned = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("=")
        if not sep or not name or not version:
            sys.exit(f"[timescaledb] error: {path}: {raw!r} is not name=version")
        pinned[name] = version
    return pinned


def installed_version(root: Path, package: str) -> str | None:
    """The version of ``package`` unpacked in ``root``, from its Debian changelog's first line."""
    changelog = root / "usr" / "share" / "doc" / package / "changelog.Debian.gz"
    try:
        with gzip.open(changelog, "rt") as lines:
            first = lines.readline()
    except OSError:
        return None
    start, end = first.find("("), first.find(")")
    return first[start + 1 : end] if 0 <= start < end else None


def _ready(root: Path, stamp: Path) -> bool:
    """The unpacked root is complete and holds exactly the pinned versions."""
    if not (stamp.is_file() and stamp.read_text().strip() == str(LAYOUT) and root.is_dir()):
        return False
    return all(installed_version(root, p) == v for p, v in pinned_packages().items())


def cache_dir() -> Path:
    """The folder everything is cached in."""
    base = os.environ.get("LIFEOPS_CACHE") or str(Path.home() / ".cache" / "lifeops")
    return Path(base) / "timescaledb" / f"{SUITE}-pg17"


def root_dir() -> Path:
    """The unpacked root the server runs in."""
    return cache_dir() / "root"


def log(message: str) -> None:
    """Progress on stderr."""
    debian_root.log("timescaledb", message)


def install() -> Path:
    """Download and unpack the server once; return the root. Quick when already done."""
    root = root_dir()
    stamp = cache_dir() / "ready"
    if _ready(root, stamp):
        return root
    if os.geteuid() != 0:
        sys.exit("[timescaledb] error: needs root (apt-get download, chroot)")
    for tool in ("apt-get", "dpkg-deb", "chroot"):
        if shutil.which(tool) is None:
            sys.exit(f"[timescaledb] error: {tool} not found; this needs a Debian-like machine")
    cache_dir().mkdir(parents=True, exist_ok=True)
    with (cache_dir() / "install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be installing right now
        if _ready(root, stamp):
            return root
        return _install(root, stamp)


def _install(root: Path, stamp: Path) -> Path:
    started = time.monotonic()
    apt = cache_dir() / "apt"
    packages = [f"{name}={version}" for name, version in pinned_packages().items()]
    staging, unpacked = debian_root.stage(
        "timescaledb", SUITE, [*packages, "dash"], cache_dir(), SKIP_PREFIXES
    )
    debian_root.usr_merge(staging)
    (staging / "dev").mkdir(exist_ok=True)
    for device in ("null", "urandom", "zero"):
        # The server opens /dev/null and /dev/urandom; cp -a copies the device nodes themselves.
        subprocess.run(["cp", "-a", f"/dev/{device}", str(staging / "dev" / device)], check=True)
    (staging / "tmp").mkdir(mode=0o1777, exist_ok=True)
    (staging / "tmp").chmod(0o1777)
    etc = staging / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(
        f"root:x:0:0:root:/root:/bin/sh\npostgres:x:{UID}:{GID}::/data:/bin/sh\n"
    )
    (etc / "group").write_text(f"root:x:0:\npostgres:x:{GID}:\n")
    (staging / "data").mkdir(exist_ok=True)
    os.chown(staging / "data", UID, GID)
    shutil.rmtree(root, ignore_errors=True)
    staging.rename(root)
    shutil.rmtree(apt / "cache" / "archives", ignore_errors=True)
    stamp.write_text(f"{LAYOUT}\n")
    log(f"unpacked {unpacked} packages into {root} in {time.monotonic() - started:.1f} s")
    return root


def _chroot(root: Path, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["chroot", f"--userspec={UID}:{GID}", str(root), *command],
        check=check,
        capture_output=True,
        text=True,
        env={"PATH": f"{PG_BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/data"},
    )


def _data(name: str) -> str:
    if not name or "/" in name or name.startswith("."):
        sys.exit(f"[timescaledb] error: bad data folder name {name!r}")
    return f"/data/{name}"


def _certificate(root: Path, name: str) -> tuple[str, str]:
    """A self-signed certificate and key for 127.0.0.1 (made once), as paths in the root."""
    cert, key = f"/data/{name}.crt", f"/data/{name}.key"
    host_cert, host_key = root / cert.lstrip("/"), root / key.lstrip("/")
    if not (host_cert.is_file() and host_key.is_file()):
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                "-subj", "/CN=127.0.0.1", "-keyout", str(host_key), "-out", str(host_cert),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        for path in (host_cert, host_key):
            os.chown(path, UID, GID)
        host_key.chmod(0o600)  # PostgreSQL refuses a key others may read
    return cert, key


def start(
    name: str,
    port: int,
    password: str,
    plain: bool = False,
    fresh: bool = False,
    durable: bool = False,
    tls: bool = False,
) -> None:
    """Initialise the data folder on first use and start the server on 127.0.0.1:PORT.

    Tests run without fsync and synchronous commits (fast, throw-away); `durable` keeps
    PostgreSQL's defaults, as a real installation has them (benchmarks). `tls` has the server
    offer TLS with a self-signed certificate made for it (openssl), so clients that prefer TLS
    get it and clients that check certificates refuse it.
    """
    root = install()
    data = _data(name)
    host_data = root / data.lstrip("/")
    if fresh:
        stop(name)
        shutil.rmtree(host_data, ignore_errors=True)
    if not (host_data / "PG_VERSION").is_file():
        shutil.rmtree(host_data, ignore_errors=True)
        pwfile = root / "data" / f".{name}.pw"
        pwfile.write_text(password + "\n")
        os.chown(pwfile, UID, GID)
        try:
            result = _chroot(
                root,
                "initdb",
                "-D",
                data,
                "-U",
                "postgres",
                f"--pwfile=/data/.{name}.pw",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                check=False,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode:
            sys.exit(f"[timescaledb] initdb failed:\n{result.stdout}{result.stderr}")
    if _running(root, data):
        log(f"{name} already running")
        return
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": "",
        "timezone": "UTC",
        "log_timezone": "UTC",
        "fsync": "off",  # a throw-away test server: speed over durability
        "full_page_writes": "off",
        "synchronous_commit": "off",
        "max_connections": "50",
        "shared_preload_libraries": "" if plain else "timescaledb",
        "timescaledb.telemetry_level": "off",
    }
    if plain:
        del settings["timescaledb.telemetry_level"]
    if tls:
        cert, key = _certificate(root, name)
        settings.update(ssl="on", ssl_cert_file=cert, ssl_key_file=key)
    if durable:
        for key in ("fsync", "full_page_writes", "synchronous_commit"):
            del settings[key]
    options = " ".join(
        f"-c {key}={value}" if value else f"-c {key}=''" for key, value in settings.items()
    )
    result = _chroot(
        root,
        "pg_ctl",
        "start",
        "-w",
        "-t",
        "60",
        "-D",
        data,
        "-l",
        f"{data}.log",
        "-o",
        options,
        check=False,
    )
    if result.returncode:
        log_text = (host_data.parent / f"{name}.log").read_text(errors="replace")[-3000:]
        sys.exit(f"[timescaledb] start failed:\n{result.stdout}{result.stderr}\n{log_text}")
    edition = "plain PostgreSQL" if plain else "TimescaleDB (preloaded)"
    log(f"{name}: {edition} on 127.0.0.1:{port}")


def _running(root: Path, data: str) -> bool:
    if not (root / data.lstrip("/") / "PG_VERSION").is_file():
        return False
    return _chroot(root, "pg_ctl", "status", "-D", data, check=False).returncode == 0


def stop(name: str) -> None:
    """Stop the server of this data folder (fast shutdown); nothing if it is not running."""
    root = root_dir()
    data = _data(name)
    if root.is_dir() and _running(root, data):
        _chroot(root, "pg_ctl", "stop", "-w", "-m", "fast", "-D", data)
        log(f"{name} stopped")


def remove(name: str) -> None:
    """Stop the server of this data folder and delete the folder, its log and certificate."""
    stop(name)
    data = root_dir() / _data(name).lstrip("/")
    shutil.rmtree(data, ignore_errors=True)
    for suffix in ("log", "crt", "key"):
        data.with_name(f"{name}.{suffix}").unlink(missing_ok=True)


def status(name: str) -> bool:
    """Whether the server of this data folder runs."""
    root = root_dir()
    return root.is_dir() and _running(root, _data(name))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="download and unpack the server (once)")
    for command in ("start", "stop", "remove", "status"):
        p = sub.add_parser(command)
        p.add_argument("--name", default="default", help="data folder name (ROOT/data/NAME)")
        if command == "start":
            p.add_argument("--port", type=int, default=55432)
            p.add_argument("--password", default="lifeops")
            p.add_argument("--plain", action="store_true", help="plain PostgreSQL, no timescaledb")
            p.add_argument("--fresh", action="store_true", help="wipe the data folder first")
            p.add_argument(
                "--durable", action="store_true", help="keep fsync and synchronous commits on"
            )
            p.add_argument("--tls", action="store_true", help="offer TLS (self-signed)")
    args = parser.parse_args(argv)
    if args.command == "install":
        print(install())
    elif args.command == "start":
        start(
            args.name,
            args.port,
            args.password,
            plain=args.plain,
            fresh=args.fresh,
            durable=args.durable,
            tls=args.tls,
        )
    elif args.command == "stop":
        stop(args.name)
    elif args.command == "remove":
        remove(args.name)
    else:
        running = status(args.name)
        print("running" if running else "stopped")
        return 0 if running else 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
