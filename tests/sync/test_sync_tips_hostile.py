"""Lying tips against real ``lifeops_sync serve`` processes: the hostile peer (cabin_a, a valid
pair secret) tells home, batch after batch, that it holds entries of home's that home does not
hold. Home only asks it for a proof; it never starts a new epoch for it, so its vector stays
small (past 256 origins every batch of home's would be refused by every site), and the honest
cabin goes on syncing with it."""

from __future__ import annotations

from lifeops_sync.crdt import TipProof

from .test_sync_origin_hostile import (
    HOME,
    Net,
    net,  # noqa: F401 (the fixture)
    settle,
)
from .test_sync_stamps_hostile import write


async def test_a_peer_lying_about_what_it_holds_cannot_make_home_start_epochs(
    net: Net,  # noqa: F811
) -> None:
    await write(net, net.home, [{"op": "add", "collection": "xp", "key": "e1", "value": 1}])
    await settle(net)
    _, vector = await net.state()
    counter = vector[HOME]
    forged = TipProof(1, counter + 1, b"\1" * 32, b"\2" * 32, b"\3" * 64)
    for n in range(300):
        lie = {HOME: (counter + 1 + n % 2, 7)}
        extra = {"tip_proofs": {HOME: forged}} if n % 3 == 0 else {}
        answer = await net.send([], vector={HOME: counter + 5}, tips=lie, **extra)
        assert answer.ask_proofs  # it asks the liar to prove it, and does nothing else
    _, vector = await net.state()
    assert [origin for origin in vector if origin.startswith(HOME)] == [HOME]
    log = (net.home.folder / "home.log").read_text()
    assert log.count("cabin_a says it holds changes of this site this replica lacks") == 1
    # Home still writes under its name, and the honest cabin takes it.
    await write(net, net.home, [{"op": "add", "collection": "xp", "key": "e2", "value": 2}])
    await settle(net)
    honest = await net.call(net.honest, "GET", "/v1/state?full=1")
    assert honest["state"]["items"]["xp"]["e2"] == 2
    assert [origin for origin in honest["vector"] if origin.startswith(HOME)] == [HOME]
