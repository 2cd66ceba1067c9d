"""Imports point one way (cli → bot | ops → services → db), and tokens never reach the logs."""

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
