"""The repository keeps its promises: HA-free domain logic, translations, honest metadata."""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
import tomllib

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
INTEGRATION = ROOT / "custom_components" / "lifeops"

QUALITY_RULES = {
    # Bronze
    "action-setup",
    "appropriate-polling",
    "brands",
    "common-modules",
    "config-flow-test-coverage",
    "config-flow",
    "dependency-transparency",
    "docs-actions",
    "docs-conditions",
    "docs-high-level-description",
    "docs-installation-instructions",
    "docs-removal-instructions",
    "docs-triggers",
    "entity-event-setup",
    "entity-unique-id",
    "has-entity-name",
    "runtime-data",
    "test-before-configure",
    "test-before-setup",
    "unique-config-entry",
    # Silver
    "action-exceptions",
    "config-entry-unloading",
    "docs-configuration-parameters",
    "docs-installation-parameters",
    "entity-unavailable",
    "integration-owner",
    "log-when-unavailable",
    "parallel-updates",
    "reauthentication-flow",
    "test-coverage",
    # Gold
    "devices",
    "diagnostics",
    "discovery-update-info",
    "discovery",
    "docs-data-update",
    "docs-examples",
    "docs-known-limitations",
    "docs-supported-devices",
    "docs-supported-functions",
    "docs-troubleshooting",
    "docs-use-cases",
    "dynamic-devices",
    "entity-category",
    "entity-device-class",
    "entity-disabled-by-default",
    "entity-translations",
    "exception-translations",
    "icon-translations",
    "reconfiguration-flow",
    "repair-issues",
    "stale-devices",
    # Platinum
    "async-dependency",
    "inject-websession",
    "strict-typing",
}


# The packages that run without Home Assistant, by module name, with their folders: the domain
# logic, the Oura client, the long-term store's writer, the sync client and the add-on's sync
# service. A new HA-free package is one more line here.
HA_FREE_PACKAGES: dict[str, Path] = {
    "custom_components.lifeops.core": INTEGRATION / "core",
    "custom_components.lifeops.oura": INTEGRATION / "oura",
    "custom_components.lifeops.timescale": INTEGRATION / "timescale",
    "custom_components.lifeops.sync": INTEGRATION / "sync",
    "lifeops_sync": ROOT / "addon" / "lifeops_sync",
}
# Top-level names of this repository's own modules: an import of one must stay HA-free.
OWN_MODULES = ("custom_components", "lifeops_sync")


def _module_name(package: str, folder: Path, path: Path) -> str:
    parts = path.relative_to(folder).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((package, *parts))


def _imports(path: Path, module: str) -> set[str]:
    """The modules a file imports, relative imports resolved from `module` (the file's name).

    `from x import y` counts `x` and `x.y`: `y` may be a module.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                assert node.level <= len(package), f"{path}: a relative import above the top"
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def _ha_free(name: str) -> bool:
    return any(name == pkg or name.startswith(f"{pkg}.") for pkg in HA_FREE_PACKAGES)


def _forbidden_imports(path: Path, module: str) -> set[str]:
    """Imports of Home Assistant, or of this repository's modules outside the HA-free packages."""
    return {
        name
        for name in _imports(path, module)
        if name.split(".")[0] == "homeassistant"
        or (name.split(".")[0] in OWN_MODULES and not _ha_free(name))
    }


HA_FREE_FILES = [
    (path, _module_name(package, folder, path))
    for package, folder in HA_FREE_PACKAGES.items()
    for path in sorted(folder.rglob("*.py"))
]


@pytest.mark.parametrize(
    ("path", "module"), HA_FREE_FILES, ids=[module for _, module in HA_FREE_FILES]
)
def test_ha_free_packages_import_no_home_assistant(path: Path, module: str) -> None:
    """Neither Home Assistant nor, relatively or not, a module of the HA layer."""
    offending = _forbidden_imports(path, module)
    assert not offending, f"{path.relative_to(ROOT)} imports {sorted(offending)}"


def test_every_ha_free_package_is_checked() -> None:
    assert all((folder / "__init__.py").is_file() for folder in HA_FREE_PACKAGES.values())
    assert len(HA_FREE_FILES) > len(HA_FREE_PACKAGES)


@pytest.mark.parametrize(
    ("source", "offending"),
    [
        ("from homeassistant.core import HomeAssistant", "homeassistant.core"),
        ("import homeassistant", "homeassistant"),
        ("from ..const import DOMAIN", "custom_components.lifeops.const"),
        ("from .. import const", "custom_components.lifeops"),
        ("from ..agents.sleep import X", "custom_components.lifeops.agents.sleep"),
        ("from custom_components.lifeops.data import X", "custom_components.lifeops.data"),
    ],
)
def test_the_import_guard_catches_a_way_into_home_assistant(
    tmp_path: Path, source: str, offending: str
) -> None:
    path = tmp_path / "planted.py"
    path.write_text(f"{source}\nfrom . import text\nfrom ..oura.client import X\n")
    found = _forbidden_imports(path, "custom_components.lifeops.core.planted")
    assert offending in found
    assert not {name for name in found if _ha_free(name)}


