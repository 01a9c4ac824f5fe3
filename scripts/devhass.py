"""Boot a real Home Assistant with LifeOps loaded from this working tree.

One machinery for two users: `scripts/develop` (a person trying LifeOps with demo data) and the
end-to-end tests (a throwaway config folder and port). It writes a minimal configuration,
pre-seeds onboarding so no person has to click through it, starts `hass` as a child process,
creates the owner account and a long-lived token through Home Assistant's own HTTP APIs, and
sets up the LifeOps config entry through the config-flow REST API, as the UI would.

Run `python scripts/devhass.py --help` for the command line.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
import json
import os
from pathlib import Path
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
INTEGRATION = ROOT / "custom_components" / "lifeops"
DOMAIN = "lifeops"
CREDENTIALS_FILE = ".lifeops-dev.json"
DEFAULT_USER = "lifeops"

# What `develop` configures: core web pieces only (no default_config: it pulls in bluetooth,
# dhcp, cloud and more that need hardware or the internet), plus demo lights for wind-down.
CONFIGURATION_YAML = """\
# Written by scripts/devhass.py for LifeOps development. Edit freely; only the http: block it
# wrote is kept in step with --port (or dropped where Home Assistant keeps its HTTP settings).
homeassistant:
  name: LifeOps development
  time_zone: {time_zone}
  unit_system: metric
  country: SE
  currency: SEK
  latitude: 59.33
  longitude: 18.07
  elevation: 20

{http}frontend:

logger:
  default: warning
  logs:
    custom_components.lifeops: debug

{demo}"""

# Where Home Assistant reads its HTTP settings from configuration.yaml (up to 2026.7), the
# address devhass serves on. From 2026.8 they live in .storage/http only: an http: block is taken
# in once as a trial that reverts (with a restart) unless confirmed in the UI within five minutes,
# and is flagged as deprecated; devhass writes the store instead (DevHass._seed_http_store).
HTTP_YAML = """\
http:
  server_host: 127.0.0.1
  server_port: {port}

"""
# The block as devhass writes it, whatever the port: kept in step with --port, or dropped.
HTTP_YAML_WRITTEN = re.compile(r"^http:\n  server_host: 127\.0\.0\.1\n  server_port: \d+\n\n", re.M)
# The HTTP store in its first format (one set of settings), which every release reads: up to
# 2026.7 as the settings recovery mode uses, from 2026.8 as the confirmed (stable) settings.
HTTP_STORE = ".storage/http"
HTTP_STORE_FIRST_VERSION = 1

# Demo lights any integration could provide: template lights over helpers, so wind-down has
# real lights (with brightness) to pick and dim in a development Home Assistant. They use the
# `template:` form, which 2025.4 and 2026 both read (2026 refuses `light: - platform: template`);
# each light's entity id comes from its name (light.bedroom_lamp).
DEMO_YAML = """\
# Long-term statistics and history, for the Oura history the demo imports.
recorder:
history:
# Assist, so LifeOps' sentences can be tried ("how did I sleep").
conversation:

input_boolean:
  demo_bedroom_lamp:
    name: Bedroom lamp power
  demo_living_room_ceiling:
    name: Living room ceiling power

input_number:
  demo_bedroom_lamp_level:
    name: Bedroom lamp level
    min: 0
    max: 255
    initial: 200
  demo_living_room_ceiling_level:
    name: Living room ceiling level
    min: 0
    max: 255
    initial: 255

template:
  - light:
{lights}
"""

DEMO_LIGHT = """\
      - name: {name}
        unique_id: lifeops_demo_{key}
        state: "{{{{ is_state('input_boolean.demo_{key}', 'on') }}}}"
        level: "{{{{ states('input_number.demo_{key}_level') | int(0) }}}}"
        turn_on:
          action: input_boolean.turn_on
          target:
            entity_id: input_boolean.demo_{key}
        turn_off:
          action: input_boolean.turn_off
          target:
            entity_id: input_boolean.demo_{key}
        set_level:
          - action: input_number.set_value
            target:
              entity_id: input_number.demo_{key}_level
            data:
              value: "{{{{ brightness }}}}"
          - action: input_boolean.turn_on
            target:
              entity_id: input_boolean.demo_{key}
