"""Mentor: a new correct answer for a question that students have answered is shown first —
which results change, whether the leaderboards are re-scored — and saved only when confirmed
(``services.quiz.key_change``). Students whose score changes are told through the outbox.

A letter key rides in the buttons' data; typed answers do not fit there, so the buttons carry
their ``token`` and the answers wait in the mentor's form data until confirmed."""

from __future__ import annotations

import logging
from typing import Final

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from studymate.bot.features.quiz.authoring_views import edit, question_detail, question_markup
from studymate.bot.filters import IsMentor
from studymate.bot.keyboards import button, list_keyboard, mentor_menu
from studymate.bot.limits import shorten
from studymate.bot.runtime import Runtime
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services.enrollment import Identity
from studymate.services.outbox import Outgoing
from studymate.services.quiz import key_change
from studymate.services.quiz import questions as quiz_questions
from studymate.services.quiz.key_change import KeyChanged, KeyChangePreview, ScoreChange

logger = logging.getLogger(__name__)
router = Router(name="quiz_key_change")
router.callback_query.filter(IsMentor())
LISTED: Final = 10  # changed results named in the confirmation; the rest are counted
PENDING: Final = "key_pending"  # form data: the typed answers the buttons' token stands for
LABEL: Final = 24  # characters of a key shown on a button


class KeyCb(CallbackData, prefix="qk1"):
    """Confirm (``ok``) or drop a new correct answer; ``old`` is the key the mentor saw (keys
    as ``key_change.token``)."""

    quiz: int
    question: int
    old: str
    new: str
    page: int = 0
    ok: bool = False


def preview_text(seen: KeyChangePreview) -> str:
    lines = [t("key_change_preview", number=seen.number, old=seen.old, new=seen.new,
               count=seen.results)]
    if seen.changes:
        lines.append(t("key_change_scores_header", count=len(seen.changes)))
        lines += [
            t("key_change_line", name=c.name, before=c.before, after=c.after, total=c.total)
            for c in seen.changes[:LISTED]
        ]
        if len(seen.changes) > LISTED:
            lines.append(t("key_change_more", count=len(seen.changes) - LISTED))
    else:
        lines.append(t("key_change_no_score_changes"))
    if seen.boards:
        lines.append(t("key_change_boards"))
    return "\n".join(lines) + "\n\n" + t("key_change_ask")


def confirm_markup(seen: KeyChangePreview, page: int) -> InlineKeyboardMarkup:
    def go(ok: bool) -> KeyCb:
        return KeyCb(quiz=seen.quiz_id, question=seen.question_id, old=key_change.token(seen.old),
                     new=key_change.token(seen.new), page=page, ok=ok)

    return list_keyboard([], footer=[
        [button(t("btn_key_change_confirm", new=shorten(seen.new, LABEL)), go(True))],
        [button(t("btn_key_change_keep", old=shorten(seen.old, LABEL)), go(False))],
    ])


async def ask(message: Message, state: FSMContext, identity: Identity, db: Db, data: dict) -> bool:
    """For a typed correct answer: when results would be re-scored, show what changes and ask
    (the form ends here); returns False when it can be saved directly. Raises InvalidQuestion
    for a value that is no key of the question's kind."""
    seen = await db.run(key_change.preview, identity.mentor_id, data["quiz"], data["question"],
                        message.text)
    if not seen.asks:
        return False
    await state.clear()
    if key_change.token(seen.new) != seen.new:
        await state.set_data({PENDING: {"question": seen.question_id, "new": seen.new}})
    await message.answer(t("key_change_asked"), reply_markup=mentor_menu(identity.language))
    await message.answer(preview_text(seen), reply_markup=confirm_markup(seen, data.get("page", 0)))
    return True


def _student_message(seen: KeyChangePreview, changes: list[ScoreChange]) -> Outgoing:
    lang = changes[0].language
    scores = ", ".join(f"{c.before}/{c.total} → {c.after}/{c.total}" for c in changes)
    text = t("key_change_student", lang, title=seen.title, number=seen.number, scores=scores)
    return Outgoing(changes[0].chat_id, "sendMessage", {"text": text, "parse_mode": "HTML"})


async def _new_key(callback_data: KeyCb, state: FSMContext) -> str | None:
    """The key the button stands for: its letters, or the typed answers kept for its token."""
    if key_change.token(callback_data.new) == callback_data.new:
        return callback_data.new
    pending = (await state.get_data()).get(PENDING) or {}
    new = pending.get("new")
    if pending.get("question") != callback_data.question or not isinstance(new, str):
        return None
    return new if key_change.token(new) == callback_data.new else None


@router.callback_query(KeyCb.filter(F.ok))
async def confirm(callback: CallbackQuery, callback_data: KeyCb, state: FSMContext, identity: Identity,
                  db: Db, settings: Settings, runtime: Runtime) -> None:
    data = callback_data
    new = await _new_key(data, state)
    try:
        if new is None:  # the form data moved on (another edit began): ask again
            raise KeyChanged(data.question)
        applied = await db.run(
            key_change.apply, identity.mentor_id, data.quiz, data.question, new,
            expected_old=data.old, tz=settings.tz, notify=_student_message,
        )
    except KeyChanged:
        await edit(callback, t("key_change_stale"))
        await callback.answer()
        return
    await _forget_pending(state)
    if applied.notified:
        runtime.sender.wake()
    seen = applied.preview
    logger.info("mentor %s changed the key of question %s: %s -> %s (%d results re-scored)",
                identity.mentor_id, data.question, data.old, data.new, len(seen.changes))
    await edit(callback, t("key_change_saved", old=seen.old, new=seen.new,
                           count=len(seen.changes), notified=applied.notified))
    question = await db.run(quiz_questions.get_question, identity.mentor_id, data.quiz, data.question)
    await callback.message.answer(question_detail(question), reply_markup=question_markup(question, data.page))
    await callback.answer()


async def _forget_pending(state: FSMContext) -> None:
    data = await state.get_data()
    if PENDING in data:
        await state.set_data({k: v for k, v in data.items() if k != PENDING})


@router.callback_query(KeyCb.filter(~F.ok))
async def keep(callback: CallbackQuery, callback_data: KeyCb, state: FSMContext, identity: Identity,
               db: Db) -> None:
    question = await db.run(
        quiz_questions.get_question, identity.mentor_id, callback_data.quiz, callback_data.question
    )
    await _forget_pending(state)
    await edit(callback, t("key_change_kept", old=question.key))
    await callback.message.answer(question_detail(question),
                                  reply_markup=question_markup(question, callback_data.page))
    await callback.answer()
