#!/usr/bin/env python3
"""Build the add-on image's root filesystem without Docker, for the image-equivalent test.

No Docker daemon or image registry is reachable here, so the image is reproduced the way its
Dockerfile builds it: Debian trixie's packages from `addon/debian-packages.txt` and the
Dockerfile's pinned Python, unpacked with dpkg-deb (as scripts/timescaledb.py does), the add-on's
`rootfs/`, and the sync service installed into /opt/lifeops/venv from `requirements.txt` with
pip. What Home Assistant's base image brings and Debian's archive cannot (s6-overlay, bashio)
gets the smallest stand-ins the add-on's scripts need, written into the root and named below:

- `/command/with-contenv`: runs its arguments (s6-overlay's passes the container's environment);
- `/usr/bin/bashio`: bash with `bashio::log.*`, `bashio::config` and `bashio::config.has_value`
  (reading /data/options.json as the Supervisor writes it), then the script;
- `/usr/bin/s6-setuidgid`: `setpriv` to the user's uid and gid;
- the host's CA bundle as /etc/ssl/certs/ca-certificates.crt (the base has ca-certificates).

    addon_rootfs.py build      # once; quick when cached (the package list and service decide)

Needs root (chroot for pip), apt-get and dpkg-deb. Set LIFEOPS_CACHE to move the cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
import time

import debian_root
import timescaledb

ROOT_DIR = Path(__file__).resolve().parents[1]
ADDON = ROOT_DIR / "addon"
SUITE = "trixie"
# The essential packages an image's base has (apt does not pull Essential packages in).
BASE = ("bash", "coreutils", "dash", "grep", "sed", "mawk", "findutils", "util-linux", "gzip")
BASE += ("hostname", "libc-bin")
SKIP_PREFIXES = timescaledb.SKIP_PREFIXES
POSTGRES_UID = POSTGRES_GID = 70171
LAYOUT = 2  # bump when the root's own files change, to rebuild caches

WITH_CONTENV = '#!/bin/sh\n# Stand-in for s6-overlay\'s with-contenv: run the command.\nexec "$@"\n'
S6_SETUIDGID = """#!/bin/sh
# Stand-in for s6-setuidgid: run the command as the user (and their group).
user="$1"
shift
exec setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups "$@"
"""
BASHIO = r"""#!/bin/bash
# Stand-in for bashio: the functions the add-on's scripts use, then the script itself.
bashio::log.info() { echo "INFO: $*" >&2; }
bashio::log.warning() { echo "WARNING: $*" >&2; }
bashio::log.error() { echo "ERROR: $*" >&2; }
bashio::config() {
    /usr/bin/python3 -c 'import json, sys
value = json.load(open("/data/options.json")).get(sys.argv[1])
print("" if value is None else value if isinstance(value, str) else json.dumps(value))' "$1"
}
bashio::config.has_value() { [[ -n "$(bashio::config "$1")" ]]; }
script="$1"
shift
source "${script}" "$@"
"""


def dockerfile_packages() -> list[str]:
    """What the Dockerfile installs beside the list: its pinned `name=version` words."""
    text = (ADDON / "Dockerfile").read_text()
    install = text.split("xargs apt-get install", 1)[1].split("&& if", 1)[0]
    return [word for word in install.split() if re.fullmatch(r"[a-z0-9.+-]+=\S+", word)]


def packages() -> list[str]:
    """Every package the image installs with apt, pinned, and the base's essentials."""
    pinned = [f"{name}={version}" for name, version in timescaledb.pinned_packages().items()]
    return [*pinned, *dockerfile_packages(), *BASE]


def _fingerprint() -> str:
    digest = hashlib.sha256(f"layout {LAYOUT}\n".encode())
    digest.update("\n".join(packages()).encode())
    digest.update((ADDON / "requirements.txt").read_bytes())
    digest.update(BASHIO.encode() + S6_SETUIDGID.encode() + WITH_CONTENV.encode())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    """The folder the root is cached in."""
    base = os.environ.get("LIFEOPS_CACHE") or str(Path.home() / ".cache" / "lifeops")
    return Path(base) / "addon-rootfs"


