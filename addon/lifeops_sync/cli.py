"""The command line: ``python -m lifeops_sync {serve,status,write,inspect,backup,secret,key}``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
import signal
import sys
from typing import Any

from aiohttp import ClientSession, web

from . import __version__
from .auth import new_secret
from .config import ConfigError, NodeConfig, from_options, load_options, parse_peer
from .discovery import SUPERVISOR_URL, TOKEN_ENV, AnnounceError, Announcement, announce
from .hlc import WallClock
from .listener import HEADER_TIMEOUT, MAX_CONNECTIONS, ConnectionGuard, listen
from .origin import SiteKey, encode_key
from .service import ApiClient, Node
from .store import Store

_LOGGER = logging.getLogger("lifeops_sync")
SKEW_ENV = "LIFEOPS_SYNC_CLOCK_SKEW"
SECRET_ENV = "LIFEOPS_SYNC_API_SECRET"


def read_secret_file(path: Path) -> str:
    """A secret kept in a file (its first line; it may start with '-')."""
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise ConfigError(f"cannot read the secret file {path}: {err}") from err
    return lines[0].strip() if lines else ""


def _api_secret(args: argparse.Namespace) -> str | None:
    """The API secret: from its file, else the environment, else the (visible) flag."""
    if args.api_secret_file is not None:
        return read_secret_file(args.api_secret_file)
    return os.environ.get(SECRET_ENV) or args.api_secret


def _peer_arg(text: str) -> dict[str, str]:
    """``NODE_ID,SECRET[,URL[,PUBLIC_KEY]]`` (an empty URL: the peer calls us)."""
    fields = text.split(",", 3)
    if len(fields) < 2:
        raise argparse.ArgumentTypeError("a peer is NODE_ID,SECRET[,URL[,PUBLIC_KEY]]")
    fields += [""] * (4 - len(fields))
    return {"node_id": fields[0], "secret": fields[1], "url": fields[2], "public_key": fields[3]}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also documents the commands)."""
    parser = argparse.ArgumentParser(
        prog="python -m lifeops_sync",
        description="LifeOps sync: a CRDT replica that keeps home and the cabins in agreement.",
    )
    parser.add_argument("--version", action="version", version=f"lifeops_sync {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run a sync node (HTTP API and peer loops)")
    serve.add_argument("--config", type=Path, help="options JSON (the add-on's /data/options.json)")
    serve.add_argument("--node-id", help="this node's id (overrides the config file)")
    serve.add_argument("--data-dir", type=Path, required=True, help="folder for sync.db")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every address)"
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS,
        help=f"connections open at once (default {MAX_CONNECTIONS})",
    )
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=HEADER_TIMEOUT,
        help=f"seconds a connection has to send a request's headers (default {HEADER_TIMEOUT:g})",
    )
    serve.add_argument("--port", type=int, help="port to listen on (default 8765)")
    serve.add_argument(
        "--peer",
        action="append",
        type=_peer_arg,
        default=[],
        metavar="NODE_ID,SECRET[,URL]",
        help="a peer (repeatable); without URL it only calls us. The secret shows in `ps`:"
        " prefer peers in the --config file",
    )
    add_secret_arguments(serve)
    serve.add_argument("--sync-interval", type=float, help="seconds between rounds (default 30)")
    serve.add_argument("--retry-max", type=float, help="longest back-off after failures (s)")
    serve.add_argument("--batch-limit", type=int, help="entries per message (default 25000)")
    serve.add_argument("--retention-days", type=int, help="drop time-series rows older than this")
    serve.add_argument(
        "--clock-skew",
        type=float,
        help=f"pretend the wall clock is off by this many seconds (tests; env {SKEW_ENV})",
    )
    serve.add_argument("--no-fsync", action="store_true", help="commit without fsync (tests)")
    serve.add_argument("--debug-apply-delay", type=float, default=0.0, help=argparse.SUPPRESS)
    serve.add_argument("--log-level", default="INFO")

    status = sub.add_parser("status", help="print a running node's status")
    write = sub.add_parser("write", help="apply local operations on a running node")
    write.add_argument(
        "ops", help='JSON list, e.g. [{"op":"set","collection":"c","key":"k","fields":{"a":1}}]'
    )
    for command in (status, write):
        command.add_argument("--url", default="http://127.0.0.1:8765")
        command.add_argument("--node-id", required=True, help="the node's id")
        add_secret_arguments(command)

    inspect = sub.add_parser("inspect", help="print a stopped node's watermarks, counts, digest")
    inspect.add_argument("--data-dir", type=Path, required=True)
    inspect.add_argument("--node-id", required=True)
    backup = sub.add_parser("backup", help="write a consistent copy of a node's replica")
    backup.add_argument("--data-dir", type=Path, required=True)
    backup.add_argument("--node-id", required=True)
    backup.add_argument("--to", type=Path, required=True, help="the copy's file")
    sub.add_parser("secret", help="print a new random secret")
    key = sub.add_parser(
        "key", help="print this site's public key (made now if the site has none yet)"
    )
    key.add_argument("--data-dir", type=Path, required=True, help="the node's data folder")
    for command in (serve, key):
        command.add_argument(
            "--secrets-dir",
            type=Path,
            help="folder of the site's private key (default: DATA_DIR/secrets)",
        )
    announce_cmd = sub.add_parser(
        "announce", help="announce the add-on to the Supervisor (discovery) for LifeOps"
    )
    announce_cmd.add_argument("--config", type=Path, required=True, help="options JSON (node_id)")
    announce_cmd.add_argument("--host", required=True, help="this add-on's host name")
    announce_cmd.add_argument("--api-secret-file", type=Path, required=True)
    announce_cmd.add_argument("--database-password-file", type=Path, required=True)
    announce_cmd.add_argument("--sync-port", type=int, default=8765)
    announce_cmd.add_argument("--database-port", type=int, default=5432)
    announce_cmd.add_argument("--supervisor", default=SUPERVISOR_URL, help=argparse.SUPPRESS)
    announce_cmd.add_argument(
        "--wait-for",
        default="http://127.0.0.1:8765",
        help="the sync service to wait for before announcing (default %(default)s)",
    )
    return parser


