"""XP: the append-only event log, how logs from several sites merge, and the level curve.

Every bit of XP is an `XpEvent` (when, which agent, what kind, how much, why, from which site,
for which habit). Events are never edited or removed, so logs kept at several sites merge without
conflicts: a log is a set of events keyed by id, and merging two logs is their union. Union is
idempotent and commutative, and so is the tie-break for the one case that needs it (two different
events under one id, e.g. the same day's goal judged at two sites): the event that sorts first by
(time, origin, agent, type, amount, description, habit) is kept everywhere. Amounts are whole and
never negative, so adding events can only raise totals, streaks and achievements.

The level curve: reaching level n takes a total of 50·n·(n-1) XP, so the step from level n to
n+1 costs 100·n XP (each level 100 XP dearer than the last). Level 1 starts at 0 XP; level 2 at
100, 3 at 300, 4 at 600, 5 at 1,000, 10 at 4,500, 20 at 19,000, 50 at 122,500, 100 at 495,000.
Inverted: level = ⌊(1 + √(1 + 4·⌊XP/50⌋)) / 2⌋, computed with integer square roots.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
import math
import re
from typing import Any, Final

from .agents import Agent
from .changes import ChangeHub, XpEventAdded
from .habits import Habit, whole_in_range
from .settings import ERROR_INVALID_CHOICE
from .text import storable

EVENT_HABIT_COMPLETED: Final = "habit_completed"
EVENT_GOAL_MET: Final = "goal_met"

# Action fields (lifeops.award_xp and lifeops.complete_habit).
FIELD_ID: Final = "id"
FIELD_TIME: Final = "time"
FIELD_AGENT: Final = "agent"
FIELD_EVENT_TYPE: Final = "event_type"
FIELD_AMOUNT: Final = "amount"
FIELD_DESCRIPTION: Final = "description"
FIELD_HABIT: Final = "habit"

MAX_AWARD: Final = 10_000
MAX_DESCRIPTION_LENGTH: Final = 255
MAX_ID_LENGTH: Final = 64
MAX_LATE_DAYS: Final = 366  # how far back a completion or award may be logged
CLOCK_SKEW: Final = timedelta(minutes=5)  # how far ahead of now a time may be
# An event another site logged (through sync): its clock may be off by an hour or more, so it
# may be ahead of ours by up to a day; and its time is after 2000 (an action's is at most 366
# days old when logged, but a site may bring years of log when it joins).
SYNCED_AHEAD: Final = timedelta(days=1)
EARLIEST_EVENT: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_EVENT: Final = datetime(3000, 1, 1, tzinfo=UTC)  # (the figures fail near year 9999)
# An event's id and type, as the actions take them (and another site's must be).
ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_.:@-]{1,64}")
EVENT_TYPE_PATTERN: Final = re.compile(r"[a-z0-9_]{1,64}")
_AGENTS: Final = frozenset(agent.value for agent in Agent)

ERROR_INVALID_ID: Final = "invalid_id"
ERROR_INVALID_TIME: Final = "invalid_time"
ERROR_TIME_IN_FUTURE: Final = "time_in_future"
ERROR_TIME_TOO_OLD: Final = "time_too_old"
ERROR_INVALID_EVENT_TYPE: Final = "invalid_event_type"
ERROR_INVALID_DESCRIPTION: Final = "invalid_description"
ERROR_UNKNOWN_HABIT: Final = "unknown_habit"


@dataclass(frozen=True, kw_only=True, slots=True)
class XpEvent:
    """One entry of the XP log. `time` is kept in UTC; `origin` is the site that logged it."""

    id: str
    time: datetime
    agent: str
    event_type: str
    amount: int
    description: str = ""
    origin: str = ""
    habit_id: str | None = None

    def __post_init__(self) -> None:
        """Refuse what the log cannot hold; move the time to UTC."""
        if not self.id:
            raise ValueError("an XP event needs an id")
        if self.time.tzinfo is None:
            raise ValueError("XP event times must be timezone-aware")
        if self.time.tzinfo is not UTC:
            object.__setattr__(self, "time", self.time.astimezone(UTC))
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 0:
            raise ValueError("XP amounts are whole numbers, 0 or more")

    def rank(self) -> tuple[datetime, str, str, str, int, str, str, str]:
        """The order that settles two different events under one id (the first is kept)."""
        return (
            self.time,
            self.origin,
            self.agent,
            self.event_type,
            self.amount,
            self.description,
            self.habit_id or "",
            self.id,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, for storage and sync."""
        return {
            "id": self.id,
            "time": self.time.isoformat(),
            "agent": self.agent,
            "event_type": self.event_type,
            "amount": self.amount,
            "description": self.description,
            "origin": self.origin,
            "habit_id": self.habit_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> XpEvent:
        """Read a stored or synced event; ValueError (or KeyError) when it is not one."""
        return cls(
            id=str(data["id"]),
            time=datetime.fromisoformat(data["time"]),
            agent=str(data["agent"]),
            event_type=str(data["event_type"]),
            amount=data["amount"],
            description=str(data.get("description") or ""),
            origin=str(data.get("origin") or ""),
            habit_id=str(data["habit_id"]) if data.get("habit_id") else None,
        )


def within_limits(event: XpEvent) -> bool:
    """Whether a stored event is one some LifeOps could have logged.

    Its amount 0 to `MAX_AWARD`, its time from `EARLIEST_EVENT` to before `LATEST_EVENT`. Fixed
    bounds, not now's: a clock that starts wrong (a machine without a clock battery) must not
    make the log drop real events. (`sync.inbound` checks a synced one against now as well.)
    """
    return 0 <= event.amount <= MAX_AWARD and EARLIEST_EVENT <= event.time < LATEST_EVENT


def read_events(items: Iterable[Any]) -> tuple[list[XpEvent], int]:
    """Stored events that can be read and are within limits; and how many were not.

    A log stored before synced events were checked may hold one another site sent (dated in year
    9999, say, which the figures cannot handle): it is left out rather than failing the set-up.
    """
    events: list[XpEvent] = []
    skipped = 0
    for item in items:
        try:
            event = XpEvent.from_dict(item)
        except (KeyError, TypeError, ValueError, OverflowError):
            skipped += 1
            continue
        if within_limits(event):
            events.append(event)
        else:
            skipped += 1
    return events, skipped


class XpLog:
    """The append-only XP log: a set of events keyed by id."""

    __slots__ = ("_events", "changes")

    def __init__(self, events: Iterable[XpEvent] = (), *, changes: ChangeHub | None = None) -> None:
        """Start from events (collapsed as in `add`); new ids from then on go to `changes`."""
        self._events: dict[str, XpEvent] = {}
        self.changes: ChangeHub | None = None
        self.merge(events)
        self.changes = changes

    def add(self, event: XpEvent) -> bool:
        """Append an event; False when its id is already logged (nothing new is counted).

        Under a known id the log keeps whichever of the two events ranks first, so every site
        ends up with the same copy whatever order it heard of them in.
        """
        known = self._events.get(event.id)
        if known is None:
            self._events[event.id] = event
            if self.changes is not None:
                self.changes.publish(XpEventAdded(event))
            return True
        if known != event and event.rank() < known.rank():
            self._events[event.id] = event
        return False

    def merge(self, events: Iterable[XpEvent]) -> int:
        """Add every event of another log (or any events); returns how many ids were new."""
        known = self._events
        added = 0
        for event in events:
            present = known.get(event.id)
            if present is None:
                known[event.id] = event
                added += 1
                if self.changes is not None:
                    self.changes.publish(XpEventAdded(event))
            elif present != event and event.rank() < present.rank():
                known[event.id] = event
        return added

    def __iter__(self) -> Iterator[XpEvent]:
        """Events in the order they were added (which no figure depends on)."""
        return iter(self._events.values())

    def __len__(self) -> int:
        """How many events."""
        return len(self._events)

    def __contains__(self, event_id: object) -> bool:
        """Whether an id is logged."""
        return event_id in self._events

    def __eq__(self, other: object) -> bool:
        """Same events under the same ids."""
        return isinstance(other, XpLog) and self._events == other._events

    __hash__ = None  # type: ignore[assignment]

    def get(self, event_id: str) -> XpEvent | None:
        """The event logged under an id."""
        return self._events.get(event_id)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, oldest first."""
        events = sorted(self._events.values(), key=XpEvent.rank)
        return {"events": [event.as_dict() for event in events]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> XpLog:
        """Read a stored or synced log."""
        return cls(XpEvent.from_dict(item) for item in data.get("events", []))


def merge_logs(*logs: Iterable[XpEvent]) -> XpLog:
    """The union of logs, as a new log (idempotent, commutative and associative)."""
    merged = XpLog()
    for log in logs:
        merged.merge(log)
    return merged


# ---- the level curve --------------------------------------------------------------------------

LEVEL_XP_UNIT: Final = 50


def xp_for_level(level: int) -> int:
    """Total XP needed to reach `level` (1 or more): 50·n·(n-1)."""
    if level < 1:
        raise ValueError("levels start at 1")
    return LEVEL_XP_UNIT * level * (level - 1)


def level_for_xp(total: int) -> int:
    """The level a total of XP has reached (1 at 0 XP or less)."""
    units = max(total, 0) // LEVEL_XP_UNIT
    return (1 + math.isqrt(1 + 4 * units)) // 2


@dataclass(frozen=True, kw_only=True)
class LevelProgress:
    """Where a total of XP stands on the curve."""

    level: int
    total_xp: int
    level_xp: int  # total XP at which this level began
    next_level_xp: int  # total XP at which the next level begins

    @property
    def xp_into_level(self) -> int:
        """XP earned since this level began."""
        return self.total_xp - self.level_xp

    @property
    def xp_to_next_level(self) -> int:
        """XP still needed for the next level."""
        return self.next_level_xp - self.total_xp

    @property
    def progress(self) -> float:
        """Progress to the next level, 0.0 up to (not including) 1.0."""
        return self.xp_into_level / (self.next_level_xp - self.level_xp)


def level_progress(total: int) -> LevelProgress:
    """The level of a total and the progress to the next one."""
    level = level_for_xp(total)
    return LevelProgress(
        level=level,
        total_xp=total,
        level_xp=xp_for_level(level),
        next_level_xp=xp_for_level(level + 1),
    )


# ---- validated entries ------------------------------------------------------------------------


def _event_id(value: Any, new_id: str) -> str | None:
    if value is None or value == "":
        return new_id
    if isinstance(value, str) and ID_PATTERN.fullmatch(value.strip()):
        return value.strip()
    return None


def _event_time(
    value: Any, *, now: datetime, tz: tzinfo, errors: dict[str, str]
) -> datetime | None:
    if value is None or value == "":
        return now.astimezone(UTC)
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        errors[FIELD_TIME] = ERROR_INVALID_TIME
        return None
    if moment.tzinfo is None:  # a wall time in the person's zone
        moment = moment.replace(tzinfo=tz)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # the first or last hours of year 1 or 9999 in another zone
        errors[FIELD_TIME] = ERROR_INVALID_TIME
        return None
    if moment > now + CLOCK_SKEW:
        errors[FIELD_TIME] = ERROR_TIME_IN_FUTURE
    elif moment < now - timedelta(days=MAX_LATE_DAYS):
        errors[FIELD_TIME] = ERROR_TIME_TOO_OLD
    return moment


def validate_award(
    user_input: Mapping[str, Any], *, now: datetime, tz: tzinfo, origin: str, new_id: str
) -> tuple[XpEvent | None, dict[str, str]]:
    """Check lifeops.award_xp's fields and make the event; or None and an error key per field.

    `agent` is one of the agents, `event_type` a lowercase slug (a-z, 0-9, _; up to 64),
    `amount` a whole 1-10,000, `description` up to 255 characters (storable: no lone surrogate).
    `time` (default now; a wall time without offset is in `tz`) may not be ahead of now by more
    than 5 minutes nor older than 366 days. `id` (default `new_id`) makes the award idempotent:
    the log counts an id once.
    """
    errors: dict[str, str] = {}
    event_id = _event_id(user_input.get(FIELD_ID), new_id)
    if event_id is None:
        errors[FIELD_ID] = ERROR_INVALID_ID
    moment = _event_time(user_input.get(FIELD_TIME), now=now, tz=tz, errors=errors)
    agent = user_input.get(FIELD_AGENT)
    if not isinstance(agent, str) or agent not in _AGENTS:
        errors[FIELD_AGENT] = ERROR_INVALID_CHOICE
    event_type = user_input.get(FIELD_EVENT_TYPE)
    if not isinstance(event_type, str) or not EVENT_TYPE_PATTERN.fullmatch(event_type):
        errors[FIELD_EVENT_TYPE] = ERROR_INVALID_EVENT_TYPE
    amount, error = whole_in_range(user_input.get(FIELD_AMOUNT), 1, MAX_AWARD)
    if error is not None:
        errors[FIELD_AMOUNT] = error
    description = user_input.get(FIELD_DESCRIPTION) or ""
    if (
        not isinstance(description, str)
        or len(description.strip()) > MAX_DESCRIPTION_LENGTH
        or not storable(description)
    ):
        errors[FIELD_DESCRIPTION] = ERROR_INVALID_DESCRIPTION
    if errors or event_id is None or moment is None or amount is None:
        return None, errors
    return (
        XpEvent(
            id=event_id,
            time=moment,
            agent=str(agent),
            event_type=str(event_type),
            amount=amount,
            description=str(description).strip(),
            origin=origin,
        ),
        {},
    )


def validate_completion(
    user_input: Mapping[str, Any],
    habits: Mapping[str, Habit],
    *,
    now: datetime,
    tz: tzinfo,
    origin: str,
    new_id: str,
) -> tuple[XpEvent | None, dict[str, str]]:
    """Check lifeops.complete_habit's fields and make the completion; or None and errors.

    `habit` names a habit or built-in goal in `habits` (see `habits.all_habits`); the event earns
    that habit's XP. `time` (for late logging) and `id` (for idempotency) are read as in
    `validate_award`; the completion counts on the local day of its `time`.
    """
    errors: dict[str, str] = {}
    event_id = _event_id(user_input.get(FIELD_ID), new_id)
    if event_id is None:
        errors[FIELD_ID] = ERROR_INVALID_ID
    moment = _event_time(user_input.get(FIELD_TIME), now=now, tz=tz, errors=errors)
    habit_id = user_input.get(FIELD_HABIT)
    habit = habits.get(habit_id) if isinstance(habit_id, str) else None
    if habit is None:
        errors[FIELD_HABIT] = ERROR_UNKNOWN_HABIT
    if errors or event_id is None or moment is None or habit is None:
        return None, errors
    return (
        XpEvent(
            id=event_id,
            time=moment,
            agent=habit.agent,
            event_type=EVENT_HABIT_COMPLETED,
            amount=habit.xp,
            description=habit.name,
            origin=origin,
            habit_id=habit.id,
        ),
        {},
    )


def goal_met(goal: Habit, *, day: date, when: datetime, origin: str) -> XpEvent:
    """The event an agent logs when it judges a goal met on a local day.

    Its id is the goal's and the day's, so judging the same day again, at this site or another,
    adds nothing.
    """
    return XpEvent(
        id=f"{goal.id}@{day.isoformat()}",
        time=when,
        agent=goal.agent,
        event_type=EVENT_GOAL_MET,
        amount=goal.xp,
        description=goal.name,
        origin=origin,
        habit_id=goal.id,
    )
