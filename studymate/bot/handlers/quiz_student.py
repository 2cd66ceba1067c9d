"""Student: quiz lists, taking a quiz, results and reviews (PRODUCT.md §4.9, §5.4–5.7)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from studymate.bot.callbacks import AnswerCb, Take, TakeCb
from studymate.bot.filters import IsStudent, MenuButton
from studymate.bot.keyboards import button, list_keyboard
from studymate.bot.quiz_views import (
    finished_text,
    local_time,
    question_markup,
    question_text,
    review_markup,
    review_text,
)
from studymate.config import Settings, normalize_language
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import quiz_engine
from studymate.services.enrollment import Identity, Role, identify
from studymate.services.quiz_engine import Finished, Outcome, QuestionView, Refusal

router = Router(name="quiz_student")
router.message.filter(IsStudent())
router.callback_query.filter(IsStudent())
# Answer taps come first and need no identity: the engine checks the attempt against the
# sender (a student of an active mentor) in the query that reads it (IdentityMiddleware).
answers = Router(name="quiz_answers")
QUIZ = {"quiz": True}  # allowed while an attempt runs (the access gate checks this flag)

TOASTS = {
    Outcome.DUPLICATE: "quiz_answer_duplicate",
    Outcome.STALE: "quiz_answer_stale",
    Outcome.LATE: "quiz_answer_late",
}
REFUSALS = {
    Refusal.NOT_FOUND: "callback_not_allowed",
    Refusal.ARCHIVED: "quiz_archived_unavailable",
    Refusal.NO_QUESTIONS: "quiz_no_questions",
    Refusal.MAX_ATTEMPTS: "quiz_max_attempts",
}


def _menu_markup() -> InlineKeyboardMarkup:
    return list_keyboard([
        button(t("btn_ranked_quizzes"), TakeCb(action=Take.RANKED)),
        button(t("btn_practice_quizzes"), TakeCb(action=Take.PRACTICE)),
    ])


@router.message(MenuButton("btn_quizzes"))
async def quizzes(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(t("quiz_student_header"), reply_markup=_menu_markup())


@router.callback_query(TakeCb.filter(F.action.in_({Take.RANKED, Take.PRACTICE})))
async def quiz_list(callback: CallbackQuery, callback_data: TakeCb, identity: Identity, db: Db) -> None:
    ranked = callback_data.action is Take.RANKED
    found = await db.run(quiz_engine.quiz_list, identity.telegram_id, ranked=ranked, page=callback_data.page)
    if found is None:
        await callback.answer(t("not_assigned"), show_alert=True)
        return
    icon = "🏆" if ranked else "📚"
    items = []
    for item in found.items:
        if item.finished_attempt_id is not None:
            label = f"✅ {item.title} — {item.score}/{item.total}"
            items.append(button(label, TakeCb(action=Take.VIEW, quiz=item.quiz_id)))
        else:
            items.append(button(f"{icon} {item.title}", TakeCb(action=Take.START, quiz=item.quiz_id)))
    other = (
        button(t("btn_practice_short"), TakeCb(action=Take.PRACTICE))
        if ranked else button(t("btn_ranked_short"), TakeCb(action=Take.RANKED))
    )
    markup = list_keyboard(
        items, page=found.page, pages=found.pages, footer=[[other]],
        make_page=lambda p: TakeCb(action=callback_data.action, page=p),
    )
    header = t("ranked_quizzes_header" if ranked else "practice_quizzes_header")
    if not found.items:
        header = f"{header}\n\n{t('no_ranked_quizzes' if ranked else 'no_practice_quizzes')}"
    await callback.message.edit_text(header, reply_markup=markup)
    await callback.answer()


async def show_question(bot: Bot, view: QuestionView, lang: str) -> None:
    """Edit the attempt's message into ``view`` and keep it pinned."""
    with contextlib.suppress(TelegramBadRequest):
        await bot.edit_message_text(
            text=question_text(view, lang), chat_id=view.chat_id, message_id=view.message_id,
            reply_markup=question_markup(view),
        )


async def show_finish(bot: Bot, db: Db, finished: Finished, lang: str) -> None:
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


