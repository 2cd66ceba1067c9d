"""Anonymous questions: asking, delivering, replying in a thread."""

from __future__ import annotations

import html
import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyParameters

from studymate.bot.features.questions.callbacks import QuestionCb, Questions
from studymate.bot.features.questions.states import QuestionStates
from studymate.bot.filters import IsMentor, IsStudent, MenuButton
from studymate.bot.keyboards import (
    button,
    cancel_keyboard,
    list_keyboard,
    mentor_menu,
    student_menu,
)
from studymate.bot.limits import render_fitting, shorten, too_long
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import questions
from studymate.services.enrollment import Identity
from studymate.services.questions import Delivery, NotFound

logger = logging.getLogger(__name__)
router = Router(name="questions")
inputs = Router(name="questions_inputs")
UNDELIVERABLE = (TelegramForbiddenError, TelegramBadRequest)


# -- student asks ---------------------------------------------------------------------------
@router.message(MenuButton("btn_ask_question"), IsStudent())
async def ask(message: Message, state: FSMContext, identity: Identity) -> None:
    await state.set_state(QuestionStates.question)
    await message.answer(t("write_question"), reply_markup=cancel_keyboard(identity.language))


async def deliver(bot: Bot, db: Db, delivery: Delivery) -> bool:
    """Send a question to its mentor, in the mentor's language, with 💬 Reply and 🗑 Dismiss."""
    text = render_fitting("anonymous_question", delivery.language, field="text", text=delivery.text)
    markup = list_keyboard([[
        button(t("btn_reply", delivery.language),
               QuestionCb(action=Questions.REPLY, question=delivery.question_id)),
        button(t("btn_dismiss", delivery.language),
               QuestionCb(action=Questions.DISMISS, question=delivery.question_id)),
    ]])
    try:
        sent = await bot.send_message(delivery.chat_id, text, reply_markup=markup)
    except UNDELIVERABLE as exc:
        logger.info("question %s not delivered yet: %s", delivery.question_id, exc.message)
        return False
    await db.run(questions.mark_delivered, delivery.question_id, sent.message_id)
    return True


async def mark_done(bot: Bot, chat_id: int, message_id: int | None, text: str, mark: str) -> None:
    """The question's own message says what became of it and loses its buttons."""
    if message_id is None:
        return
    body = render_fitting("anonymous_question", None, field="text", text=text)
    try:
        await bot.edit_message_text(f"{body}\n\n{mark}", chat_id=chat_id, message_id=message_id,
                                    reply_markup=None)
    except TelegramBadRequest as exc:  # deleted, too old, or already marked
        logger.info("question message %s not marked: %s", message_id, exc.message)


