"""Student: quiz lists, taking a quiz, results and reviews."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReactionTypeEmoji

from studymate.bot.features.quiz.callbacks import AnswerCb, Take, TakeCb
from studymate.bot.features.quiz.drawing import Drawer
from studymate.bot.features.quiz.views import (
    LOOK_UP,
    back_to_list,
    exam_markup,
    local_time,
    question_markup,
    question_text,
    review_markup,
    review_text,
    show_finish,
    show_marks,
    show_question,
)
from studymate.bot.filters import IsStudent, MenuButton
from studymate.bot.keyboards import button, list_keyboard
from studymate.bot.runtime import Runtime
from studymate.config import Settings, normalize_language
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import reminders
from studymate.services.enrollment import Identity, Role, identify
from studymate.services.quiz import engine as quiz_engine
from studymate.services.quiz import results as quiz_results
from studymate.services.quiz.engine import Outcome, Refusal

router = Router(name="quiz_student")
router.message.filter(IsStudent())
router.callback_query.filter(IsStudent())
# Answer taps come first and need no identity: the engine checks the attempt against the
# sender (a student of an active mentor) in the query that reads it (IdentityMiddleware).
answers = Router(name="quiz_answers")
QUIZ = {"quiz": True}  # allowed while an attempt runs (the access gate checks this flag)
TAKEN = "✍"  # the reaction on a typed answer that counted (one Telegram offers bots)

TOASTS = {
    Outcome.DUPLICATE: "quiz_answer_duplicate",
    Outcome.STALE: "quiz_answer_stale",
    Outcome.LATE: "quiz_answer_timed_out",  # the same truth whether or not the sweeper was first
    Outcome.TIMED_OUT: "quiz_answer_timed_out",
}
# A tap that did not count while the attempt runs: say why and which question is current.
TOASTS_CURRENT = {
    Outcome.DUPLICATE: "quiz_answer_duplicate_current",
    Outcome.STALE: "quiz_answer_stale_current",
    Outcome.TIMED_OUT: "quiz_answer_timed_out_current",
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
async def quiz_list(
    callback: CallbackQuery, callback_data: TakeCb, identity: Identity, db: Db, settings: Settings
) -> None:
    ranked = callback_data.action is Take.RANKED
    found = await db.run(quiz_results.quiz_list, identity.telegram_id, ranked=ranked, page=callback_data.page)
    if found is None:
        await callback.answer(t("not_assigned"), show_alert=True)
        return
    icon = "🏆" if ranked else "📚"
    items = []
    for item in found.items:
        if item.finished_attempt_id is not None:
            label = f"✅ {item.title} — {item.score}/{item.total}"
            items.append(button(label, TakeCb(action=Take.VIEW, quiz=item.quiz_id)))
        elif item.opens_at is not None:  # scheduled: when it opens, at a glance
            label = t("quiz_list_opens", title=item.title, start=local_time(item.opens_at, settings.tz))
            items.append(button(label, TakeCb(action=Take.START, quiz=item.quiz_id)))
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
                settings: Settings, runtime: Runtime, received_at: dt.datetime | None = None,
                replayed: bool = False) -> None:
    message = callback.message
    if replayed and received_at is not None:  # handled before a crash, perhaps not shown
        again = await db.run(
            quiz_engine.started_on_message, identity.telegram_id, callback_data.quiz,
            message.message_id, received_at,
        )
        if again is not None:
            await _show_step(callback, db, runtime, again, identity.language)
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
        await callback.message.edit_text(t("quiz_not_started", start=opens), reply_markup=exam_markup())
        await callback.answer()
        return
    if isinstance(outcome, Refusal):
        await callback.answer(t(REFUSALS[outcome]), show_alert=True)
        return
    await db.run(reminders.cancel_quiz_reminder, callback_data.quiz, identity.telegram_id)
    if outcome.image is not None:  # a photo: the list's text message is replaced (and pinned)
        await show_question(callback.bot, runtime.sweeper.drawer, outcome, identity.language, db=db)
        await callback.answer()
        return
    await message.edit_text(
        question_text(outcome, identity.language),
        reply_markup=question_markup(outcome, identity.language),
    )
    with contextlib.suppress(TelegramBadRequest):
        await message.pin(disable_notification=True)
    await callback.answer()


async def _answer(callback: CallbackQuery, text: str | None) -> None:
    await callback.answer(text)


def _answer_and_result(
    user_id: int, attempt: int, question: int, letter: str, *, tz: ZoneInfo, base_seconds: int,
    received_at: dt.datetime | None = None,
) -> tuple[quiz_engine.Step, Any]:
    """The tap and, when it finishes a practice attempt, the result to show: one database call
    (an exam's end shows the score alone)."""
    step = quiz_engine.answer(user_id, attempt, question, letter, tz=tz, base_seconds=base_seconds,
                              received_at=received_at)
    return step, _result_of(step)


def _typed_and_result(user_id: int, text: str, *, sent_at: dt.datetime, tz: ZoneInfo,
                      base_seconds: int, received_at: dt.datetime | None) -> tuple[quiz_engine.Step, Any]:
    """A typed answer and, as for a tap, the result it may lead to: one database call."""
    step = quiz_engine.answer_text(user_id, text, sent_at=sent_at, tz=tz, base_seconds=base_seconds,
                                   received_at=received_at)
    return step, _result_of(step)


def _result_of(step: quiz_engine.Step) -> Any:
    finished = step.finished
    if finished is None:
        return LOOK_UP
    if finished.is_exam:
        return None
    return quiz_results.result(finished.student_telegram_id, finished.attempt_id)


@answers.callback_query(AnswerCb.filter(), flags=QUIZ)
async def on_answer(callback: CallbackQuery, callback_data: AnswerCb, db: Db, settings: Settings,
                    runtime: Runtime, received_at: dt.datetime | None = None,
                    replayed: bool = False) -> None:
    user_id = callback.from_user.id
    step, result = await db.run(
        _answer_and_result, user_id, callback_data.attempt, callback_data.question,
        callback_data.letter, tz=settings.tz, base_seconds=settings.quiz_question_seconds,
        received_at=received_at,
    )
    if replayed and step.outcome in (Outcome.DUPLICATE, Outcome.STALE):
        # Handled before a crash, perhaps not shown: show where the attempt stands now.
        step = await db.run(quiz_engine.current_step, user_id, callback_data.attempt)
        result = LOOK_UP
    if step.outcome is Outcome.NOT_YOURS:  # rare: say what the access gate would have said
        identity = await db.run(
            identify, user_id, ttl=settings.membership_cache_seconds,
            default_language=settings.default_language,
        )
        refusal = "callback_not_allowed" if identity.role is not Role.STRANGER else "access_denied"
        await callback.answer(t(refusal, identity.language), show_alert=True)
        return
    lang = normalize_language(step.language, settings.default_language)
    await _show_step(callback, db, runtime, step, lang, result)


async def _show_step(callback: CallbackQuery, db: Db, runtime: Runtime, step: quiz_engine.Step,
                     lang: str, result: Any = LOOK_UP) -> None:
    """The toast and the next (or current) question, or the end, together."""
    drawer = runtime.sweeper.drawer
    if step.next is not None and step.outcome in TOASTS_CURRENT:
        text = t(TOASTS_CURRENT[step.outcome], lang, current=step.next.number, total=step.next.total)
    else:
        toast = TOASTS.get(step.outcome)
        text = t(toast, lang) if toast else None
    shown = _answer(callback, text)
    if step.outcome is Outcome.TOGGLED:  # ☑️/⬜ on the same message's buttons, nothing else
        await asyncio.gather(shown, _redraw_marks(callback, db, drawer, step.marks, lang))
        return
    if step.next is not None:  # the toast and the next (or current) question go out together
        await asyncio.gather(shown, show_question(callback.bot, drawer, step.next, lang, db=db))
    elif step.finished is not None:
        await asyncio.gather(shown, show_finish(callback.bot, db, drawer, step.finished, lang, result))
    else:
        await shown


async def _redraw_marks(callback: CallbackQuery, db: Db, drawer: Drawer, marks: quiz_engine.Marks,
                        lang: str) -> None:
    on_screen = getattr(callback.message, "reply_markup", None)
    if await show_marks(callback.bot, drawer, marks, on_screen):
        return
    view = await db.run(quiz_engine.current_view, marks.attempt_id)  # no keyboard to go by
    if view is not None:
        await show_question(callback.bot, drawer, view, lang, db=db)


def _typed_candidate(message: Message, identity: Identity | None = None) -> bool:
    """A text (not a command) from someone with a running attempt: maybe a typed answer."""
    return (
        identity is not None
        and identity.quiz_attempt is not None
        and not (message.text or "").startswith("/")
    )


@answers.message(F.text, _typed_candidate, flags=QUIZ)
async def on_typed_answer(message: Message, db: Db, settings: Settings, runtime: Runtime,
                          received_at: dt.datetime | None = None) -> None:
    """The answer to a typed question is the student's next text message: the attempt row
    knows the current question is a typed one, so no conversation state is needed."""
    sent_at = message.date.astimezone(dt.UTC).replace(tzinfo=None)
    step, result = await db.run(
        _typed_and_result, message.from_user.id, message.text, sent_at=sent_at,
        tz=settings.tz, base_seconds=settings.quiz_question_seconds, received_at=received_at,
    )
    lang = normalize_language(step.language, settings.default_language)
    if step.outcome in (Outcome.NOT_TYPED, Outcome.NOT_YOURS):  # what the access gate says
        await message.answer(t("quiz_in_progress", lang))
        return
    sends = []
    if step.outcome is Outcome.ACCEPTED:
        sends.append(_taken(message, lang))
    elif (toast := TOASTS.get(step.outcome)) is not None:
        sends.append(message.reply(t(toast, lang)))
    drawer = runtime.sweeper.drawer
    if step.next is not None:
        sends.append(show_question(message.bot, drawer, step.next, lang, db=db))
    elif step.finished is not None:
        sends.append(show_finish(message.bot, db, drawer, step.finished, lang, result))
    await asyncio.gather(*sends)  # the confirmation and the next question go out together


async def _taken(message: Message, lang: str) -> None:
    """A typed answer counted: ✍ on the student's own message, where they look (the hint of a
    typed question says what it means); in words only where the reaction is refused."""
    try:
        await message.react([ReactionTypeEmoji(emoji=TAKEN)])
    except TelegramBadRequest:  # not a reply: the message may be gone (deleted by the student)
        await message.answer(t("quiz_typed_received", lang))


@router.callback_query(TakeCb.filter(F.action == Take.VIEW))
async def view_result(callback: CallbackQuery, callback_data: TakeCb, identity: Identity, db: Db) -> None:
    attempt_id = await db.run(quiz_results.latest_finished, identity.telegram_id, callback_data.quiz)
    result = await db.run(quiz_results.result, identity.telegram_id, attempt_id) if attempt_id else None
    if result is None:
        await callback.answer(t("callback_not_allowed"), show_alert=True)
        return
    if result.archived:  # a button in a list shown before the mentor archived the quiz
        await callback.answer(t("quiz_archived_unavailable"), show_alert=True)
        return
    if result.is_exam:
        await callback.message.edit_text(
            t("quiz_exam_mode_result", score=result.score, total=result.total), reply_markup=exam_markup()
        )
    else:
        markup = list_keyboard([], footer=[
            [button(t("quiz_view_answers"), TakeCb(action=Take.REVIEW, attempt=result.attempt_id))],
            [button(t("quiz_retake"), TakeCb(action=Take.START, quiz=result.quiz_id))],
            *back_to_list(ranked=False),
        ])
        await callback.message.edit_text(
            t("quiz_already_taken", score=result.score, total=result.total), reply_markup=markup
        )
    await callback.answer()


@router.callback_query(TakeCb.filter(F.action == Take.REVIEW))
async def review(callback: CallbackQuery, callback_data: TakeCb, identity: Identity, db: Db) -> None:
    result = await db.run(quiz_results.result, identity.telegram_id, callback_data.attempt, callback_data.page)
    if result is None:  # not this student's attempt, or not finished
        await callback.answer(t("callback_not_allowed"), show_alert=True)
        return
    if result.archived:
        await callback.answer(t("quiz_archived_unavailable"), show_alert=True)
        return
    if result.is_exam:
        await callback.message.edit_text(
            t("quiz_exam_mode_result", score=result.score, total=result.total), reply_markup=exam_markup()
        )
    else:
        head = "quiz_review_cancelled" if result.cancelled else "quiz_your_result"
        text = f"{t(head, score=result.score, total=result.total)}\n\n{review_text(result, identity.language)}"
        markup = review_markup(result, back=not result.cancelled)
        await callback.message.edit_text(text, reply_markup=markup)
    await callback.answer()
