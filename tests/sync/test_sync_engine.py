"""Deterministic cases of the engine: tombstones, a restored replica, retention, back-off, the
status, a forged answer, and the command line."""

from __future__ import annotations

import json
from pathlib import Path
import random
import shutil

from aiohttp import ClientSession
import pytest

from lifeops_sync.cli import main
from lifeops_sync.config import ConfigError, NodeConfig, PeerConfig, from_options
from lifeops_sync.crdt import Kind
from lifeops_sync.ops import AddItem, AppendRows, Delete, SetFields
from lifeops_sync.service import Node, PeerError, Reply

from .nodes import Network, api, start_node, stop_node
from .replicas import star


def test_tombstone_waits_for_the_local_feed_reader(tmp_path: Path) -> None:
    """The integration reading home's change feed sees a delete before it is collected."""
    cluster = star(tmp_path, {"home": 0, "cabin_a": 0, "cabin_b": 0})
    try:
        home = cluster.stores["home"]
        cluster.write("cabin_a", SetFields("habits", "run", {"name": "Run"}))
        cluster.heal([("cabin_a", "home"), ("cabin_b", "home")])
        read_up_to = home.vector()  # the reader has applied the habit
        home.note_reader(read_up_to, now_ms=1_000)
        cluster.write("cabin_a", Delete("habits", "run"))
        cluster.heal([("cabin_a", "home"), ("cabin_b", "home")], gc=False)
        cluster.heal([("cabin_a", "home"), ("cabin_b", "home")], gc=False)
        # Every node has the delete, but the reader's cursor is before it: kept.
        assert home.collect_garbage(cluster.peers["home"], now_ms=2_000) == 0
        assert home.tombstones() == 1
        parts, _ = home.changes_since(read_up_to, 100)
        deletes = [e for part in parts for e in part.entries if e.kind is Kind.DELETE]
        assert [(e.coll, e.key) for e in deletes] == [("habits", "run")]  # the reader gets it
        # Once the reader has moved past it, it goes.
        home.note_reader(home.vector(), now_ms=3_000)
        assert home.collect_garbage(cluster.peers["home"], now_ms=4_000) == 1
        # A reader that stopped reading a month ago holds nothing back.
        cluster.write("cabin_a", SetFields("habits", "swim", {"name": "Swim"}))
        cluster.write("cabin_a", Delete("habits", "swim"))
        cluster.heal([("cabin_a", "home"), ("cabin_b", "home")], gc=False)
        cluster.heal([("cabin_a", "home"), ("cabin_b", "home")], gc=False)
        assert home.collect_garbage(cluster.peers["home"], now_ms=4_000) == 0
        month = 31 * 86_400_000
        assert home.collect_garbage(cluster.peers["home"], now_ms=4_000 + month) == 1
    finally:
        cluster.close()


def test_tombstone_waits_for_every_node_and_an_old_write_never_resurrects(tmp_path: Path) -> None:
    cluster = star(tmp_path, {"home": 0, "cabin_a": -3_600_000, "cabin_b": 0})
    try:
        cluster.write("home", SetFields("habits", "run", {"name": "Run", "xp": 5}))
        cluster.heal([("cabin_a", "home"), ("cabin_b", "home")])
        # Offline, the slow cabin edits the habit; meanwhile home deletes it.
        cluster.clocks["cabin_a"].tick(1)
        cluster.write("cabin_a", SetFields("habits", "run", {"xp": 50}))
        old_request, _ = cluster.request("cabin_a", "home", 100)
        cluster.clocks["home"].tick(10)
        cluster.write("home", Delete("habits", "run"))
        cluster.sync("cabin_b", "home")
        for node in ("home", "cabin_b"):
            cluster.stores[node].collect_garbage(cluster.peers[node])
        # Cabin A has not seen the delete: home keeps the tombstone.
        assert cluster.stores["home"].tombstones() == 1
        cluster.heal([("cabin_a", "home"), ("cabin_b", "home")])
        cluster.heal([("cabin_a", "home"), ("cabin_b", "home")])
        assert [s.tombstones() for s in cluster.stores.values()] == [0, 0, 0]
        # The cabin's old request, delivered late after collection, brings nothing back.
        cluster.serve("home", old_request, 100)
        for store in cluster.stores.values():
            assert store.read("habits") == {}
        cluster.check()
        # A write after the delete brings the record back with that field only.
        cluster.write("cabin_b", SetFields("habits", "run", {"name": "Run again"}))
        cluster.heal([("cabin_a", "home"), ("cabin_b", "home")])
        for store in cluster.stores.values():
            assert store.read("habits") == {"run": {"name": "Run again"}}
    finally:
        cluster.close()


def test_a_replica_restored_from_backup_takes_its_own_changes_back(tmp_path: Path) -> None:
    cluster = star(tmp_path, {"home": 0, "cabin_a": 0})
    try:
        cluster.write("cabin_a", SetFields("settings", "s", {"a": 1}))
        cluster.stores["cabin_a"].backup(tmp_path / "backup.db")
        cluster.write("cabin_a", SetFields("settings", "s", {"b": 2}))
        cluster.sync("cabin_a", "home")
        cluster.stores["cabin_a"].close()
        shutil.copy(tmp_path / "backup.db", tmp_path / "cabin_a.db")
        cluster.open("cabin_a")
        assert cluster.stores["cabin_a"].vector() == {"cabin_a": 1}
        cluster.sync("cabin_a", "home")
        assert cluster.stores["cabin_a"].vector()["cabin_a"] == 2
        cluster.write("cabin_a", SetFields("settings", "s", {"c": 3}))
        cluster.sync("cabin_a", "home")
        cluster.check()
        assert cluster.stores["home"].read("settings") == {"s": {"a": 1, "b": 2, "c": 3}}
    finally:
        cluster.close()


