"""What LifeOps answers when asked by voice, and how an answer is phrased in a language.

The Home Assistant layer reads the figures from LifeOps' entities; the functions here pick the
answer (a key that the language files phrase, with its values), including when a figure is
missing. `Phrasebook` phrases answers with one language file's texts and units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
import math
from typing import Any, Final


class Question(StrEnum):
    """What a person can ask LifeOps; each is an Assist intent and an LLM tool."""

    SLEEP = "sleep"
    READINESS = "readiness"
    START_WIND_DOWN = "start_wind_down"
    XP = "xp"
    WORK_WEEK = "work_week"
    SCREEN_TIME = "screen_time"


# The intent each question is, as Assist and custom sentences name it.
INTENTS: Final[dict[Question, str]] = {
    Question.SLEEP: "LifeOpsSleep",
    Question.READINESS: "LifeOpsReadiness",
    Question.START_WIND_DOWN: "LifeOpsStartWindDown",
    Question.XP: "LifeOpsXp",
    Question.WORK_WEEK: "LifeOpsWorkWeek",
    Question.SCREEN_TIME: "LifeOpsScreenTime",
}

NOT_SET_UP: Final = "not_set_up"
UNAVAILABLE: Final = "unavailable"
RECOMMENDATIONS: Final = ("rest", "light", "moderate", "intense")

# Every answer key a language file must phrase.
ANSWER_KEYS: Final = (
    NOT_SET_UP,
    UNAVAILABLE,
    "sleep_no_source",
    "sleep_no_data",
    "sleep_score_and_duration",
    "sleep_score",
    "sleep_duration",
    "sleep_under_target",
    "readiness_no_source",
    "readiness_no_data",
    "readiness",
    *(f"recommendation_{name}" for name in RECOMMENDATIONS),
    "wind_down_started",
    "wind_down_already_on",
    "xp_none",
    "xp",
    "xp_to_next_level",
    "work_week_none",
    "work_week",
    "work_week_over",
    "work_week_no_target",
    "screen_time_none",
    "screen_time",
    "screen_time_over",
    "screen_time_no_limit",
)


@dataclass(frozen=True)
class Minutes:
    """A length of time, phrased in hours and minutes."""

    value: float


type Value = int | str | Minutes


@dataclass(frozen=True)
class Answer:
    """One spoken sentence (a key and its values), maybe followed by more."""

    key: str
    values: Mapping[str, Value] = field(default_factory=dict)
    then: tuple[Answer, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of this answer and of the sentences after it."""
        return (self.key, *(key for answer in self.then for key in answer.keys))


def _whole(value: float) -> int:
    return math.floor(value + 0.5)


def sleep(
    *,
    has_source: bool,
    score: float | None,
    asleep_minutes: float | None,
    last_night: bool | None,
    threshold: int,
) -> Answer:
    """Last night's sleep: score and time asleep, whichever is known.

    `last_night` is False when the newest sleep the source has ended before today (last night's
    is not there yet), None when that cannot be told.
    """
    if not has_source:
        return Answer("sleep_no_source")
    if last_night is False or (score is None and asleep_minutes is None):
        return Answer("sleep_no_data")
    then: tuple[Answer, ...] = ()
    if score is not None and score < threshold:
        then = (Answer("sleep_under_target", {"threshold": threshold}),)
    if score is not None and asleep_minutes is not None:
        values: dict[str, Value] = {"score": _whole(score), "duration": Minutes(asleep_minutes)}
        return Answer("sleep_score_and_duration", values, then)
    if score is not None:
        return Answer("sleep_score", {"score": _whole(score)}, then)
    assert asleep_minutes is not None
    return Answer("sleep_duration", {"duration": Minutes(asleep_minutes)})


