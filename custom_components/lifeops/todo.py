"""A to-do list of today's habits: ticking one off completes it, with its XP.

Only ticking is supported. The XP log is append-only, so unticking a completed habit is refused
with a translated error (a completion cannot be taken back), and so is renaming an item; items
come and go with the habits and the days, never through the list.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.todo import TodoItem, TodoListEntity
from homeassistant.components.todo.const import TodoItemStatus, TodoListEntityFeature
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .agents.gamification import day_event_id
from .const import DOMAIN
from .core.agents import Agent
from .core.xp import FIELD_HABIT, FIELD_ID
from .data import LifeOpsConfigEntry
from .entity import LifeOpsAgentEntity

PARALLEL_UPDATES = 0

HABITS_TODAY = EntityDescription(key="habits_today", translation_key="habits_today")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LifeOpsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the gamification agent's to-do list."""
    async_add_entities([LifeOpsHabitsTodo(entry, HABITS_TODAY, Agent.GAMIFICATION)])


class LifeOpsHabitsTodo(LifeOpsAgentEntity, TodoListEntity):
    """Today's due habits, needing action or completed."""

    _attr_supported_features = TodoListEntityFeature.UPDATE_TODO_ITEM

    @property
    def todo_items(self) -> list[TodoItem]:
        """The person's habits due today (the built-in goals are judged by the agents)."""
        return [
            TodoItem(
                summary=habit.name,
                uid=habit.id,
                status=TodoItemStatus.COMPLETED if done else TodoItemStatus.NEEDS_ACTION,
            )
            for habit, done in self._entry.runtime_data.gamification.due_today()
        ]

    def _shown(self) -> tuple[Any, ...]:
        # The items, not only their count, decide whether the list changed.
        return (*super()._shown(), tuple(self.todo_items))

    async def async_update_todo_item(self, item: TodoItem) -> None:
        """Tick a habit off: the same completion as lifeops.complete_habit, once a day."""
        controller = self._entry.runtime_data.gamification
        current = next((i for i in self.todo_items if i.uid == item.uid), None)
        if current is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_habit",
                translation_placeholders={"value": str(item.uid)},
            )
        if item.summary is not None and item.summary != current.summary:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="todo_rename_not_supported"
            )
        if item.status == current.status or item.status is None:
            return
        if item.status != TodoItemStatus.COMPLETED:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="todo_uncomplete_not_supported"
            )
        habit_id = str(current.uid)
        controller.async_complete_habit(
            {FIELD_HABIT: habit_id, FIELD_ID: day_event_id(habit_id, controller.today())}
        )
        await controller.async_figures()
