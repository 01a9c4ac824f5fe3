"""The add-on announcing itself to the Supervisor, so LifeOps offers to use it (discovery).

``python -m lifeops_sync announce`` waits for the sync service to answer, then posts to the
Supervisor's ``/discovery`` the service ``lifeops`` (config.yaml's ``discovery``) with where the
sync service and the database are, on the add-on's host name in Home Assistant's internal
network, and how to sign in to both. The Supervisor hands that to Home Assistant, which starts
LifeOps' config flow (``async_step_hassio``). Secrets come from files; the Supervisor's token
from the ``SUPERVISOR_TOKEN`` environment variable the add-on runs with.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import logging
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

_LOGGER = logging.getLogger(__name__)

SERVICE = "lifeops"
SUPERVISOR_URL = "http://supervisor"
TOKEN_ENV = "SUPERVISOR_TOKEN"


class AnnounceError(Exception):
    """The announcement could not be made; the message says why."""


@dataclass(frozen=True, slots=True)
class Announcement:
    """What the add-on tells LifeOps (the integration's addon_flow.py reads these keys)."""

    host: str
    node_id: str
    api_secret: str
    database_password: str
    sync_port: int = 8765
    database_port: int = 5432
    database: str = "lifeops"
    database_user: str = "lifeops"

    def config(self) -> dict[str, Any]:
        """The discovery's ``config``."""
        return {
            "host": self.host,
            "node_id": self.node_id,
            "sync_port": self.sync_port,
            "api_secret": self.api_secret,
            "database_port": self.database_port,
            "database": self.database,
            "database_user": self.database_user,
            "database_password": self.database_password,
        }


async def wait_for_service(session: ClientSession, url: str, timeout: float) -> None:
    """Wait until the sync service's ``/v1/health`` answers, or raise :class:`AnnounceError`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            async with session.get(url + "/v1/health", timeout=ClientTimeout(total=2)) as reply:
                if reply.status == 200:
                    return
        except (ClientError, TimeoutError):
            pass
        if loop.time() > deadline:
            raise AnnounceError(f"the sync service at {url} did not answer in {timeout:g} s")
        await asyncio.sleep(0.5)


async def announce(
    announcement: Announcement,
    token: str,
    *,
    supervisor: str = SUPERVISOR_URL,
    service_url: str | None = None,
    wait: float = 60.0,
) -> str:
    """Post the discovery (after the service answers); return the Supervisor's id for it."""
    async with ClientSession() as session:
        if service_url is not None:
            await wait_for_service(session, service_url, wait)
        try:
            async with session.post(
                supervisor.rstrip("/") + "/discovery",
                json={"service": SERVICE, "config": announcement.config()},
                headers={"Authorization": f"Bearer {token}"},
                timeout=ClientTimeout(total=30),
            ) as reply:
                body = await reply.json(content_type=None)
        except (ClientError, TimeoutError, ValueError) as err:
            raise AnnounceError(f"the Supervisor did not take the discovery: {err}") from err
    if reply.status != 200 or not isinstance(body, dict) or body.get("result") != "ok":
        message = body.get("message") if isinstance(body, dict) else None
        raise AnnounceError(f"the Supervisor refused the discovery: {reply.status} {message}")
    data = body.get("data")
    return str(data.get("uuid", "")) if isinstance(data, dict) else ""
