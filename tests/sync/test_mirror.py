"""The merge rules of the mirrored collections (`sync/mirror.py`), against a model service.

Fast and without processes: a site (its values, its write queue, a mirror) and a service that
applies writes in the order they arrive, while other sites edit the service directly. Hypothesis
draws the interleavings: local edits, remote edits, writes (some of whose fields the service
leaves out, as it does when a later remote edit won), reads that begin before a write lands and
end after it. The rules: a local edit on its way is never overwritten by a remote value read
before it landed; what the service is known to hold is what it holds once everything is
written and read; deletes go both ways; and the site and the service agree in the end.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st

from custom_components.lifeops.sync.mirror import (
    AppendOnlySet,
    FieldsMirror,
    Op,
    RecordsMirror,
)

FIELDS = ("bedtime", "wake_time", "quiet")
VALUES = st.integers(0, 3)
KEYS = ("a", "b", "c")


class Queue:
    """The write queue as the mirrors see it: what waits, by record and field."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def pending_fields(self, key: str) -> set[str]:
        return {
            field
            for op in self.ops
            if op["op"] == "set" and op["key"] == key
            for field in op["fields"]
        }

    def pending_keys(self) -> set[str]:
        return {op["key"] for op in self.ops}


# -- one record of last-writer-wins fields --------------------------------------------------

FIELD_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("local"), st.sampled_from(FIELDS), VALUES),
        st.tuples(st.just("remote"), st.sampled_from(FIELDS), VALUES),
        st.tuples(st.just("write"), st.booleans()),  # True: the service leaves the fields out
        st.tuples(st.just("read"), st.booleans()),  # True: a write lands while it is under way
    ),
    max_size=30,
)


class FieldsSite:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.service: dict[str, Any] = {}
        self.queue = Queue()
        self.mirror = FieldsMirror("settings", "person")
        self.writes = 0

    def edit(self, field: str, value: int) -> None:
        self.values[field] = value
        op = self.mirror.local(self.values)
        if op is not None:
            self.queue.ops.append(op)

    def write(self, skip: bool) -> None:
        if not self.queue.ops:
            return
        ops, self.queue.ops = self.queue.ops, []
        self.writes += 1
        skipped = False
        for op in ops:
            for field, value in op["fields"].items():
                if skip and field in self.service:
                    skipped = True  # a later remote edit of it won
                else:
                    self.service[field] = value
            self.mirror.acknowledged(op, self.writes)
        if skipped:
            self.mirror.reread = True  # the manager reads again what the service left out

    def read(self, write_meanwhile: bool) -> None:
        writes_before = self.writes
        remote = dict(self.service)
        if write_meanwhile:
            self.write(skip=False)
        pending = self.queue.pending_fields("person")
        before = dict(self.values)
        carried = {f for f in FIELDS if self.mirror._written.get(f, 0) > writes_before}
        take = self.mirror.remote(remote, pending, writes_before)
        self.values.update(take)
        self.mirror.held(take)
        # A local edit on its way (queued, or written after the read began) is kept.
        for field in pending | carried:
            assert self.values.get(field) == before.get(field)


@settings(max_examples=300, deadline=None)
@given(FIELD_STEPS)
def test_fields_keep_local_edits_on_their_way_and_converge(steps: list[tuple[Any, ...]]) -> None:
    site = FieldsSite()
    for step in steps:
        match step:
            case ("local", field, value):
                site.edit(field, value)
            case ("remote", field, value):
                site.service[field] = value
            case ("write", skip):
                site.write(skip)
            case ("read", meanwhile):
                site.read(meanwhile)
    # Everything written, then read until nothing is left for a later read.
    site.write(skip=False)
    site.mirror.reread = True
    while site.mirror.reread:
        site.mirror.reread = False
        site.read(write_meanwhile=False)
    assert site.values == site.service
    assert site.mirror.known == site.service
    assert site.mirror.local(site.values) is None  # nothing left to write


def test_fields_queue_only_what_changed_and_forget_a_service() -> None:
    mirror = FieldsMirror("settings", "agents", {"sleep": True, "work": True})
    assert mirror.synced
    assert mirror.local({"sleep": True, "work": False}) == {
        "op": "set",
        "collection": "settings",
        "key": "agents",
        "fields": {"work": False},
    }
    assert mirror.local({"sleep": True, "work": False}) is None
    mirror.forget()
    assert not mirror.synced
    assert mirror.local({"sleep": True})["fields"] == {"sleep": True}  # type: ignore[index]


# -- records keyed by id -----------------------------------------------------------------------

RECORD_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("local"), st.sampled_from(KEYS), st.sampled_from(FIELDS), VALUES),
        st.tuples(st.just("local_delete"), st.sampled_from(KEYS)),
        st.tuples(st.just("remote"), st.sampled_from(KEYS), st.sampled_from(FIELDS), VALUES),
        st.tuples(st.just("remote_delete"), st.sampled_from(KEYS)),
        st.tuples(st.just("write")),
        st.tuples(st.just("read"), st.booleans()),
    ),
    max_size=30,
)