def add_secret_arguments(parser: argparse.ArgumentParser) -> None:
    """The ways to give the API secret: a file, the environment, or (shown in `ps`) a flag."""
    parser.add_argument(
        "--api-secret-file",
        type=Path,
        help=f"file holding the local client's API secret (or set {SECRET_ENV})",
    )
    parser.add_argument(
        "--api-secret",
        help="the API secret itself; anyone can read it in `ps`: prefer --api-secret-file",
    )


def config_from_args(args: argparse.Namespace) -> NodeConfig:
    """The node configuration from ``serve``'s arguments (flags override the file)."""
    options: dict[str, Any] = load_options(args.config) if args.config else {}
    if args.node_id:
        options["node_id"] = args.node_id
    if args.peer:
        node_id = str(options.get("node_id", ""))
        ids = {p["node_id"] for p in args.peer}
        options["peers"] = [p for p in options.get("peers") or [] if p.get("node_id") not in ids]
        options["peers"] += args.peer
        for peer in args.peer:
            parse_peer(peer, node_id)
    api_secret = _api_secret(args)
    if api_secret:
        options["api_secret"] = api_secret
    skew = args.clock_skew
    if skew is None and os.environ.get(SKEW_ENV):
        skew = float(os.environ[SKEW_ENV])
    return from_options(
        options,
        args.data_dir,
        host=args.host,
        port=args.port,
        sync_interval=args.sync_interval,
        retry_max=args.retry_max,
        batch_limit=args.batch_limit,
        retention_days=args.retention_days,
        clock_skew=skew,
        durable=False if args.no_fsync else None,
        apply_delay=args.debug_apply_delay or None,
        key_dir=args.secrets_dir,
    )


