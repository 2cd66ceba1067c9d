"""Mentor → students: one student, or everyone with a confirmation.

Text is sent as ``mentor_message`` in each recipient's language; photos, documents and other
media are copied as they are, with the caption under the same header. Broadcasts go through the
outbox, paced and resumable, with one status message the sender keeps up to date.
"""

from __future__ import annotations

import contextlib
import html
import logging
from dataclasses import asdict, dataclass

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from studymate.bot.features.messaging.callbacks import MessageCb, Messaging
from studymate.bot.features.messaging.states import MessageStates
from studymate.bot.features.reports.callbacks import ReportCb, ReportKind
from studymate.bot.filters import IsMentor, MenuButton
from studymate.bot.keyboards import button, cancel_keyboard, list_keyboard, mentor_menu
from studymate.bot.limits import CAPTION_LIMIT, render_fitting, too_long
from studymate.bot.runtime import Runtime
from studymate.bot.workers.outbox_sender import send
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import messaging
from studymate.services.enrollment import Identity
from studymate.services.messaging import NotFound, Recipient
from studymate.services.outbox import Outgoing

logger = logging.getLogger(__name__)
router = Router(name="messaging")
router.message.filter(IsMentor())
router.callback_query.filter(IsMentor())
inputs = Router(name="messaging_inputs")
inputs.message.filter(IsMentor())


@dataclass(frozen=True, slots=True)
class MentorMessage:
    """What the mentor wrote, enough to relay it to anyone later (kept in the FSM data)."""

    chat_id: int
    message_id: int
    text: str | None
    caption: str | None
    captioned_media: bool

    def refusal(self) -> str | None:
        """Why it cannot be passed on whole (too long with the heading), or None."""
        if self.text is not None:
            return too_long(self.text, "mentor_message", field="text")
        if self.captioned_media:
            return too_long(self.caption, "mentor_message", field="text", limit=CAPTION_LIMIT)
        return None

    @classmethod
    def of(cls, message: Message) -> MentorMessage:
        media = bool(message.photo or message.document or message.video or message.audio or message.voice)
        return cls(message.chat.id, message.message_id, message.text, message.caption, media)

    def relay(self, recipient: Recipient) -> Outgoing:
        """How to pass it on to one student, in the student's language."""
        if self.text is not None:
            text = render_fitting("mentor_message", recipient.language, field="text", text=self.text)
            return Outgoing(recipient.telegram_id, "sendMessage", {"text": text, "parse_mode": "HTML"})
        params: dict = {"from_chat_id": self.chat_id, "message_id": self.message_id}
        if self.captioned_media:
            params["caption"] = render_fitting(
                "mentor_message", recipient.language, field="text", limit=CAPTION_LIMIT,
                text=self.caption or "",
            )
            params["parse_mode"] = "HTML"
        return Outgoing(recipient.telegram_id, "copyMessage", params)


async def _picker(identity: Identity, page: int, db: Db) -> InlineKeyboardMarkup | None:
    found = await db.run(messaging.students_page, identity.mentor_id, page)
    if not found.total:
        return None
    items: list = [
        [button(f"👤 {s.name}", MessageCb(action=Messaging.ONE, student=s.id)),
         button(t("btn_student_report"), ReportCb(kind=ReportKind.STUDENT, student=s.id))]
        for s in found.items
    ]
    reached = len(await db.run(messaging.broadcast_recipients, identity.mentor_id))
    if found.total > 1:
        everyone = f"📢 {t('btn_message_all')} ({reached})"
        items.insert(0, button(everyone, MessageCb(action=Messaging.ALL)))
    return list_keyboard(
        items, page=found.page, pages=found.pages,
        make_page=lambda p: MessageCb(action=Messaging.PAGE, page=p),
        footer=[[button(t("btn_cancel"), MessageCb(action=Messaging.CLOSE))]],
    )


