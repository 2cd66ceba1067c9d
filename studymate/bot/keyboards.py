"""Keyboard factories: plain ids and a language in, markup out. Labels come from the catalogs."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder, ReplyKeyboardBuilder

from studymate.bot.callbacks import LanguageCb
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
