"""Every text exists in every language with the same placeholders, and the code asks for none missing."""

from __future__ import annotations

import ast
import string
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from studymate.bot.keyboards import MENTOR_MENU, STUDENT_MENU
from studymate.config import LANGUAGES
from studymate.i18n import LOCALES_DIR, all_labels, t
from studymate.ops.alerts import Problem

PACKAGE = Path(__file__).resolve().parents[1] / "studymate"
TEXT_FUNCTIONS = {"t", "MenuButton", "all_labels", "Localized"}


def _catalog(lang: str) -> dict[str, str]:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id}


CATALOGS = {lang: _catalog(lang) for lang in LANGUAGES}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _keys_used_in_code() -> tuple[set[str], set[str]]:
    """Keys passed literally to t()/MenuButton()/all_labels(), and prefixes of f-string keys."""
    keys, prefixes = set(), set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) in TEXT_FUNCTIONS):
                continue
            for arg in node.args[:1] if getattr(node.func, "id", None) != "MenuButton" else node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    keys.add(arg.value)
                elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
                    prefixes.add(arg.values[0].value)
    for row in (*MENTOR_MENU, *STUDENT_MENU):
        keys.update(row)
    for problem in Problem:  # the alert texts: literal keys in the enum, not in t() calls
        keys.update(key for key in (problem.text, problem.recovery, problem.held) if key)
    return keys, prefixes


def test_same_keys_in_every_language():
    reference = set(CATALOGS["en"])
    for lang, catalog in CATALOGS.items():
        assert set(catalog) == reference, f"{lang}: {set(catalog) ^ reference}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_missing_translation(lang):
    empty = [key for key, text in CATALOGS[lang].items() if not text.strip()]
    assert not empty, f"{lang} lacks translations for {empty}"


def test_same_placeholders_in_every_language():
    mismatched = {
        key: {lang: sorted(_placeholders(CATALOGS[lang][key])) for lang in LANGUAGES}
        for key in CATALOGS["en"]
        if len({frozenset(_placeholders(CATALOGS[lang][key])) for lang in LANGUAGES}) > 1
    }
    assert not mismatched, mismatched


def test_every_key_the_code_uses_exists():
    keys, prefixes = _keys_used_in_code()
    assert keys, "the scan found no keys: the test would prove nothing"
    missing = sorted(k for k in keys if k not in CATALOGS["en"])
    assert not missing, f"texts used in code but missing from the catalogs: {missing}"
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in CATALOGS["en"]), prefix


class _TelegramHtml(HTMLParser):
    ALLOWED = {"b", "i", "code", "u", "s", "pre", "a", "tg-spoiler", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        assert tag in self.ALLOWED, f"tag <{tag}> is not Telegram HTML"
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_texts_are_valid_telegram_html(lang):
    for key, text in CATALOGS[lang].items():
        parser = _TelegramHtml()
        parser.feed(text.format(**{name: "x" for name in _placeholders(text)}))
        parser.close()
        assert not parser.stack, f"{lang}/{key}: unclosed {parser.stack}"


def test_user_values_are_escaped():
    text = t("welcome_student", "en", name='<div> & "quotes"')
    assert "&lt;div&gt; &amp;" in text and "<div>" not in text


def test_menu_labels_match_in_every_language():
    assert all_labels("btn_cancel") == {"❌ Отмена", "❌ Biykar etiw", "❌ Cancel"}