@router.callback_query(TakeCb.filter(F.action == Take.START))
async def start(callback: CallbackQuery, callback_data: TakeCb, identity: Identity, db: Db,
                settings: Settings, received_at: dt.datetime | None = None,
                replayed: bool = False) -> None:
    message = callback.message
    if replayed and received_at is not None:  # handled before a crash, perhaps not shown
        again = await db.run(
            quiz_engine.started_on_message, identity.telegram_id, callback_data.quiz,
            message.message_id, received_at,
        )
        if again is not None:
            await _show_step(callback, db, again, identity.language)
            if again.next is not None:
                with contextlib.suppress(TelegramBadRequest):
                    await message.pin(disable_notification=True)
            return
    outcome = await db.run(
        quiz_engine.start, identity.telegram_id, callback_data.quiz, tz=settings.tz,
        base_seconds=settings.quiz_question_seconds,
        chat_id=message.chat.id, message_id=message.message_id,
    )
    if isinstance(outcome, tuple):  # not open yet
        opens = local_time(outcome[1], settings.tz)
        await callback.message.edit_text(t("quiz_not_started", start=opens))
        await callback.answer()
        return
    if isinstance(outcome, Refusal):
        await callback.answer(t(REFUSALS[outcome]), show_alert=True)
        return
    await message.edit_text(
        question_text(outcome, identity.language), reply_markup=question_markup(outcome)
    )
    with contextlib.suppress(TelegramBadRequest):
        await message.pin(disable_notification=True)
    await callback.answer()


async def _answer(callback: CallbackQuery, text: str | None) -> None:
    await callback.answer(text)


@answers.callback_query(AnswerCb.filter(), flags=QUIZ)
async def on_answer(callback: CallbackQuery, callback_data: AnswerCb, db: Db, settings: Settings,
                    received_at: dt.datetime | None = None, replayed: bool = False) -> None:
    user_id = callback.from_user.id
    step = await db.run(
        quiz_engine.answer, user_id, callback_data.attempt, callback_data.question,
        callback_data.letter, tz=settings.tz, base_seconds=settings.quiz_question_seconds,
        received_at=received_at,
    )
    if replayed and step.outcome in (Outcome.DUPLICATE, Outcome.STALE):
        # Handled before a crash, perhaps not shown: show where the attempt stands now.
        step = await db.run(quiz_engine.current_step, user_id, callback_data.attempt)
    if step.outcome is Outcome.NOT_YOURS:  # rare: say what the access gate would have said
        identity = await db.run(
            identify, user_id, ttl=settings.membership_cache_seconds,
            default_language=settings.default_language,
        )
        refusal = "callback_not_allowed" if identity.role is not Role.STRANGER else "access_denied"
        await callback.answer(t(refusal, identity.language), show_alert=True)
        return
    lang = normalize_language(step.language, settings.default_language)
    await _show_step(callback, db, step, lang)


async def _show_step(callback: CallbackQuery, db: Db, step: quiz_engine.Step, lang: str) -> None:
    toast = TOASTS.get(step.outcome)
    shown = _answer(callback, t(toast, lang) if toast else None)
    if step.next is not None:  # the toast and the next question go out together
        await asyncio.gather(shown, show_question(callback.bot, step.next, lang))
    elif step.finished is not None:
        await asyncio.gather(shown, show_finish(callback.bot, db, step.finished, lang))
    else:
        await shown


@router.callback_query(TakeCb.filter(F.action == Take.VIEW))
async def view_result(callback: CallbackQuery, callback_data: TakeCb, identity: Identity, db: Db) -> None:
    attempt_id = await db.run(quiz_engine.latest_finished, identity.telegram_id, callback_data.quiz)
    result = await db.run(quiz_engine.result, identity.telegram_id, attempt_id) if attempt_id else None
    if result is None:
        await callback.answer(t("callback_not_allowed"), show_alert=True)
        return
    if result.archived:  # a button in a list shown before the mentor archived the quiz
        await callback.answer(t("quiz_archived_unavailable"), show_alert=True)
        return
    if result.is_exam:
        await callback.message.edit_text(t("quiz_exam_mode_result", score=result.score, total=result.total))
    else:
        markup = list_keyboard([], footer=[
            [button(t("quiz_view_answers"), TakeCb(action=Take.REVIEW, attempt=result.attempt_id))],
            [button(t("quiz_retake"), TakeCb(action=Take.START, quiz=result.quiz_id))],
        ])
        await callback.message.edit_text(
            t("quiz_already_taken", score=result.score, total=result.total), reply_markup=markup
        )
    await callback.answer()


@router.callback_query(TakeCb.filter(F.action == Take.REVIEW))
async def review(callback: CallbackQuery, callback_data: TakeCb, identity: Identity, db: Db) -> None:
    result = await db.run(quiz_engine.result, identity.telegram_id, callback_data.attempt, callback_data.page)
    if result is None:  # not this student's attempt, or not finished
        await callback.answer(t("callback_not_allowed"), show_alert=True)
        return
    if result.archived:
        await callback.answer(t("quiz_archived_unavailable"), show_alert=True)
        return
    if result.is_exam:
        await callback.message.edit_text(t("quiz_exam_mode_result", score=result.score, total=result.total))
    else:
        text = f"{t('quiz_your_result', score=result.score, total=result.total)}\n\n{review_text(result, identity.language)}"
        await callback.message.edit_text(text, reply_markup=review_markup(result, back=True))
    await callback.answer()
