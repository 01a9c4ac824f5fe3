"""Privacy actions: export everything LifeOps holds about the person, purge it, import it back.

`lifeops.export_data` writes one JSON file (the format of `core.export`, documented in
docs/privacy.md) into Home Assistant's config folder. `lifeops.purge_data` (with `confirm: true`)
deletes the agents' stored state, resets the settings to the defaults and, unless told not to,
the recorder's history and statistics of LifeOps' entities. `lifeops.import_data` reads an
export back, replacing what the entry holds. Purge and import reload the entry, so every
entity starts again from what is left. Nothing changes when the input or the file is bad.
Only an administrator may run them (so may automations and scripts, which run as no user).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import functools
import json
from pathlib import Path
from typing import Any, Final

from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant, ServiceResponse, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.loader import async_get_integration
from homeassistant.util import dt as dt_util
from homeassistant.util.file import write_utf8_file
import voluptuous as vol

from .actions import ENTRY_FIELD, action_error, async_register_action, for_entry
from .agents.notifications import fallback_id
from .const import DOMAIN
from .core import export
from .core.settings import Settings
from .data import LifeOpsConfigEntry
from .long_term.store import buffer_path, remove_buffer
from .store import LifeOpsStore
from .timescale.errors import StoreError
from .timescale.migrate import connect
from .timescale.privacy import export_site, purge_site


def _file_name(value: Any) -> str:
    text = cv.string(value).strip()
    if not export.FILE_NAME.match(text):
        raise vol.Invalid("not a file name in the config folder")
    return text


SCHEMAS: Final[dict[str, vol.Schema]] = {
    "export_data": vol.Schema({**ENTRY_FIELD, vol.Optional("filename"): _file_name}),
    "purge_data": vol.Schema(
        {
            **ENTRY_FIELD,
            vol.Required("confirm"): vol.All(cv.boolean, vol.IsTrue()),
            vol.Optional("history", default=True): cv.boolean,
        }
    ),
    "import_data": vol.Schema({**ENTRY_FIELD, vol.Required("filename"): _file_name}),
}


def _path(config_dir: str, name: str) -> Path:
    """The file `name` directly in the config folder; refused when it leads anywhere else.

    Resolving follows symbolic links (file system calls: run it in the executor).
    """
    folder = Path(config_dir).resolve()
    path = (folder / name).resolve()
    if path.parent != folder:
        raise action_error("invalid_field_filename", field="filename")
    return path


def _write_new(path: Path, text: str) -> None:
    if path.exists():
        raise FileExistsError(path)
    write_utf8_file(str(path), text, private=True)


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


async def _async_replace(
    hass: HomeAssistant,
    entry: LifeOpsConfigEntry,
    options: dict[str, Any],
    state: dict[str, Any] | None,
) -> None:
    """Unload the entry, replace its store (None: delete it) and options, set it up again."""
    await hass.config_entries.async_unload(entry.entry_id)
    store = LifeOpsStore(hass, entry.entry_id)
    if state is None:
        await store.async_remove()
    else:
        store.data = state
        await store.async_save()
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.config_entries.async_setup(entry.entry_id)


async def _export(
    hass: HomeAssistant, entry: LifeOpsConfigEntry, data: dict[str, Any]
) -> ServiceResponse:
    runtime = entry.runtime_data
    now = dt_util.utcnow()
    name = data.get("filename") or export.file_name(runtime.site, now)
    path = await hass.async_add_executor_job(_path, hass.config.config_dir, name)
    state = runtime.store.collect()
    integration = await async_get_integration(hass, DOMAIN)
    document = export.build(
        site=runtime.site,
        title=entry.title,
        node_id=runtime.node_id,
        settings=runtime.settings.as_options(),
        state=state,
        now=now,
        lifeops_version=str(integration.version),
    )
    stored = await _async_store_rows(entry)
    if stored is not None:
        document["long_term_store"] = stored
    text = json.dumps(document, indent=2, ensure_ascii=False)
    try:
        await hass.async_add_executor_job(_write_new, path, text)
    except FileExistsError as err:
        raise action_error("export_file_exists", filename=name) from err
    return {
        "path": str(path),
        "filename": name,
        "format": export.FORMAT,
        "version": export.VERSION,
        "counts": {
            **export.counts(state),
            **(
                {}
                if stored is None
                else {f"long_term_store_{name}": len(rows) for name, rows in stored.items()}
            ),
        },
    }


async def _async_store_rows(entry: LifeOpsConfigEntry) -> dict[str, list[dict[str, Any]]] | None:
    """The site's rows in the long-term store (None without one); refuses when it is away."""
    store = entry.runtime_data.long_term_store
    if store is None:
        return None
    try:
        await store.writer.flush()
        async with store.writer.connection() as conn:
            return await export_site(conn, entry.runtime_data.site)
    except StoreError as err:
        raise _store_away(err) from err


