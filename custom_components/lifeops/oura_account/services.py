"""The `lifeops.import_oura_export` action: Oura's own data export into the statistics.

Oura's API reaches back only so far; its account export holds everything. The action reads the
export (a ZIP, a folder of its files, or one file) from Home Assistant's config folder or an
allowed folder, and writes every day into the same long-term statistics the API backfill uses, so
older history joins the newer seamlessly and importing twice never duplicates. Only an
administrator may run it (so may automations and scripts, which run as no user).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceResponse, callback
from homeassistant.exceptions import ServiceValidationError
import voluptuous as vol

from ..actions import ATTR_CONFIG_ENTRY_ID, async_register_action
from ..const import DOMAIN
from ..entry_kind import is_oura_entry, oura_accounts
from ..oura.export import OuraExportError, read_export
from .coordinator import account_id
from .statistics import OuraHistory, history_summary, recorder_running, statistic_id

SERVICE_IMPORT_OURA_EXPORT = "import_oura_export"
ATTR_PATH = "path"
EXPORT_ACCOUNT = "export"  # the account name of history imported before any Oura sign-in

SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_PATH): vol.All(str, vol.Length(min=1, max=4096)),
        vol.Optional(ATTR_CONFIG_ENTRY_ID): vol.All(str, vol.Length(min=1, max=64)),
    }
)


def _error(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _export_path(hass: HomeAssistant, raw: str) -> Path:
    """The export's path: relative to the config folder, or an absolute one in an allowed folder."""
    config_dir = Path(hass.config.config_dir).resolve()
    candidate = Path(raw)
    path = (candidate if candidate.is_absolute() else config_dir / candidate).resolve()
    inside_config = path == config_dir or config_dir in path.parents
    if not inside_config and not hass.config.is_allowed_path(str(path)):
        raise _error("oura_export_not_allowed", path=raw)
    return path


def _account(hass: HomeAssistant, entry_id: str | None) -> str:
    """Whose history this is: the given Oura entry's account, the only one, or `export`."""
    if entry_id is not None:
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN or not is_oura_entry(entry):
            raise _error("oura_entry_not_found", entry_id=entry_id)
        return account_id(entry)
    accounts = [
        entry for entry in oura_accounts(hass) if entry.state is not ConfigEntryState.NOT_LOADED
    ]
    if len(accounts) > 1:
        raise _error("oura_entry_required")
    return account_id(accounts[0]) if accounts else EXPORT_ACCOUNT


async def _async_import(hass: HomeAssistant, data: dict[str, Any]) -> ServiceResponse:
    if not recorder_running(hass):
        raise _error("recorder_required")
    path = _export_path(hass, data[ATTR_PATH])
    account = _account(hass, data.get(ATTR_CONFIG_ENTRY_ID))
    try:
        contents = await hass.async_add_executor_job(read_export, path)
    except OuraExportError as err:
        raise _error("oura_export_unreadable", path=data[ATTR_PATH], error=str(err)) from err
    except OSError as err:
        raise _error(
            "oura_export_unreadable", path=data[ATTR_PATH], error=type(err).__name__
        ) from err
    written = await OuraHistory(hass, account).async_import(contents.documents)
    return {
        **history_summary(contents.documents),
        "files": list[Any](contents.files),
        "skipped_rows": dict[str, Any](contents.skipped_rows),
        "refused_files": list[Any](contents.refused),
        "points_written": written,
        "statistic_id_prefix": statistic_id(account, ""),
    }


@callback
def async_setup_oura_services(hass: HomeAssistant) -> None:
    """Register the Oura actions; only administrators may run them."""
    # Its fields have no error texts of their own: a wrong value is `invalid_data`.
    async_register_action(
        hass,
        SERVICE_IMPORT_OURA_EXPORT,
        SCHEMA,
        functools.partial(_async_import, hass),
        admin=True,
        named_fields=False,
    )
