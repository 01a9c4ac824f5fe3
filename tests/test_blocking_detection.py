"""The event loop's blocking-call detection is really on in the tests."""

from __future__ import annotations

import time

from homeassistant.core import HomeAssistant
import pytest


async def test_blocking_call_in_event_loop_is_caught(hass: HomeAssistant) -> None:
    with pytest.raises(RuntimeError, match="blocking call"):
        time.sleep(0)  # noqa: ASYNC251 - the blocking call under test
