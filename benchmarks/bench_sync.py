"""Sync benchmark: a cabin back after 30 days, an idle round, a small round in a big store.

Two real sync nodes (home and a cabin) in this process, each with its SQLite replica in a
temporary folder, talking signed HTTP over 127.0.0.1 through aiohttp, as in production. Prints:

1. Reconnect: while the cabin was away home made 50,000 record changes and 200,000 time-series
   rows, the cabin 5,000 record changes. Time until both hold everything (target < 10 s) and the
   bytes sent both ways (bodies and headers) against the deflate-compressed size of the changed
   data itself, written as plain JSON lines without any sync bookkeeping (target < 1.5x).
2. Idle round: one exchange when nothing changed, in bytes (target < 1 KB, one request).
3. Small round in a big store: 10 changes at home in a store of 1,000,000 records, one exchange
   (target < 50 ms), against a naive compare-everything protocol (the cabin sends every record's
   version, home answers with what differs) measured in the same run, as a ratio.
4. The origin check (origin.py), which every figure above includes: what signing 10,000 entries
   (as written: record changes and rows) and checking them costs, in ms (no target).
5. The move check (stamps.py) of a restore found late: taking 10,000 entries a restore moved
   into a new epoch with stamps hours older than the site's latest (each checked against the
   earlier epoch's signed digest), against taking the same entries stamped after it, in the
   same run (no target).

``--records N`` shrinks the big store for a quick run. Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
import random
import sys
import tempfile
import time
from typing import Any
import zlib

from aiohttp import ClientSession, web

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "addon"))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lifeops_sync.config import NodeConfig, PeerConfig
from lifeops_sync.crdt import Entry, Kind, Part
from lifeops_sync.ops import AppendRows, Operation, SetFields
from lifeops_sync.origin import SiteKey, check_part, proof_of
from lifeops_sync.service import Node, Reply, Transport
from lifeops_sync.store import Store
from lifeops_sync.wire import COMPRESSION_LEVEL

SECRET = "benchmark-secret-0123456789abcdef"
DAY_MS = 86_400_000
SERIES = ["heart_rate", "hrv", "steps", "skin_temperature", "sleep_score", "readiness"]
COLLECTIONS = ["settings", "agent_state", "habits", "notifications", "calendar", "devices"]


class Counter:
    """Counts the bytes a transport sends and receives (bodies and headers)."""

    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self.sent = 0
        self.received = 0
        self.requests = 0

    def transport(self, addresses: dict[str, str]) -> Transport:
        """A transport to ``addresses`` (node id -> base URL) that counts."""

        async def send(url: str, body: bytes, headers: dict[str, str]) -> Reply:
            host = url.split("//", 1)[1].split("/", 1)[0].removesuffix(".test")
            path = "/" + url.split("//", 1)[1].split("/", 1)[1]
            self.requests += 1
            self.sent += len(body) + sum(len(k) + len(v) + 4 for k, v in headers.items())
            self.sent += len(f"POST {path} HTTP/1.1\r\n")
            async with self.session.post(addresses[host] + path, data=body, headers=headers) as r:
                payload = await r.read()
                self.received += len(payload) + sum(
                    len(k) + len(v) + 4 for k, v in r.headers.items()
                )
                return Reply(r.status, dict(r.headers), payload)

        return send


async def start(
    folder: Path, node_id: str, peer: str, calls: bool, counter: Counter, addresses: dict[str, str]
) -> tuple[Node, web.AppRunner]:
    """Start a node with its HTTP server on 127.0.0.1."""
    config = NodeConfig(
        node_id=node_id,
        data_dir=folder / node_id,
        peers=(PeerConfig(peer, SECRET, f"http://{peer}.test" if calls else None),),
        durable=False,
    )
    node = Node(config, transport=counter.transport(addresses))
    await node.start(loops=False)
    runner = web.AppRunner(node.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    addresses[node_id] = f"http://127.0.0.1:{runner.addresses[0][1]}"
    return node, runner


def record_changes(rng: random.Random, count: int, prefix: str) -> list[Operation]:
    """``count`` field writes over records of several collections (about 4 fields a record)."""
    ops: list[Operation] = []
    for i in range(count):
        coll = COLLECTIONS[i % len(COLLECTIONS)]
        key = f"{prefix}-{coll}-{i // 4}"
        field = ("name", "enabled", "target", "updated")[i % 4]
        value: Any = (
            f"{coll} {rng.randint(0, 10**6)}",
            rng.random() < 0.5,
            rng.randint(0, 1000),
            1_750_000_000 + rng.randint(0, 10**7),
        )[i % 4]
        ops.append(SetFields(coll, key, {field: value}))
    return ops


def time_series(rng: random.Random, count: int, start_ms: int) -> list[Operation]:
    """``count`` rows over the series, one a minute from ``start_ms``."""
    per_series = count // len(SERIES)
    ops: list[Operation] = []
    for series in SERIES:
        rows = tuple(
            (start_ms + i * 60_000 + rng.randint(0, 999), round(rng.uniform(40, 120), 1))
            for i in range(per_series)
        )
        for j in range(0, len(rows), 10_000):
            ops.append(AppendRows(series, rows[j : j + 10_000]))
    return ops


def plain_size(ops: list[Operation]) -> tuple[int, int]:
    """(raw, deflate-compressed) size of the data in ``ops`` as plain JSON lines."""
    lines: list[str] = []
    for op in ops:
        if isinstance(op, SetFields):
            for name, value in op.fields.items():
                lines.append(
                    json.dumps([op.collection, op.key, name, value], separators=(",", ":"))
                )
        elif isinstance(op, AppendRows):
            for ts, value in op.rows:
                lines.append(json.dumps([op.series, ts, value], separators=(",", ":")))
    raw = "\n".join(lines).encode()
    return len(raw), len(zlib.compress(raw, COMPRESSION_LEVEL))


async def write_all(node: Node, ops: list[Operation], chunk: int = 5000) -> None:
    """Write ``ops`` in transactions of ``chunk``."""
    for i in range(0, len(ops), chunk):
        await node.db(node.store.write, ops[i : i + chunk])


async def reconnect(folder: Path, rng: random.Random, per_write: int = 5000) -> dict[str, Any]:
    """Figures 1 and 2: the 30-day reconnect, then an idle round."""
    async with ClientSession() as session:
        counter = Counter(session)
        addresses: dict[str, str] = {}
        home, home_runner = await start(folder, "home", "cabin", False, counter, addresses)
        cabin, cabin_runner = await start(folder, "cabin", "home", True, counter, addresses)
        try:
            # Before the trip: a shared state, synced.
            await write_all(home, record_changes(rng, 5000, "shared"))
            await cabin.links["home"].sync()
            now = home.wall()
            home_ops = record_changes(rng, 50_000, "home") + time_series(
                rng, 200_000, now - 30 * DAY_MS
            )
            cabin_ops = record_changes(rng, 5000, "cabin")
            await write_all(home, home_ops, per_write)
            await write_all(cabin, cabin_ops, per_write)
            counter.sent = counter.received = counter.requests = 0
            started = time.perf_counter()
            await cabin.links["home"].sync()
            elapsed = time.perf_counter() - started
            total = counter.sent + counter.received
            requests = counter.requests
            digests = {await home.db(home.store.digest), await cabin.db(cabin.store.digest)}
            assert len(digests) == 1, "not converged"
            raw, compressed = plain_size(home_ops + cabin_ops)
            counter.sent = counter.received = counter.requests = 0
            await cabin.links["home"].sync()
            idle = counter.sent + counter.received
            idle_requests = counter.requests
        finally:
            for runner in (home_runner, cabin_runner):
                await runner.cleanup()
            await home.stop()
            await cabin.stop()
    return {
        "seconds": elapsed,
        "bytes": total,
        "requests": requests,
        "data_raw": raw,
        "data_compressed": compressed,
        "idle_bytes": idle,
        "idle_requests": idle_requests,
    }


def bulk_fill(store: Store, values: list[int], stamp: int) -> None:
    """Fill a replica with home's records as if written at home and synced (a fast set-up).

    The same rows a million ``set`` writes at home would leave, written in one statement; the
    benchmark measures the rounds that follow, not this.
    """
    db = store._db
    db.execute("BEGIN IMMEDIATE")
    origin = store._idx("home")
    db.executemany(
        "INSERT INTO cells(coll, key, field, value, hlc, origin, seq) "
        "VALUES(?, ?, 'value', ?, ?, ?, ?)",
        ((COLLECTIONS[i % 6], f"r{i}", str(v), stamp, origin, i + 1) for i, v in enumerate(values)),
    )
    db.execute(
        "INSERT INTO watermarks(origin, seq) VALUES(?, ?) "
        "ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq",
        (origin, len(values)),
    )
    db.execute("COMMIT")


async def small_round(folder: Path, rng: random.Random, records: int) -> dict[str, Any]:  # noqa: PLR0915
    """Figure 3: 10 changes in a big store, delta against naive."""
    async with ClientSession() as session:
        counter = Counter(session)
        addresses: dict[str, str] = {}
        home, home_runner = await start(folder, "home", "cabin", False, counter, addresses)
        cabin, cabin_runner = await start(folder, "cabin", "home", True, counter, addresses)
        naive_runner: web.AppRunner | None = None
        try:
            print(f"  building a store of {records:,} records at home and at the cabin...")
            values = [rng.randint(0, 10**6) for _ in range(records)]
            stamp = home.store.clock.now()
            await home.db(bulk_fill, home.store, values, stamp)
            await cabin.db(bulk_fill, cabin.store, values, stamp)
            await cabin.links["home"].sync()  # home learns what the cabin has
            changed = [
                SetFields(COLLECTIONS[i % 6], f"r{rng.randrange(records)}", {"value": -i})
                for i in range(10)
            ]
            await home.db(home.store.write, changed)

            delta_times: list[float] = []
            started = time.perf_counter()
            await cabin.links["home"].sync()
            delta_times.append(time.perf_counter() - started)
            for i in range(4):  # more rounds of 10 changes, for a steadier figure
                more = [
                    SetFields("settings", f"r{rng.randrange(records)}", {"value": i * 100 + j})
                    for j in range(10)
                ]
                await home.db(home.store.write, more)
                started = time.perf_counter()
                await cabin.links["home"].sync()
                delta_times.append(time.perf_counter() - started)
            digests = {await home.db(home.store.digest), await cabin.db(cabin.store.digest)}
            assert len(digests) == 1, "not converged"

            # The naive protocol: the cabin sends every record's version; home compares.
            async def compare(request: web.Request) -> web.Response:
                theirs = json.loads(zlib.decompress(await request.read()))

                def diff() -> bytes:
                    db = home.store._db
                    mine = db.execute("SELECT coll, key, field, hlc, value FROM cells")
                    newer = [
                        [c, k, f, h, v]
                        for c, k, f, h, v in mine
                        if theirs.get(f"{c}\x00{k}\x00{f}", -1) < h
                    ]
                    return zlib.compress(json.dumps(newer).encode(), COMPRESSION_LEVEL)

                return web.Response(body=await home.db(diff))

            app = web.Application(client_max_size=1 << 30)
            app.router.add_post("/naive", compare)
            naive_runner = web.AppRunner(app, access_log=None)
            await naive_runner.setup()
            await web.TCPSite(naive_runner, "127.0.0.1", 0).start()
            naive_url = f"http://127.0.0.1:{naive_runner.addresses[0][1]}/naive"
            more = [
                SetFields("settings", f"r{rng.randrange(records)}", {"value": -1 - j})
                for j in range(10)
            ]
            await home.db(home.store.write, more)

            def versions() -> bytes:
                db = cabin.store._db
                doc = {
                    f"{c}\x00{k}\x00{f}": h
                    for c, k, f, h in db.execute("SELECT coll, key, field, hlc FROM cells")
                }
                return zlib.compress(json.dumps(doc).encode(), COMPRESSION_LEVEL)

            started = time.perf_counter()
            body = await cabin.db(versions)
            async with session.post(naive_url, data=body) as r:
                answer = await r.read()
            newer = json.loads(zlib.decompress(answer))
            naive_seconds = time.perf_counter() - started
            assert len(newer) == 10, len(newer)
            naive_bytes = len(body) + len(answer)
        finally:
            for runner in (home_runner, cabin_runner, naive_runner):
                if runner is not None:
                    await runner.cleanup()
            await home.stop()
            await cabin.stop()
    return {
        "delta_seconds": sorted(delta_times)[len(delta_times) // 2],
        "delta_max": max(delta_times),
        "naive_seconds": naive_seconds,
        "naive_bytes": naive_bytes,
    }


def origin_check_cost(rng: random.Random, count: int = 10_000) -> tuple[float, float]:
    """(sign, check) ms for ``count`` entries: a fifth record changes, the rest rows.

    Signed as the store does it (groups of a write), checked as a receiver does (every
    entry's digest, every group's signature); the best of five runs.
    """
    ops = record_changes(rng, count // 5, "cost") + time_series(rng, count - count // 5, 0)
    entries: list[Entry] = []
    for op in ops:
        if isinstance(op, SetFields):
            for name, value in op.fields.items():
                n = len(entries) + 1
                entries.append(
                    Entry(Kind.FIELD, "home", n, n << 16, op.collection, op.key, name, value)
                )
        elif isinstance(op, AppendRows):
            for ts, value in op.rows:
                n = len(entries) + 1
                entries.append(Entry(Kind.ROW, "home", n, 0, op.series, "", "", value, ts))
    key = SiteKey(Ed25519PrivateKey.generate())
    sign = check = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        groups = key.sign(entries)
        sign = min(sign, time.perf_counter() - started)
        part = Part("home", 0, len(entries), tuple(entries), proof_of(groups, entries))
        started = time.perf_counter()
        check_part(part, key.public)
        check = min(check, time.perf_counter() - started)
    return sign * 1000 * 10_000 / len(entries), check * 1000 * 10_000 / len(entries)


def move_check_cost(folder: Path, count: int = 10_000) -> tuple[float, float]:
    """(moved, fresh) ms for a receiver to take ``count`` items of a site's new epoch.

    Moved: the items the site wrote under its first epoch, hours before its latest change the
    receiver took, sent again under ``cabin~1`` with where each was. Fresh: the same items
    stamped after that change (no move to check). Best of three, each on a new receiver.
    """
    hour = 3_600_000 << 16
    key = SiteKey(Ed25519PrivateKey.generate())
    old = [
        Entry(Kind.ITEM, "cabin", n, (1 << 56) + n, "xp", f"e{n}", "", {"amount": n})
        for n in range(1, count + 1)
    ]
    latest = Entry(Kind.ITEM, "cabin", count + 1, (1 << 56) + 6 * hour, "xp", "last", "", 1)
    first = [*old, latest]
    first_part = Part("cabin", 0, count + 1, tuple(first), proof_of(key.sign(first), first))
    moved = [e._replace(origin="cabin~1") for e in old]
    fresh = [e._replace(origin="cabin~1", hlc=e.hlc + 7 * hour) for e in old]
    sources = tuple((n, "cabin", n) for n in range(1, count + 1))
    timings: dict[str, float] = {}
    for name, entries, where in (("moved", moved, sources), ("fresh", fresh, ())):
        proof = proof_of(key.sign(entries), entries)
        part = Part("cabin~1", 0, count, tuple(entries), proof, where)
        best = float("inf")
        for run in range(3):
            receiver = Store(
                folder / f"{name}{run}.db",
                "home",
                lambda: (1 << 40) + 8 * 3_600_000,
                durable=False,
                site_key=SiteKey(Ed25519PrivateKey.generate()),
            )
            receiver.pin_keys({"cabin": key.public})
            receiver.apply([first_part])
            started = time.perf_counter()
            applied = receiver.apply([part])
            best = min(best, time.perf_counter() - started)
            if applied.entries != count or applied.backdated_entries:
                raise RuntimeError(f"the {name} entries were not all taken: {applied}")
            receiver.close()
        timings[name] = best * 1000 * 10_000 / count
    return timings["moved"], timings["fresh"]


def main() -> int:
    """Run the three figures and print them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records in the big store")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--ops-per-write",
        type=int,
        default=5000,
        help="operations a write holds while the cabin is away (1: each change its own write)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        print(
            "1. cabin reconnecting after 30 days "
            "(50,000 + 200,000 rows at home, 5,000 at the cabin)"
        )
        r = asyncio.run(reconnect(Path(folder) / "reconnect", rng, args.ops_per_write))
        ratio = r["bytes"] / r["data_compressed"]
        print(f"  converged in {r['seconds']:.2f} s over {r['requests']} requests (target < 10 s)")
        print(
            f"  bytes sent both ways {r['bytes']:,}; the changed data: {r['data_raw']:,} raw, "
            f"{r['data_compressed']:,} compressed; ratio {ratio:.2f}x (target < 1.5x)"
        )
        ok &= r["seconds"] < 10 and ratio < 1.5
        print("2. idle round")
        print(f"  {r['idle_requests']} request, {r['idle_bytes']} bytes both ways (target < 1 KB)")
        ok &= r["idle_requests"] == 1 and r["idle_bytes"] < 1024
        print(f"3. a round with 10 changes in a store of {args.records:,} records")
        s = asyncio.run(small_round(Path(folder) / "small", rng, args.records))
        print(
            f"  delta sync: {s['delta_seconds'] * 1000:.1f} ms (median of 5, max "
            f"{s['delta_max'] * 1000:.1f} ms; target < 50 ms)"
        )
        print(
            f"  naive compare-everything: {s['naive_seconds'] * 1000:.0f} ms, "
            f"{s['naive_bytes']:,} bytes; "
            f"delta is {s['naive_seconds'] / s['delta_seconds']:.0f}x faster"
        )
        ok &= s["delta_seconds"] < 0.05
        sign_ms, check_ms = origin_check_cost(rng)
        print("4. the origin check per 10,000 entries (record changes and rows)")
        print(f"  sign {sign_ms:.1f} ms + check {check_ms:.1f} ms = {sign_ms + check_ms:.1f} ms")
        moved_ms, fresh_ms = move_check_cost(Path(folder))
        print("5. a restore's moved entries, per 10,000 items taken (signature check included)")
        print(
            f"  moved {moved_ms:.1f} ms (each checked by its earlier digest) against "
            f"{fresh_ms:.1f} ms stamped after the site's latest: {moved_ms / fresh_ms:.2f}x"
        )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
