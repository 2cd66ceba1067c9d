"""Texts and keyboards of the per-quiz settings screens."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from studymate.bot.features.quiz.authoring_callbacks import Draft, DraftCb, QuizAction, QuizCb
from studymate.bot.features.quiz.authoring_views import local_text
from studymate.bot.features.quiz.settings_callbacks import DraftSettingsCb, QuizSettingsCb, Setting
from studymate.bot.keyboards import button
from studymate.i18n import t
from studymate.services.quiz.format import ParsedQuiz
from studymate.services.quiz.settings import (
    DEFAULT_WINDOW_HOURS,
    SECONDS_CHOICES,
    WINDOW_CHOICES,
    Current,
)


def _on(value: bool | None) -> str:
    return t("quiz_settings_on") if value else t("quiz_settings_off")


def _mark(label: str, chosen: bool) -> str:
    return f"✅ {label}" if chosen else label


def _window_label(hours: int) -> str:
    return t("btn_settings_days", days=hours // 24) if hours > 72 else t("btn_settings_hours", hours=hours)


def _seconds_rows(current: int, make) -> list[list[InlineKeyboardButton]]:
    buttons = [button(_mark(t("btn_settings_seconds", seconds=s), s == current), make(Setting.SECONDS, s))
               for s in SECONDS_CHOICES]
    return [buttons[:4], buttons[4:]]


def _window_row(current: int, make) -> list[InlineKeyboardButton]:
    return [button(_mark(_window_label(h), h == current), make(Setting.WINDOW, h)) for h in WINDOW_CHOICES]


def draft_text(parsed: ParsedQuiz, default_seconds: int) -> str:
    return t(
        "quiz_settings_draft", title=parsed.title, seconds=parsed.seconds or default_seconds,
        hours=parsed.window_hours or DEFAULT_WINDOW_HOURS,
        questions=_on(parsed.shuffle_questions), options=_on(parsed.shuffle_options),
    )


def draft_markup(parsed: ParsedQuiz, token: str, default_seconds: int) -> InlineKeyboardMarkup:
    def make(action: Setting, value: int = 0) -> DraftSettingsCb:
        return DraftSettingsCb(action=action, draft=token, value=value)

    rows = _seconds_rows(parsed.seconds or default_seconds, make)
    rows[-1].append(button(t("btn_settings_type_seconds"), make(Setting.TYPE)))
    rows.append(_window_row(parsed.window_hours or DEFAULT_WINDOW_HOURS, make))
    rows.append([
        button(t("btn_shuffle_questions", state=_on(parsed.shuffle_questions)), make(Setting.SHUFFLE_QUESTIONS)),
        button(t("btn_shuffle_options", state=_on(parsed.shuffle_options)), make(Setting.SHUFFLE_OPTIONS)),
    ])
    rows.append([button(t("btn_back"), DraftCb(action=Draft.PREVIEW, draft=token))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def published_text(current: Current, default_seconds: int, tz: ZoneInfo) -> str:
    lines = [t("quiz_settings_published", title=current.title, seconds=current.seconds or default_seconds)]
    if current.ranked and current.available_until is not None:
        lines.append(t("quiz_settings_window_line", hours=current.window_hours, end=local_text(current.available_until, tz)))
    lines.append("")
    lines.append(t("quiz_settings_locked") if current.has_attempts else t("quiz_settings_open"))
    return "\n".join(lines)


def published_markup(current: Current, origin: QuizSettingsCb, default_seconds: int) -> InlineKeyboardMarkup:
    def make(action: Setting, value: int = 0) -> QuizSettingsCb:
        return origin.model_copy(update={"action": action, "value": value})

    rows: list[list[InlineKeyboardButton]] = []
    if not current.has_attempts:
        rows.extend(_seconds_rows(current.seconds or default_seconds, make))
        if current.ranked:
            rows.append(_window_row(current.window_hours, make))
    back = QuizCb(action=QuizAction.SHOW, quiz=origin.quiz, archived=origin.archived, page=origin.page)
    rows.append([button(t("btn_back"), back)])
    return InlineKeyboardMarkup(inline_keyboard=rows)
