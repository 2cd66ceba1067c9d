"""Texts: gettext catalogs in ``studymate/locales/<lang>/LC_MESSAGES/messages.po``.

msgids are stable keys (``welcome_student``) named after what they say. The ``.po`` files are
read directly (through Babel) so there is no compile step to forget. Placeholder values are
HTML-escaped unless wrapped in :class:`Html`, so user text can never break a message.

No aiogram here: the ops processes (backup, watchdog, log rotator) render admin texts too, and
importing aiogram costs ~150 MB of memory per process. The bot sets the language of the
current update with :func:`use_locale`.
"""

from __future__ import annotations

import gettext
import html
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any, Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from studymate.config import LANGUAGES

LOCALES_DIR: Final = Path(__file__).with_name("locales")
DOMAIN: Final = "messages"
DEFAULT_LOCALE: Final = "ru"

_current_locale: ContextVar[str] = ContextVar("studymate_locale", default=DEFAULT_LOCALE)


class Html(str):
    """A value that is already safe HTML and must not be escaped again."""


def _load_po(path: Path, locale: str) -> gettext.GNUTranslations:
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def catalogs() -> dict[str, gettext.GNUTranslations]:
    """Every language's catalog, loaded once per process."""
    found = {}
    for lang in LANGUAGES:
        po = LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        if po.is_file():
            found[lang] = _load_po(po, lang)
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
