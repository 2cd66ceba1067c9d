"""Keyboard factories: plain ids and a language in, markup out. Labels come from the catalogs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder, ReplyKeyboardBuilder

from studymate.bot.callbacks import LanguageCb, NoopCb
from studymate.config import LANGUAGES
from studymate.i18n import t

MENTOR_MENU = (
    ("btn_materials_menu", "btn_quizzes"),
    ("btn_questions", "btn_leaderboard"),
    ("btn_message_students", "btn_language"),
)
STUDENT_MENU = (
    ("btn_lesson_materials", "btn_quizzes"),
    ("btn_ask_question", "btn_leaderboard"),
    ("btn_profile", "btn_language"),
)


def _reply_keyboard(rows: tuple[tuple[str, ...], ...], lang: str) -> ReplyKeyboardMarkup:
    builder = ReplyKeyboardBuilder()
    for row in rows:
        builder.row(*(_button(key, lang) for key in row))
    return builder.as_markup(resize_keyboard=True, is_persistent=True)


def _button(key: str, lang: str) -> KeyboardButton:
    return KeyboardButton(text=t(key, lang))


def mentor_menu(lang: str) -> ReplyKeyboardMarkup:
    return _reply_keyboard(MENTOR_MENU, lang)


def student_menu(lang: str) -> ReplyKeyboardMarkup:
    return _reply_keyboard(STUDENT_MENU, lang)


def admin_menu(lang: str | None = None) -> ReplyKeyboardMarkup:
    """An admin who is neither mentor nor student types commands; the menu only has 🌐."""
    return _reply_keyboard((("btn_language",),), lang)


def cancel_keyboard(lang: str) -> ReplyKeyboardMarkup:
    return _reply_keyboard((("btn_cancel",),), lang)


def language_picker(*, selected: str | None = None, start: bool = False) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code in LANGUAGES:
        label = t(f"lang_name_{code}", code)
        if code == selected:
            label = f"✅ {label}"
        builder.button(text=label, callback_data=LanguageCb(code=code, start=start))
    builder.adjust(len(LANGUAGES))
    return builder.as_markup()


MATERIALS_MENU = (("btn_upload", "btn_manage"), ("btn_statistics", "btn_back_menu"))


def materials_menu(lang: str) -> ReplyKeyboardMarkup:
    return _reply_keyboard(MATERIALS_MENU, lang)


def nav_row(
    builder: InlineKeyboardBuilder, page: int, pages: int, make: Callable[[int], CallbackData]
) -> None:
    """◀️ n/total ▶️ under a list; only the buttons that apply."""
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton(text=t("btn_prev"), callback_data=make(page - 1).pack()))
    if pages > 1:
        buttons.append(
            InlineKeyboardButton(text=f"{page + 1}/{pages}", callback_data=NoopCb().pack())
        )
    if page < pages - 1:
        buttons.append(InlineKeyboardButton(text=t("btn_next"), callback_data=make(page + 1).pack()))
    if buttons:
        builder.row(*buttons)


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def list_keyboard(
    items: Sequence[InlineKeyboardButton | list[InlineKeyboardButton]],
    *,
    page: int = 0,
    pages: int = 1,
    make_page: Callable[[int], CallbackData] | None = None,
    footer: list[list[InlineKeyboardButton]] | None = None,
) -> InlineKeyboardMarkup:
    """One button (or one list of buttons) per row, then the page navigation, then footer rows."""
    builder = InlineKeyboardBuilder()
    for item in items:
        builder.row(*item) if isinstance(item, list) else builder.row(item)
    if make_page is not None:
        nav_row(builder, page, pages, make_page)
    for row in footer or []:
        builder.row(*row)
    return builder.as_markup()
