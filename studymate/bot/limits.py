"""Texts that must fit Telegram's limits: 4096 characters per message, 1024 per caption."""

from __future__ import annotations

import html
import re
from typing import Any, Final

from studymate.config import LANGUAGES
from studymate.i18n import t

MESSAGE_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024
_TAG = re.compile(r"<[^>]+>")


def visible_length(text: str) -> int:
    """Length as Telegram counts it: after HTML tags and entities are parsed."""
    return len(html.unescape(_TAG.sub("", text)))


def render_fitting(
    key: str, lang: str | None, *, field: str, limit: int = MESSAGE_LIMIT, **params: Any
) -> str:
    """``t(key, **params)``, shortening the user-provided ``params[field]`` so the result fits.

    A shortened value ends with "…" and the localized ``text_truncated_note``.
    """
    text = t(key, lang, **params)
    if visible_length(text) <= limit:
        return text
    value = str(params[field])
    note = f"… {t('text_truncated_note', lang)}"
    room = limit - visible_length(t(key, lang, **{**params, field: ""})) - len(note)
    return t(key, lang, **{**params, field: value[: max(room, 0)] + note})


def room_for(key: str, *, field: str, limit: int = MESSAGE_LIMIT, **params: Any) -> int:
    """How long the user's ``field`` may be so that ``key`` fits the limit in every language
    (the recipient's language decides the heading it is wrapped in)."""
    return min(
        limit - visible_length(t(key, lang, **{**params, field: ""})) for lang in LANGUAGES
    )


def too_long(text: str | None, key: str, *, field: str, limit: int = MESSAGE_LIMIT) -> str | None:
    """The refusal to send when the user's ``text`` cannot be passed on whole, else None.

    Cutting a message while telling the sender it was sent would lose their words.
    """
    if not text:
        return None
    room = room_for(key, field=field, limit=limit)
    if len(text) <= room:
        return None
    return t("text_too_long", limit=room, length=len(text))


def shorten(value: str, limit: int) -> str:
    """A one-line preview of user text for lists and buttons."""
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 3] + "..."