async def serve(config: NodeConfig, guard: ConnectionGuard | None = None) -> None:
    """Run a node until SIGTERM or SIGINT."""
    guard = guard or ConnectionGuard()
    node = Node(config)
    await node.start()
    app = node.app()
    guard.attach(app)
    # No lingering: a refused request's unread body is not drained, the connection just closes.
    runner = web.AppRunner(app, access_log=None, lingering_time=0)
    await runner.setup()
    server = await listen(runner, guard, config.host, config.port)
    _LOGGER.info(
        "node %s listening on %s:%d, peers: %s",
        config.node_id,
        config.host,
        config.port,
        ", ".join(f"{p.node_id} ({p.url or 'calls us'})" for p in config.peers) or "none",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    _LOGGER.info("stopping")
    server.close()
    await runner.cleanup()
    await server.wait_closed()
    await node.stop()


async def _client_call(
    args: argparse.Namespace, method: str, path: str, payload: Any = None
) -> int:
    try:
        secret = _api_secret(args)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    if not secret:
        print(f"an API secret is needed (--api-secret-file or {SECRET_ENV})", file=sys.stderr)
        return 2
    async with ClientSession() as session:
        client = ApiClient(args.url, secret, args.node_id, session)
        status, doc = await client.request(method, path, payload)
    print(json.dumps(doc, indent=2, sort_keys=True))
    return 0 if status == 200 else 1


def _announce(args: argparse.Namespace) -> int:
    token = os.environ.get(TOKEN_ENV)
    if not token:
        print(f"{TOKEN_ENV} is not set (the add-on runs with it)", file=sys.stderr)
        return 2
    try:
        announcement = Announcement(
            host=args.host,
            node_id=str(load_options(args.config).get("node_id") or ""),
            api_secret=read_secret_file(args.api_secret_file),
            database_password=read_secret_file(args.database_password_file),
            sync_port=args.sync_port,
            database_port=args.database_port,
        )
        if not announcement.node_id or not announcement.api_secret:
            raise ConfigError("node_id and the API secret are needed")
        uuid = asyncio.run(
            announce(announcement, token, supervisor=args.supervisor, service_url=args.wait_for)
        )
    except (ConfigError, AnnounceError) as err:
        print(f"not announced: {err}", file=sys.stderr)
        return 1
    print(f"announced to the Supervisor as {uuid or 'discovery'}")
    return 0


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 (one return per command)
    """Run a command; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "secret":
        print(new_secret())
        return 0
    if args.command == "announce":
        return _announce(args)
    if args.command == "key":
        folder = NodeConfig("key", args.data_dir, key_dir=args.secrets_dir).secrets_dir
        print(encode_key(SiteKey.load_or_create(folder).public))
        return 0
    if args.command == "inspect":
        store = Store(args.data_dir / "sync.db", args.node_id, WallClock())
        try:
            print(
                json.dumps(
                    {"vector": store.vector(), "stats": store.stats(), "digest": store.digest()},
                    indent=2,
                    sort_keys=True,
                )
            )
        finally:
            store.close()
        return 0
    if args.command == "backup":
        store = Store(args.data_dir / "sync.db", args.node_id, WallClock())
        try:
            store.backup(args.to)
        finally:
            store.close()
        return 0
    if args.command == "status":
        return asyncio.run(_client_call(args, "GET", "/v1/status"))
    if args.command == "write":
        return asyncio.run(_client_call(args, "POST", "/v1/write", {"ops": json.loads(args.ops)}))
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = config_from_args(args)
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    if args.max_connections < 1 or args.header_timeout <= 0:
        print("--max-connections and --header-timeout must be positive", file=sys.stderr)
        return 2
    asyncio.run(serve(config, ConnectionGuard(args.max_connections, args.header_timeout)))
    return 0
