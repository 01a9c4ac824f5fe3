"""Unpack packages of a Debian release into a folder, without touching the machine's own apt state.

Shared by `timescaledb.py` (PostgreSQL and TimescaleDB from trixie) and `debian_python.py`
(Python 3.14 from forky). apt-get runs with a private configuration under the caller's cache
folder: its own sources list, package lists, status file and download cache, so the host's
packages and lists are never read or changed. The packages are unpacked with `dpkg-deb -x`; no
maintainer script runs. Needs apt-get and dpkg-deb (any Debian-like machine).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
import shutil
import subprocess
import sys

MIRROR = "http://deb.debian.org/debian"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def log(tag: str, message: str) -> None:
    """Progress on stderr."""
    print(f"[{tag}] {message}", file=sys.stderr, flush=True)


def apt_options(apt: Path) -> list[str]:
    """apt-get options that keep every piece of state inside `apt`."""
    return [
        "-o",
        f"Dir::Etc::sourcelist={apt / 'sources.list'}",
        "-o",
        "Dir::Etc::sourceparts=-",
        "-o",
        f"Dir::State::Lists={apt / 'lists'}",
        "-o",
        f"Dir::State::status={apt / 'status'}",
        "-o",
        f"Dir::Cache={apt / 'cache'}",
        "-o",
        f"Dir::Cache::archives={apt / 'cache' / 'archives'}",
        "-o",
        "APT::Sandbox::User=root",
        "-o",
        "Debug::NoLocking=1",
        # A testing release's Release file can be past its valid-until date between updates.
        "-o",
        "Acquire::Check-Valid-Until=false",
        "-q",
    ]


def download(tag: str, suite: str, packages: Iterable[str], apt: Path) -> list[Path]:
    """Download `packages` of `suite` and everything they depend on; return the .deb files."""
    wanted = list(packages)
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            sys.exit(f"[{tag}] error: {tool} not found; this needs a Debian-like machine")
    (apt / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    (apt / "sources.list").write_text(f"deb [signed-by={KEYRING}] {MIRROR} {suite} main\n")
    (apt / "status").touch()
    options = apt_options(apt)
    log(tag, f"apt-get update ({suite}, private state in {apt})")
    subprocess.run(["apt-get", *options, "update"], check=True, stdout=subprocess.DEVNULL)
    log(tag, f"downloading {' '.join(wanted)} and their dependencies")
    subprocess.run(
        [
            "apt-get",
            *options,
            "--download-only",
            "--yes",
            "--no-install-recommends",
            "install",
            *wanted,
        ],  # fmt: skip
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return sorted((apt / "cache" / "archives").glob("*.deb"))


def unpack(debs: Iterable[Path], root: Path, skip: tuple[str, ...] = ()) -> int:
    """Unpack every .deb whose name does not start with one of `skip`; return how many."""
    unpacked = 0
    for deb in debs:
        if deb.name.startswith(skip):
            continue
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        unpacked += 1
    return unpacked


def usr_merge(root: Path) -> None:
    """Make /bin, /sbin, /lib and /lib64 links into /usr, as a merged-/usr Debian has them."""
    for name in ("bin", "sbin", "lib", "lib64"):
        top, usr = root / name, root / "usr" / name
        usr.mkdir(parents=True, exist_ok=True)
        if top.is_symlink():
            continue
        if top.is_dir():
            subprocess.run(["cp", "-a", f"{top}/.", str(usr)], check=True)
            shutil.rmtree(top)
        top.symlink_to(f"usr/{name}")


def stage(
    tag: str, suite: str, packages: Iterable[str], cache: Path, skip: tuple[str, ...] = ()
) -> tuple[Path, int]:
    """Download `packages` (state in `cache`/apt) and unpack them into a new `cache`/root.partial.

    Returns that folder, to be finished and renamed into place by the caller, and how many
    packages went into it.
    """
    debs = download(tag, suite, packages, cache / "apt")
    staging = cache / "root.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging, unpack(debs, staging, skip=skip)
