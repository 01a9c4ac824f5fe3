"""A node's configuration: from the add-on's options file, a JSON file, or the command line."""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .crdt import valid_node_id

MIN_SECRET = 16


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which option."""


@dataclass(frozen=True, slots=True)
class PeerConfig:
    """Another node: its id, the secret this pair shares, its URL if we call it.

    ``public_key``: its site's Ed25519 public key, if the configuration pins it (else it is
    learned from the peer itself on first contact).
    """

    node_id: str
    secret: str
    url: str | None = None
    public_key: bytes | None = None


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Everything a sync node needs."""

    node_id: str
    data_dir: Path
    peers: tuple[PeerConfig, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8765
    api_secret: str | None = None
    sync_interval: float = 30.0
    retry_max: float = 300.0
    batch_limit: int = 25_000
    retention_days: int = 0
    clock_skew: float = 0.0
    max_clock_offset_hours: float = 3.0
    durable: bool = True
    apply_delay: float = 0.0
    key_dir: Path | None = None

    @property
    def database(self) -> Path:
        """The replica's SQLite file."""
        return self.data_dir / "sync.db"

    @property
    def secrets_dir(self) -> Path:
        """Where the site's private key is kept (owner only): ``key_dir``, else the data folder.

        The add-on keeps it with its other secrets, in its backups (the replica's folder is
        not): a site restored from a backup must sign with the key the others know.
        """
        return self.key_dir or self.data_dir / "secrets"

    def secrets(self) -> dict[str, str]:
        """Key id to secret, for verifying requests."""
        from .auth import API_KEY_ID

        keys = {p.node_id: p.secret for p in self.peers}
        if self.api_secret:
            keys[API_KEY_ID] = self.api_secret
        return keys


def _secret(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) < MIN_SECRET:
        raise ConfigError(f"{what} must be a string of at least {MIN_SECRET} characters")
    return value


def parse_peer(raw: Any, own_id: str) -> PeerConfig:
    """One entry of the ``peers`` option."""
    if not isinstance(raw, dict):
        raise ConfigError("each peer must be an object with node_id, secret and url")
    node_id = raw.get("node_id")
    if not isinstance(node_id, str) or not valid_node_id(node_id):
        raise ConfigError(f"peer node_id {node_id!r} is not a valid node id")
    if node_id == own_id:
        raise ConfigError(f"peer {node_id!r} has this node's own id")
    url = raw.get("url") or None
    if url is not None:
        parts = urlsplit(str(url))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"peer {node_id}: url must be http(s)://host:port")
        url = str(url).rstrip("/")
    public_key = None
    if raw.get("public_key"):
        from .origin import decode_key

        try:
            public_key = decode_key(str(raw["public_key"]))
        except ValueError as err:
            raise ConfigError(f"peer {node_id}: public_key: {err}") from err
    secret = _secret(raw.get("secret"), f"peer {node_id}: secret")
    return PeerConfig(node_id, secret, url, public_key)


def from_options(options: dict[str, Any], data_dir: Path, **overrides: Any) -> NodeConfig:
    """A configuration from an options document (the add-on's ``/data/options.json``)."""
    node_id = options.get("node_id")
    if not isinstance(node_id, str) or not valid_node_id(node_id):
        raise ConfigError("node_id must be 1-64 letters, digits, '_', '.' or '-'")
    peers = tuple(parse_peer(p, node_id) for p in options.get("peers") or [])
    ids = [p.node_id for p in peers]
    if len(set(ids)) != len(ids):
        raise ConfigError("two peers share a node_id")
    api_secret = options.get("api_secret") or None
    if api_secret is not None:
        api_secret = _secret(api_secret, "api_secret")
    values: dict[str, Any] = {
        "node_id": node_id,
        "data_dir": data_dir,
        "peers": peers,
        "api_secret": api_secret,
    }
    for name, kind in (
        ("port", int),
        ("sync_interval", float),
        ("retention_days", int),
        ("batch_limit", int),
    ):
        if options.get(name) is not None:
            try:
                values[name] = kind(options[name])
            except (TypeError, ValueError) as err:
                raise ConfigError(f"{name} must be a number") from err
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = NodeConfig(**values)
    if config.sync_interval <= 0 or config.batch_limit < 1 or not 0 < config.port < 65536:
        raise ConfigError("sync_interval, batch_limit and port must be positive")
    return config


def load_options(path: Path) -> dict[str, Any]:
    """Read an options JSON file."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"cannot read {path}: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return data