def _store_away(err: StoreError) -> HomeAssistantError:
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="long_term_store_unreachable",
        translation_placeholders={"error": str(err) or type(err).__name__},
    )


async def _purge(
    hass: HomeAssistant, entry: LifeOpsConfigEntry, data: dict[str, Any]
) -> ServiceResponse:
    runtime = entry.runtime_data
    # The long-term store first makes sure it can be reached: a purge is all or nothing.
    store_config = None
    if runtime.long_term_store is not None:
        store_config = runtime.long_term_store.writer.config
        try:
            conn = await connect(store_config)
        except StoreError as err:
            raise _store_away(err) from err
        await conn.close()
    deleted: dict[str, Any] = dict(export.counts(runtime.store.collect()))
    for notification in runtime.notifications.queue.all():
        persistent_notification.async_dismiss(hass, fallback_id(notification))
    entity_ids = sorted(
        item.entity_id
        for item in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    )
    site = runtime.site
    await _async_replace(hass, entry, Settings().as_options(), None)
    deleted["settings"] = True
    if store_config is not None:
        # After the reload: the writer has flushed and stopped, so nothing lands after this.
        try:
            conn = await connect(store_config)
            try:
                deleted["long_term_store"] = await purge_site(conn, site)
            finally:
                await conn.close()
        except StoreError as err:
            raise _store_away(err) from err
        await hass.async_add_executor_job(remove_buffer, buffer_path(hass, entry.entry_id))
    deleted["history_entities"] = []
    if data["history"] and "recorder" in hass.config.components:
        await hass.services.async_call(
            "recorder",
            "purge_entities",
            {"entity_id": entity_ids, "keep_days": 0},
            blocking=True,
        )
        get_instance(hass).async_clear_statistics(entity_ids)
        deleted["history_entities"] = entity_ids
    return {"deleted": deleted}


async def _import(
    hass: HomeAssistant, entry: LifeOpsConfigEntry, data: dict[str, Any]
) -> ServiceResponse:
    name = data["filename"]
    path = await hass.async_add_executor_job(_path, hass.config.config_dir, name)
    try:
        document = await hass.async_add_executor_job(_read, path)
    except FileNotFoundError as err:
        raise action_error("import_file_not_found", filename=name) from err
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise action_error(export.ERROR_NOT_AN_EXPORT, filename=name, section="-") from err
    try:
        options, state = export.read(document)
    except export.ExportError as err:
        raise action_error(err.key, filename=name, section=err.section) from err
    await _async_replace(hass, entry, options, state)
    imported: dict[str, Any] = dict(export.counts(state))
    return {"filename": name, "imported": imported}


type Handler = Callable[
    [HomeAssistant, LifeOpsConfigEntry, dict[str, Any]], Awaitable[ServiceResponse]
]
HANDLERS: Final[dict[str, Handler]] = {
    "export_data": _export,
    "purge_data": _purge,
    "import_data": _import,
}


@callback
def async_setup_privacy_services(hass: HomeAssistant) -> None:
    """Register the privacy actions (once, from async_setup); only administrators may run them."""
    for name, handler in HANDLERS.items():
        async_register_action(
            hass, name, SCHEMAS[name], for_entry(hass, functools.partial(handler, hass)), admin=True
        )
