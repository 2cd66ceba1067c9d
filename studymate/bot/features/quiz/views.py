"""Rendering of quiz questions, results and reviews (shared by handlers and the sweeper)."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import math
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, InputMediaPhoto

from studymate.bot.features.quiz.callbacks import AnswerCb, Take, TakeCb
from studymate.bot.features.quiz.drawing import END, Drawer, key
from studymate.bot.keyboards import button, list_keyboard
from studymate.bot.limits import CAPTION_LIMIT, shorten, visible_length
from studymate.db.connection import Db
from studymate.db.models import utcnow
from studymate.i18n import Html, t
from studymate.services.quiz import engine as quiz_engine
from studymate.services.quiz import results as quiz_results
from studymate.services.quiz.engine import LETTERS, SUBMIT, Finished, Marks, QuestionView
from studymate.services.quiz.format import MULTI, SINGLE, TRUE_FALSE, TYPED
from studymate.services.quiz.rendering import question_html, question_preview_html
from studymate.services.quiz.results import Result


def local_time(moment: dt.datetime, tz: dt.tzinfo) -> str:
    """A naive-UTC database time as the school reads it: "DD.MM HH:MM"."""
    return moment.replace(tzinfo=dt.UTC).astimezone(tz).strftime("%d.%m %H:%M")


def seconds_left(deadline: dt.datetime, now: dt.datetime | None = None) -> int:
    return max(0, math.ceil((deadline - (now or utcnow())).total_seconds()))


def question_text(view: QuestionView, lang: str, *, now: dt.datetime | None = None) -> str:
    if view.kind == SINGLE and len(view.options) == 4:  # the classic question, as before
        a, b, c, d = view.options
        body = t(
            "quiz_question", lang, current=view.number, total=view.total,
            text=Html(question_html(view.text)), a=a, b=b, c=c, d=d,
        )
    else:
        body = t("quiz_question_head", lang, current=view.number, total=view.total,
                 text=Html(question_html(view.text)))
        # A select-all question's marks are on its buttons only: a toggle redraws the keyboard.
        lines = [
            f"{letter}) {html.escape(option, quote=False)}"
            for letter, option in zip(LETTERS, view.options, strict=False)
        ]
        hint = {
            TRUE_FALSE: t("quiz_hint_truefalse", lang),
            MULTI: t("quiz_hint_multi", lang),
            TYPED: t("quiz_hint_typed", lang),
        }.get(view.kind)
        body = "\n\n".join(part for part in (body, "\n".join(lines), hint) if part)
    return f"{body}\n\n{t('quiz_time_left', lang, seconds=seconds_left(view.deadline, now))}"


def question_markup(view: QuestionView, lang: str | None = None) -> InlineKeyboardMarkup | None:
    def answer(letter: str) -> AnswerCb:
        return AnswerCb(attempt=view.attempt_id, question=view.question_id, letter=letter)

    if view.kind == TYPED:
        return None
    shown = LETTERS[: len(view.options)]
    if view.kind == MULTI:
        rows = [[
            button(mark_label(letter, view.selected), answer(letter)) for letter in shown
        ][i : i + 4] for i in range(0, len(shown), 4)]
        rows.append([button(t("btn_quiz_submit", lang), answer(SUBMIT))])
        return InlineKeyboardMarkup(inline_keyboard=rows)
    if view.kind == TRUE_FALSE:
        return InlineKeyboardMarkup(inline_keyboard=[[
            button(shorten(option, 30), answer(letter)) for letter, option in zip(shown, view.options, strict=True)
        ]])
    letters = [button(letter, answer(letter)) for letter in shown]
    return InlineKeyboardMarkup(inline_keyboard=[letters[i : i + 4] for i in range(0, len(letters), 4)])


def mark_label(letter: str, selected: str) -> str:
    """A select-all option's button: ☑️ marked, ⬜ not."""
    return f"{'☑️' if letter in selected else '⬜'} {letter}"


def _marked(on_screen: InlineKeyboardMarkup | None, marks: Marks) -> InlineKeyboardMarkup | None:
    """The keyboard on screen with its option buttons marked as ``marks`` says; None when it
    shows no option of that question (then the question is drawn from the database)."""
    rows, found = [], False
    for row in on_screen.inline_keyboard if on_screen is not None else []:
        rows.append([])
        for cell in row:
            data = _answer_of(cell.callback_data)
            if (data is not None and data.letter in LETTERS and data.attempt == marks.attempt_id
                    and data.question == marks.question_id):
                cell = cell.model_copy(update={"text": mark_label(data.letter, marks.selected)})
                found = True
            rows[-1].append(cell)
    return InlineKeyboardMarkup(inline_keyboard=rows) if found else None


