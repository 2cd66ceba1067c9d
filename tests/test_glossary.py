"""The Karakalpak catalog spells each term one way, as docs/glossary.md says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "glossary.md"
CATALOG = ROOT / "studymate" / "locales" / "kaa" / "LC_MESSAGES" / "messages.po"


def glossary() -> list[tuple[str, str, list[str]]]:
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("en", "---"):
            continue
        rows.append((cells[0], cells[2], [v.strip() for v in cells[3].split(",") if v.strip()]))
    return rows


def words() -> list[str]:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    found = []
    for message in catalog:
        if message.id:
            text = re.sub(r"<[^>]+>|\{[^}]+\}|/\w+", " ", message.string)
            found.extend(re.findall(r"[^\W\d_]+", text.lower()))
    return found


def test_the_glossary_has_terms():
    assert len(glossary()) >= 15


@pytest.mark.parametrize(("term", "kaa", "variants"), glossary(), ids=lambda v: str(v)[:20])
def test_one_spelling_per_term(term, kaa, variants):
    catalog_words = words()
    first = kaa.split()[0].lower()
    assert any(word.startswith(first) for word in catalog_words), f"{term}: '{kaa}' is not used"
    wrong = sorted({w for w in catalog_words for v in variants if w.startswith(v.lower())})
    assert not wrong, f"{term} is spelled '{kaa}' in this catalog, not {wrong}"