def readiness(*, has_source: bool, score: float | None, recommendation: str | None) -> Answer:
    """Today's readiness, and LifeOps' workout recommendation when it has one."""
    if not has_source:
        return Answer("readiness_no_source")
    if score is None:
        return Answer("readiness_no_data")
    then: tuple[Answer, ...] = ()
    if recommendation in RECOMMENDATIONS:
        then = (Answer(f"recommendation_{recommendation}"),)
    return Answer("readiness", {"score": _whole(score)}, then)


def wind_down(*, started: bool, until: str) -> Answer:
    """Wind-down started now, or was already on; `until` is the local time it ends."""
    return Answer("wind_down_started" if started else "wind_down_already_on", {"until": until})


def xp(*, total: int, level: int, to_next: int | None) -> Answer:
    """XP in total and the level, with what the next level takes."""
    if total <= 0:
        return Answer("xp_none")
    then: tuple[Answer, ...] = ()
    if to_next is not None and to_next > 0:
        then = (Answer("xp_to_next_level", {"xp_to_next": to_next, "next_level": level + 1}),)
    return Answer("xp", {"xp": total, "level": level}, then)


def work_week(*, hours: float, target_hours: float) -> Answer:
    """Hours worked this week against the weekly target."""
    minutes = hours * 60
    if _whole(minutes) <= 0:
        return Answer("work_week_none")
    if target_hours <= 0:
        return Answer("work_week_no_target", {"duration": Minutes(minutes)})
    target = Minutes(target_hours * 60)
    if hours > target_hours and _whole(minutes - target.value) > 0:
        over = Minutes(minutes - target.value)
        values: dict[str, Value] = {"duration": Minutes(minutes), "over": over, "target": target}
        return Answer("work_week_over", values)
    return Answer("work_week", {"duration": Minutes(minutes), "target": target})


def screen_time(*, minutes: float, limit_minutes: int) -> Answer:
    """Screen time today against the daily limit."""
    if _whole(minutes) <= 0:
        return Answer("screen_time_none")
    duration = Minutes(minutes)
    if limit_minutes <= 0:
        return Answer("screen_time_no_limit", {"duration": duration})
    limit = Minutes(limit_minutes)
    if _whole(minutes) > limit_minutes:
        over = Minutes(minutes - limit_minutes)
        return Answer("screen_time_over", {"duration": duration, "over": over, "limit": limit})
    return Answer("screen_time", {"duration": duration, "limit": limit})


class Phrasebook:
    """One language's answers and units, as read from its file."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        """Take the `answers` and `units` of a language file."""
        self.answers: Mapping[str, str] = data.get("answers") or {}
        self.units: Mapping[str, Any] = data.get("units") or {}

    def missing(self) -> list[str]:
        """The answer keys this language does not phrase."""
        return [key for key in ANSWER_KEYS if key not in self.answers]

    def say(self, answer: Answer) -> str:
        """The answer as spoken text, sentences joined with a space."""
        values = {name: self._value(value) for name, value in answer.values.items()}
        text = self.answers.get(answer.key, answer.key).format(**values)
        return " ".join([text, *(self.say(more) for more in answer.then)])

    def _value(self, value: Value) -> str:
        if isinstance(value, Minutes):
            return self.duration(value.value)
        return str(value)

    def count(self, unit: str, n: int) -> str:
        """`n` of a unit ("1 hour", "7 hours")."""
        forms = self.units.get(unit) or {}
        form = forms.get("one") if n == 1 else None
        return str(form or forms.get("other") or "{n}").format(n=n)

    def duration(self, minutes: float) -> str:
        """A length of time to the minute: "7 hours and 25 minutes", "40 minutes", "2 hours"."""
        hours, rest = divmod(max(_whole(minutes), 0), 60)
        if not hours:
            return self.count("minute", rest)
        if not rest:
            return self.count("hour", hours)
        join = str(self.units.get("hours_and_minutes") or "{hours} {minutes}")
        return join.format(hours=self.count("hour", hours), minutes=self.count("minute", rest))
