"""Changing one target from an entity, with the same rules as the options flow."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant

from .actions import action_error
from .core import settings as s
from .data import LifeOpsConfigEntry


async def async_update_setting(
    hass: HomeAssistant, entry: LifeOpsConfigEntry, key: str, value: Any
) -> None:
    """Store one target in the entry's options, or raise a translated error and store nothing."""
    candidate = {**entry.runtime_data.settings.as_options(), key: value}
    settings, errors = s.validate(candidate)
    if settings is None:
        field, error = next(iter(errors.items()))
        raise action_error(f"setting_{error}", field=field, value=str(value))
    hass.config_entries.async_update_entry(entry, options=s.merge_targets(entry.options, settings))
