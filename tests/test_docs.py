"""Comments, docstrings and docs say the reason, or point into ``docs/``; they never cite
documents a reader of this repository does not have (spec sections, v1 bug ids, spec files)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("studymate", "tests", "bench", "scripts", "packaging", "systemd", "docs", "examples",
           "install.sh", "supervisord.conf", "README.md", "setup.cfg", "pyproject.toml")
SKIPPED_DIRS = {"__pycache__"}
# Written without the characters they look for, so this file does not match itself.
OUTSIDE = re.compile(
    r"\bB[0-9]{1,2}\b"  # a v1 bug id
    "|\u00a7"  # a section sign
    r"|\b(?:PRODUCT|DESIGN|OPERATIONS|FAKE_TELEGRAM|SEED|STYLE)\.md\b"
    r"|\b[Ss]cenarios? [0-9]"  # an acceptance scenario of the spec
)


def _files() -> list[Path]:
    found = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(p for p in sorted(path.rglob("*"))
                         if p.is_file() and not SKIPPED_DIRS & set(p.relative_to(ROOT).parts))
    return found


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None  # a binary file


def test_the_scan_covers_the_code():
    names = {p.relative_to(ROOT).as_posix() for p in _files()}
    assert {"studymate/bot/app.py", "tests/conftest.py", "install.sh", "docs/architecture.md"} <= names


@pytest.mark.parametrize("sample", [
    "(B" "14 fixed)", "see \u00a76.2", "PRODUCT" ".md", "OPERATIONS" ".md", "scenario" " 54",
    "Scenarios" " 40",
])
def test_the_pattern_finds_references(sample):
    assert OUTSIDE.search(sample)


@pytest.mark.parametrize("sample", ["Base64", "B2B", "AB12", "H1", "sha256", "docs/testing.md"])
def test_the_pattern_leaves_ordinary_words(sample):
    assert not OUTSIDE.search(sample)


def test_no_references_to_documents_outside_the_repository():
    hits = []
    for path in _files():
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert hits == []
