"""The sync service's client: signed requests to its local API and the change feed.

No Home Assistant imports: the integration's sync link (`sync_link/`) wires this to
entities, options and the agents.
"""

from __future__ import annotations

from .client import (
    Change,
    ChangeFeed,
    ItemsPage,
    SyncAnswerError,
    SyncAuthError,
    SyncClient,
    SyncConnectionError,
    SyncError,
    SyncNotAServiceError,
    SyncRequestError,
    encode_cursor,
)

__all__ = [
    "Change",
    "ChangeFeed",
    "ItemsPage",
    "SyncAnswerError",
    "SyncAuthError",
    "SyncClient",
    "SyncConnectionError",
    "SyncError",
    "SyncNotAServiceError",
    "SyncRequestError",
    "encode_cursor",
]