@inputs.message(QuestionStates.question, IsStudent(), F.text)
async def question_text(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    if refusal := too_long(message.text, "anonymous_question", field="text"):
        await message.answer(refusal)  # still in the form: a shorter text is taken
        return
    delivery = await db.run(questions.ask, identity.telegram_id, message.text, message.message_id)
    await state.clear()
    delivered = await deliver(message.bot, db, delivery)
    key = "question_sent" if delivered else "question_received_pending"
    await message.answer(t(key), reply_markup=student_menu(identity.language))


@inputs.message(QuestionStates.question, IsStudent())
async def question_not_text(message: Message) -> None:
    await message.answer(t("not_text_prompt"))


async def deliver_pending(bot: Bot, db: Db, identity: Identity) -> None:
    """Questions that could not reach the mentor before (e.g. before their first /start)."""
    pending = await db.run(questions.undelivered, identity.mentor_id)
    delivered = 0
    for delivery in pending:
        delivered += await deliver(bot, db, delivery)
    if delivered:
        await bot.send_message(identity.telegram_id, t("pending_questions_delivered", count=delivered))


# -- mentor answers -------------------------------------------------------------------------
@router.callback_query(QuestionCb.filter(F.action == Questions.REPLY), IsMentor())
async def start_reply(callback: CallbackQuery, callback_data: QuestionCb, state: FSMContext,
                      identity: Identity, db: Db) -> None:
    question = await db.run(questions.get, identity.mentor_id, callback_data.question)
    await state.set_state(QuestionStates.reply)
    await state.update_data(question_id=question.id)
    await callback.message.answer(
        render_fitting("write_reply", None, field="text", text=question.text),
        reply_markup=cancel_keyboard(identity.language),
    )
    await callback.answer()


@inputs.message(QuestionStates.reply, IsMentor(), F.text)
async def reply_text(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    if refusal := too_long(message.text, "mentor_reply", field="text"):
        await message.answer(refusal)
        return
    question_id = (await state.get_data()).get("question_id")
    await state.clear()
    try:
        delivery = await db.run(questions.reply, identity.mentor_id, question_id, message.text)
    except NotFound:
        await message.answer(t("callback_not_allowed"), reply_markup=mentor_menu(identity.language))
        return
    sent = False
    if delivery is not None:
        text = render_fitting("mentor_reply", delivery.language, field="text", text=delivery.text)
        thread = None
        if delivery.reply_to_message_id:
            thread = ReplyParameters(
                message_id=delivery.reply_to_message_id, allow_sending_without_reply=True
            )
        try:
            await message.bot.send_message(delivery.chat_id, text, reply_parameters=thread)
            sent = True
        except UNDELIVERABLE as exc:
            logger.info("reply to question %s not delivered: %s", question_id, exc.message)
    key = "reply_sent" if sent else "reply_saved_not_sent"
    await message.answer(t(key), reply_markup=mentor_menu(identity.language))
    question = await db.run(questions.get, identity.mentor_id, question_id)
    shown = await db.run(questions.mentor_message_id, identity.mentor_id, question_id)
    await mark_done(message.bot, message.chat.id, shown, question.text, t("question_answered_mark"))


@inputs.message(QuestionStates.reply, IsMentor())
async def reply_not_text(message: Message) -> None:
    await message.answer(t("not_text_prompt"))


# -- mentor's list of unanswered questions ---------------------------------------------------
async def _unanswered(identity: Identity, page: int, db: Db) -> tuple[str, object]:
    found = await db.run(questions.unanswered_page, identity.mentor_id, page)
    if not found.items:
        return t("no_questions"), None
    lines = [t("unanswered_questions", count=found.total)]
    items = []
    for n, question in enumerate(found.items, start=found.offset + 1):
        lines.append(f"{n}. {shorten(question.text, 100)}")
        items.append([
            button(t("btn_reply_to", num=n), QuestionCb(action=Questions.REPLY, question=question.id)),
            button(t("btn_dismiss_to", num=n),
                   QuestionCb(action=Questions.DISMISS_LISTED, question=question.id, page=page)),
        ])
    markup = list_keyboard(
        items, page=found.page, pages=found.pages,
        make_page=lambda p: QuestionCb(action=Questions.PAGE, page=p),
    )
    return "\n\n".join([lines[0], *(html.escape(line, quote=False) for line in lines[1:])]), markup


@router.message(MenuButton("btn_questions"), IsMentor())
async def unanswered(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    await state.clear()
    text, markup = await _unanswered(identity, 0, db)
    await message.answer(text, reply_markup=markup)


@router.callback_query(QuestionCb.filter(F.action == Questions.PAGE), IsMentor())
async def unanswered_page(callback: CallbackQuery, callback_data: QuestionCb, identity: Identity, db: Db) -> None:
    text, markup = await _unanswered(identity, callback_data.page, db)
    await callback.message.edit_text(text, reply_markup=markup)
    await callback.answer()


# -- dismissing without a reply ---------------------------------------------------------------
@router.callback_query(
    QuestionCb.filter(F.action.in_({Questions.DISMISS, Questions.DISMISS_LISTED})), IsMentor()
)
async def dismiss(callback: CallbackQuery, callback_data: QuestionCb, identity: Identity, db: Db) -> None:
    question = await db.run(questions.get, identity.mentor_id, callback_data.question)  # owner only
    shown = await db.run(questions.dismiss, identity.mentor_id, question.id)
    if question.is_answered:  # answered meanwhile: the mark says so
        mark = t("question_answered_mark")
    else:
        mark = t("question_dismissed_mark")
    if callback_data.action is Questions.DISMISS_LISTED:
        text, markup = await _unanswered(identity, callback_data.page, db)
        if markup is None and callback_data.page > 0:
            text, markup = await _unanswered(identity, 0, db)
        await callback.message.edit_text(text, reply_markup=markup)
    else:
        shown = callback.message.message_id
    await mark_done(callback.bot, callback.message.chat.id, shown, question.text, mark)
    await callback.answer(t("question_dismissed"))
