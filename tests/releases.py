"""What the tests do differently on the Home Assistant releases they run on, in one place.

`scripts/test` runs the suite on the declared minimum (2025.4) and on the current release; the
integration's own differences live in `custom_components/lifeops/compat.py`, the tests' here.
"""

from __future__ import annotations

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

# What a mock integration's `async_setup_entry` returns when it worked: 2026.x wants None from
# integrations it counts as built in (the tests' mock ones), 2025.4 wants True.
SETUP_ENTRY_OK: bool | None = (
    None if hasattr(config_entries, "_async_process_entry_method_result") else True
)


def find_device(
    hass: HomeAssistant, identifier: tuple[str, str], entry_id: str | None = None
) -> dr.DeviceEntry | None:
    """The one device with `identifier` (of the config entry `entry_id`, when given).

    2026.x makes identifiers unique per config entry only, and `async_get_device(identifiers=)`
    and looking devices up in the registry's mapping are errors in tests; what both releases
    have is the list of an entry's devices.
    """
    registry = dr.async_get(hass)
    entry_ids = (
        [entry_id]
        if entry_id is not None
        else [entry.entry_id for entry in hass.config_entries.async_entries()]
    )
    found = {
        device.id: device
        for entry in entry_ids
        for device in dr.async_entries_for_config_entry(registry, entry)
        if identifier in device.identifiers
    }
    assert len(found) <= 1, f"{len(found)} devices have {identifier}"
    return next(iter(found.values()), None)
