"""The integration's write queue (`sync/queue.py`) on its own: coalescing, the bound, the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from custom_components.lifeops.sync.queue import OpQueue, QueueFile


def _set(key: str, at: int, **fields: Any) -> dict[str, Any]:
    op = {"op": "set", "collection": "habits", "key": key, "fields": fields}
    return {**op, "at": at, "seen": {"home": at}}


def _row(n: int) -> dict[str, Any]:
    return {"op": "add", "collection": "longterm.health_metric", "key": f"r{n}", "value": [n]}


def _save(queue: OpQueue, file: QueueFile) -> None:
    changes = queue.changes()
    assert changes is not None
    file.apply(changes, queue.last_id)
    queue.saved(changes)
    assert queue.changes() is None


def test_a_later_set_takes_its_fields_out_of_earlier_ones_each_keeping_its_own_edit() -> None:
    queue = OpQueue()
    queue.add(_set("run", 1, name="Run", xp=5))
    queue.add(_set("run", 2, xp=10, grace=1))
    assert list(queue) == [_set("run", 1, name="Run"), _set("run", 2, xp=10, grace=1)]
    queue.add(_set("run", 3, name="Jog"))  # the first set has nothing left: it goes
    assert list(queue) == [_set("run", 2, xp=10, grace=1), _set("run", 3, name="Jog")]
    # Never across a delete, never into what is being sent.
    queue.add({"op": "delete", "collection": "habits", "key": "run"})
    queue.add(_set("run", 4, xp=1))
    assert len(queue) == 4
    queue.freeze()
    queue.add(_set("run", 5, xp=2))
    queue.thaw()
    assert [op.get("fields") for op in queue][-2:] == [{"xp": 1}, {"xp": 2}]
    assert queue.pending_fields("habits") == {"xp", "grace", "name"}
    assert queue.pending_keys("habits") == {"run"}


def test_rows_are_refused_at_the_bound_and_everything_else_is_kept(tmp_path: Path) -> None:
    file = QueueFile(tmp_path / "q.sqlite")
    queue = OpQueue(file.load(), max_ops=3)
    assert [queue.add(_row(n)) for n in range(4)] == [True, True, True, False]
    assert queue.add(_set("run", 1, xp=1)) is True  # small operations are never refused
    assert queue.add(_row(9), force=True) is True  # an old queue moved in: nothing lost
    assert (len(queue), queue.dropped) == (5, 1)
    assert queue.fill > 1
    _save(queue, file)
    again = OpQueue(QueueFile(tmp_path / "q.sqlite").load(), max_ops=3)
    assert (len(again), again.dropped, list(again)) == (5, 1, [_set("run", 1, xp=1)])


def test_the_file_holds_what_was_saved_even_unclosed_and_drops_only_what_was_acknowledged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q.sqlite"
    file = QueueFile(path)
    queue = OpQueue(file.load())
    for op in (_set("run", 1, xp=1), _row(1), _row(2), _set("swim", 2, xp=2)):
        queue.add(op)
    _save(queue, file)
    # A crash (the first connection is never closed): a new process finds everything.
    crashed = QueueFile(path)
    assert crashed.load().rows == 2
    upto = queue.freeze()
    batch = file.oldest(3, upto)
    assert [op["key"] for _, op in batch] == ["run", "r1", "r2"]
    # Sent, but the process dies before the acknowledgement is written: all of it again.
    assert [op["key"] for _, op in QueueFile(path).oldest(10, upto)] == ["run", "r1", "r2", "swim"]
    done = queue.acknowledged([op_id for op_id, _ in batch])
    queue.thaw()
    assert done == [_set("run", 1, xp=1)]
    assert len(queue) == 1
    _save(queue, file)
    reopened = QueueFile(path)
    loaded = reopened.load()
    assert (loaded.small, loaded.rows) == ([(4, _set("swim", 2, xp=2))], 0)
    assert OpQueue(loaded).last_id == 4
    for handle in (file, crashed, reopened):
        handle.close()
