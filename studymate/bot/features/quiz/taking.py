"""Student: quiz lists, taking a quiz, results and reviews."""

from __future__ import annotations

import asyncio
import contextlib
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from studymate.bot.features.quiz.callbacks import AnswerCb, Take, TakeCb
from studymate.bot.features.quiz.views import (
    local_time,
    question_markup,
    question_text,
    review_markup,
    review_text,
    show_finish,
    show_question,
)
from studymate.bot.filters import IsStudent, MenuButton
from studymate.bot.keyboards import button, list_keyboard
from studymate.config import Settings, normalize_language
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services.enrollment import Identity, Role, identify
from studymate.services.quiz import engine as quiz_engine
from studymate.services.quiz.engine import Outcome, Refusal

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
    header = t("ranked_quizzes_header") if ranked else t("practice_quizzes_header")
    if not found.items:
        header = f"{header}\n\n{t('no_ranked_quizzes' if ranked else 'no_practice_quizzes')}"
    await callback.message.edit_text(header, reply_markup=markup)
    await callback.answer()


@router.callback_query(TakeCb.filter(F.action == Take.START))
async def start(callback: CallbackQuery, callback_data: TakeCb, identity: Identity, db: Db,
                settings: Settings) -> None:
    message = callback.message
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


def _answer_and_result(
    user_id: int, attempt: int, question: int, letter: str, *, tz: ZoneInfo, base_seconds: int
) -> tuple[quiz_engine.Step, quiz_engine.Result | None]:
    """The tap and, when it finishes the attempt, the result to show: one database call."""
    step = quiz_engine.answer(user_id, attempt, question, letter, tz=tz, base_seconds=base_seconds)
    finished = step.finished
    if finished is None:
        return step, None
    return step, quiz_engine.result(finished.student_telegram_id, finished.attempt_id)


@answers.callback_query(AnswerCb.filter(), flags=QUIZ)
async def on_answer(callback: CallbackQuery, callback_data: AnswerCb, db: Db, settings: Settings) -> None:
    user_id = callback.from_user.id
    step, result = await db.run(
        _answer_and_result, user_id, callback_data.attempt, callback_data.question,
        callback_data.letter, tz=settings.tz, base_seconds=settings.quiz_question_seconds,
    )
    if step.outcome is Outcome.NOT_YOURS:  # rare: say what the access gate would have said
        identity = await db.run(
            identify, user_id, ttl=settings.membership_cache_seconds,
            default_language=settings.default_language,
        )
        refusal = "callback_not_allowed" if identity.role is not Role.STRANGER else "access_denied"
        await callback.answer(t(refusal, identity.language), show_alert=True)
        return
    lang = normalize_language(step.language, settings.default_language)
    toast = TOASTS.get(step.outcome)
    shown = _answer(callback, t(toast, lang) if toast else None)
    if step.next is not None:  # the toast and the next question go out together
        await asyncio.gather(shown, show_question(callback.bot, step.next, lang))
    elif step.finished is not None:
        await asyncio.gather(shown, show_finish(callback.bot, db, step.finished, lang, result))
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