class RecordsSite:
    def __init__(self, *, whole: bool) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.service: dict[str, dict[str, Any]] = {}
        self.queue = Queue()
        self.mirror = RecordsMirror("habits", {}, whole=whole, deletes=True)
        self.writes = 0
        self.reread = False

    def changed(self) -> None:
        self.queue.ops += self.mirror.local(self.records)

    def write(self) -> None:
        if not self.queue.ops:
            return
        ops, self.queue.ops = self.queue.ops, []
        self.writes += 1
        for op in ops:
            if op["op"] == "set":
                self.service.setdefault(op["key"], {}).update(op["fields"])
            else:
                self.service.pop(op["key"], None)
            self.mirror.acknowledged(op, self.writes)

    def read(self, write_meanwhile: bool) -> None:
        writes_before = self.writes
        remote = {key: dict(fields) for key, fields in self.service.items()}
        if write_meanwhile:
            self.write()
        if self.mirror.stale(writes_before):
            self.reread = True  # read before our write landed: read again
            return
        pending = self.queue.pending_keys()
        before = {key: dict(fields) for key, fields in self.records.items()}
        taken = {key: fields for key, fields in remote.items() if key not in pending}
        for key, fields in taken.items():
            self.records[key] = dict(fields)
        for key in self.mirror.read_whole(remote, taken, pending):
            self.records.pop(key, None)
        for key in pending:  # a local change on its way is kept
            assert self.records.get(key) == before.get(key)


@settings(max_examples=300, deadline=None)
@given(RECORD_STEPS, st.booleans())
def test_records_keep_local_changes_on_their_way_and_converge(
    steps: list[tuple[Any, ...]], whole: bool
) -> None:
    site = RecordsSite(whole=whole)
    for step in steps:
        match step:
            case ("local", key, field, value):
                site.records.setdefault(key, {})[field] = value
                site.changed()
            case ("local_delete", key):
                site.records.pop(key, None)
                site.changed()
            case ("remote", key, field, value):
                site.service.setdefault(key, {})[field] = value
            case ("remote_delete", key):
                site.service.pop(key, None)
            case ("write",):
                site.write()
            case ("read", meanwhile):
                site.read(meanwhile)
    site.write()
    site.read(write_meanwhile=False)
    assert not site.reread or site.mirror.stale(0)
    # Whole records: the site shows what the service holds. Changed fields only: the service
    # may hold more fields than the site wrote, never a different value of one it holds.
    if whole:
        assert site.records == site.service
    else:
        assert site.records.keys() == site.service.keys()
        for key, fields in site.records.items():
            assert site.service[key].items() >= fields.items()
    assert site.mirror.known is not None
    assert site.mirror.known.keys() == site.service.keys()
    assert site.mirror.local(site.records) == []  # nothing left to write


def test_records_before_the_first_read_queue_nothing_then_only_what_is_new() -> None:
    mirror = RecordsMirror("habits", None, whole=True, deletes=True)
    assert mirror.local({"a": {"name": "read"}}) == []
    gone = mirror.read_whole({"b"}, {"b": {"name": "walk"}}, set())
    assert gone == []
    assert mirror.local({"a": {"name": "read"}, "b": {"name": "walk"}}) == [
        {"op": "set", "collection": "habits", "key": "a", "fields": {"name": "read"}}
    ]
    # Deleted elsewhere: gone from the service, not pending here.
    assert mirror.read_whole({"a"}, {}, set()) == ["b"]


def test_records_that_do_not_delete_forget_and_write_changed_fields_only() -> None:
    mirror = RecordsMirror(
        "work_sessions", {"w1": {"start": 1, "end": None}}, whole=False, deletes=False
    )
    assert mirror.local({"w1": {"start": 1, "end": 5}, "w2": {"start": 6, "end": None}}) == [
        {"op": "set", "collection": "work_sessions", "key": "w1", "fields": {"end": 5}},
        {
            "op": "set",
            "collection": "work_sessions",
            "key": "w2",
            "fields": {"start": 6, "end": None},
        },
    ]
    assert mirror.local({"w2": {"start": 6, "end": None}}) == []  # w1 pruned here: kept there
    assert mirror.known == {"w2": {"start": 6, "end": None}}
    mirror.forget()
    assert len(mirror.local({"w2": {"start": 6, "end": None}})) == 1  # a new service


# -- append-only sets ----------------------------------------------------------------------------


@given(
    st.sets(st.sampled_from("abcdef")),
    st.sets(st.sampled_from("abcdef")),
    st.sets(st.sampled_from("abcdef")),
)
def test_an_append_only_set_adds_what_the_service_lacks_once(
    local: set[str], remote: set[str], pending: set[str]
) -> None:
    xp = AppendOnlySet("xp")
    ops = xp.missing(((key, {"id": key}) for key in sorted(local)), remote, pending)
    added = [op["key"] for op in ops]
    assert len(added) == len(set(added))
    assert set(added) == local - remote - pending
    # Once written, the service holds the union and nothing is added again.
    held = remote | pending | set(added)
    assert held >= local
    assert xp.missing(((key, {"id": key}) for key in local), held, set()) == []
    assert all(op == xp.add(op["key"], {"id": op["key"]}) for op in ops)
