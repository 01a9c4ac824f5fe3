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
