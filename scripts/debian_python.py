#!/usr/bin/env python3
"""Provide a Python 3.14 for the current Home Assistant from Debian forky's packages.

Home Assistant 2026.3 and later need Python >= 3.14.2. Where the machine has no such Python (this
project's machines run Debian bookworm: 3.11, and 3.13.0 through pyenv), this script takes
Debian forky's `python3.14` with the C library and the few libraries it links against, unpacks
them into a folder under ~/.cache/lifeops/python (see `debian_root.py`: the machine's apt state is
not touched), and points the interpreter at that folder's own loader and libraries with
`patchelf` (also forky's, run through the same loader). The result is an ordinary executable:
`python3.14 -m venv`, subprocesses started with `sys.executable`, C extensions from wheels and
from source all work as with an installed Python; nothing needs a chroot or LD_LIBRARY_PATH.

    debian_python.py install     # once (about 10 s); prints the interpreter's path
    debian_python.py path        # the interpreter's path if installed, else exit 1
    debian_python.py cppflags    # -I flag that lets C extensions built from source find pyconfig.h

Set LIFEOPS_CACHE to move the cache. Needs apt-get and dpkg-deb; no root is needed when the
cache folder is writable.
"""

from __future__ import annotations

import argparse
import fcntl
import os
from pathlib import Path
import platform
import shutil
import subprocess
import sys
import time

import debian_root

SUITE = "forky"
VERSION = "3.14"
MINIMUM = (3, 14, 2)  # what Home Assistant 2026.3 and later ask for
PACKAGES = (f"python{VERSION}", f"python{VERSION}-venv", f"python{VERSION}-dev", "libc6",
            "libstdc++6", "patchelf")  # fmt: skip
# Headers and tools for building against forky's C library are not wanted: C extensions are
# built by the host's compiler against the host's headers, and only need Python's own headers.
SKIP_PREFIXES = ("libc6-dev", "libc-dev-bin", "linux-libc-dev", "libcrypt-dev", "libexpat1-dev",
                 "zlib1g-dev", "rpcsvc-proto", "ca-certificates", "openssl_")  # fmt: skip
LAYOUT = 1  # bump when the unpacked layout changes, to rebuild caches
MULTIARCH = {"x86_64": ("x86_64-linux-gnu", "ld-linux-x86-64.so.2"),
             "aarch64": ("aarch64-linux-gnu", "ld-linux-aarch64.so.1")}  # fmt: skip


def log(message: str) -> None:
    """Progress on stderr."""
    debian_root.log("python", message)


def cache_dir() -> Path:
    """The folder everything is cached in."""
    base = os.environ.get("LIFEOPS_CACHE") or str(Path.home() / ".cache" / "lifeops")
    return Path(base) / "python" / f"{SUITE}-{VERSION}"


def _triplet() -> tuple[str, str]:
    machine = platform.machine()
    if machine not in MULTIARCH:
        sys.exit(f"[python] error: no recipe for a {machine} machine (only {', '.join(MULTIARCH)})")
    return MULTIARCH[machine]


def interpreter() -> Path:
    """Where the interpreter is once installed."""
    return cache_dir() / "root" / "usr" / "bin" / f"python{VERSION}"


def include_dir() -> Path:
    """A folder holding only `<triplet>/python3.14`, for building C extensions.

    Debian's pyconfig.h includes that folder by its multiarch path, outside Python's own include
    folder; the rest of forky's headers must stay out of the host compiler's way.
    """
    return cache_dir() / "include"


def _ready() -> bool:
    stamp = cache_dir() / "ready"
    return stamp.is_file() and stamp.read_text().strip() == str(LAYOUT) and interpreter().is_file()


def install() -> Path:
    """Download, unpack and patch the interpreter once; return its path. Quick when done."""
    if _ready():
        return interpreter()
    cache_dir().mkdir(parents=True, exist_ok=True)
    with (cache_dir() / "install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be installing right now
        if not _ready():
            _install()
    return interpreter()


def _install() -> None:
    started = time.monotonic()
    triplet, loader_name = _triplet()
    staging, unpacked = debian_root.stage("python", SUITE, PACKAGES, cache_dir(), SKIP_PREFIXES)
    root = cache_dir() / "root"
    libs = root / "usr" / "lib" / triplet
    loader = libs / loader_name
    staged_libs = staging / "usr" / "lib" / triplet
    if not (staged_libs / loader_name).is_file():
        sys.exit(f"[python] error: {loader_name} is not in forky's libc6 where expected")
    # Point the interpreter at the root's loader, and (DT_RPATH, which unlike RUNPATH also covers
    # the libraries its extension modules load) at the root's libraries, with paths as they
    # will be once the staging folder is renamed into place.
    staged_python = staging / "usr" / "bin" / f"python{VERSION}"
    subprocess.run(
        [str(staged_libs / loader_name), "--library-path", str(staged_libs),
         str(staging / "usr" / "bin" / "patchelf"), "--no-sort", "--set-interpreter", str(loader),
         "--force-rpath", "--set-rpath", str(libs), str(staged_python)],
        check=True,
    )  # fmt: skip
    shutil.rmtree(root, ignore_errors=True)
    staging.rename(root)
    include = include_dir()
    shutil.rmtree(include, ignore_errors=True)
    (include / triplet).mkdir(parents=True)
    (include / triplet / f"python{VERSION}").symlink_to(
        root / "usr" / "include" / triplet / f"python{VERSION}"
    )
    _check(interpreter())
    shutil.rmtree(cache_dir() / "apt" / "cache" / "archives", ignore_errors=True)
    (cache_dir() / "ready").write_text(f"{LAYOUT}\n")
    log(f"unpacked {unpacked} packages into {root} in {time.monotonic() - started:.1f} s")


def _check(python: Path) -> None:
    """The interpreter starts, is new enough, and has the standard library's C parts."""
    probe = (
        "import sys, ssl, sqlite3, ctypes, zlib, lzma, bz2, decimal, uuid, zoneinfo, venv;"
        f"sys.exit(0 if sys.version_info[:3] >= {MINIMUM} else 3)"
    )
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
    if result.returncode:
        sys.exit(f"[python] error: the unpacked {python} does not work:\n{result.stderr}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="download, unpack and patch (once); print the path")
    sub.add_parser("path", help="print the interpreter's path; exit 1 when not installed")
    sub.add_parser("cppflags", help="print the -I flag for building C extensions from source")
    args = parser.parse_args(argv)
    if args.command == "install":
        print(install())
    elif args.command == "path":
        if not _ready():
            return 1
        print(interpreter())
    else:
        print(f"-I{include_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