@router.message(MenuButton("btn_message_students"))
async def picker(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    await state.clear()
    markup = await _picker(identity, 0, db)
    if markup is None:
        await message.answer(t("no_students"))
        return
    await message.answer(t("select_student"), reply_markup=markup)


@router.callback_query(MessageCb.filter(F.action == Messaging.PAGE))
async def picker_page(callback: CallbackQuery, callback_data: MessageCb, identity: Identity, db: Db) -> None:
    markup = await _picker(identity, callback_data.page, db)
    await callback.message.edit_reply_markup(reply_markup=markup)
    await callback.answer()


@router.callback_query(MessageCb.filter(F.action == Messaging.CLOSE))
async def close(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    with contextlib.suppress(TelegramBadRequest):
        await callback.message.delete()
    await callback.answer(t("cancelled"))


# -- one student ------------------------------------------------------------------------------
@router.callback_query(MessageCb.filter(F.action == Messaging.ONE))
async def one(callback: CallbackQuery, callback_data: MessageCb, state: FSMContext, identity: Identity, db: Db) -> None:
    try:
        student = await db.run(messaging.get_student, identity.mentor_id, callback_data.student)
    except NotFound:
        await callback.answer(t("student_not_found"), show_alert=True)
        return
    await state.set_state(MessageStates.one)
    await state.update_data(student_id=student.id)
    await callback.message.answer(
        t("write_message_to_student", name=student.name), reply_markup=cancel_keyboard(identity.language)
    )
    await callback.answer()


@inputs.message(MessageStates.one)
async def message_one(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    if refusal := MentorMessage.of(message).refusal():
        await message.answer(refusal)  # still in the form: a shorter message is taken
        return
    student_id = (await state.get_data()).get("student_id")
    await state.clear()
    try:
        student = await db.run(messaging.get_student, identity.mentor_id, student_id)
    except NotFound:
        await message.answer(t("student_not_found"), reply_markup=mentor_menu(identity.language))
        return
    try:
        await send(message.bot, MentorMessage.of(message).relay(student))
        key = "message_sent_to_student"
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        logger.info("message to student %s not delivered: %s", student.id, exc.message)
        key = "message_not_delivered"
    await message.answer(t(key, name=student.name), reply_markup=mentor_menu(identity.language))


# -- everyone -------------------------------------------------------------------------------
async def _left_out(identity: Identity, db: Db) -> str:
    """Who a broadcast will not reach, named (they blocked the bot), or nothing."""
    names = await db.run(messaging.blocked_names, identity.mentor_id)
    if not names:
        return ""
    return "\n\n" + t("broadcast_blocked", names=html.escape(", ".join(names), quote=False))


@router.callback_query(MessageCb.filter(F.action == Messaging.ALL))
async def everyone(callback: CallbackQuery, state: FSMContext, identity: Identity, db: Db, settings: Settings) -> None:
    recipients = await db.run(
        messaging.broadcast_recipients, identity.mentor_id
    )
    if not recipients:
        await callback.answer(t("no_students"), show_alert=True)
        return
    await state.set_state(MessageStates.broadcast)
    text = t("write_broadcast_message", count=len(recipients)) + await _left_out(identity, db)
    await callback.message.answer(text, reply_markup=cancel_keyboard(identity.language))
    await callback.answer()


@inputs.message(MessageStates.broadcast)
async def broadcast_draft(message: Message, state: FSMContext, db: Db, identity: Identity, settings: Settings) -> None:
    if refusal := MentorMessage.of(message).refusal():
        await message.answer(refusal)
        return
    recipients = await db.run(
        messaging.broadcast_recipients, identity.mentor_id
    )
    await state.set_state(MessageStates.confirm)
    await state.update_data(draft=asdict(MentorMessage.of(message)))
    markup = list_keyboard([], footer=[[
        button(t("btn_send"), MessageCb(action=Messaging.SEND)),
        button(t("btn_cancel"), MessageCb(action=Messaging.DISCARD)),
    ]])
    text = t("broadcast_confirm", count=len(recipients)) + await _left_out(identity, db)
    await message.answer(text, reply_markup=markup)


@router.callback_query(MessageCb.filter(F.action == Messaging.SEND), MessageStates.confirm)
async def send_broadcast(callback: CallbackQuery, state: FSMContext, identity: Identity, db: Db,
                         settings: Settings, runtime: Runtime) -> None:
    draft = MentorMessage(**(await state.get_data())["draft"])
    await state.clear()
    await callback.message.edit_reply_markup(reply_markup=None)
    recipients = await db.run(
        messaging.broadcast_recipients, identity.mentor_id
    )
    status = await callback.message.answer(t("sending_broadcast", sent=0, total=len(recipients)))
    await db.run(
        messaging.queue_broadcast,
        identity.mentor_id,
        [draft.relay(r) for r in recipients],
        status_chat_id=status.chat.id,
        status_message_id=status.message_id,
    )
    runtime.sender.wake()
    await callback.answer()
    await callback.message.answer(t("back_to_menu"), reply_markup=mentor_menu(identity.language))


@router.callback_query(MessageCb.filter(F.action == Messaging.DISCARD))
async def discard(callback: CallbackQuery, state: FSMContext, identity: Identity) -> None:
    await state.clear()
    await callback.message.edit_text(t("broadcast_cancelled"))
    await callback.answer()
    await callback.message.answer(t("back_to_menu"), reply_markup=mentor_menu(identity.language))


@router.callback_query(MessageCb.filter(F.action == Messaging.SEND))
async def stale_send(callback: CallbackQuery) -> None:
    """A Send button of a broadcast already sent or cancelled: nothing is sent twice."""
    await callback.answer(t("callback_not_allowed"), show_alert=True)
