"""The two kinds of LifeOps entry, and the one place that tells them apart.

A *site* is this LifeOps installation (agents, gamification, sync, the long-term store); an
*Oura account* is one signed-in Oura account, polled by its coordinator (`oura_account/`). Both
live in the one `lifeops` domain; an Oura account's entry data carries `kind: oura`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeIs

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant

from .const import CONF_KIND, DOMAIN, KIND_OURA

if TYPE_CHECKING:
    from .data import LifeOpsConfigEntry
    from .oura_account.coordinator import OuraConfigEntry

    # Any LifeOps entry, before its kind is known.
    type AnyLifeOpsEntry = LifeOpsConfigEntry | OuraConfigEntry


class EntryKind(StrEnum):
    """What a LifeOps config entry is."""

    SITE = "site"
    OURA = KIND_OURA


def entry_kind(entry: ConfigEntry[Any]) -> EntryKind:
    """The entry's kind: an Oura account if its data says so, else a site."""
    return EntryKind.OURA if entry.data.get(CONF_KIND) == KIND_OURA else EntryKind.SITE


def is_oura_entry(entry: ConfigEntry[Any]) -> TypeIs[OuraConfigEntry]:
    """Whether an entry is an Oura account (and not a site)."""
    return entry_kind(entry) is EntryKind.OURA


def is_site_entry(entry: ConfigEntry[Any]) -> TypeIs[LifeOpsConfigEntry]:
    """Whether an entry is a site (and not an Oura account)."""
    return entry_kind(entry) is EntryKind.SITE


def loaded_sites(hass: HomeAssistant) -> list[LifeOpsConfigEntry]:
    """The sites that are set up now."""
    return [
        entry for entry in hass.config_entries.async_loaded_entries(DOMAIN) if is_site_entry(entry)
    ]


def oura_accounts(hass: HomeAssistant, *, loaded: bool = False) -> list[OuraConfigEntry]:
    """The Oura accounts added (only those set up now, with `loaded`)."""
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if is_oura_entry(entry) and (not loaded or entry.state is ConfigEntryState.LOADED)
    ]
