"""The words LifeOps itself writes for people, in Home Assistant's language.

Notifications, the work calendar's event title and the dashboard's titles are not attached to an
entity, a flow or an error, so they live in the `common` section of strings.json (and of each
translations/<language>.json): the section hassfest keeps for an integration's own texts, flat
keys to plain strings. Home Assistant's translation cache loads it like every other section,
English filling in whatever a language lacks. The keys:

- `notification_<key>_title` and `notification_<key>_message`: a notification LifeOps sends;
- `calendar_<key>`: a calendar event's title;
- `dashboard_<name>`: a title on the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN

CATEGORY: Final = "common"
_PREFIX: Final = f"component.{DOMAIN}.{CATEGORY}."


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