def test_english_translation_matches_strings() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text())
    english = json.loads((INTEGRATION / "translations" / "en.json").read_text())
    assert english == strings
    # No [%key:...%] references: en.json is a plain copy, so it must hold the text itself.
    assert "[%key:" not in json.dumps(strings)


# The top-level sections of strings.json hassfest accepts (script/hassfest/translations.py).
STRINGS_SECTIONS = {
    "application_credentials",
    "common",
    "conditions",
    "config",
    "config_panel",
    "config_subentries",
    "conversation",
    "device",
    "device_automation",
    "entity",
    "entity_component",
    "exceptions",
    "issues",
    "options",
    "preview_features",
    "selector",
    "services",
    "system_health",
    "title",
    "triggers",
}


def _flat(data: dict[str, object], prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.mark.parametrize(
    "path", sorted((INTEGRATION / "translations").glob("*.json")), ids=lambda p: p.name
)
def test_each_translation_translates_only_what_strings_has(path: Path) -> None:
    """Another language may translate part of strings.json (English fills in), nothing else."""
    strings = _flat(json.loads((INTEGRATION / "strings.json").read_text()))
    translated = _flat(json.loads(path.read_text()))
    assert set(translated) <= set(strings)
    for key, text in translated.items():
        assert isinstance(text, str) and text.strip(), key
        # The same placeholders as the English text.
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", str(strings[key])))


def test_achievement_and_goal_names_are_translatable() -> None:
    """Each achievement and built-in goal has its name in `common`, English as in `core`."""
    from custom_components.lifeops.core.achievements import ACHIEVEMENTS
    from custom_components.lifeops.core.habits import BUILTIN_GOALS

    common = json.loads((INTEGRATION / "strings.json").read_text())["common"]
    for achievement in ACHIEVEMENTS:
        assert common[f"achievement_{achievement.id}"] == achievement.name
    for goal in BUILTIN_GOALS:
        assert common[f"goal_{goal.id}"] == goal.name


def test_strings_have_only_sections_hassfest_accepts() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text())
    assert set(strings) <= STRINGS_SECTIONS


def test_own_texts_are_flat_keys_in_common() -> None:
    """Notifications, event and dashboard titles: `common`, flat slug keys to plain strings."""
    from custom_components.lifeops.core.dashboard import TITLES

    common = json.loads((INTEGRATION / "strings.json").read_text())["common"]
    for key, text in common.items():
        assert re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)*", key), key
        assert isinstance(text, str) and text == text.strip() and text, key
    assert {f"dashboard_{name}" for name in TITLES} <= set(common)
    notifications = [key for key in common if key.startswith("notification_")]
    assert notifications
    for key in notifications:
        # Each notification has a title and a message.
        stem = re.sub(r"_(title|message)$", "", key)
        assert {f"{stem}_title", f"{stem}_message"} <= set(common), key
    assert "calendar_work_session" in common


def test_every_flow_field_has_a_description() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text())
    for flow in ("config", "options"):
        for step_id, step in strings[flow]["step"].items():
            missing = set(step.get("data", {})) - set(step.get("data_description", {}))
            assert not missing, f"{flow}.{step_id}: {sorted(missing)}"


def test_every_icon_has_a_translated_entity() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text())["entity"]
    icons = json.loads((INTEGRATION / "icons.json").read_text())["entity"]
    for platform, keys in icons.items():
        assert set(keys) == set(strings[platform]), platform


def test_every_action_has_an_icon_and_state_icons_differ_from_the_default() -> None:
    icons = json.loads((INTEGRATION / "icons.json").read_text())
    actions = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    assert set(icons["services"]) == set(actions)
    for platform in icons["entity"].values():
        for key, icon in platform.items():
            assert icon.get("default") not in icon.get("state", {}).values(), key