def _answer_of(data: str | None) -> AnswerCb | None:
    if not data or not data.startswith(AnswerCb.__prefix__ + AnswerCb.__separator__):
        return None
    try:
        return AnswerCb.unpack(data)
    except (TypeError, ValueError):
        return None


def start_markup(quiz_id: int, lang: str) -> dict:
    """▶️ Start under a notice (an outbox row stores it as JSON); the start checks it."""
    markup = InlineKeyboardMarkup(inline_keyboard=[
        [button(t("btn_quiz_start", lang), TakeCb(action=Take.START, quiz=quiz_id))]
    ])
    return markup.model_dump(exclude_none=True)


REVIEW_BUDGET = 3900  # a review page is one message (4,096 characters with the header)


def review_text(result: Result, lang: str) -> str:
    """A review page; code blocks of the questions as code, shorter if the page runs long."""
    for code in (200, 60, 0):
        text = _review_text(result, lang, code)
        if len(text) <= REVIEW_BUDGET:
            break
    return text


def _review_text(result: Result, lang: str, code: int) -> str:
    if result.pages > 1:
        lines = [t("quiz_review_header_page", lang, page=result.page + 1, total_pages=result.pages)]
    else:
        lines = [t("quiz_review_header", lang)]
    for line in result.lines:
        question = Html(question_preview_html(line.question, prose=50, code=code))
        chosen = shorten(line.chosen, 100) if line.chosen is not None else t("quiz_time_expired", lang)
        if line.is_correct:
            lines.append(t("quiz_review_correct", lang, num=line.number, question=question, answer=chosen))
        else:
            lines.append(t("quiz_review_wrong", lang, num=line.number, question=question,
                           answer=chosen, correct=shorten(line.correct_option, 100)))
        if line.explanation:
            lines[-1] += "\n" + t("quiz_review_explanation", lang, explanation=shorten(line.explanation, 300))
    return "\n\n".join(lines)


def back_to_list(*, ranked: bool, lang: str | None = None) -> list[list]:
    """⬅️ Back to the list the quiz is in now: ranked while its exam runs, else practice."""
    action = Take.RANKED if ranked else Take.PRACTICE
    return [[button(t("btn_back_to_list", lang), TakeCb(action=action))]]


def exam_markup(lang: str | None = None) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=back_to_list(ranked=True, lang=lang))


def review_markup(result: Result, *, back: bool, lang: str | None = None) -> InlineKeyboardMarkup:
    if back:
        footer = [[button(t("btn_back", lang), TakeCb(action=Take.VIEW, quiz=result.quiz_id))]]
    else:  # the end of an attempt: take it again, or pick another quiz
        footer = [[button(t("quiz_retake", lang), TakeCb(action=Take.START, quiz=result.quiz_id))]]
        footer += back_to_list(ranked=False, lang=lang)
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
        group = result.group_average
        average = str(group) if group.count else f"0.0/{finished.total}"
        head = t("quiz_finished", lang, score=finished.score, total=finished.total, avg=average)
    if finished.is_exam or result is None:
        return head
    return f"{head}\n\n{review_text(result, lang)}"


async def show_question(bot: Bot, drawer: Drawer, view: QuestionView, lang: str, *,
                        db: Db | None = None) -> bool:
    """Edit the attempt's message into ``view``, in its turn (never over a later question);
    returns whether it was sent.

    A question with a picture is a photo with the question as its caption (a countdown redraw
    edits the caption only); when the caption would pass Telegram's 1,024 characters, the
    picture comes as a photo of its own followed by the question as text. Telegram cannot turn
    a text message into a photo or back, so then the question is sent as a new message, the
    attempt's row points at it (``db``) and the old one is deleted.
    """
    if view.chat_id is None or view.message_id is None:
        return False
    turn = key(view.attempt_id, view.chat_id, view.message_id)
    redraw = drawer.drawn(turn) == view.number  # the same question again: the countdown

    async def send() -> None:
        await _render(bot, view, lang, redraw=redraw, db=db)

    return await drawer.draw(turn, view.number, send)


async def show_marks(bot: Bot, drawer: Drawer, marks: Marks,
                     on_screen: InlineKeyboardMarkup | None) -> bool:
    """After a toggle, redraw only the buttons of the select-all question (the marks are there
    alone), in the attempt's turn like any edit of its message. The keyboard on screen (the
    tapped message's) gives the layout; False when it is not this question's, so the caller
    draws the whole question instead."""
    markup = _marked(on_screen, marks)
    if markup is None:
        return False
    if marks.chat_id is None or marks.message_id is None:
        return True

    async def send() -> None:
        with contextlib.suppress(TelegramBadRequest):  # not modified (a repeated tap), or gone
            await bot.edit_message_reply_markup(
                chat_id=marks.chat_id, message_id=marks.message_id, reply_markup=markup
            )

    await drawer.draw(key(marks.attempt_id, marks.chat_id, marks.message_id), marks.number, send)
    return True


