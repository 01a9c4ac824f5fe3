"""Changing one target from an entity, with the same rules as the options flow."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from .const import DOMAIN
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
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=f"setting_{error}",
            translation_placeholders={"field": field, "value": str(value)},
        )
    hass.config_entries.async_update_entry(entry, options=s.merge_targets(entry.options, settings))
