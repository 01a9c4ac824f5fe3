"""What can go wrong talking to the long-term store, as one base exception and typed subclasses."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the long-term store's errors."""


class StoreUnreachable(StoreError):
    """The server does not answer (down, wrong host or port, network)."""


class StoreAuthFailed(StoreError):
    """The server refused the user name or password."""


class TlsUnavailable(StoreUnreachable):
    """TLS was required but the server does not offer it."""


class TlsUntrusted(StoreUnreachable):
    """The server's certificate is not trusted, or is for another host name."""


class ExtensionMissing(StoreError):
    """The database has no TimescaleDB and plain PostgreSQL was not allowed."""


class InvalidQuery(StoreError):
    """A trend query asked for something that does not exist (unknown metric, bad period)."""

    def __init__(self, key: str, **placeholders: str) -> None:
        """Name the problem with a translation key and its placeholders."""
        super().__init__(key)
        self.key = key
        self.placeholders = placeholders
