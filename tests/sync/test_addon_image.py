"""The add-on's image and start-up files agree with each other: stopping in time, secrets off
the command line."""

from __future__ import annotations

from pathlib import Path
import re

import yaml

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addon"
S6 = ADDON / "rootfs" / "etc" / "s6-overlay" / "s6-rc.d"


def dockerfile_env(name: str) -> str:
    match = re.search(rf"\b{name}=(\S+)", (ADDON / "Dockerfile").read_text())
    assert match is not None, name
    return match.group(1)


def test_postgres_gets_a_fast_shutdown_and_the_time_to_finish_it() -> None:
    config = yaml.safe_load((ADDON / "config.yaml").read_text())
    # SIGTERM would be PostgreSQL's smart shutdown, which waits for the integration to hang up.
    assert (S6 / "postgres" / "down-signal").read_text().strip() == "SIGINT"
    grace_s = int(dockerfile_env("S6_SERVICES_GRACETIME")) / 1000
    assert grace_s >= 120
    # The Supervisor's stop timeout (at most 300) covers s6's wait with a margin.
    assert grace_s + 30 <= config["timeout"] <= 300


def test_no_secret_is_passed_on_a_command_line() -> None:
    run = (S6 / "lifeops-sync" / "run").read_text()
    assert "--api-secret-file /data/secrets/api_secret" in run
    assert not re.search(r"--api-secret\s", run)
    assert "--peer" not in run
    init = (ADDON / "rootfs" / "etc" / "s6-overlay" / "scripts" / "init-lifeops.sh").read_text()
    assert "ensure_secret api_secret" in init
    assert "umask 077" in init


def test_the_listen_address_option_reaches_the_service() -> None:
    config = yaml.safe_load((ADDON / "config.yaml").read_text())
    pattern = config["schema"]["listen_address"]
    regex = re.fullmatch(r"match\((.*)\)\?", pattern)
    assert regex is not None
    for good in ("", "10.8.0.1", "0.0.0.0", "fd00::1", "::"):
        assert re.fullmatch(regex.group(1), good), good
    for bad in ("example.org", "10.8.0.1; reboot", "$(id)"):
        assert not re.fullmatch(regex.group(1), bad), bad
    assert "bashio::config 'listen_address'" in (S6 / "lifeops-sync" / "run").read_text()


def test_the_image_and_the_tests_install_one_package_list() -> None:
    import timescaledb

    dockerfile = (ADDON / "Dockerfile").read_text()
    assert "COPY debian-packages.txt /tmp/debian-packages.txt" in dockerfile
    assert "/tmp/debian-packages.txt | xargs apt-get install" in dockerfile
    assert timescaledb.PACKAGE_LIST == ADDON / "debian-packages.txt"
    pinned = timescaledb.pinned_packages()
    major = re.search(r"^ARG POSTGRES_MAJOR=(\d+)$", dockerfile, re.MULTILINE)
    assert major is not None
    assert {f"postgresql-{major.group(1)}", f"postgresql-{major.group(1)}-timescaledb"} <= set(
        pinned
    )
    for name, version in pinned.items():
        # Exact Debian versions only: no wildcard, no range, no release name.
        assert re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", name), name
        assert re.fullmatch(r"[0-9][A-Za-z0-9.+~-]*", version), (name, version)
    # Everything else the image installs with apt is pinned too.
    install = dockerfile.split("xargs apt-get install", 1)[1].split("&& if", 1)[0]
    extra = [
        word for word in install.split() if word not in ("-y", "--no-install-recommends", "\\")
    ]
    assert extra == ["python3=3.13.5-1", "python3-venv=3.13.5-1"]


def test_the_test_database_runs_exactly_the_pinned_versions() -> None:
    import timescaledb

    root = timescaledb.install()
    for name, version in timescaledb.pinned_packages().items():
        assert timescaledb.installed_version(root, name) == version, name


def test_the_addon_announces_the_service_lifeops_reads() -> None:
    from custom_components.lifeops.const import DOMAIN
    from lifeops_sync.discovery import SERVICE

    config = yaml.safe_load((ADDON / "config.yaml").read_text())
    # The Supervisor hands a discovery to the integration whose domain is the service's name.
    assert config["discovery"] == [SERVICE] == [DOMAIN]
    script = ADDON / "rootfs" / "etc" / "s6-overlay" / "scripts" / "lifeops-discovery.sh"
    text = script.read_text()
    assert "--api-secret-file /data/secrets/api_secret" in text
    assert "--database-password-file /data/secrets/lifeops_password" in text