def _is(error: TelegramBadRequest, *words: str) -> bool:
    return any(word in error.message for word in words)


async def _render(bot: Bot, view: QuestionView, lang: str, *, redraw: bool, db: Db | None) -> None:
    text, markup = question_text(view, lang), question_markup(view, lang)
    where = {"chat_id": view.chat_id, "message_id": view.message_id}
    if view.image is not None and visible_length(text) <= CAPTION_LIMIT:
        try:
            if redraw:
                await bot.edit_message_caption(caption=text, reply_markup=markup, **where)
            else:
                await bot.edit_message_media(
                    media=InputMediaPhoto(media=view.image, caption=text), reply_markup=markup, **where
                )
            return
        except TelegramBadRequest as error:
            if _is(error, "not modified") or db is None:
                return
        sent = await bot.send_photo(view.chat_id, view.image, caption=text, reply_markup=markup)
        await _moved(bot, db, view, sent.message_id)
        return
    if view.image is not None and not redraw:  # a long question: its picture above it
        await bot.send_photo(view.chat_id, view.image)
        if db is not None:
            sent = await bot.send_message(view.chat_id, text, reply_markup=markup)
            await _moved(bot, db, view, sent.message_id)
            return
    try:
        await bot.edit_message_text(text=text, reply_markup=markup, **where)
    except TelegramBadRequest as error:
        if not _is(error, "no text in the message") or db is None:
            return  # not modified, or the message is gone
        sent = await bot.send_message(view.chat_id, text, reply_markup=markup)
        await _moved(bot, db, view, sent.message_id)


async def _moved(bot: Bot, db: Db, view: QuestionView, message_id: int) -> None:
    """The attempt's questions now live in ``message_id``: point the row at it, pin it, and
    delete the old message (or the new one, if another party moved the attempt first)."""
    moved = await db.run(quiz_engine.move_message, view.attempt_id, view.message_id, message_id)
    gone = view.message_id if moved else message_id
    with contextlib.suppress(TelegramBadRequest):
        await bot.delete_message(view.chat_id, gone)
    if moved:
        with contextlib.suppress(TelegramBadRequest):
            await bot.pin_chat_message(view.chat_id, message_id, disable_notification=True)


LOOK_UP: Any = object()


async def show_finish(bot: Bot, db: Db, drawer: Drawer, finished: Finished, lang: str,
                      result: Any = LOOK_UP) -> None:
    """Edit the attempt's message into its result (``result`` when the caller has read it)."""
    if result is LOOK_UP:
        # An exam shows the score alone: no review to read (and no wait for the database).
        result = None if finished.is_exam else await db.run(
            quiz_results.result, finished.student_telegram_id, finished.attempt_id
        )
    text = finished_text(finished, result, lang)
    if finished.is_exam or result is None:
        markup = exam_markup(lang) if finished.is_exam else None
    else:
        markup = review_markup(result, back=False, lang=lang)
    await _show_end(bot, drawer, finished, text, markup)


async def show_left(bot: Bot, drawer: Drawer, finished: Finished, lang: str) -> None:
    """The question message of a practice quiz the student left (/cancel)."""
    markup = None
    if finished.reason == "discarded":
        text = t("quiz_left_discarded", lang)
    else:
        text = t("quiz_left_cancelled", lang, answered=finished.answered, total=finished.total,
                 score=finished.score)
        markup = list_keyboard([], footer=[[button(
            t("quiz_view_answers", lang), TakeCb(action=Take.REVIEW, attempt=finished.attempt_id)
        )]])
    await _show_end(bot, drawer, finished, text, markup)


async def _show_end(bot: Bot, drawer: Drawer, finished: Finished, text: str,
                    markup: InlineKeyboardMarkup | None) -> None:
    if finished.chat_id is None or finished.message_id is None:
        return

    async def send() -> None:
        where = {"chat_id": finished.chat_id, "message_id": finished.message_id}
        try:
            await bot.edit_message_text(text=text, reply_markup=markup, **where)
        except TelegramBadRequest as error:
            if _is(error, "no text in the message"):  # the last question had a picture
                await _end_on_photo(bot, finished, text, markup)
                return
        with contextlib.suppress(TelegramBadRequest):
            await bot.unpin_chat_message(**where)

    await drawer.draw(key(finished.attempt_id, finished.chat_id, finished.message_id), END, send)


async def _end_on_photo(bot: Bot, finished: Finished, text: str,
                        markup: InlineKeyboardMarkup | None) -> None:
    """The end of an attempt whose message is a photo: a new text message, the photo deleted
    (a caption would lose the review's length and keep a stale picture)."""
    await bot.send_message(finished.chat_id, text, reply_markup=markup)
    with contextlib.suppress(TelegramBadRequest):
        await bot.delete_message(finished.chat_id, finished.message_id)
