"""An asyncio client of the sync service's local API (``addon/README.md``, "Local API").

Every request is signed and every answer checked before it is read (see :mod:`.signing`); a
request refused for its time is signed again with the service's clock and sent once more, so a
Home Assistant whose clock is off still gets in. The node id a request is signed for comes from
``GET /v1/health``, which also tells a LifeOps sync service from anything else at that address.

The session is the caller's (Home Assistant's shared one); the client never closes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
import json
import math
import re
import time
from typing import Any, Final
from urllib.parse import quote, urlencode

from aiohttp import ClientError, ClientSession
from yarl import URL

from .signing import HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIME, answer_is_genuine, signed_headers

SERVICE_NAME: Final = "lifeops_sync"
DEFAULT_TIMEOUT: Final = 10.0
#: The longest a change-feed request waits for news (the service's bound too).
MAX_WAIT: Final = 60.0
MAX_DIGITS: Final = 40
_NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


# Every request on a connection of its own, closed with its answer. A connection kept open would
# sit in the session's pool, whose clean-up timer then wakes Home Assistant some seconds after
# every answer (about 140 times an idle hour, one per long poll of the change feed). The service
# is local, and a new connection to it costs well under a millisecond.
ONE_REQUEST_A_CONNECTION: Final = {"Connection": "close"}


class SyncError(Exception):
    """Something went wrong talking to the sync service."""


class SyncConnectionError(SyncError):
    """The service cannot be reached (refused, timed out, or a gateway in between failed)."""


class SyncAuthError(SyncError):
    """The service refused the API secret (401 or 403)."""


class SyncAnswerError(SyncError):
    """An answer that cannot be trusted or read: unsigned, forged, malformed."""


class SyncNotAServiceError(SyncAnswerError):
    """Whatever answers at the address is not a LifeOps sync service."""


class SyncRequestError(SyncError):
    """The service refused a request as malformed (400)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One current entry the change feed reports.

    ``kind`` is ``field`` (one field of a record), ``delete`` (a record's tombstone) or ``item``
    (an element of an append-only set); ``field`` is set for fields only.
    """

    kind: str
    collection: str
    key: str
    field: str | None
    value: Any
    origin: str


@dataclass(frozen=True, slots=True)
class ChangeFeed:
    """An answer of the change feed: the changes past the cursor, the next cursor, whether more."""

    cursor: dict[str, int]
    changes: list[Change]
    more: bool
    # The origin the service writes this site's changes under now: its node id, or
    # `<node id>~<n>` once its replica was restored. Changes of the site's earlier origins are
    # not echoes: they may be changes this Home Assistant lost with the same restore.
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class ItemsPage:
    """A page of an append-only set.

    Its items in key order, each item's origin node, whether more follow, and the key to ask
    after for the next page (None for an empty page).
    """

    items: dict[str, Any]
    origins: dict[str, str]
    more: bool
    next: str | None


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def encode_cursor(cursor: Mapping[str, int]) -> str:
    """A cursor (seq per origin) as the feed's ``after`` parameter: ``home:12,cabin:5``."""
    return ",".join(f"{origin}:{seq}" for origin, seq in sorted(cursor.items()))


def _path(path: str, query: Mapping[str, str]) -> str:
    """A path with its query, every value percent-encoded (`+ & # % /`, spaces, any text)."""
    return f"{path}?{urlencode(query, quote_via=quote, safe='')}"


def _whole(digits: str) -> int | float:
    """A JSON integer, or infinity for one of more than `MAX_DIGITS` digits.

    No count or time LifeOps keeps is that long, and every check refuses infinity; Python's own
    limit (4,300 digits) would instead fail the whole answer, and with it the change feed.
    """
    if len(digits) <= MAX_DIGITS:
        return int(digits)
    return -math.inf if digits.startswith("-") else math.inf


def _code(body: bytes) -> str | None:
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    code = doc.get("error") if isinstance(doc, dict) else None
    return code if isinstance(code, str) else None


class SyncClient:
    """The local API of one sync service, at ``url`` with its API secret."""

    def __init__(
        self,
        session: ClientSession,
        url: str,
        secret: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], int] = _wall_ms,
    ) -> None:
        """Talk to the service at ``url`` (``http://host:port``) through ``session``."""
        self._session = session
        self.url = url.rstrip("/")
        self._secret = secret
        self._timeout = timeout
        self._clock = clock
        self._offset_ms = 0
        self.node_id: str | None = None

    def __repr__(self) -> str:
        """Name the service, never the secret."""
        return f"SyncClient({self.url!r}, node_id={self.node_id!r})"

    def service_time_ms(self) -> int:
        """The service's clock as last learnt from its answers (our own before the first one).

        What an edit's ``at`` is written in, so the service compares it with its own stamps.
        """
        return self._clock() + self._offset_ms

    # -- the endpoints ------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """Ask the unauthenticated health endpoint; learn the node id. Raises if not a service."""
        try:
            async with asyncio.timeout(self._timeout):
                async with self._session.get(
                    self.url + "/v1/health", headers=ONE_REQUEST_A_CONNECTION
                ) as response:
                    status = response.status
                    body = await response.read()
        except (ClientError, TimeoutError, OSError) as err:
            raise SyncConnectionError(f"cannot reach {self.url}: {type(err).__name__}") from err
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if (
            status != 200
            or not isinstance(doc, dict)
            or doc.get("service") != SERVICE_NAME
            or not isinstance(doc.get("node_id"), str)
            or not _NODE_ID.fullmatch(doc["node_id"])
        ):
            raise SyncNotAServiceError(f"{self.url} is not a LifeOps sync service")
        self.node_id = doc["node_id"]
        return doc

    async def connect(self) -> str:
        """Check the address and the secret (health, then a signed status); return the node id."""
        await self.health()
        await self.status()
        assert self.node_id is not None
        return self.node_id

    async def status(self) -> dict[str, Any]:
        """The node's status: watermarks, counts, and each peer's sync status."""
        return self._object(await self._request("GET", "/v1/status"))

    async def write(self, ops: list[dict[str, Any]]) -> dict[str, Any]:
        """Apply local operations in one transaction (all or nothing); the service's receipt.

        The receipt's ``skipped`` lists the parts of sets and deletes carrying ``at`` and
        ``seen`` that a later concurrent change elsewhere won over (left out).
        """
        return self._object(await self._request("POST", "/v1/write", {"ops": ops}))

    async def records(self, collection: str, key: str | None = None) -> dict[str, dict[str, Any]]:
        """The visible records of a collection (or one of them): ``{key: {field: value}}``."""
        query = {"collection": collection} | ({"key": key} if key is not None else {})
        doc = self._object(await self._request("GET", _path("/v1/records", query)))
        records = doc.get("records")
        if not isinstance(records, dict) or not all(isinstance(v, dict) for v in records.values()):
            raise SyncAnswerError("records: not an object of records")
        return records

    async def items(self, collection: str) -> dict[str, Any]:
        """The items of an append-only set: ``{key: value}``."""
        path = _path("/v1/items", {"collection": collection})
        doc = self._object(await self._request("GET", path))
        items = doc.get("items")
        if not isinstance(items, dict):
            raise SyncAnswerError("items: not an object")
        return items

    async def items_page(
        self, collection: str, after: str | None = None, limit: int = 1000
    ) -> ItemsPage:
        """Up to ``limit`` items of a set whose keys sort after ``after``, with their origins."""
        query = {"collection": collection, "limit": str(limit)}
        if after is not None:
            query["after"] = after
        doc = self._object(await self._request("GET", _path("/v1/items", query)))
        items, origins, more, next_key = (
            doc.get("items"),
            doc.get("origins"),
            doc.get("more"),
            doc.get("next"),
        )
        if (
            not isinstance(items, dict)
            or not isinstance(origins, dict)
            or set(origins) != set(items)
            or not all(isinstance(origin, str) for origin in origins.values())
            or not isinstance(more, bool)
            or not (next_key is None if not items else next_key == list(items)[-1])
        ):
            raise SyncAnswerError("items: not a page of items")
        return ItemsPage(items=items, origins=origins, more=more, next=next_key)

    async def sync_now(self) -> dict[str, str | None]:
        """Sync with every peer now: ``{peer: error or None}``."""
        doc = self._object(await self._request("POST", "/v1/sync_now", timeout=120.0))
        results = doc.get("results")
        if not isinstance(results, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in results.items()
        ):
            raise SyncAnswerError("sync_now: no results")
        return results

    async def changes(
        self, cursor: Mapping[str, int], wait: float = 0.0, limit: int = 1000
    ) -> ChangeFeed:
        """What changed past ``cursor``; waits up to ``wait`` seconds when nothing did yet."""
        wait = max(0.0, min(wait, MAX_WAIT))
        query = {"after": encode_cursor(cursor), "wait": f"{wait:g}", "limit": str(limit)}
        path = _path("/v1/changes", query)
        doc = self._object(await self._request("GET", path, timeout=wait + self._timeout))
        return _feed(doc)

    # -- plumbing ------------------------------------------------------------------------------

    @staticmethod
    def _object(doc: Any) -> dict[str, Any]:
        if not isinstance(doc, dict):
            raise SyncAnswerError("the answer is not a JSON object")
        return doc

    async def _request(
        self, method: str, path: str, payload: Any = None, *, timeout: float | None = None
    ) -> Any:
        if self.node_id is None:
            await self.health()
        assert self.node_id is not None
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        # Signed as sent: the address as it goes on the wire (quoting made canonical).
        url = URL(self.url + path)
        for attempt in range(2):
            sent = self._clock()
            headers = signed_headers(
                self._secret, method, url.raw_path_qs, self.node_id, sent + self._offset_ms, body
            )
            if payload is not None:
                headers["Content-Type"] = "application/json"
            headers.update(ONE_REQUEST_A_CONNECTION)
            try:
                async with asyncio.timeout(timeout or self._timeout):
                    async with self._session.request(
                        method, url, data=body, headers=headers
                    ) as response:
                        status = response.status
                        data = await response.read()
                        server_time = response.headers.get(HEADER_TIME)
                        signature = response.headers.get(HEADER_SIGNATURE)
            except (ClientError, TimeoutError, OSError) as err:
                raise SyncConnectionError(f"cannot reach {self.url}: {type(err).__name__}") from err
            if server_time is not None and server_time.lstrip("-").isdigit():
                self._offset_ms = int(server_time) - (sent + self._clock()) // 2
            if status == 401 and attempt == 0 and _code(data) == "clock":
                continue  # signed again with the service's time
            break
        if status in (401, 403):
            raise SyncAuthError(f"the service refused the API secret ({_code(data) or status})")
        if status == 400:
            raise SyncRequestError(f"the service refused the request ({_code(data) or status})")
        if status >= 500:
            raise SyncConnectionError(f"the service is unavailable (HTTP {status})")
        if status != 200:
            raise SyncAnswerError(f"unexpected HTTP {status}")
        if not answer_is_genuine(self._secret, headers[HEADER_NONCE], status, data, signature):
            raise SyncAnswerError("the answer is not signed by the service")
        try:
            return json.loads(data, parse_int=_whole)
        except (ValueError, RecursionError) as err:  # (RecursionError: nested too deep)
            raise SyncAnswerError("the answer is not JSON") from err


def _feed(doc: dict[str, Any]) -> ChangeFeed:
    cursor = doc.get("cursor")
    raw = doc.get("changes")
    if (
        not isinstance(cursor, dict)
        or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in cursor.items()
        )
        or not isinstance(raw, list)
    ):
        raise SyncAnswerError("changes: malformed answer")
    changes: list[Change] = []
    for item in raw:
        if (
            not isinstance(item, dict)
            or item.get("kind") not in ("field", "delete", "item")
            or not all(isinstance(item.get(k), str) for k in ("collection", "key", "origin"))
        ):
            raise SyncAnswerError("changes: malformed change")
        field = item.get("field")
        changes.append(
            Change(
                kind=item["kind"],
                collection=item["collection"],
                key=item["key"],
                field=field if isinstance(field, str) else None,
                value=item.get("value"),
                origin=item["origin"],
            )
        )
    origin = doc.get("origin")
    return ChangeFeed(
        cursor=dict(cursor),
        changes=changes,
        more=bool(doc.get("more")),
        origin=origin if isinstance(origin, str) else None,
    )
