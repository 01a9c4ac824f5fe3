"""The local API, for the integration and the command line: writes, reads, the change feed.

Only the API secret opens it. :class:`LocalApi` is a part of :class:`~lifeops_sync.service.Node`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .feed import FEED_LIMIT, FEED_LIMIT_MAX, FEED_MAX_WAIT, feed_answer, parse_cursor
from .gate import Gate, error_response
from .jsontext import loads as strict_loads
from .ops import InvalidOperation, parse_operations


class LocalApi(Gate):
    """The local API's endpoints (a part of the node)."""

    _changed: asyncio.Event
    _closing: bool

    if TYPE_CHECKING:

        def notify_changed(self) -> None:
            """Wake the change feed's waiters (the node's)."""

        def wake_peers(self) -> None:
            """Ask every peer loop to sync soon (the node's)."""

        async def sync_now(self) -> dict[str, str | None]:
            """Sync with every peer that has a URL now (the node's)."""

    async def _handle_write(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=True)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, body = guarded
        try:
            doc = strict_loads(body)
            operations = parse_operations(doc.get("ops") if isinstance(doc, dict) else None)
        except (ValueError, InvalidOperation) as err:
            return error_response(400, "malformed", str(err), self.wall())
        ack = await self.db(self.store.write, operations)
        self.notify_changed()
        self.wake_peers()
        skipped = [
            {"op": s.op, "collection": s.collection, "key": s.key}
            | ({"fields": list(s.fields)} if s.op == "set" else {})
            for s in ack.skipped
        ]
        return self._signed_json(
            key_id,
            nonce,
            {
                "hlc": ack.hlc,
                "first_seq": ack.first_seq,
                "last_seq": ack.last_seq,
                "skipped": skipped,
            },
        )

    async def _collection_request(
        self, request: web.Request
    ) -> tuple[str, str, str] | web.Response:
        """A local read of one collection: (key id, nonce, collection), or the refusal."""
        guarded = await self._guard(request, api_only=True)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, _ = guarded
        collection = request.query.get("collection")
        if not collection:
            return error_response(400, "malformed", "collection is required", self.wall())
        return key_id, nonce, collection

    async def _handle_records(self, request: web.Request) -> web.Response:
        asked = await self._collection_request(request)
        if isinstance(asked, web.Response):
            return asked
        key_id, nonce, collection = asked
        records = await self.db(self.store.read, collection, request.query.get("key"))
        return self._signed_json(key_id, nonce, {"records": records})

    async def _handle_items(self, request: web.Request) -> web.Response:
        asked = await self._collection_request(request)
        if isinstance(asked, web.Response):
            return asked
        key_id, nonce, collection = asked
        after, limit = request.query.get("after"), request.query.get("limit")
        if after is None and limit is None:  # the whole set in one answer
            items = await self.db(self.store.items, collection)
            return self._signed_json(key_id, nonce, {"items": items})
        try:
            size = int(limit) if limit is not None else FEED_LIMIT
        except ValueError:
            size = 0
        if not 1 <= size <= FEED_LIMIT_MAX:
            return error_response(
                400, "malformed", f"limit must be 1-{FEED_LIMIT_MAX}", self.wall()
            )
        page, more = await self.db(self.store.items_page, collection, after or "", size)
        return self._signed_json(
            key_id,
            nonce,
            {
                "items": {key: value for key, value, _ in page},
                "origins": {key: origin for key, _, origin in page},
                "more": more,
                "next": page[-1][0] if page else None,
            },
        )

    async def _handle_state(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=True)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, _ = guarded

        def read() -> dict[str, Any]:
            store = self.store
            result: dict[str, Any] = {"digest": store.digest(), "vector": store.vector()}
            if request.query.get("full"):
                result["state"] = store.dump()
            return result

        return self._signed_json(key_id, nonce, await self.db(read))

    async def _handle_sync_now(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=True)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, _ = guarded
        return self._signed_json(key_id, nonce, {"results": await self.sync_now()})

    async def _handle_changes(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=True)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, _ = guarded
        try:
            after = parse_cursor(request.query.get("after", ""))
            wait = float(request.query.get("wait", "0"))
            limit = int(request.query.get("limit", str(FEED_LIMIT)))
        except ValueError as err:
            return error_response(
                400, "malformed", f"bad change-feed parameters: {err}", self.wall()
            )
        if not 0 <= wait <= FEED_MAX_WAIT or not 1 <= limit <= FEED_LIMIT_MAX:
            return error_response(
                400,
                "malformed",
                f"wait must be 0-{FEED_MAX_WAIT:g} s and limit 1-{FEED_LIMIT_MAX}",
                self.wall(),
            )
        # A cursor past what we hold (this replica was restored from a backup) reads again from
        # what we hold, so the changes the peers send back reach the reader.
        after = await self.db(self.store.clamp_cursor, after)
        # The reader has applied everything up to `after`: tombstones past it wait for it.
        await self.db(self.store.note_reader, after, self.wall())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            changed = self._changed  # taken before reading: a change after the read wakes us
            parts, more = await self.db(self.store.changes_since, after, limit)
            remaining = deadline - loop.time()
            if parts or remaining <= 0 or self._closing:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
        answer = feed_answer(after, parts, more)
        answer["origin"] = self.store.origin  # the origin this replica writes under now
        return self._signed_json(key_id, nonce, answer)
