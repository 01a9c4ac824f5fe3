"""Telling a site's entry from an Oura account's, the one place LifeOps does it."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.lifeops.const import CONF_KIND, CONF_NODE_ID, CONF_SITE, DOMAIN, KIND_OURA
from custom_components.lifeops.entry_kind import (
    EntryKind,
    entry_kind,
    is_oura_entry,
    is_site_entry,
    loaded_sites,
    oura_accounts,
)


def _site(site: str = "home") -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN, unique_id=site, data={CONF_SITE: site, CONF_NODE_ID: f"node-{site}"}
    )


def _oura(account: str = "person") -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        unique_id=account,
        data={CONF_KIND: KIND_OURA, "auth_implementation": "oura", "token": {}},
    )


def test_the_kind_is_in_the_entry_data() -> None:
    site, oura = _site(), _oura()
    assert entry_kind(site) is EntryKind.SITE
    assert entry_kind(oura) is EntryKind.OURA
    assert is_site_entry(site) and not is_oura_entry(site)
    assert is_oura_entry(oura) and not is_site_entry(oura)
    # An entry of no known kind (an ignored discovery has no data) counts as a site.
    assert entry_kind(MockConfigEntry(domain=DOMAIN, data={})) is EntryKind.SITE


async def test_loaded_sites_and_oura_accounts(hass: HomeAssistant) -> None:
    home, cabin, oura = _site("home"), _site("cabin"), _oura()
    for entry in (home, cabin, oura):
        entry.add_to_hass(hass)
    home.mock_state(hass, ConfigEntryState.LOADED)
    oura.mock_state(hass, ConfigEntryState.LOADED)

    assert loaded_sites(hass) == [home]  # the cabin's entry is not set up
    assert oura_accounts(hass) == [oura]
    assert oura_accounts(hass, loaded=True) == [oura]
    oura.mock_state(hass, ConfigEntryState.SETUP_RETRY)
    assert oura_accounts(hass) == [oura]
    assert oura_accounts(hass, loaded=True) == []


async def test_a_site_action_refuses_an_oura_account(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The action's entry picker lists every LifeOps entry (Home Assistant's config entry
    selector filters by integration only), so a site action refuses an Oura account by name."""
    oura = _oura()
    oura.add_to_hass(hass)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "start_work", {"config_entry_id": oura.entry_id}, blocking=True
        )
    assert err.value.translation_key == "entry_not_found"
    assert not init_integration.runtime_data.work.tracker.is_working()
