"""Rendering of quiz questions, results and reviews (shared by handlers and the sweeper)."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup

from studymate.bot.features.quiz.callbacks import AnswerCb, Take, TakeCb
from studymate.bot.keyboards import button, list_keyboard
from studymate.bot.limits import shorten
from studymate.db.connection import Db
from studymate.db.models import utcnow
from studymate.i18n import Html, t
from studymate.services.quiz import engine as quiz_engine
from studymate.services.quiz.engine import LETTERS, Finished, QuestionView, Result
from studymate.services.quiz.format import question_html


def local_time(moment: dt.datetime, tz: dt.tzinfo) -> str:
    """A naive-UTC database time as the school reads it: "DD.MM HH:MM"."""
    return moment.replace(tzinfo=dt.UTC).astimezone(tz).strftime("%d.%m %H:%M")


def seconds_left(deadline: dt.datetime, now: dt.datetime | None = None) -> int:
    return max(0, math.ceil((deadline - (now or utcnow())).total_seconds()))


def question_text(view: QuestionView, lang: str, *, now: dt.datetime | None = None) -> str:
    a, b, c, d = view.options
    body = t(
        "quiz_question", lang, current=view.number, total=view.total,
        text=Html(question_html(view.text)), a=a, b=b, c=c, d=d,
    )
    return f"{body}\n\n{t('quiz_time_left', lang, seconds=seconds_left(view.deadline, now))}"


def question_markup(view: QuestionView) -> InlineKeyboardMarkup:
    letters = [
        button(letter, AnswerCb(attempt=view.attempt_id, question=view.question_id, letter=letter))
        for letter in LETTERS
    ]
    return InlineKeyboardMarkup(inline_keyboard=[letters])


def review_text(result: Result, lang: str) -> str:
    if result.pages > 1:
        lines = [t("quiz_review_header_page", lang, page=result.page + 1, total_pages=result.pages)]
    else:
        lines = [t("quiz_review_header", lang)]
    for line in result.lines:
        question = shorten(line.question, 50)
        chosen = shorten(line.chosen, 100) if line.chosen is not None else t("quiz_time_expired", lang)
        if line.is_correct:
            lines.append(t("quiz_review_correct", lang, num=line.number, question=question, answer=chosen))
        else:
            lines.append(t("quiz_review_wrong", lang, num=line.number, question=question,
                           answer=chosen, correct=shorten(line.correct_option, 100)))
    return "\n\n".join(lines)


def review_markup(result: Result, *, back: bool) -> InlineKeyboardMarkup:
    footer = [[button(t("btn_back"), TakeCb(action=Take.VIEW, quiz=result.quiz_id))]] if back else []
    return list_keyboard(
        [], page=result.page, pages=result.pages, footer=footer,
        make_page=lambda p: TakeCb(action=Take.REVIEW, attempt=result.attempt_id, page=p),
    )


def finished_text(finished: Finished, result: Result | None, lang: str) -> str:
    """The end of an attempt: the score only while the exam runs, else the review too."""
    if finished.reason == "expired":
        head = t("quiz_session_expired", lang, score=finished.score, total=finished.total)
    elif finished.is_exam or result is None:
        head = t("quiz_exam_mode_result", lang, score=finished.score, total=finished.total)
    else:
        average = f"{result.group_average:.1f}/{finished.total}"
        head = t("quiz_finished", lang, score=finished.score, total=finished.total, avg=average)
    if finished.is_exam or result is None:
        return head
    return f"{head}\n\n{review_text(result, lang)}"


async def show_question(bot: Bot, view: QuestionView, lang: str) -> None:
    """Edit the attempt's message into ``view`` and keep it pinned."""
    with contextlib.suppress(TelegramBadRequest):
        await bot.edit_message_text(
            text=question_text(view, lang), chat_id=view.chat_id, message_id=view.message_id,
            reply_markup=question_markup(view),
        )


_LOOK_UP: Any = object()


async def show_finish(bot: Bot, db: Db, finished: Finished, lang: str, result: Any = _LOOK_UP) -> None:
    """Edit the attempt's message into its result (``result`` when the caller has read it)."""
    if result is _LOOK_UP:
        result = await db.run(quiz_engine.result, finished.student_telegram_id, finished.attempt_id)
    text = finished_text(finished, result, lang)
    markup = None if finished.is_exam or result is None else review_markup(result, back=False)
    if finished.chat_id is None or finished.message_id is None:
        return
    with contextlib.suppress(TelegramBadRequest):
        await bot.edit_message_text(
            text=text, chat_id=finished.chat_id, message_id=finished.message_id, reply_markup=markup
        )
    with contextlib.suppress(TelegramBadRequest):
        await bot.unpin_chat_message(chat_id=finished.chat_id, message_id=finished.message_id)
