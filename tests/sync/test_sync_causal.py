"""An edit written later than it was made (queued while the service was away) says when it was
made and what its writer had seen: a concurrent remote edit made after it wins, an older one
loses, and an edit made after seeing another node's change wins even when that node's clock is
an hour fast."""

from __future__ import annotations

from pathlib import Path
import random

from aiohttp import ClientSession

from lifeops_sync.ops import Delete, Known, SetFields, parse_operation
from lifeops_sync.store import Skipped

from .nodes import Network, api, start_node, stop_node
from .replicas import star

HOUR = 3_600_000
PERSON = ("settings", "person")


def test_a_queued_edit_loses_to_a_concurrent_later_remote_edit(tmp_path: Path) -> None:
    cluster = star(tmp_path, {"home": 0, "cabin_a": 0})
    try:
        home = cluster.stores["home"]
        cluster.write("home", SetFields(*PERSON, {"bedtime": "22:30", "wake": "07:00"}))
        cluster.heal([("cabin_a", "home")])
        # Home's HA edits at `at` having read everything; the cabin edits later; that edit
        # reaches home's service before the queued edit does.
        known = Known(cluster.clocks["home"](), home.vector())
        cluster.clocks["home"].tick(1_000)
        cluster.clocks["cabin_a"].tick(2_000)
        cluster.write("cabin_a", SetFields(*PERSON, {"bedtime": "23:15"}))
        cluster.sync("cabin_a", "home")
        ack = cluster.write(
            "home", SetFields(*PERSON, {"bedtime": "21:45", "wake": "06:30"}, known)
        )
        assert ack.skipped == (Skipped("set", *PERSON, ("bedtime",)),)
        assert ack.last_seq == ack.first_seq  # only `wake` was written
        cluster.heal([("cabin_a", "home")])
        cluster.check()
        for store in cluster.stores.values():
            assert store.read(*PERSON)["person"] == {"bedtime": "23:15", "wake": "06:30"}
    finally:
        cluster.close()


def test_a_queued_edit_wins_over_an_older_remote_edit_it_had_not_seen(tmp_path: Path) -> None:
    cluster = star(tmp_path, {"home": 0, "cabin_a": 0})
    try:
        home = cluster.stores["home"]
        seen = home.vector()
        cluster.write("cabin_a", SetFields(*PERSON, {"bedtime": "23:15"}))
        cluster.sync("cabin_a", "home")
        cluster.clocks["home"].tick(5_000)
        known = Known(cluster.clocks["home"](), seen)  # made after the cabin's, unseen
        ack = cluster.write("home", SetFields(*PERSON, {"bedtime": "21:45"}, known))
        assert ack.skipped == ()
        cluster.heal([("cabin_a", "home")])
        cluster.check()
        assert cluster.stores["cabin_a"].read(*PERSON)["person"] == {"bedtime": "21:45"}
    finally:
        cluster.close()


def test_an_edit_made_after_seeing_a_fast_clocks_change_wins(tmp_path: Path) -> None:
    """The cabin's clock is an hour fast: its stamp is later than home's edit by the clock, but
    home's edit was made after seeing it, so it wins (and without `seen` it would not)."""
    cluster = star(tmp_path, {"home": 0, "cabin_a": HOUR})
    try:
        home = cluster.stores["home"]
        cluster.write("cabin_a", SetFields(*PERSON, {"bedtime": "23:15", "wake": "07:00"}))
        cluster.sync("cabin_a", "home")
        cluster.clocks["home"].tick(10)
        at = cluster.clocks["home"]()
        blind = home.write([SetFields(*PERSON, {"wake": "08:00"}, Known(at, {}))])
        assert blind.skipped == (Skipped("set", *PERSON, ("wake",)),)  # concurrent: cabin wins
        ack = cluster.write(
            "home", SetFields(*PERSON, {"bedtime": "21:45"}, Known(at, home.vector()))
        )
        assert ack.skipped == ()
        cluster.heal([("cabin_a", "home")])
        cluster.check()
        for store in cluster.stores.values():
            assert store.read(*PERSON)["person"] == {"bedtime": "21:45", "wake": "07:00"}
    finally:
        cluster.close()