"""

DEMO_LIGHTS = {"bedroom_lamp": "Bedroom lamp", "living_room_ceiling": "Living room ceiling"}

# A sample of Oura's member data export (made-up days, Oura's format) the demo imports into the
# long-term statistics, so statistics graphs show months of sleep and readiness at once.
DEMO_OURA_EXPORT = "oura_demo_export"
DEMO_OURA_DAYS = 120

# The demo's Oura account: application credentials for the stand-in (scripts/oura_standin.py),
# which takes any, signed in through LifeOps' real config flow.
DEMO_OURA_CREDENTIALS = {"client_id": "lifeops-demo", "client_secret": "lifeops-demo-secret"}
# What the integration reads, once at startup, to reach the stand-in instead of Oura (development
# only; custom_components/lifeops/oura_account/endpoints.py).
DEV_OURA_URL_ENV = "LIFEOPS_DEV_OURA_URL"
# Home Assistant builds an OAuth redirect URI from the address the frontend is served on.
FRONTEND_BASE_HEADER = "HA-Frontend-Base"

# Targets the demo entry starts with (the options flow's fields).
DEMO_OPTIONS: dict[str, Any] = {
    "bedtime": "22:30:00",
    "wake_time": "06:30:00",
    "wind_down_minutes": 45,
    "wind_down_lights": [f"light.{key}" for key in DEMO_LIGHTS],
    "wind_down_areas": [],
    "notify_targets": [],
    "quiet_hours_start": "22:00:00",
    "quiet_hours_end": "07:00:00",
    "weekly_work_target_hours": 40,
    "work_cutoff": "18:00:00",
    "screen_time_limit_minutes": 120,
}


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_settings_in_storage() -> bool:
    """Whether the installed Home Assistant takes its HTTP settings from .storage/http only.

    True from 2026.8, where they moved out of configuration.yaml; the one place devhass tells
    the releases apart.
    """
    major, minor = (int(part) for part in version("homeassistant").split(".")[:2])
    return (major, minor) >= (2026, 8)


def http_yaml(port: int) -> str:
    """configuration.yaml's http: block for 127.0.0.1:port; nothing where HA keeps it in its store.

    A configuration.yaml written by hand (as a test may) takes it from here too, with the store
    written by DevHass.prepare.
    """
    return "" if http_settings_in_storage() else HTTP_YAML.format(port=port)


class DevHassError(RuntimeError):
    """Home Assistant did not come up, or refused a step of the set-up."""


@dataclass
class DevOura:
    """The stand-in for Oura's API and sign-in (scripts/oura_standin.py) on a free port."""

    log_file: Path
    time_zone: str
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        """Where it answers."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it, the recorded days ending today (in Home Assistant's time zone)."""
        self.port = self.port or free_port()
        today = datetime.now(ZoneInfo(self.time_zone)).date().isoformat()
        command = [sys.executable, str(ROOT / "scripts" / "oura_standin.py")]
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port), "--today", today],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_until_up(self, timeout: float = 30) -> None:
        """Wait until it accepts connections."""
        deadline = time.monotonic() + timeout
        while port_is_free(self.port):
            if self.process is None or self.process.poll() is not None:
                raise DevHassError(f"the Oura stand-in did not start; see {self.log_file}")
            if time.monotonic() > deadline:
                raise DevHassError(f"the Oura stand-in did not answer within {timeout} s")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop it."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Credentials:
    """The owner's login and a long-lived token, kept beside the config for the next start."""

    username: str
    password: str
    token: str

    def as_dict(self) -> dict[str, str]:
        """The stored form."""
        return {"username": self.username, "password": self.password, "token": self.token}


