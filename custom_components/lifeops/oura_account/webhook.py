"""Oura webhooks through Home Assistant's webhook component: new data within a minute of a sync.

Only when Home Assistant has an external HTTPS URL (Oura must reach it) and the Oura application's
client id and secret are known (application credentials). Otherwise LifeOps just polls. While the
subscriptions are in place the coordinator polls every 30 minutes as a safety net; a notice from
Oura, signed with the application's client secret, makes it poll at once (debounced); an unsigned
or forged one is refused with 401. Subscriptions are checked twice a day, renewed before they
expire, and deleted with the entry.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import hmac
import secrets
from typing import Any

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import (
    AbstractOAuth2Implementation,
    LocalOAuth2Implementation,
)
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from ..oura import OuraError
from ..oura.webhooks import (
    DATA_TYPES,
    EVENT_TYPES,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    OuraWebhookClient,
    parse_notice,
)
from ..store import OuraStore
from .coordinator import PUSHED_INTERVAL, OuraConfigEntry, OuraCoordinator
from .endpoints import OURA

CHECK_EVERY = timedelta(hours=12)
RENEW_BEFORE = timedelta(days=3)
MAX_NOTICE_BYTES = 64 * 1024
KEY_WEBHOOK_ID = "webhook_id"
KEY_VERIFICATION = "verification_token"
KEY_CALLBACK_URL = "callback_url"


def _webhook_client(
    hass: HomeAssistant, implementation: AbstractOAuth2Implementation
) -> OuraWebhookClient | None:
    """A subscription client with the application's credentials, when LifeOps has them."""
    if not isinstance(implementation, LocalOAuth2Implementation):
        return None
    return OuraWebhookClient(
        implementation.client_id,
        implementation.client_secret,
        session=async_get_clientsession(hass),
        base_url=OURA.api,
    )


class OuraWebhooks:
    """One Oura entry's webhook: registered with Home Assistant, subscribed at Oura."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: OuraConfigEntry,
        coordinator: OuraCoordinator,
        implementation: AbstractOAuth2Implementation,
    ) -> None:
        """Prepare; nothing is registered until `async_start`."""
        self.hass = hass
        self.entry = entry
        self.coordinator = coordinator
        self.store: OuraStore = coordinator.store
        self.client = _webhook_client(hass, implementation)
        self.callback_url: str | None = None
        self._warned_unsigned = False

    def _secret(self, key: str, size: int) -> str:
        value = self.store.get(key)
        if not isinstance(value, str) or not value:
            value = secrets.token_hex(size)
            self.store.set(key, value)
        return value

    async def async_start(self) -> bool:
        """Register the webhook and subscribe; False (and polling only) when it cannot work."""
        if self.client is None or "webhook" not in self.hass.config.components:
            return False
        webhook_id = self._secret(KEY_WEBHOOK_ID, 32)
        try:
            url = webhook.async_generate_url(
                self.hass, webhook_id, allow_internal=False, prefer_external=True
            )
        except NoURLAvailableError:
            LOGGER.debug("No external URL: Oura data is polled, not pushed")
            return False
        if not url.startswith("https://"):
            LOGGER.debug("The external URL is not HTTPS: Oura data is polled, not pushed")
            return False
        self.callback_url = url
        webhook.async_register(
            self.hass,
            DOMAIN,
            f"Oura {self.entry.title}",
            webhook_id,
            self._async_handle,
            allowed_methods=("GET", "POST"),
        )
        self.entry.async_on_unload(lambda: webhook.async_unregister(self.hass, webhook_id))
        self.entry.async_on_unload(
            async_track_time_interval(self.hass, self._async_check, CHECK_EVERY)
        )
        await self._async_check()
        return True

    async def _async_check(self, now: datetime | None = None) -> None:
        """Create missing subscriptions, renew those about to lapse, drop our old URL's ones."""
        if self.client is None or self.callback_url is None:
            return
        verification = self._secret(KEY_VERIFICATION, 16)
        now = dt_util.utcnow()
        try:
            subscriptions = await self.client.list()
            old_url = self.store.get(KEY_CALLBACK_URL)
            mine = {}
            for item in subscriptions:
                if item.callback_url == self.callback_url:
                    mine[(item.event_type, item.data_type)] = item
                elif old_url and item.callback_url == old_url:
                    await self.client.delete(item.id)  # Home Assistant's URL changed
            for event_type in EVENT_TYPES:
                for data_type in DATA_TYPES:
                    found = mine.get((event_type, data_type))
                    if found is None:
                        await self.client.create(
                            self.callback_url, verification, event_type, data_type
                        )
                    elif (
                        found.expiration_time is not None
                        and found.expiration_time - now < RENEW_BEFORE
                    ):
                        await self.client.renew(found.id)
        except OuraError as err:
            LOGGER.warning("Oura webhooks not set up, polling instead: %s", err)
            self._set_pushed(False)
            return
        self.store.set(KEY_CALLBACK_URL, self.callback_url)
        self._set_pushed(True)

    @callback
    def _set_pushed(self, pushed: bool) -> None:
        if self.coordinator.pushed != pushed:
            self.coordinator.pushed = pushed
            # Each poll picks the next interval; a lost push goes back to polling at once.
            if pushed:
                self.coordinator.update_interval = PUSHED_INTERVAL
            else:
                self.hass.async_create_task(self.coordinator.async_request_refresh())

    async def _async_handle(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """Answer Oura's verification, and poll on each signed notice about data LifeOps reads."""
        if request.method == "GET":
            token = request.query.get("verification_token", "")
            challenge = request.query.get("challenge")
            expected = self._secret(KEY_VERIFICATION, 16)
            if challenge is None or not hmac.compare_digest(token, expected):
                return web.Response(status=401)
            return web.json_response({"challenge": challenge})
        body = await request.content.read(MAX_NOTICE_BYTES + 1)
        if len(body) > MAX_NOTICE_BYTES:
            return web.Response(status=413)
        if self.client is None or not self.client.verify(
            request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER), body
        ):
            if not self._warned_unsigned:
                self._warned_unsigned = True
                LOGGER.warning(
                    "Refused a notice on the Oura webhook of %s: its signature does not match "
                    "the application's client secret (further refusals are logged at debug)",
                    self.entry.title,
                )
            else:
                LOGGER.debug("Refused an unsigned or forged Oura webhook notice")
            return web.Response(status=401)
        try:
            notice = parse_notice(body)
        except OuraError:
            return web.Response(status=400)
        if notice.data_type in DATA_TYPES:
            await self.coordinator.async_request_refresh()
        return web.Response(status=200)


async def async_remove_subscriptions(
    hass: HomeAssistant, store: OuraStore, implementation: AbstractOAuth2Implementation
) -> None:
    """Delete the entry's subscriptions at Oura (the entry is being removed)."""
    client = _webhook_client(hass, implementation)
    url: Any = store.get(KEY_CALLBACK_URL)
    if client is None or not isinstance(url, str):
        return
    try:
        for item in await client.list():
            if item.callback_url == url:
                await client.delete(item.id)
    except OuraError as err:
        LOGGER.warning("Could not remove the Oura webhook subscriptions: %s", err)
