"""The words LifeOps itself writes for people (notifications, calendar events), in HA's language."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN

CATEGORY = "messages"


async def async_notification_text(
    hass: HomeAssistant, key: str, **placeholders: object
) -> tuple[str, str]:
    """Return the (title, message) of a LifeOps notification, placeholders filled in."""
    strings = await async_get_translations(hass, hass.config.language, CATEGORY, [DOMAIN])
    prefix = f"component.{DOMAIN}.{CATEGORY}.{key}"
    title = strings.get(f"{prefix}.title", key)
    message = strings.get(f"{prefix}.message", key)
    values = {name: str(value) for name, value in placeholders.items()}
    return title.format(**values), message.format(**values)