def test_manifest() -> None:
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    assert manifest["domain"] == "lifeops"
    for key in (
        "name",
        "version",
        "config_flow",
        "iot_class",
        "integration_type",
        "requirements",
        "documentation",
        "issue_tracker",
        "codeowners",
        "loggers",
    ):
        assert key in manifest, key
    assert manifest["config_flow"] is True
    # hassfest's order: domain, name, then the rest alphabetically.
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    # The dashboard uses lovelace when it is there; it does not make it load.
    assert "lovelace" in manifest["after_dependencies"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert manifest["version"] == pyproject["project"]["version"]
    # Every requirement is pinned, and the dev machinery installs exactly these.
    requirements = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(manifest["requirements"]) == sorted(requirements)
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", req) for req in requirements)


def test_hacs_and_addon_repository_metadata() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["name"] == "LifeOps"
    assert hacs["homeassistant"].startswith("2025.")
    repository = yaml.safe_load((ROOT / "repository.yaml").read_text())
    assert {"name", "url", "maintainer"} <= set(repository)


def test_license_is_mit_and_said_so_everywhere() -> None:
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License\n")
    assert "Copyright (c) 2026 The LifeOps authors" in license_text
    assert "[LICENSE](LICENSE)" in (ROOT / "README.md").read_text()
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == "MIT"
    assert json.loads((ROOT / "package.json").read_text())["license"] == "MIT"


def test_quality_scale_gives_every_rule_an_honest_status() -> None:
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    assert set(rules) == QUALITY_RULES
    for name, rule in rules.items():
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in {"done", "todo", "exempt"}, name
        if status == "exempt":
            assert rule["comment"].strip(), f"{name} is exempt without a reason"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "scripts/test" in readme
    assert "scripts/develop" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^exec scripts/test$", ci, re.MULTILINE)


LINK = re.compile(r"\]\(([^)\s]+)\)")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lowercase, punctuation but - and _ dropped, spaces to -."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    }


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_in_the_docs_resolve(page: Path) -> None:
    """Every relative link in README.md and docs/*.md names a file there is (and its heading)."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        found = (page.parent / path).resolve() if path else page
        assert found.exists(), f"{target}: no {found}"
        if anchor and found.suffix == ".md":
            assert anchor in _anchors(found), f"{target}: no heading #{anchor} in {found.name}"


def test_readme_links_every_docs_page() -> None:
    readme = (ROOT / "README.md").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in readme, page.name


ADDON = ROOT / "addon"
OPTION = re.compile(r"^## Option: `([a-z_]+)`$", re.MULTILINE)


def test_the_only_addon_config_is_the_addon() -> None:
    """The Supervisor reads every config.yaml/json (but hidden folders, rootfs) as an add-on."""
    found = [
        path.relative_to(ROOT).as_posix()
        for name in ("config.yaml", "config.yml", "config.json")
        for path in ROOT.rglob(name)
        if not any(
            part.startswith(".") or part == "rootfs" for part in path.relative_to(ROOT).parts
        )
    ]
    assert found == ["addon/config.yaml"]
    assert not (ADDON / "build.yaml").exists()


def test_addon_config_schema_and_docs() -> None:
    config = yaml.safe_load((ADDON / "config.yaml").read_text())
    for key in ("name", "version", "slug", "description", "arch", "options", "schema", "url"):
        assert key in config, key
    assert sorted(config["arch"]) == ["aarch64", "amd64"]
    assert config["init"] is False
    assert config["watchdog"].startswith("tcp://")
    assert set(config["options"]) == set(config["schema"])
    assert config["schema"]["peers"] == [
        {
            "node_id": "match(^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$)",
            "url": "url?",
            "secret": "password",
            "public_key": "match(^[A-Za-z0-9+/]{43}=$)?",
        }
    ]
    for script in (config["backup_pre"], config["backup_post"]):
        assert (ADDON / "rootfs" / script.lstrip("/")).is_file(), script
    documented = OPTION.findall((ADDON / "DOCS.md").read_text())
    assert documented == list(config["schema"])
    translations = yaml.safe_load((ADDON / "translations" / "en.yaml").read_text())
    assert set(translations["configuration"]) == set(config["schema"])
    for entry in translations["configuration"].values():
        assert entry["name"] and entry["description"]
    assert set(translations["network"]) == set(config["ports"])
    # One version everywhere the add-on states it; the changelog's newest section is it.
    changelog = (ADDON / "CHANGELOG.md").read_text()
    assert re.findall(r"^## (\S+)", changelog, re.MULTILINE)[0] == config["version"]
    label = re.search(r'io\.hass\.version="([^"]+)"', (ADDON / "Dockerfile").read_text())
    assert label is not None and label.group(1) == config["version"]
    from lifeops_sync import __version__

    assert __version__ == config["version"]
    repository = yaml.safe_load((ROOT / "repository.yaml").read_text())
    assert repository["url"] == config["url"]


def test_addon_options_are_what_the_service_reads(tmp_path: Path) -> None:
    from lifeops_sync.config import from_options

    options = yaml.safe_load((ADDON / "config.yaml").read_text())["options"]
    options["peers"] = [{"node_id": "summer_cabin", "secret": "s" * 20}]
    config = from_options(options, tmp_path)
    assert config.node_id == "home"
    assert config.peers[0].url is None
    assert config.sync_interval == 30


def test_dockerfile_is_pinned_and_builds_from_the_addon_folder() -> None:
    dockerfile = (ADDON / "Dockerfile").read_text()
    (base,) = re.findall(r"^FROM (\S+)$", dockerfile, re.MULTILINE)
    # Home Assistant's multi-arch Debian base (aarch64 and amd64 in one index), tag and digest.
    assert base.startswith("ghcr.io/home-assistant/base-debian:trixie-")
    assert re.search(r":trixie-\d{4}\.\d{2}\.\d+@sha256:[0-9a-f]{64}$", base)
    assert "ARG POSTGRES_MAJOR=17" in dockerfile
    for source in re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE):
        assert (ADDON / source).exists(), source
    requirements = (ADDON / "requirements.txt").read_text().split()
    assert "aiohttp==3.11.16" in requirements
    # The build stops when TimescaleDB's extension is not there for the pinned major.
    assert 'extension/timescaledb.control"' in dockerfile


def test_dockerfile_run_steps_are_valid_shell() -> None:
    """Each RUN step, joined across its continuation lines, parses as POSIX shell."""
    import subprocess

    dockerfile = (ADDON / "Dockerfile").read_text()
    steps = re.findall(r"^RUN ((?:.*\\\n)*.*)$", dockerfile, re.MULTILINE)
    assert len(steps) >= 2
    for step in steps:
        script = step.replace("\\\n", " ")
        result = subprocess.run(
            ["sh", "-n", "-c", script], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, (script, result.stderr)


def _scripts() -> list[Path]:
    rootfs = ADDON / "rootfs"
    found = sorted(p for p in rootfs.rglob("*") if p.is_file() and p.read_bytes().startswith(b"#!"))
    return [*found, ROOT / "scripts" / "sync-node"]


@pytest.mark.parametrize("script", _scripts(), ids=lambda p: p.name)
def test_addon_shell_scripts_parse_and_are_executable(script: Path) -> None:
    import os
    import subprocess

    assert os.access(script, os.X_OK), script
    result = subprocess.run(
        ["bash", "-n", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_s6_services_start_database_first_then_sync() -> None:
    services = ADDON / "rootfs" / "etc" / "s6-overlay" / "s6-rc.d"
    assert {p.name for p in (services / "user" / "contents.d").iterdir()} == {
        "init-lifeops",
        "postgres",
        "lifeops-database",
        "lifeops-sync",
        "lifeops-discovery",
    }
    assert (services / "postgres" / "dependencies.d" / "init-lifeops").exists()
    assert (services / "lifeops-database" / "dependencies.d" / "postgres").exists()
    assert (services / "lifeops-database" / "type").read_text().strip() == "oneshot"
    # Announced once both the database and the sync service are up.
    for needed in ("lifeops-database", "lifeops-sync"):
        assert (services / "lifeops-discovery" / "dependencies.d" / needed).exists()
    assert (services / "lifeops-discovery" / "type").read_text().strip() == "oneshot"
    assert (services / "lifeops-sync" / "dependencies.d" / "postgres").exists()
    for longrun in ("postgres", "lifeops-sync"):
        assert (services / longrun / "type").read_text().strip() == "longrun"
        run = (services / longrun / "run").read_text()
        assert re.search(r"^\s*exec ", run, re.MULTILINE), longrun
        finish = (services / longrun / "finish").read_text()
        assert "/run/s6/basedir/bin/halt" in finish
    assert (services / "init-lifeops" / "type").read_text().strip() == "oneshot"


def test_upgrade_guard_backs_up_checks_and_keeps_old_data() -> None:
    guard = (ADDON / "rootfs" / "usr" / "local" / "bin" / "lifeops-pg-guard").read_text()
    assert guard.index("cp -a") < guard.index("--check") < guard.index('pg_upgrade" \\\n')
    assert "Your data is untouched" in guard


def test_integration_brand_icons_are_square_pngs_of_the_right_size() -> None:
    """HA's brands proxy serves brand/ (logo.png falls back to icon.png); HACS looks there too."""
    import struct

    brand = INTEGRATION / "brand"
    assert {path.name for path in brand.iterdir()} == {"icon.png", "icon@2x.png"}
    for name, side in (("icon.png", 256), ("icon@2x.png", 512)):
        data = (brand / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (side, side), name


def test_addon_images_are_pngs_of_the_right_size() -> None:
    import struct

    for name, size in (("icon.png", (128, 128)), ("logo.png", (250, 100))):
        data = (ADDON / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == size


def test_sync_service_starts_outside_a_container_with_one_command() -> None:
    import subprocess

    result = subprocess.run(
        [str(ROOT / "scripts" / "sync-node"), "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "--data-dir" in result.stdout
    assert "--peer" in result.stdout