@dataclass
class DevHass:
    """One Home Assistant process with its config folder."""

    config_dir: Path
    port: int = 8123
    demo: bool = True
    time_zone: str = "Europe/Stockholm"
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    # The demo's stand-in for Oura, started and stopped with Home Assistant.
    oura: DevOura | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        """The base URL Home Assistant answers on."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def client_id(self) -> str:
        """The OAuth client id the develop tooling signs in as (HA wants a URL)."""
        return f"{self.url}/"

    @property
    def log_file(self) -> Path:
        """Where the child's stdout and stderr go."""
        return self.config_dir / "hass.out"

    # ---- preparing the config folder -------------------------------------------------------

    def prepare(self) -> None:
        """Write the config folder once; a second start keeps everything it holds."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        configuration = self.config_dir / "configuration.yaml"
        if not configuration.exists():
            demo = ""
            if self.demo:
                lights = "".join(
                    DEMO_LIGHT.format(key=key, name=name) for key, name in DEMO_LIGHTS.items()
                )
                demo = DEMO_YAML.format(lights=lights)
            configuration.write_text(
                CONFIGURATION_YAML.format(
                    http=http_yaml(self.port), time_zone=self.time_zone, demo=demo
                )
            )
        else:
            self._update_http_yaml(configuration)
        self._seed_http_store()
        self._link_integration()
        self._seed_onboarding()
        if self.demo and not (self.config_dir / DEMO_OURA_EXPORT).exists():
            from oura_sample_export import write_export

            write_export(
                self.config_dir / DEMO_OURA_EXPORT,
                end=datetime.now(ZoneInfo(self.time_zone)).date(),
                days=DEMO_OURA_DAYS,
                heart_rate_days=14,
            )

    def _update_http_yaml(self, configuration: Path) -> None:
        """Keep the http: block devhass wrote in step: this port, or gone from 2026.8 on."""
        text = configuration.read_text()
        updated = HTTP_YAML_WRITTEN.sub(lambda _: http_yaml(self.port), text, count=1)
        if updated != text:
            configuration.write_text(updated)

    def _seed_http_store(self) -> None:
        """Have Home Assistant serve on 127.0.0.1:port, from its HTTP store, with no trial.

        Left alone when what HA starts with already says so. Otherwise the store is written in
        its first format: 2026.8 and later move those settings into the confirmed (stable) slot,
        with nothing pending, so there is no trial to confirm and no revert. Earlier releases
        serve what configuration.yaml says and use the store in recovery mode only, which then
        stays on 127.0.0.1 too. Other HTTP settings in a store that is rewritten go.
        """
        store = self.config_dir / HTTP_STORE
        if store.exists() and self._store_serves_here(json.loads(store.read_text())):
            return
        store.parent.mkdir(exist_ok=True)
        store.write_text(
            json.dumps(
                {
                    "version": HTTP_STORE_FIRST_VERSION,
                    "minor_version": 1,
                    "key": "http",
                    "data": {"server_host": ["127.0.0.1"], "server_port": self.port},
                },
                indent=2,
            )
        )

    def _store_serves_here(self, stored: Mapping[str, Any]) -> bool:
        """Whether HA would start from this store on 127.0.0.1:port with no trial pending."""
        data = stored.get("data") or {}
        if stored.get("version") == HTTP_STORE_FIRST_VERSION:
            settings = data
        else:
            # 2026.8+: a pending set that has not failed is tried (and reverted) at the start.
            pending = data.get("pending")
            if pending is not None and pending.get("error") is None:
                return False
            settings = data.get("stable") or {}
        return bool(
            settings.get("server_host") == ["127.0.0.1"]
            and settings.get("server_port") == self.port
        )

    def _link_integration(self) -> None:
        """Load LifeOps from the working tree: custom_components/lifeops is a symlink to it."""
        custom = self.config_dir / "custom_components"
        custom.mkdir(exist_ok=True)
        link = custom / DOMAIN
        if link.is_symlink() and link.resolve() == INTEGRATION.resolve():
            return
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.exists():
            raise DevHassError(f"{link} is a real folder; remove it to load the working tree")
        link.symlink_to(INTEGRATION, target_is_directory=True)

    def _seed_onboarding(self) -> None:
        """Mark every onboarding step but the user as done, so HA installs nothing at runtime."""
        storage = self.config_dir / ".storage"
        storage.mkdir(exist_ok=True)
        onboarding = storage / "onboarding"
        if onboarding.exists():
            return
        onboarding.write_text(
            json.dumps(
                {
                    "version": 4,
                    "minor_version": 1,
                    "key": "onboarding",
                    "data": {"done": ["core_config", "analytics", "integration"]},
                }
            )
        )

    # ---- the process -----------------------------------------------------------------------

    def start(self) -> None:
        """Start `hass` as a child process in its own session (Ctrl-C reaches only us)."""
        if self.process is not None:
            raise DevHassError("Home Assistant is already running")
        if not port_is_free(self.port):
            raise DevHassError(
                f"port {self.port} on 127.0.0.1 is in use (another Home Assistant?); "
                "stop it or pass --port"
            )
        env = dict(os.environ)
        if self.demo:
            self.oura = DevOura(self.config_dir / "oura_standin.out", self.time_zone)
            self.oura.start()
            try:
                self.oura.wait_until_up()
            except DevHassError:
                self.oura.stop()
                raise
            env[DEV_OURA_URL_ENV] = self.oura.url
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "homeassistant",
                    "--config",
                    str(self.config_dir),
                    "--skip-pip",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.config_dir,
                env=env,
            )

    def stop(self, timeout: float = 60) -> int | None:
        """Ask Home Assistant to stop (SIGTERM) and wait; kill it if it hangs."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.oura is not None:
            self.oura.stop()
            self.oura = None
        return process.returncode

    def log_tail(self, lines: int = 40) -> str:
        """The end of Home Assistant's output, for error messages."""
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    async def wait_until_up(self, session: aiohttp.ClientSession, timeout: float = 180) -> None:
        """Wait until the HTTP API answers (401 without a token means it is up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                tail = await asyncio.to_thread(self.log_tail)
                raise DevHassError(f"Home Assistant exited with {self.process.returncode}:\n{tail}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(
                    f"{self.url}/api/", timeout=aiohttp.ClientTimeout(total=5)
                ) as response:
                    if response.status in (200, 401):
                        return
            await asyncio.sleep(0.25)
        tail = await asyncio.to_thread(self.log_tail)
        raise DevHassError(f"Home Assistant did not answer within {timeout} s:\n{tail}")

    async def wait_until_running(
        self, session: aiohttp.ClientSession, token: str, timeout: float = 180
    ) -> None:
        """Wait until start-up is over (HA handles SIGTERM cleanly only from then on)."""
        api = RestClient(session, self.url, token)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (await api.get("/api/config")).get("state") == "RUNNING":
                return
            await asyncio.sleep(0.25)
        raise DevHassError(f"Home Assistant did not finish starting within {timeout} s")

    # ---- onboarding and tokens -------------------------------------------------------------

    @property
    def credentials_file(self) -> Path:
        """Where the login and token are kept (readable by the owner only)."""
        return self.config_dir / CREDENTIALS_FILE

    async def ensure_owner(self, session: aiohttp.ClientSession) -> Credentials:
        """Return working credentials: the stored ones, or a new owner made through onboarding."""
        stored = await asyncio.to_thread(self._load_credentials)
        if stored is not None:
            if await self._token_works(session, stored.token):
                return stored
            # The token was revoked or the file is stale: sign in with the password again.
            code = await self._login(session, stored.username, stored.password)
            return await self._finish(session, code, stored.username, stored.password)
        password = os.urandom(12).hex()
        async with session.post(
            f"{self.url}/api/onboarding/users",
            json={
                "client_id": self.client_id,
                "name": "LifeOps Developer",
                "username": DEFAULT_USER,
                "password": password,
                "language": "en",
            },
        ) as response:
            if response.status != 200:
                raise DevHassError(
                    f"onboarding refused the owner account ({response.status}): "
                    f"{await response.text()}; delete {self.config_dir} to start afresh"
                )
            code = (await response.json())["auth_code"]
        return await self._finish(session, code, DEFAULT_USER, password)

    def _load_credentials(self) -> Credentials | None:
        if not self.credentials_file.exists():
            return None
        data = json.loads(self.credentials_file.read_text())
        return Credentials(data["username"], data["password"], data["token"])

    async def _token_works(self, session: aiohttp.ClientSession, token: str) -> bool:
        async with session.get(
            f"{self.url}/api/", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            return response.status == 200

    async def _login(self, session: aiohttp.ClientSession, username: str, password: str) -> str:
        """Sign in through HA's login flow; returns an authorization code."""
        async with session.post(
            f"{self.url}/auth/login_flow",
            json={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
        ) as response:
            flow = await response.json()
        async with session.post(
            f"{self.url}/auth/login_flow/{flow['flow_id']}",
            json={"client_id": self.client_id, "username": username, "password": password},
        ) as response:
            result = await response.json()
        if result.get("type") != "create_entry":
            raise DevHassError(f"sign-in as {username} failed: {result.get('errors')}")
        return str(result["result"])

    async def _finish(
        self, session: aiohttp.ClientSession, code: str, username: str, password: str
    ) -> Credentials:
        """Trade an authorization code for tokens, then for a long-lived token; store it."""
        async with session.post(
            f"{self.url}/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
        ) as response:
            if response.status != 200:
                raise DevHassError(f"token exchange failed ({response.status})")
            access_token = (await response.json())["access_token"]
        token = await self._long_lived_token(session, access_token)
        credentials = Credentials(username, password, token)
        await asyncio.to_thread(self._store_credentials, credentials)
        return credentials

    def _store_credentials(self, credentials: Credentials) -> None:
        self.credentials_file.touch(mode=0o600)
        self.credentials_file.write_text(json.dumps(credentials.as_dict(), indent=2))

    async def _long_lived_token(self, session: aiohttp.ClientSession, access_token: str) -> str:
        async with session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": access_token})
            if (await ws.receive_json()).get("type") != "auth_ok":
                raise DevHassError("the websocket API refused the new access token")
            await ws.send_json(
                {
                    "id": 1,
                    "type": "auth/long_lived_access_token",
                    "client_name": f"LifeOps develop {os.uname().nodename}",
                    "lifespan": 3650,
                }
            )
            reply = await ws.receive_json()
        if not reply.get("success"):
            raise DevHassError(f"no long-lived token: {reply.get('error')}")
        return str(reply["result"])

    # ---- the LifeOps entry -----------------------------------------------------------------

    async def ensure_entry(
        self,
        session: aiohttp.ClientSession,
        token: str,
        site: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Return the LifeOps config entry, creating it through the config-flow REST API."""
        api = RestClient(session, self.url, token)
        entries = await api.get(f"/api/config/config_entries/entry?domain={DOMAIN}")
        if entries:
            return dict(entries[0])
        flow = await api.post("/api/config/config_entries/flow", {"handler": DOMAIN})
        # The first step is a menu: this installation's site, or an Oura account.
        await api.post(
            f"/api/config/config_entries/flow/{flow['flow_id']}", {"next_step_id": "site"}
        )
        result = await api.post(
            f"/api/config/config_entries/flow/{flow['flow_id']}", dict(site or {"site": "home"})
        )
        if result.get("type") != "create_entry":
            raise DevHassError(f"the LifeOps config flow did not create an entry: {result}")
        entry = dict(result["result"])
        if options is None and self.demo:
            options = DEMO_OPTIONS
        if options is not None:
            flow = await api.post(
                "/api/config/config_entries/options/flow", {"handler": entry["entry_id"]}
            )
            path = f"/api/config/config_entries/options/flow/{flow['flow_id']}"
            await api.post(path, {"next_step_id": "targets"})
            result = await api.post(path, dict(options))
            if result.get("type") != "create_entry":
                raise DevHassError(f"the LifeOps options flow refused the demo targets: {result}")
        return entry

    async def ensure_oura_account(self, session: aiohttp.ClientSession, token: str) -> str:
        """Add the stand-in's Oura account as a person would; the flow's end ("create_entry").

        Application credentials first (once), then the config flow: the menu's Oura account,
        the sign-in page (the stand-in's, which sends the browser back to Home Assistant at
        once), and the flow finishes with the stand-in's token. "already_configured" when the
        account is there from an earlier start.
        """
        stored = await self._ws(session, token, {"type": "application_credentials/list"})
        if not any(item["domain"] == DOMAIN for item in stored):
            await self._ws(
                session,
                token,
                {"type": "application_credentials/create", "domain": DOMAIN}
                | DEMO_OURA_CREDENTIALS,
            )
        api = RestClient(session, self.url, token)
        # What a browser sends: where the frontend is, for the OAuth redirect URI.
        frontend = {FRONTEND_BASE_HEADER: self.url}
        flow = await api.post("/api/config/config_entries/flow", {"handler": DOMAIN}, frontend)
        path = f"/api/config/config_entries/flow/{flow['flow_id']}"
        step = await api.post(path, {"next_step_id": "oura"}, frontend)
        if step.get("type") != "external":
            raise DevHassError(f"the Oura sign-in did not open Oura's page: {step}")
        async with session.get(step["url"]) as response:  # follows the redirect back to HA
            if response.status != 200 or response.url.path != "/auth/external/callback":
                raise DevHassError(
                    f"the Oura sign-in did not come back to Home Assistant: {response.url}"
                )
        result = await api.post(path, {}, frontend)
        outcome = str(result.get("type") if result.get("type") != "abort" else result["reason"])
        if outcome not in ("create_entry", "already_configured"):
            raise DevHassError(f"the Oura sign-in did not add the account: {result}")
        return outcome

    async def _ws(self, session: aiohttp.ClientSession, token: str, message: dict[str, Any]) -> Any:
        """One command over the websocket API; its result."""
        async with session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": token})
            if (await ws.receive_json()).get("type") != "auth_ok":
                raise DevHassError("the websocket API refused the token")
            await ws.send_json({"id": 1, **message})
            reply = await ws.receive_json()
        if not reply.get("success"):
            raise DevHassError(f"{message['type']} failed: {reply.get('error')}")
        return reply["result"]

    async def import_demo_history(self, session: aiohttp.ClientSession, token: str) -> Any:
        """Import the sample Oura export (importing again changes nothing)."""
        api = RestClient(session, self.url, token)
        answer = await api.post(
            f"/api/services/{DOMAIN}/import_oura_export?return_response",
            {"path": DEMO_OURA_EXPORT},
        )
        return answer["service_response"]


# What `--sync` adds: an XP event logged at the demo cabin, which reaches this Home Assistant
# through the two sync services (its id makes writing it again on the next start change nothing).
DEMO_CABIN_XP: dict[str, Any] = {
    "id": "demo-cabin-hike",
    "agent": "fitness",
    "event_type": "hike",
    "amount": 40,
    "description": "A hike from the cabin (demo)",
    "origin": "summer_cabin",
    "habit_id": None,
}


@dataclass
class DevSync:
    """Two sync services for develop: this Home Assistant's own and a demo cabin calling it.

    Both run `python -m lifeops_sync serve` from addon/ (what the add-on runs) on 127.0.0.1, with
    their replicas and the secrets under `folder`, kept between starts.
    """

    folder: Path
    home_port: int = 0
    cabin_port: int = 0
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list, init=False)

    @property
    def home_url(self) -> str:
        """The URL of this Home Assistant's sync service."""
        return f"http://127.0.0.1:{self.home_port}"

    @property
    def cabin_url(self) -> str:
        """The demo cabin's sync service."""
        return f"http://127.0.0.1:{self.cabin_port}"

    def keys(self) -> dict[str, str]:
        """The API secret (both services') and the home-cabin link secret, made once."""
        path = self.folder / "secrets.json"
        if path.exists():
            return dict(json.loads(path.read_text()))
        made = {"api": secrets.token_urlsafe(32), "link": secrets.token_urlsafe(32)}
        self.folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(made))
        path.chmod(0o600)
        return made

    def _private(self, name: str, text: str) -> Path:
        """``text`` in a file of the sync folder that only this user can read."""
        path = self.folder / name
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(text)
        return path

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "lifeops_sync", *args]

    @property
    def _env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT / "addon")}

    def start(self) -> None:
        """Start both services on free ports; the cabin calls home every few seconds."""
        keys = self.keys()
        self.home_port = self.home_port or free_port()
        self.cabin_port = self.cabin_port or free_port()
        peers = {
            "home": [{"node_id": "cabin", "secret": keys["link"]}],
            "cabin": [{"node_id": "home", "secret": keys["link"], "url": self.home_url}],
        }
        api_file = self._private("api.secret", keys["api"])
        for node_id, port in (("home", self.home_port), ("cabin", self.cabin_port)):
            # Secrets go in files only this user reads, never on a command line (`ps` shows it).
            options = self._private(
                f"{node_id}.json", json.dumps({"node_id": node_id, "peers": peers[node_id]})
            )
            with (self.folder / f"{node_id}.log").open("ab") as log:
                self.processes.append(
                    subprocess.Popen(
                        self._command(
                            "serve",
                            "--config",
                            str(options),
                            "--data-dir",
                            str(self.folder / node_id),
                            "--port",
                            str(port),
                            "--api-secret-file",
                            str(api_file),
                            "--sync-interval",
                            "5",
                            "--retry-max",
                            "10",
                        ),
                        env=self._env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )

    async def wait_until_up(self, session: aiohttp.ClientSession, timeout: float = 30) -> None:
        """Wait for both services' health check."""
        deadline = time.monotonic() + timeout
        for url in (self.home_url, self.cabin_url):
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(url + "/v1/health") as response:
                        if response.status == 200:
                            break
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                    raise DevHassError(
                        f"the sync service at {url} did not start; see {self.folder}"
                    )
                await asyncio.sleep(0.2)

    def write_cabin_demo(self) -> None:
        """Log the demo cabin's XP event there (through its local API, as its LifeOps would)."""
        event = {**DEMO_CABIN_XP, "time": datetime.now(ZoneInfo("UTC")).isoformat()}
        ops = [{"op": "add", "collection": "xp", "key": event["id"], "value": event}]
        done = subprocess.run(
            self._command("write", "--url", self.cabin_url, "--node-id", "cabin", json.dumps(ops)),
            env={**self._env, "LIFEOPS_SYNC_API_SECRET": self.keys()["api"]},
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise DevHassError(f"the demo cabin refused its XP event: {done.stderr.decode()}")

    def stop(self) -> None:
        """Stop both services."""
        processes, self.processes = self.processes, []
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def configure_sync(
    session: aiohttp.ClientSession, hass: DevHass, token: str, entry_id: str, sync: DevSync
) -> None:
    """Point the LifeOps entry at the home service through the options flow's sync step."""
    api = RestClient(session, hass.url, token)
    flow = await api.post("/api/config/config_entries/options/flow", {"handler": entry_id})
    path = f"/api/config/config_entries/options/flow/{flow['flow_id']}"
    await api.post(path, {"next_step_id": "sync"})
    result = await api.post(path, {"url": sync.home_url, "secret": sync.keys()["api"]})
    if result.get("type") != "create_entry":
        raise DevHassError(f"the LifeOps sync step refused the demo service: {result}")


@dataclass
class RestClient:
    """A few authenticated calls to Home Assistant's REST API."""

    session: aiohttp.ClientSession
    url: str
    token: str

    async def get(self, path: str) -> Any:
        """GET a path; raise on any status but 200."""
        async with self.session.get(self.url + path, headers=self._headers) as response:
            return await self._read(response)

    async def post(
        self, path: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> Any:
        """POST JSON to a path; raise on any status but 200 and 201."""
        async with self.session.post(
            self.url + path, json=dict(body), headers={**self._headers, **(headers or {})}
        ) as response:
            return await self._read(response)

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @staticmethod
    async def _read(response: aiohttp.ClientResponse) -> Any:
        if response.status not in (200, 201):
            raise DevHassError(
                f"{response.method} {response.url.path} answered {response.status}: "
                f"{await response.text()}"
            )
        return await response.json()


async def bring_up(hass: DevHass, timeout: float = 180, sync: DevSync | None = None) -> Credentials:
    """Prepare, start, onboard and configure: the whole develop sequence but the waiting.

    With `sync`, its two services start first and the entry syncs through the home one.
    """
    await asyncio.to_thread(hass.prepare)
    try:
        async with aiohttp.ClientSession() as session:
            if sync is not None:
                await asyncio.to_thread(sync.start)
                await sync.wait_until_up(session)
            await asyncio.to_thread(hass.start)
            await hass.wait_until_up(session, timeout)
            credentials = await hass.ensure_owner(session)
            await hass.wait_until_running(session, credentials.token, timeout)
            entry = await hass.ensure_entry(session, credentials.token)
            if hass.demo:
                await hass.import_demo_history(session, credentials.token)
                await hass.ensure_oura_account(session, credentials.token)
            if sync is not None:
                await configure_sync(session, hass, credentials.token, entry["entry_id"], sync)
                if hass.demo:
                    await asyncio.to_thread(sync.write_cabin_demo)
    except BaseException:
        await asyncio.to_thread(hass.stop)
        if sync is not None:
            await asyncio.to_thread(sync.stop)
        raise
    return credentials


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="devhass",
        description=(
            "Boot a real Home Assistant on 127.0.0.1 with LifeOps from this working tree: "
            "onboarding done, a LifeOps entry with demo targets, and a long-lived token printed. "
            "Ctrl-C stops it; the next start keeps the data."
        ),
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=ROOT / ".dev" / "config",
        help="Home Assistant config folder (default: .dev/config in the working tree)",
    )
    parser.add_argument("--port", type=int, default=8123, help="HTTP port (default: 8123)")
    parser.add_argument("--no-demo", action="store_true", help="no demo lights and no demo targets")
    parser.add_argument(
        "--sync",
        action="store_true",
        help=(
            "also run two sync services (this Home Assistant's and a demo cabin's) next to the "
            "config folder, and sync LifeOps through them"
        ),
    )
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run Home Assistant until Ctrl-C."""
    args = _parse_args(argv)
    hass = DevHass(config_dir=args.config.resolve(), port=args.port, demo=not args.no_demo)
    sync = DevSync(args.config.resolve().parent / "sync") if args.sync else None
    # Ctrl-C and SIGTERM (from a service manager, say) both stop Home Assistant cleanly; set
    # both explicitly, since a shell starts background jobs with SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    try:
        credentials = asyncio.run(bring_up(hass, sync=sync))
        print(
            "\nLifeOps is running in Home Assistant\n"
            f"  URL:      {hass.url}\n"
            f"  login:    {credentials.username} / {credentials.password}\n"
            f"  token:    {credentials.token}\n"
            f"  config:   {hass.config_dir}\n"
            f"  log:      {hass.log_file}\n"
            f"  try:      curl -s -H 'Authorization: Bearer <token>' {hass.url}/api/states\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        if sync is not None:
            print(
                f"  sync:     this site's service {sync.home_url}, the demo cabin's "
                f"{sync.cabin_url} (logs and replicas in {sync.folder})",
                flush=True,
            )
        assert hass.process is not None
        return hass.process.wait()
    except KeyboardInterrupt:
        print("\nStopping Home Assistant...", file=sys.stderr, flush=True)
        code = hass.stop()
        print(f"Stopped (exit code {code}).", file=sys.stderr)
        return 0
    except DevHassError as err:
        hass.stop()
        print(f"develop: {err}", file=sys.stderr)
        return 1
    finally:
        if sync is not None:
            sync.stop()


if __name__ == "__main__":
    sys.exit(main())
