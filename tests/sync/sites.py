"""Real ``lifeops_sync serve`` processes in the documented topology: home (no peer URLs) and
cabins that call home; secrets in files (never on a command line); a hostile peer holding a valid
secret that sends hand-made batches; polling helpers with a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import dataclasses
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
from typing import Any

from aiohttp import ClientConnectionError, ClientSession
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lifeops_sync.auth import API_KEY_ID, sign_request
from lifeops_sync.crdt import Part, site_of
from lifeops_sync.hlc import WallClock
from lifeops_sync.origin import SiteKey, proof_of
from lifeops_sync.service import ApiClient
from lifeops_sync.wire import CONTENT_TYPE, Batch, decode, encode
from tests.ports import free_port

from .nodes import API_SECRET, link_secret

ROOT = Path(__file__).resolve().parents[2]
HOME = "home"


@dataclass
class Site:
    """One ``python -m lifeops_sync serve`` process and its data folder."""

    node_id: str
    folder: Path
    peers: list[dict[str, str]]
    skew: float = 0.0
    interval: float = 0.3
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.folder / self.node_id

    def start(self) -> None:
        options = self.folder / f"{self.node_id}.json"
        options.write_text(json.dumps({"node_id": self.node_id, "peers": self.peers}))
        secret = self.folder / "api_secret"
        secret.write_text(API_SECRET)
        for path in (options, secret):
            path.chmod(0o600)
        log = (self.folder / f"{self.node_id}.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lifeops_sync",
                "serve",
                "--config",
                str(options),
                "--api-secret-file",
                str(secret),
                "--data-dir",
                str(self.data_dir),
                "--secrets-dir",
                str(self.folder / f"{self.node_id}-secrets"),
                "--port",
                str(self.port),
                "--clock-skew",
                str(self.skew),
                "--sync-interval",
                str(self.interval),
                "--retry-max",
                "0.5",
                "--no-fsync",
            ],
            env={**os.environ, "PYTHONPATH": str(ROOT / "addon")},
            stdout=log,
            stderr=log,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def backup(self, target: Path) -> None:
        """What the add-on's backup_pre does: the service's consistent copy of the replica."""
        subprocess.run(
            [
                sys.executable,
                "-m",
                "lifeops_sync",
                "backup",
                "--data-dir",
                str(self.data_dir),
                "--node-id",
                self.node_id,
                "--to",
                str(target),
            ],
            env={**os.environ, "PYTHONPATH": str(ROOT / "addon")},
            check=True,
        )

    def restore(self, copy: Path) -> None:
        """What a restore and the add-on's start path do: the live folder is gone (it is
        excluded from backups) and is rebuilt from the copy. The site must be stopped."""
        assert self.process is None
        shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(mode=0o700)
        shutil.copyfile(copy, self.data_dir / "sync.db")


@dataclass
class Sites:
    session: ClientSession
    folder: Path
    sites: dict[str, Site]
    #: The hostile peer's own site key: it signs what it sends as itself (origin.py), so what
    #: the tests check is the rule at hand, not a missing signature.
    hostile_key: SiteKey = field(default_factory=lambda: SiteKey(Ed25519PrivateKey.generate()))

    def __getitem__(self, node: str) -> Site:
        return self.sites[node]

    def api(self, node: str) -> ApiClient:
        return ApiClient(self.sites[node].url, API_SECRET, node, self.session)

    async def start(self, node: str) -> None:
        site = self.sites[node]
        await asyncio.to_thread(site.start)
        for _ in range(400):
            try:
                async with self.session.get(site.url + "/v1/health") as r:
                    if r.status == 200:
                        return
            except ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError(f"{node} did not start; see {self.folder}/{node}.log")

    async def stop(self, node: str) -> None:
        await asyncio.to_thread(self.sites[node].stop)

    async def request(self, node: str, method: str, path: str, payload: Any = None) -> Any:
        status, doc = await self.api(node).request(method, path, payload)
        assert status == 200, (node, path, status, doc)
        return doc

    async def write(self, node: str, *ops: dict[str, Any]) -> dict[str, Any]:
        doc = await self.request(node, "POST", "/v1/write", {"ops": list(ops)})
        assert isinstance(doc, dict)
        return doc

    async def records(self, node: str, collection: str) -> dict[str, dict[str, Any]]:
        doc = await self.request(node, "GET", f"/v1/records?collection={collection}")
        return dict(doc["records"])

    async def vector(self, node: str) -> dict[str, int]:
        return dict((await self.request(node, "GET", "/v1/state"))["vector"])

    async def raw(
        self, node: str, method: str, path: str, body: bytes, key_id: str = API_KEY_ID
    ) -> tuple[int, Any]:
        """A request with any body, signed with the API secret or a peer's (``key_id``)."""
        secret = API_SECRET if key_id == API_KEY_ID else link_secret(key_id, node)
        headers = sign_request(secret, method, path, key_id, node, WallClock()(), body)
        headers["Content-Type"] = CONTENT_TYPE if path == "/v1/sync" else "application/json"
        url = self.sites[node].url + path
        async with self.session.request(method, url, data=body, headers=headers) as r:
            data = await r.read()
            if r.status == 200 and path == "/v1/sync":
                return r.status, decode(data)
            return r.status, json.loads(data) if data else None

    async def hostile(self, batch: Batch, to: str = HOME) -> tuple[int, Any]:
        """A batch from a peer with a valid secret that says what it likes.

        Its own entries (parts of its own site with entries) go signed with its own key, which
        it offers; what it claims for other sites goes as given (unsigned).
        """
        key = self.hostile_key

        def own(part: Part) -> Part:
            if site_of(part.origin) != batch.node or not part.entries or part.proof is not None:
                return part
            entries = sorted(part.entries, key=lambda e: e.seq)
            return dataclasses.replace(part, proof=proof_of(key.sign(entries), entries))

        batch = dataclasses.replace(
            batch, parts=[own(p) for p in batch.parts], keys={**batch.keys, batch.node: key.public}
        )
        return await self.raw(to, "POST", "/v1/sync", encode(batch), key_id=batch.node)


def home_and_cabins(
    folder: Path, cabins: dict[str, float], hostile: tuple[str, ...] = ()
) -> dict[str, Site]:
    """Home knows every cabin (and the hostile peers) but calls none; each cabin calls home.

    ``cabins`` maps cabin ids to their clock skew in seconds.
    """
    home = Site(
        HOME,
        folder,
        [{"node_id": c, "secret": link_secret(c, HOME)} for c in (*cabins, *hostile)],
    )
    sites = {HOME: home}
    for cabin, skew in cabins.items():
        peer = {"node_id": HOME, "secret": link_secret(cabin, HOME), "url": home.url}
        sites[cabin] = Site(cabin, folder, [peer], skew=skew)
    return sites


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0
) -> None:
    """Poll ``check`` until it holds, or fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if await check():
            return
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(0.1)