def test_retention_drops_old_rows_and_they_do_not_come_back(tmp_path: Path) -> None:
    cluster = star(tmp_path, {"home": 0, "cabin_a": 0})
    try:
        cluster.write("home", AppendRows("steps", ((1_000, 1.0), (5_000, 2.0))))
        cluster.sync("cabin_a", "home")
        assert cluster.stores["cabin_a"].prune_rows(2_000) == 1
        cluster.sync("cabin_a", "home")
        assert [r[3] for r in cluster.stores["cabin_a"].dump()["rows"]] == [5_000]
    finally:
        cluster.close()


def test_retention_drops_old_long_term_row_items_only(tmp_path: Path) -> None:
    cluster = star(tmp_path, {"home": 0, "cabin_a": 0})
    try:
        cluster.write("home", AddItem("longterm.health_metric", "home|ab|1", [1, "home"]))
        cluster.write("home", AddItem("xp", "e1", {"amount": 1}))
        cluster.sync("cabin_a", "home")
        store = cluster.stores["cabin_a"]
        assert store.prune_rows(0) == 0
        # Written just now: a cutoff in the future drops the row item, never the XP item.
        assert store.prune_rows(1 << 45) == 1
        assert store.items("longterm.health_metric") == {}
        assert store.items("xp") == {"e1": {"amount": 1}}
        cluster.sync("cabin_a", "home")
        assert store.items("longterm.health_metric") == {}
    finally:
        cluster.close()


async def test_an_offline_peer_is_retried_with_back_off_and_reported(
    tmp_path: Path, socket_enabled: None
) -> None:
    config = NodeConfig(
        node_id="cabin_a",
        data_dir=tmp_path,
        peers=(PeerConfig("home", "x" * 20, "http://127.0.0.1:9"),),
        retry_max=60,
        durable=False,
    )
    node = Node(config)
    await node.start(loops=False)
    try:
        link = node.links["home"]
        delays = []
        for _ in range(4):
            with pytest.raises(PeerError, match="unreachable"):
                await link.sync()
            delays.append(link.backoff())
        assert link.failures == 4
        assert 0.8 <= delays[0] <= 1.2 and 6.4 <= delays[3] <= 9.6
        (status,) = (await node.status())["peers"]
        assert status["failures"] == 4
        assert status["last_success"] is None
        assert status["last_error"].startswith("unreachable")
    finally:
        await node.stop()


async def test_a_forged_answer_is_refused_and_changes_nothing(
    tmp_path: Path, socket_enabled: None
) -> None:
    async with ClientSession() as session:
        net = Network(random.Random(0), session, faults=False)
        home = await start_node(net, tmp_path, "home", {"cabin_a": False})
        cabin = await start_node(net, tmp_path, "cabin_a", {"home": True})
        try:
            await api(
                home,
                "POST",
                "/v1/write",
                {"ops": [{"op": "add", "collection": "xp", "key": "e", "value": 1}]},
            )
            before = await api(cabin, "GET", "/v1/state")
            send = cabin.node.links["home"].transport

            async def tampered(url: str, body: bytes, headers: dict[str, str]) -> Reply:
                reply = await send(url, body, headers)
                return Reply(reply.status, reply.headers, reply.body[:-1] + b"\0")

            cabin.node.links["home"].transport = tampered
            with pytest.raises(PeerError, match="not signed"):
                await cabin.node.links["home"].sync()
            assert await api(cabin, "GET", "/v1/state") == before
        finally:
            await stop_node(net, cabin)
            await stop_node(net, home)


def test_configuration_errors_name_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="node_id"):
        from_options({"node_id": "has space"}, tmp_path)
    with pytest.raises(ConfigError, match="secret"):
        from_options({"node_id": "home", "peers": [{"node_id": "c", "secret": "short"}]}, tmp_path)
    with pytest.raises(ConfigError, match="url"):
        from_options(
            {"node_id": "home", "peers": [{"node_id": "c", "secret": "s" * 16, "url": "ftp://x"}]},
            tmp_path,
        )
    with pytest.raises(ConfigError, match="own id"):
        from_options(
            {"node_id": "home", "peers": [{"node_id": "home", "secret": "s" * 16}]}, tmp_path
        )


def test_command_line_secret_backup_and_inspect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["secret"]) == 0
    assert len(capsys.readouterr().out.strip()) >= 40
    (tmp_path / "r").mkdir()
    cluster = star(tmp_path / "r", {"home": 0})
    cluster.write("home", SetFields("c", "k", {"v": 1}))
    cluster.close()
    (tmp_path / "data").mkdir()
    shutil.copy(tmp_path / "r" / "home.db", tmp_path / "data" / "sync.db")
    assert (
        main(
            [
                "backup",
                "--data-dir",
                str(tmp_path / "data"),
                "--node-id",
                "home",
                "--to",
                str(tmp_path / "copy.db"),
            ]
        )
        == 0
    )
    (tmp_path / "copy").mkdir()
    shutil.copy(tmp_path / "copy.db", tmp_path / "copy" / "sync.db")
    assert main(["inspect", "--data-dir", str(tmp_path / "copy"), "--node-id", "home"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["vector"] == {"home": 1}
    assert shown["stats"]["cells"] == 1
