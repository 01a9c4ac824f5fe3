"""The sync engine's tests need no Home Assistant: no hass per test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the suite-wide fixture that boots a test Home Assistant for every test."""
