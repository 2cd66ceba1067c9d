"""Imports point one way (cli → bot | ops → services → db), the packages inside a layer keep
their own boundaries, and tokens never reach the logs."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from studymate.logging_setup import RedactingFormatter

PACKAGE = Path(__file__).resolve().parents[1] / "studymate"
FORBIDDEN = {
    "db": ("studymate.services", "studymate.bot", "studymate.ops", "studymate.cli", "aiogram"),
    "services": ("studymate.bot", "studymate.ops", "studymate.cli", "aiogram"),
    "ops": ("studymate.bot", "studymate.cli", "aiogram.dispatcher", "aiogram.Dispatcher"),
    "bot": ("studymate.cli",),
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


# Boundaries inside a layer: folder (relative to studymate/) → module prefixes it must not import.
INTERNAL = {
    # Background loops render through views, never through a router's module.
    "bot/workers": ("studymate.bot.features.routers",),
    "bot/infra": ("studymate.bot.features", "studymate.bot.workers", "studymate.bot.app",
                  "studymate.bot.runner"),
    "bot/middlewares": ("studymate.bot.features.routers", "studymate.bot.workers"),
    "services/quiz": ("studymate.services.import_v1",),
    "ops/backup": ("studymate.ops.watchdog",),
    "ops/watchdog": ("studymate.ops.backup.engines",),
}


def _modules_with_routers() -> set[str]:
    found = set()
    for path in (PACKAGE / "bot" / "features").rglob("*.py"):
        if "Router(" in path.read_text():
            found.add("studymate." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    return found


@pytest.mark.parametrize("folder", sorted(INTERNAL))
def test_packages_keep_their_boundaries(folder):
    forbidden = INTERNAL[folder]
    if folder in ("bot/workers", "bot/middlewares"):
        forbidden = forbidden + tuple(_modules_with_routers())
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in (PACKAGE / folder).rglob("*.py")
        for name in _imports(path)
        if name.startswith(forbidden)
    ]
    assert not offenders, offenders


def test_only_tests_import_the_fake_server():
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] != "testing"
        for name in _imports(path)
        if name.startswith("studymate.testing")
    ]
    assert not offenders, offenders


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_one_way(layer):
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in (PACKAGE / layer).rglob("*.py")
        for name in _imports(path)
        if name.startswith(FORBIDDEN[layer])
    ]
    assert not offenders, offenders


def test_formatter_redacts_tokens():
    token = "123456789:AAH" + "x" * 32
    record = logging.LogRecord(
        "aiohttp", logging.ERROR, __file__, 1, "GET https://api.telegram.org/bot%s/getMe failed",
        (token,), None,
    )
    text = RedactingFormatter("%(message)s").format(record)
    assert token not in text and "<redacted-token>" in text
