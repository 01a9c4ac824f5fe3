"""Sync in Home Assistant: this site's link to its local sync service.

The HA layer of `sync/` (which has no Home Assistant imports):

* `manager.py`: the write queue and write loop, the change feed, the connection state and its
  repair issues; it knows no collection by name;
* `adapters/`: one small adapter per synced collection, mapping a mirrored collection
  (`sync/mirror.py`) to the agents (the person's targets, the agents' switches, XP, habits, the
  work log, notifications and their dismissals, long-term rows);
* `status.py`: the service's status per peer, refreshed by the manager (no half-minute poll);
* `sensor.py`, `flow.py`: the peer sensors, the options and reauth steps;
* `entry.py`: starting sync for a site entry and the `lifeops.sync_now` action;
* `options.py`: the sync options (address and secret).
"""
