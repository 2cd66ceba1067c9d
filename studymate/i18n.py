"""Texts: gettext catalogs in ``studymate/locales/<lang>/LC_MESSAGES/messages.po``.

msgids are stable keys (``welcome_student``) named as in PRODUCT.md §7. The ``.po`` files are
read directly (through Babel) so there is no compile step to forget. Placeholder values are
HTML-escaped unless wrapped in :class:`Html`, so user text can never break a message.
"""

from __future__ import annotations

import gettext
import html
import io
from functools import cache
from pathlib import Path
from typing import Any, Final

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from studymate.config import LANGUAGES

LOCALES_DIR: Final = Path(__file__).with_name("locales")
DOMAIN: Final = "messages"


class Html(str):
    """A value that is already safe HTML and must not be escaped again."""


def _load_po(path: Path, locale: str) -> gettext.GNUTranslations:
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class CatalogI18n(I18n):
    """aiogram's I18n reading ``.po`` files instead of compiled ``.mo`` files."""

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations = {}
        for lang in LANGUAGES:
            po = self.path / lang / "LC_MESSAGES" / f"{self.domain}.po"
            if po.is_file():
                translations[lang] = _load_po(po, lang)
        return translations


@cache
def catalogs() -> CatalogI18n:
    """The one catalog set of the process; the locale is chosen per update or per call."""
    return CatalogI18n(path=LOCALES_DIR, default_locale="ru", domain=DOMAIN)


def escape_params(params: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value if isinstance(value, (Html, int, float)) else html.escape(str(value), quote=False)
        for key, value in params.items()
    }


def t(key: str, locale: str | None = None, /, **params: Any) -> str:
    """The text of ``key`` in ``locale`` (default: the current update's), placeholders escaped."""
    i18n = catalogs()
    text = i18n.gettext(key, locale=locale)
    return text.format(**escape_params(params)) if params else text


def all_labels(key: str) -> frozenset[str]:
    """The label of ``key`` in every language (menu buttons match in any language, §3.1)."""
    i18n = catalogs()
    return frozenset(i18n.gettext(key, locale=lang) for lang in LANGUAGES)
