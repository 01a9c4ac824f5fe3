"""The integration's own brand icon, as Home Assistant's brands proxy serves it (2026.3 on).

Before 2026.3 (the minimum, 2025.4) there is no proxy: the frontend asks the brands site, which
has no LifeOps, and shows a placeholder. There the test checks that nothing answers in its place.
"""

from __future__ import annotations

from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from tests.releases import HAS_BRANDS_PROXY

BRAND = Path(__file__).resolve().parents[1] / "custom_components" / "lifeops" / "brand"


@pytest.mark.parametrize(
    ("image", "served"),
    [
        ("icon.png", "icon.png"),
        ("icon@2x.png", "icon@2x.png"),
        # No logo of its own: the proxy falls back to the icon, as the brands site does.
        ("logo.png", "icon.png"),
        ("dark_icon@2x.png", "icon@2x.png"),
    ],
)
async def test_brands_proxy_serves_the_bundled_icon(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, image: str, served: str
) -> None:
    assert await async_setup_component(hass, "brands" if HAS_BRANDS_PROXY else "http", {})
    client = await hass_client()
    response = await client.get(f"/api/brands/integration/lifeops/{image}")
    if not HAS_BRANDS_PROXY:
        assert response.status == 404
        return
    assert response.status == 200
    assert response.content_type == "image/png"
    assert await response.read() == (BRAND / served).read_bytes()
