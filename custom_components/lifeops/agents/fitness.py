"""The fitness agent: a workout recommendation and activity-goal progress from chosen sensors."""

from __future__ import annotations

from typing import Any

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event

from ..core.agents import Agent
from ..core.fitness import FitnessInputs, Recommendation, goal_progress, recommend
from ..data import LifeOpsConfigEntry
from ..store import LifeOpsStore
from .base import AgentController
from .sleep import parse_number


class FitnessController(AgentController):
    """Recomputes the recommendation whenever one of its inputs changes."""

    agent = Agent.FITNESS
    recommendation: Recommendation | None = None
    progress: float | None = None

    def __init__(self, hass: HomeAssistant, entry: LifeOpsConfigEntry, store: LifeOpsStore) -> None:
        """Nothing computed yet."""
        super().__init__(hass, entry, store)
        self.reasons: list[str] = []

    async def async_start(self) -> None:
        """Compute now and follow the inputs."""
        await super().async_start()
        self._compute()
        if inputs := self._inputs():
            self._unsubs.append(async_track_state_change_event(self.hass, inputs, self._on_input))

    def _inputs(self) -> list[str]:
        settings = self.runtime.settings
        return [
            entity_id
            for entity_id in (
                settings.readiness_entity,
                settings.sleep_score_entity,
                settings.activity_score_entity,
                settings.active_calories_entity,
                settings.steps_entity,
            )
            if entity_id
        ]

    def _value(self, entity_id: str | None) -> float | None:
        if not entity_id or (state := self.hass.states.get(entity_id)) is None:
            return None
        return parse_number(state.state)

    @callback
    def _compute(self) -> None:
        settings = self.runtime.settings
        self.recommendation, self.reasons = recommend(
            FitnessInputs(
                readiness=self._value(settings.readiness_entity),
                sleep_score=self._value(settings.sleep_score_entity),
                yesterday_activity_score=self._value(settings.activity_score_entity),
                yesterday_active_calories=self._value(settings.active_calories_entity),
            )
        )
        self.progress = goal_progress(self._value(settings.steps_entity), settings.step_goal)

    @callback
    def _on_input(self, event: Event[EventStateChangedData]) -> None:
        before = (self.recommendation, self.reasons, self.progress)
        self._compute()
        if (self.recommendation, self.reasons, self.progress) != before:
            self.async_changed(save=False)

    def as_dict(self) -> Any:
        """Nothing to keep: the recommendation is recomputed from its inputs."""
        return None