def build() -> Path:
    """The packages' root with the service installed (cached), without the add-on's files.

    The caller copies it and adds `rootfs/` and `lifeops_sync` with :func:`add_addon`, so a change
    to the add-on's scripts needs no rebuild.
    """
    if os.geteuid() != 0:
        sys.exit("[addon-rootfs] error: needs root (chroot)")
    folder = cache_dir() / _fingerprint()
    root = folder / "root"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / "ready").is_file() and root.is_dir():
            return root
        started = time.monotonic()
        apt = folder / "apt"
        debs = debian_root.download("addon-rootfs", SUITE, packages(), apt)
        staging = folder / "root.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        debian_root.unpack(debs, staging, skip=SKIP_PREFIXES)
        debian_root.usr_merge(staging)
        _system_files(staging)
        _python_service(staging)
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
        shutil.rmtree(apt / "cache" / "archives", ignore_errors=True)
        (folder / "ready").write_text("1\n")
        debian_root.log("addon-rootfs", f"built {root} in {time.monotonic() - started:.1f} s")
        return root


def _write(path: Path, text: str, mode: int = 0o755) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def _system_files(root: Path) -> None:
    (root / "dev").mkdir(exist_ok=True)
    for device in ("null", "urandom", "zero", "random"):
        subprocess.run(["cp", "-a", f"/dev/{device}", str(root / "dev" / device)], check=True)
    for name in ("tmp", "run", "data"):
        (root / name).mkdir(exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "var").mkdir(exist_ok=True)
    var_run = root / "var" / "run"
    if not var_run.is_symlink():
        shutil.rmtree(var_run, ignore_errors=True)  # a package's empty runtime folder
        var_run.symlink_to("/run")  # as base-files has it
    etc = root / "etc"
    # What postgresql-common's maintainer script would have made: the postgres user.
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\n"
        f"postgres:x:{POSTGRES_UID}:{POSTGRES_GID}::/var/lib/postgresql:/bin/bash\n"
    )
    (etc / "group").write_text(f"root:x:0:\npostgres:x:{POSTGRES_GID}:\n")
    shutil.copy("/etc/resolv.conf", etc / "resolv.conf")  # pip reaches PyPI from inside
    # The base image carries ca-certificates; Debian's pip checks PyPI against that bundle.
    (etc / "ssl" / "certs").mkdir(parents=True, exist_ok=True)
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", etc / "ssl" / "certs")
    _write(root / "command" / "with-contenv", WITH_CONTENV)
    _write(root / "usr" / "bin" / "bashio", BASHIO)
    _write(root / "usr" / "bin" / "s6-setuidgid", S6_SETUIDGID)


def _python_service(root: Path) -> None:
    """`python3 -m venv` and `pip install -r requirements.txt`, as the Dockerfile's RUN does."""
    target = root / "opt" / "lifeops"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ADDON / "requirements.txt", target / "requirements.txt")
    env = {"PATH": "/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    for command in (
        ["python3", "-m", "venv", "/opt/lifeops/venv"],
        [
            "/opt/lifeops/venv/bin/pip",
            "install",
            "--no-cache-dir",
            "--quiet",
            "-r",
            "/opt/lifeops/requirements.txt",
        ],
    ):
        subprocess.run([chroot, str(root), *command], check=True, env=env)


def add_addon(root: Path) -> None:
    """The Dockerfile's `COPY lifeops_sync /opt/lifeops/lifeops_sync` and `COPY rootfs /`."""
    shutil.copytree(
        ADDON / "lifeops_sync",
        root / "opt" / "lifeops" / "lifeops_sync",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copytree(ADDON / "rootfs", root, dirs_exist_ok=True, symlinks=True)


def dockerfile_env() -> dict[str, str]:
    """The image's ENV lines (POSTGRES_MAJOR from its ARG)."""
    text = (ADDON / "Dockerfile").read_text()
    env: dict[str, str] = {}
    major = re.search(r"^ARG POSTGRES_MAJOR=(\d+)$", text, re.MULTILINE)
    if major is not None:
        env["POSTGRES_MAJOR"] = major.group(1)
    for block in re.findall(r"^ENV ((?:.*\\\n)*.*)$", text, re.MULTILINE):
        for name, value in re.findall(r"(\w+)=(\S+)", block.replace("\\\n", " ")):
            if not value.startswith("$"):
                env[name] = value
    return env


def main(argv: list[str] | None = None) -> int:
    """`build`: make (or find) the cached root and print where it is."""
    args = sys.argv[1:] if argv is None else argv
    if args != ["build"]:
        print(__doc__, file=sys.stderr)
        return 2
    print(build())
    return 0


if __name__ == "__main__":
    sys.exit(main())
