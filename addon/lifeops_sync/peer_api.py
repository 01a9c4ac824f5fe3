"""The endpoints a peer calls: ``/v1/sync`` (one exchange), ``/v1/status``, ``/v1/health``.

:class:`PeerApi` is a part of :class:`~lifeops_sync.service.Node`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .auth import API_KEY_ID, HEADER_SIGNATURE, HEADER_TIME, response_signature
from .config import NodeConfig
from .crdt import Part
from .gate import Gate, error_response
from .status import peer_view
from .store import Applied
from .wire import CONTENT_TYPE, Batch, ProtocolError, decode, encode

SERVICE_NAME = "lifeops_sync"


class PeerApi(Gate):
    """The peer endpoint (a part of the node)."""

    config: NodeConfig

    if TYPE_CHECKING:

        def take(self, peer: str, batch: Batch) -> Applied:
            """Apply a batch from an authenticated direct peer (the node's)."""

        def batch_for(self, peer: str, parts: list[Part], more: bool) -> Batch:
            """A batch to a direct peer (the node's)."""

        def notify_changed(self) -> None:
            """Wake the change feed's waiters (the node's)."""

        async def status(self) -> dict[str, Any]:
            """The node's status (the node's)."""

    async def _handle_health(self, request: web.Request) -> web.Response:
        # Unauthenticated: tells a client which service this is and the node id it signs for.
        return web.json_response(
            {"ok": True, "service": SERVICE_NAME, "node_id": self.config.node_id},
            headers={HEADER_TIME: str(self.wall())},
        )

    async def _handle_sync(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=False)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, body = guarded
        if key_id == API_KEY_ID:
            return error_response(403, "forbidden", "the local client does not sync", self.wall())
        config = self.config

        def handle() -> bytes | web.Response:
            store = self.store
            try:
                batch = decode(body)
            except ProtocolError as err:
                return error_response(400, "malformed", str(err), self.wall())
            if batch.node != key_id:
                return error_response(
                    403, "wrong_sender", "the batch is not from the signer", self.wall()
                )
            if batch.to != config.node_id:
                return error_response(
                    400, "wrong_receiver", "the batch is for another node", self.wall()
                )
            self.take(key_id, batch)
            parts, more = store.changes_for(key_id, batch.vector, config.batch_limit)
            store.note_inbound(key_id, self.wall())
            answer = self.batch_for(key_id, parts, more)
            return encode(answer)

        result = await self.db(handle)
        if isinstance(result, web.Response):
            return result
        self.notify_changed()
        secret = self.verifier.secrets[key_id]
        return web.Response(
            body=result,
            content_type=CONTENT_TYPE,
            headers={
                HEADER_TIME: str(self.wall()),
                HEADER_SIGNATURE: response_signature(secret, nonce, 200, result),
            },
        )

    async def _handle_status(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, api_only=False)
        if isinstance(guarded, web.Response):
            return guarded
        key_id, nonce, _ = guarded
        status = await self.status()
        if key_id != API_KEY_ID:
            status = peer_view(status, key_id)
        return self._signed_json(key_id, nonce, status)
