#!/usr/bin/env python3
"""Print the Python requirements of Home Assistant integrations and of everything they depend on.

Home Assistant installs an integration's requirements when it first loads it, from the internet;
tests and the demo load `conversation`, `mobile_app` and others offline, so `scripts/setup`
installs their requirements beforehand. Which packages those are depends on the release (2026.x
moved Assist's out of core, for one), so they are read from the installed release's manifests:
the integrations named and their `dependencies`, recursively (not `after_dependencies`: those
load only when configured).

    python ha_requirements.py conversation mobile_app ...   (with the environment's Python)
"""

from __future__ import annotations

import json
from pathlib import Path
import sys

import homeassistant.components


def requirements(roots: list[str]) -> list[str]:
    """Every requirement of `roots` and what they depend on, sorted, each once."""
    folder = Path(homeassistant.components.__path__[0])
    seen: set[str] = set()
    found: set[str] = set()
    pending = list(roots)
    while pending:
        domain = pending.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest_file = folder / domain / "manifest.json"
        if not manifest_file.is_file():
            print(f"[ha_requirements] no integration {domain!r} in this release", file=sys.stderr)
            continue
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        found.update(manifest.get("requirements", []))
        pending.extend(manifest.get("dependencies", []))
    return sorted(found)


if __name__ == "__main__":
    print("\n".join(requirements(sys.argv[1:])))