def test_own_changes_count_as_seen(tmp_path: Path) -> None:
    cluster = star(tmp_path, {"home": 0})
    try:
        known = Known(cluster.clocks["home"](), {})
        cluster.clocks["home"].tick(1_000)
        cluster.write("home", SetFields(*PERSON, {"bedtime": "22:00"}))  # e.g. the command line
        ack = cluster.write("home", SetFields(*PERSON, {"bedtime": "21:45"}, known))
        assert ack.skipped == ()
        assert cluster.stores["home"].read(*PERSON)["person"] == {"bedtime": "21:45"}
    finally:
        cluster.close()


def test_deletes_and_concurrent_later_changes(tmp_path: Path) -> None:
    cluster = star(tmp_path, {"home": 0, "cabin_a": 0})
    try:
        home = cluster.stores["home"]
        run = {"name": "Run", "xp": 5}
        cluster.write("home", SetFields("habits", "run", run))
        cluster.write("home", SetFields("habits", "swim", {"name": "Swim", "xp": 5}))
        cluster.heal([("cabin_a", "home")])
        known = Known(cluster.clocks["home"](), home.vector())
        cluster.clocks["home"].tick(1_000)
        cluster.clocks["cabin_a"].tick(2_000)
        # Later, the cabin edits one field of `run` and deletes `swim`.
        cluster.write("cabin_a", SetFields("habits", "run", {"xp": 50}))
        cluster.write("cabin_a", Delete("habits", "swim"))
        cluster.sync("cabin_a", "home")
        # Home's queued delete of `run` and edit of `swim`, made before: both left out whole.
        ack = home.write(
            [Delete("habits", "run", known), SetFields("habits", "swim", {"xp": 9}, known)]
        )
        assert ack.skipped == (
            Skipped("delete", "habits", "run"),
            Skipped("set", "habits", "swim", ("xp",)),
        )
        assert ack.last_seq < ack.first_seq  # nothing written
        cluster.heal([("cabin_a", "home")])
        for store in cluster.stores.values():
            assert store.read("habits") == {"run": {"name": "Run", "xp": 50}}
        # Made after seeing them, the same delete goes through.
        ack = cluster.write("home", Delete("habits", "run", Known(0, home.vector())))
        assert ack.skipped == ()
        cluster.heal([("cabin_a", "home")])
        cluster.check()
        assert cluster.stores["cabin_a"].read("habits") == {}
    finally:
        cluster.close()


def test_at_and_seen_are_parsed_and_checked() -> None:
    base = {"op": "set", "collection": "c", "key": "k", "fields": {"f": 1}}
    assert parse_operation(base) == SetFields("c", "k", {"f": 1})
    parsed = parse_operation({**base, "at": 5, "seen": {"home": 3}})
    assert parsed == SetFields("c", "k", {"f": 1}, Known(5, {"home": 3}))
    delete = {"op": "delete", "collection": "c", "key": "k", "at": 0, "seen": {}}
    assert parse_operation(delete) == Delete("c", "k", Known(0, {}))


async def test_the_write_api_reports_what_it_left_out(tmp_path: Path, socket_enabled: None) -> None:
    async with ClientSession() as session:
        net = Network(random.Random(0), session, faults=False)
        home = await start_node(net, tmp_path, "home", {"cabin_a": False})
        cabin = await start_node(net, tmp_path, "cabin_a", {"home": True})
        try:
            person = {"op": "set", "collection": "settings", "key": "person"}
            await api(home, "POST", "/v1/write", {"ops": [{**person, "fields": {"wake": 1}}]})
            await api(cabin, "POST", "/v1/write", {"ops": [{**person, "fields": {"bedtime": 1}}]})
            await cabin.node.links["home"].sync()
            # Made a minute ago, having seen nothing: the cabin's bedtime (just now) wins, home's
            # own wake does not count as unseen.
            at = home.node.wall() - 60_000
            edit = {**person, "fields": {"bedtime": 2, "wake": 2}, "at": at, "seen": {}}
            ack = await api(home, "POST", "/v1/write", {"ops": [edit]})
            assert ack["skipped"] == [
                {"op": "set", "collection": "settings", "key": "person", "fields": ["bedtime"]}
            ]
            assert ack["last_seq"] == ack["first_seq"]
            delete = {"op": "delete", "collection": "settings", "key": "person", "at": at}
            ack = await api(home, "POST", "/v1/write", {"ops": [delete | {"seen": {}}]})
            assert ack["skipped"] == [{"op": "delete", "collection": "settings", "key": "person"}]
            records = await api(home, "GET", "/v1/records?collection=settings")
            assert records["records"]["person"] == {"bedtime": 1, "wake": 2}
        finally:
            await stop_node(net, cabin)
            await stop_node(net, home)
