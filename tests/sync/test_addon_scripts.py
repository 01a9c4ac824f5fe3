"""The add-on's PostgreSQL major-version guard, run outside the container with stand-ins for
bashio, s6 and the PostgreSQL tools: it checks and backs up first, and on any failure keeps the
old data untouched, says so, and keeps TimescaleDB off instead of leaving the add-on broken."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUARD = ROOT / "addon" / "rootfs" / "usr" / "local" / "bin" / "lifeops-pg-guard"

BASHIO = """
bashio::log.info() { echo "INFO: $*" >&2; }
bashio::log.warning() { echo "WARNING: $*" >&2; }
bashio::log.error() { echo "ERROR: $*" >&2; }
"""
FAKE_INITDB = """#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = "-D" ] && dir="$2"; shift; done
mkdir -p "$dir" && echo 17 > "$dir/PG_VERSION" && touch "$dir/postgresql.conf"
"""
FAKE_PG_UPGRADE = """#!/bin/sh
check=no
for arg in "$@"; do [ "$arg" = "--check" ] && check=yes; done
while [ $# -gt 0 ]; do [ "$1" = "-D" ] && new="$2"; shift; done
if [ "$check" = yes ]; then [ "$FAKE_UPGRADE" = check-fails ] && exit 1; exit 0; fi
[ "$FAKE_UPGRADE" = fails ] && { echo partial > "$new/partial"; exit 1; }
echo upgraded > "$new/upgraded"
"""


def _exe(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def world(tmp_path: Path) -> Path:
    _exe(tmp_path / "bin" / "s6-setuidgid", '#!/bin/sh\nshift\nexec "$@"\n')
    (tmp_path / "bashio.sh").write_text(BASHIO)
    _exe(tmp_path / "lib" / "16" / "bin" / "pg_ctl", "#!/bin/sh\nexit 0\n")
    _exe(tmp_path / "lib" / "17" / "bin" / "initdb", FAKE_INITDB)
    _exe(tmp_path / "lib" / "17" / "bin" / "pg_upgrade", FAKE_PG_UPGRADE)
    data = tmp_path / "data" / "postgres"
    (data / "base").mkdir(parents=True)
    (data / "PG_VERSION").write_text("16\n")
    (data / "base" / "1").write_text("the user's metrics")
    (data / "postgresql.conf").write_text("shared_preload_libraries = 'timescaledb'\n")
    (data / "pg_hba.conf").write_text("local all all trust\n")
    (tmp_path / "run").mkdir()
    return tmp_path


def run_guard(world: Path, upgrade: str = "ok") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{world / 'bin'}:{os.environ['PATH']}",
        "POSTGRES_MAJOR": "17",
        "LIFEOPS_DATA": str(world / "data"),
        "LIFEOPS_RUN": str(world / "run"),
        "PG_LIB": str(world / "lib"),
        "PG_USER": "root",
        "FAKE_UPGRADE": upgrade,
    }
    command = f'source "{world / "bashio.sh"}"; source "{GUARD}"'
    return subprocess.run(
        ["bash", "-c", command], env=env, capture_output=True, text=True, check=False
    )


def tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()
    }


def test_same_major_starts_as_is(world: Path) -> None:
    (world / "data" / "postgres" / "PG_VERSION").write_text("17\n")
    result = run_guard(world)
    assert result.returncode == 0, result.stderr
    assert not (world / "run" / "lifeops-postgres-disabled").exists()


def test_upgrade_backs_up_and_keeps_the_old_data(world: Path) -> None:
    before = tree(world / "data" / "postgres")
    result = run_guard(world)
    assert result.returncode == 0, result.stderr
    data = world / "data"
    assert (data / "postgres" / "upgraded").exists()
    assert (data / "postgres" / "PG_VERSION").read_text().strip() == "17"
    (old,) = data.glob("postgres-16-old-*")
    (backup,) = data.glob("postgres-16-backup-*")
    assert tree(old) == before
    assert tree(backup) == before
    assert not (world / "run" / "lifeops-postgres-disabled").exists()
    assert "Upgraded PostgreSQL 16 to 17" in result.stderr


@pytest.mark.parametrize("failure", ["check-fails", "fails"])
def test_a_failed_upgrade_leaves_the_data_untouched_and_says_so(world: Path, failure: str) -> None:
    before = tree(world / "data" / "postgres")
    result = run_guard(world, failure)
    assert result.returncode == 0, result.stderr
    assert tree(world / "data" / "postgres") == before
    assert not list((world / "data").glob("postgres-17-upgrading"))
    assert "Your data is untouched" in result.stderr
    reason = (world / "run" / "lifeops-postgres-disabled").read_text()
    assert "pg_upgrade" in reason


def test_missing_old_server_refuses_before_touching_anything(world: Path) -> None:
    (world / "lib" / "16" / "bin" / "pg_ctl").unlink()
    before = tree(world / "data")
    result = run_guard(world)
    assert result.returncode == 0, result.stderr
    assert tree(world / "data") == before
    assert "not in this image" in (world / "run" / "lifeops-postgres-disabled").read_text()


def test_newer_data_than_the_addon_is_refused(world: Path) -> None:
    (world / "data" / "postgres" / "PG_VERSION").write_text("18\n")
    before = tree(world / "data")
    run_guard(world)
    assert tree(world / "data") == before
    assert "newer" in (world / "run" / "lifeops-postgres-disabled").read_text()


@pytest.mark.parametrize(
    "content",
    [
        # Bash arithmetic evaluates array subscripts: this once ran the command as root.
        "a[$(touch {marker})]\n",
        "16 + $(touch {marker})\n",
        "x\n",
        "\n",
        "1234\n",
    ],
)
def test_a_pg_version_that_is_not_digits_is_refused_and_never_run(
    world: Path, content: str
) -> None:
    marker = world / "ran"
    (world / "data" / "postgres" / "PG_VERSION").write_text(content.format(marker=marker))
    before = tree(world / "data")
    result = run_guard(world)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert tree(world / "data") == before
    assert "digits only" in (world / "run" / "lifeops-postgres-disabled").read_text()


def test_a_zero_padded_version_is_read_as_decimal(world: Path) -> None:
    (world / "data" / "postgres" / "PG_VERSION").write_text("017\n")
    result = run_guard(world)
    assert result.returncode == 0, result.stderr
    assert not (world / "run" / "lifeops-postgres-disabled").exists()
