"""The catalogs through Babel: `pybabel extract` finds the keys, scripts/add_texts.py edits them."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from studymate.config import LANGUAGES
from studymate.i18n import LOCALES_DIR, Catalog, read_catalog

REPO = Path(__file__).resolve().parents[1]


def _add_texts():
    spec = importlib.util.spec_from_file_location("add_texts", REPO / "scripts" / "add_texts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _messages(path: Path) -> dict[str, tuple[str, frozenset[str], tuple[str, ...]]]:
    with path.open("rb") as fh:
        return {m.id: (m.string, frozenset(m.flags), tuple(m.user_comments)) for m in read_po(fh) if m.id}


def _flagged(path: Path) -> set[str]:
    """Keys marked python-brace-format in the file (Babel's reader re-derives flags from the
    msgid, so the file itself is looked at)."""
    return set(re.findall(r'^#, python-brace-format\nmsgid "(\w+)"', path.read_text(), re.M))


def _po(root: Path, lang: str) -> Path:
    return root / lang / "LC_MESSAGES" / "messages.po"


def test_pybabel_extract_finds_the_keys_of_the_catalogs(tmp_path):
    pot = tmp_path / "messages.pot"
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "t", "-k", "MenuButton", "-k", "all_labels", "--no-location", "-o", str(pot), "studymate"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    extracted = {key for key in _messages(pot)}
    catalog = set(_messages(_po(LOCALES_DIR, "en")))
    assert len(extracted) > 150, "the extraction found too few keys to prove anything"
    # Both branches of ``t("a") if x else t("b")``, a MenuButton and a t() with a language.
    assert {"quiz_archived", "quiz_unarchived", "btn_cancel", "btn_materials_menu"} <= extracted
    assert extracted <= catalog, f"extracted keys missing from the catalogs: {sorted(extracted - catalog)}"


def test_add_texts_updates_and_appends_through_babel(tmp_path):
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales)
    before = {lang: _messages(_po(locales, lang)) for lang in LANGUAGES}
    flagged_before = {lang: _flagged(_po(locales, lang)) for lang in LANGUAGES}
    texts = {
        "btn_cancel": {"ru": "❌ Отменить", "kaa": "❌ Biykarlaw", "en": "❌ Stop"},
        "test_new_key": {lang: f'{lang}: "{{name}}" \\ <b>{{count}}</b>\nsecond line' for lang in LANGUAGES},
        "test_plain": {lang: f"{lang} plain" for lang in LANGUAGES},
    }
    data = tmp_path / "texts.json"
    data.write_text(json.dumps(texts, ensure_ascii=False))
    add_texts = _add_texts()
    add_texts.main([str(data), "--area", "Testing", "--locales", str(locales)])

    for lang in LANGUAGES:
        after = _messages(_po(locales, lang))
        assert after["btn_cancel"][0] == texts["btn_cancel"][lang]
        text, _, comments = after["test_new_key"]
        assert text == texts["test_new_key"][lang] and comments == ("--- Testing ---",)
        assert after["test_plain"] == (f"{lang} plain", frozenset(), ())
        assert _flagged(_po(locales, lang)) == flagged_before[lang] | {"test_new_key"}
        untouched = {k: v for k, v in after.items() if k not in texts}
        assert untouched == {k: v for k, v in before[lang].items() if k not in texts}, \
            "every other text keeps its string and comments"
        loaded = Catalog(read_catalog(_po(locales, lang)))  # what the bot does at start
        assert loaded.gettext("test_new_key") == texts["test_new_key"][lang]

    written = {lang: _po(locales, lang).read_bytes() for lang in LANGUAGES}
    add_texts.main([str(data), "--area", "Testing", "--locales", str(locales)])
    assert {lang: _po(locales, lang).read_bytes() for lang in LANGUAGES} == written, \
        "the same texts again change nothing"


def test_add_texts_refuses_a_missing_language_before_writing_anything(tmp_path):
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales)
    before = {lang: _po(locales, lang).read_bytes() for lang in LANGUAGES}
    data = tmp_path / "texts.json"
    data.write_text(json.dumps({"test_key": {"ru": "да", "en": "yes"}}))
    try:
        _add_texts().main([str(data), "--locales", str(locales)])
    except SystemExit as exc:
        assert "kaa text missing" in str(exc)
    else:
        raise AssertionError("a missing language must stop the script")
    assert {lang: _po(locales, lang).read_bytes() for lang in LANGUAGES} == before


def _babel_texts(path: Path) -> dict[str, str]:
    """What compiling the file with Babel keeps: translated, not fuzzy."""
    with path.open("rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id and m.string and not m.fuzzy}


def test_the_bots_reader_reads_every_catalog_as_babel_does():
    for lang in LANGUAGES:
        assert read_catalog(_po(LOCALES_DIR, lang)) == _babel_texts(_po(LOCALES_DIR, lang))


def test_the_bots_reader_follows_the_format_and_refuses_what_it_does_not_read(tmp_path):
    po = tmp_path / "messages.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: en\\n"\n\n'
        '# a comment\n#, python-brace-format\nmsgid "hello"\nmsgstr ""\n"Hi, \\"{name}\\"\\n"\n"\\tbye \\\\ now"\n\n'
        '#, fuzzy\nmsgid "unsure"\nmsgstr "maybe"\n\n'
        'msgid "untranslated"\nmsgstr ""\n\n'
        '#~ msgid "gone"\n#~ msgstr "old"\n',
        encoding="utf-8",
    )
    assert read_catalog(po) == _babel_texts(po) == {"hello": 'Hi, "{name}"\n\tbye \\ now'}
    po.write_text('msgid "apple"\nmsgid_plural "apples"\nmsgstr[0] "apple"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="not understood"):
        read_catalog(po)
