"""The words LifeOps itself writes for people, in Home Assistant's language.

Notifications, the work calendar's event title and the dashboard's titles are not attached to an
entity, a flow or an error, so they live in the `common` section of strings.json (and of each
translations/<language>.json): the section hassfest keeps for an integration's own texts, flat
keys to plain strings. Home Assistant's translation cache loads it like every other section,
English filling in whatever a language lacks. The keys:

- `notification_<key>_title` and `notification_<key>_message`: a notification LifeOps sends;
- `calendar_<key>`: a calendar event's title;
- `dashboard_<name>`: a title on the dashboard;
- `achievement_<id>`: an achievement's name (`core.achievements`);
- `goal_<id>`: a built-in goal's name (`core.habits.BUILTIN_GOALS`).

Achievement and goal names are read where no `await` is possible (events fired from a callback,
entity attributes), so they come from Home Assistant's translation cache: it holds every loaded
integration's strings in the configured language and reloads them when the language changes;
`async_load` makes sure LifeOps' are there. The English name in `core` stands in for a name the
cache lacks. Data keeps the stable ids; names are for display only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.translation import (
    async_get_cached_translations,
    async_get_translations,
)

from .const import DOMAIN
from .core.achievements import ACHIEVEMENTS
from .core.habits import BUILTIN_GOALS, Habit

CATEGORY: Final = "common"
_PREFIX: Final = f"component.{DOMAIN}.{CATEGORY}."
_ACHIEVEMENTS: Final = {achievement.id: achievement.name for achievement in ACHIEVEMENTS}
_GOALS: Final = {goal.id: goal.name for goal in BUILTIN_GOALS}


async def _async_strings(hass: HomeAssistant) -> dict[str, str]:
    return await async_get_translations(hass, hass.config.language, CATEGORY, [DOMAIN])


def _fill(text: str, placeholders: dict[str, object]) -> str:
    return text.format(**{name: str(value) for name, value in placeholders.items()})


async def async_text(hass: HomeAssistant, key: str, **placeholders: object) -> str:
    """One text, placeholders filled in; the key itself when no language has it."""
    strings = await _async_strings(hass)
    return _fill(strings.get(_PREFIX + key, key), placeholders)


async def async_texts(hass: HomeAssistant, group: str, names: Iterable[str]) -> dict[str, str]:
    """The texts `<group>_<name>` by name (a missing one is its name), e.g. the dashboard's."""
    strings = await _async_strings(hass)
    return {name: strings.get(f"{_PREFIX}{group}_{name}", name) for name in names}


async def async_notification_text(
    hass: HomeAssistant, key: str, **placeholders: object
) -> tuple[str, str]:
    """The (title, message) of a LifeOps notification, placeholders filled in."""
    strings = await _async_strings(hass)
    prefix = f"{_PREFIX}notification_{key}"
    title = strings.get(f"{prefix}_title", key)
    message = strings.get(f"{prefix}_message", key)
    return _fill(title, placeholders), _fill(message, placeholders)


async def async_load(hass: HomeAssistant) -> None:
    """Have LifeOps' texts in Home Assistant's language in the cache the names are read from."""
    await _async_strings(hass)


@callback
def _cached(hass: HomeAssistant, key: str) -> str | None:
    strings = async_get_cached_translations(hass, hass.config.language, CATEGORY, DOMAIN)
    return strings.get(_PREFIX + key)


@callback
def achievement_name(hass: HomeAssistant, achievement_id: str) -> str:
    """An achievement's name in Home Assistant's language (its id when it is not one)."""
    english = _ACHIEVEMENTS.get(achievement_id)
    if english is None:
        return achievement_id
    return _cached(hass, f"achievement_{achievement_id}") or english


@callback
def habit_name(hass: HomeAssistant, habit: Habit) -> str:
    """A habit's name: a built-in goal's in Home Assistant's language, the person's as given."""
    if habit.builtin and (english := _GOALS.get(habit.id)) is not None:
        return _cached(hass, f"goal_{habit.id}") or english
    return habit.name
