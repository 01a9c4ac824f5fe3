"""Load Home Assistant before the test harness, so the harness runs on releases newer than it pins.

`pytest-homeassistant-custom-component` is published for one Home Assistant release at a time and
LifeOps is tested on two (see `scripts/setup`). Its newest release pins 2026.10.4; on 2026.11 two
things stop it from starting, and this plugin (loaded with `-p` before the harness's own plugin)
mends exactly those two, on any release:

- Home Assistant 2026.11 makes `import httpx` resolve to `httpx2` from its package `__init__` and
  refuses if `httpx` was imported first; the harness imports `respx` (and so `httpx`) before
  `homeassistant`. Importing `homeassistant` here first puts the alias in place.
- The harness imports `_clear_logger_overwrites` from `homeassistant.components.logger`; 2026.11
  moved it to `homeassistant.components.logger.helpers`. It is re-exported where the harness looks.

Nothing else is patched; on a release where neither applies (2025.4), this plugin changes nothing.
"""

from __future__ import annotations

import homeassistant  # noqa: F401  (first: sets up Home Assistant's import aliases)
from homeassistant.components import logger
from homeassistant.components.logger import helpers as _logger_helpers

# 2025.4 has it in neither place (and its harness does not look for it): nothing to mend there.
if not hasattr(logger, "_clear_logger_overwrites") and hasattr(
    _logger_helpers, "_clear_logger_overwrites"
):
    logger._clear_logger_overwrites = _logger_helpers._clear_logger_overwrites  # type: ignore[attr-defined]
