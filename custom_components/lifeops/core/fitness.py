"""The fitness agent's rule: how hard to train today, and progress towards the activity goal.

The rule: readiness under 60 means rest, under 70 light, under 85 moderate, otherwise intense.
Then one level lighter when last night's sleep score was under 60, or when yesterday was a hard
day (activity score 90 or more, or 1000 active kilocalories or more). Higher readiness never
gives a lighter recommendation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Recommendation(StrEnum):
    """How hard to train today, lightest first."""

    REST = "rest"
    LIGHT = "light"
    MODERATE = "moderate"
    INTENSE = "intense"


LEVELS: list[Recommendation] = list(Recommendation)
READINESS_STEPS: tuple[tuple[float, Recommendation], ...] = (
    (60.0, Recommendation.REST),
    (70.0, Recommendation.LIGHT),
    (85.0, Recommendation.MODERATE),
)
POOR_SLEEP_BELOW = 60.0
HARD_DAY_SCORE = 90.0
HARD_DAY_CALORIES = 1000.0


@dataclass(frozen=True)
class FitnessInputs:
    """What the recommendation is made from; any of it may be missing."""

    readiness: float | None
    sleep_score: float | None
    yesterday_activity_score: float | None
    yesterday_active_calories: float | None


def recommend(inputs: FitnessInputs) -> tuple[Recommendation | None, list[str]]:
    """Return today's recommendation and the reasons (keys) behind it."""
    if inputs.readiness is None:
        return None, ["no_data"]
    level = Recommendation.INTENSE
    for limit, recommendation in READINESS_STEPS:
        if inputs.readiness < limit:
            level = recommendation
            break
    reasons = ["readiness_low" if inputs.readiness < 70 else "readiness_high"]
    index = LEVELS.index(level)
    if inputs.sleep_score is not None and inputs.sleep_score < POOR_SLEEP_BELOW:
        reasons.append("poor_sleep")
        index -= 1
    hard_day = (
        inputs.yesterday_activity_score is not None
        and inputs.yesterday_activity_score >= HARD_DAY_SCORE
    ) or (
        inputs.yesterday_active_calories is not None
        and inputs.yesterday_active_calories >= HARD_DAY_CALORIES
    )
    if hard_day:
        reasons.append("hard_day_yesterday")
        index -= 1
    return LEVELS[max(index, 0)], reasons


def goal_progress(value: float | None, goal: float) -> float | None:
    """Percent of the goal reached (may pass 100); None without a value."""
    if goal <= 0:
        raise ValueError("goal must be positive")
    if value is None:
        return None
    return round(max(value, 0.0) / goal * 100, 1)
