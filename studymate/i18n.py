"""Texts: gettext catalogs in ``studymate/locales/<lang>/LC_MESSAGES/messages.po``.

msgids are stable keys (``welcome_student``) named after what they say. The ``.po`` files are
read directly, so there is no compile step to forget, by a reader of the part of the format the
catalogs use (keys and texts, no plurals or contexts): reading them through Babel cost every
process that renders texts ~3 MB resident. ``pybabel`` and ``scripts/add_texts.py`` still write
them; ``tests/test_catalogs.py`` checks both readers agree. Placeholder values are HTML-escaped
unless wrapped in :class:`Html`, so user text can never break a message.

No aiogram here: the ops processes (backup, watchdog, log rotator) render admin texts too, and
importing aiogram costs ~150 MB of memory per process. The bot sets the language of the
current update with :func:`use_locale`.
"""

from __future__ import annotations

import gettext
import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any, Final

from studymate.config import LANGUAGES

LOCALES_DIR: Final = Path(__file__).with_name("locales")
DOMAIN: Final = "messages"
DEFAULT_LOCALE: Final = "ru"

_current_locale: ContextVar[str] = ContextVar("studymate_locale", default=DEFAULT_LOCALE)


class Html(str):
    """A value that is already safe HTML and must not be escaped again."""


class Catalog(gettext.NullTranslations):
    """One language's texts by key; a key without a text is its own text, as in gettext."""

    def __init__(self, texts: dict[str, str]) -> None:
        super().__init__()
        self._catalog = texts

    def gettext(self, message: str) -> str:
        return self._catalog.get(message, message)


_LINE: Final = re.compile(r'^(msgid|msgstr)?\s*"(.*)"\s*$')
_ESCAPE: Final = re.compile(r'\\([\\trn"])')
_ESCAPED: Final = {"n": "\n", "t": "\t", "r": "\r"}


def _unescape(quoted: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPED.get(m.group(1), m.group(1)), quoted)


def read_catalog(path: Path) -> dict[str, str]:
    """The texts of a ``.po`` file by key. Fuzzy and empty translations are left out, as
    compiling the file would; a construct the catalogs do not use (plural forms, contexts)
    is refused rather than misread."""
    texts: dict[str, str] = {}
    entry: dict[str, list[str]] = {}
    field, fuzzy = "", False

    def done() -> None:
        key, text = "".join(entry.get("msgid", ())), "".join(entry.get("msgstr", ()))
        if key and text and not fuzzy:
            texts[key] = text

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or (line.startswith("#") and not line.startswith("#,")):
            continue
        if line.startswith("#,"):
            done()
            entry, field, fuzzy = {}, "", "fuzzy" in line
            continue
        found = _LINE.match(line)
        if found is None or (found.group(1) is None and not field):
            raise ValueError(f"{path}:{number}: not understood: {line[:60]}")
        if found.group(1) == "msgid" and "msgstr" in entry:  # the next entry
            done()
            entry, fuzzy = {}, False
        if found.group(1):
            field = found.group(1)
        entry.setdefault(field, []).append(_unescape(found.group(2)))
    done()
    return texts


@cache
def catalogs() -> dict[str, Catalog]:
    """Every language's catalog, loaded once per process."""
    found = {}
    for lang in LANGUAGES:
        po = LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        if po.is_file():
            found[lang] = Catalog(read_catalog(po))
    return found


@contextmanager
def use_locale(lang: str) -> Iterator[None]:
    """Texts rendered inside speak ``lang`` unless a call names another language."""
    token = _current_locale.set(lang)
    try:
        yield
    finally:
        _current_locale.reset(token)


def escape_params(params: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value if isinstance(value, (Html, int, float)) else html.escape(str(value), quote=False)
        for key, value in params.items()
    }


def t(key: str, locale: str | None = None, /, **params: Any) -> str:
    """The text of ``key`` in ``locale`` (default: the current update's), placeholders escaped."""
    translations = catalogs()
    catalog = translations.get(locale or _current_locale.get()) or translations.get(DEFAULT_LOCALE)
    text = catalog.gettext(key) if catalog is not None else key
    return text.format(**escape_params(params)) if params else text


def all_labels(key: str) -> frozenset[str]:
    """The label of ``key`` in every language (menu buttons match in any language)."""
    return frozenset(t(key, lang) for lang in LANGUAGES)
