"""Mentor: 📝 Quizzes, upload → preview → save → publish.

The draft is the uploaded file's *text*, compressed, in the FSM data (bounded by
``MAX_FILE_BYTES``; a typical quiz is a few KB compressed), and it is parsed again at each
step. v1 kept the whole parsed quiz in the FSM; a draft row in ``quiz`` would need a
flag the data model does not have, and archived-looking leftovers of abandoned uploads.
Parsing is deterministic and fast (≈ 11 ms for 200 long questions, run off the event loop),
so nothing is stored until the mentor publishes, and then in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Document, Message

from studymate.bot.features.quiz.authoring_callbacks import Draft, DraftCb, QuizMenu, QuizMenuCb
from studymate.bot.features.quiz.authoring_views import (
    all_questions,
    cancel_markup,
    edit,
    local_text,
    menu_markup,
    pack_text,
    preview_markup,
    preview_text,
    publish_markup,
    ranked_start_markup,
    unpack_text,
)
from studymate.bot.features.quiz.states import QuizUploadStates
from studymate.bot.features.quiz.views import start_markup
from studymate.bot.filters import IsMentor, MenuButton
from studymate.bot.keyboards import mentor_menu
from studymate.bot.runtime import Runtime
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.db.models import utcnow
from studymate.i18n import t
from studymate.services import notifications
from studymate.services.enrollment import Identity
from studymate.services.outbox import Outgoing
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz import bundle as quiz_bundle
from studymate.services.quiz import settings as quiz_settings
from studymate.services.quiz.authoring import Announcement, InvalidStart, QuizInfo, SaveMode
from studymate.services.quiz.decoding import decode_quiz_bytes
from studymate.services.quiz.format import MAX_FILE_BYTES, ParsedQuiz, QuizFormatError
from studymate.services.quiz.transfer import EXTENSIONS, parse_any

logger = logging.getLogger(__name__)
router = Router(name="quiz_mentor")
router.message.filter(IsMentor())
router.callback_query.filter(IsMentor())
inputs = Router(name="quiz_mentor_inputs")
inputs.message.filter(IsMentor())


# -- the menu -------------------------------------------------------------------------------
@router.message(MenuButton("btn_quizzes"))
async def quizzes_menu(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(t("quiz_management_header"), reply_markup=menu_markup())


@router.callback_query(QuizMenuCb.filter(F.action == QuizMenu.MENU))
async def back_to_menu(callback: CallbackQuery) -> None:
    await edit(callback, t("quiz_management_header"), menu_markup())
    await callback.answer()


@router.callback_query(QuizMenuCb.filter(F.action == QuizMenu.UPLOAD))
async def upload(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(QuizUploadStates.file)
    await state.set_data({})
    await edit(callback, t("upload_quiz"), cancel_markup())
    await callback.answer()


# -- the file -------------------------------------------------------------------------------
def _parse_error(error: QuizFormatError) -> str:
    return t("quiz_parse_error") + "\n\n" + t(error.key, **error.params)


def _is_txt(document: Document) -> bool:
    name = (document.file_name or "").strip().lower()
    return name.endswith(EXTENSIONS) if name else document.mime_type == "text/plain"


@inputs.message(StateFilter(QuizUploadStates.file, QuizUploadStates.preview), F.document)
async def quiz_file(message: Message, state: FSMContext, identity: Identity, db: Db, bot: Bot) -> None:
    document = message.document
    # A file sent while looking at a preview replaces that draft (its buttons stop working).
    if quiz_bundle.is_zip_name(document.file_name):
        await _quiz_zip(message, state, identity, db, bot)
        return
    if not _is_txt(document):
        await message.answer(t("quiz_file_not_txt", name=document.file_name or "?"))
        return
    if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
        too_large = QuizFormatError("file_too_large", limit=MAX_FILE_BYTES // 1024)
        await message.answer(_parse_error(too_large))  # refused before downloading anything
        return
    downloaded = await bot.download(document)
    data = downloaded.getvalue() if downloaded is not None else b""
    try:
        text = await asyncio.to_thread(decode_quiz_bytes, data)
        parsed = await asyncio.to_thread(
            parse_any, text, file_name=document.file_name, language=identity.language
        )
        quiz_bundle.require_no_images(parsed)
    except QuizFormatError as error:
        await message.answer(_parse_error(error))  # still waiting: the mentor may send a fix
        return
    await _preview_draft(message, state, identity, db, parsed, text, document.file_name, {}, len(data))


async def _quiz_zip(message: Message, state: FSMContext, identity: Identity, db: Db, bot: Bot) -> None:
    """A .zip: one quiz and its pictures. Each picture is uploaded to Telegram once, here, by
    sending it to the mentor's own chat (then deleted): the draft keeps only the file ids,
    which the question rows store at publishing, so no picture bytes are ever kept."""
    document = message.document
    if document.file_size is not None and document.file_size > quiz_bundle.MAX_ZIP_BYTES:
        too_large = QuizFormatError("file_too_large", limit=quiz_bundle.MAX_ZIP_BYTES // 1024)
        await message.answer(_parse_error(too_large))
        return
    downloaded = await bot.download(document)
    data = downloaded.getvalue() if downloaded is not None else b""
    try:
        loaded = await asyncio.to_thread(quiz_bundle.load_bundle, data)
    except QuizFormatError as error:
        await message.answer(_parse_error(error))
        return
    images: dict[str, str] = {}
    for name, picture in loaded.pictures.items():
        sent = await bot.send_photo(
            message.chat.id, BufferedInputFile(picture, filename=name), disable_notification=True,
        )
        images[name] = sent.photo[-1].file_id
        with contextlib.suppress(TelegramBadRequest):
            await bot.delete_message(message.chat.id, sent.message_id)
    await _preview_draft(message, state, identity, db, loaded.quiz, loaded.text, loaded.file_name,
                         images, len(data))


async def _preview_draft(
    message: Message, state: FSMContext, identity: Identity, db: Db, parsed: ParsedQuiz,
    text: str, file_name: str | None, images: dict[str, str], size: int,
) -> None:
    token = secrets.token_hex(4)
    await state.set_state(QuizUploadStates.preview)
    await state.set_data({
        "draft": token, "text": pack_text(text), "file_name": file_name,
        "mode": SaveMode.NEW.value, "language": identity.language, "images": images,
    })
    logger.info("quiz draft %s: %d questions, %d pictures, %d bytes", token, len(parsed.questions),
                len(images), size)
    duplicate = await db.run(quizzes.find_duplicate, identity.mentor_id, parsed.title)
    await message.answer(
        preview_text(parsed, duplicate=duplicate is not None),
        reply_markup=preview_markup(token, duplicate=duplicate is not None),
    )


@inputs.message(QuizUploadStates.file)
async def not_a_file(message: Message) -> None:
    await message.answer(t("quiz_send_txt_file"))


# -- the draft: preview, all questions, save ------------------------------------------------
async def _draft(state: FSMContext, token: str | None = None) -> tuple[ParsedQuiz, dict[str, Any]] | None:
    """The parsed draft of the current upload; None for a button of another upload."""
    data = await state.get_data()
    if "text" not in data or (token is not None and data.get("draft") != token):
        return None
    text = unpack_text(data["text"])
    parsed = await asyncio.to_thread(
        parse_any, text, file_name=data.get("file_name"), language=data.get("language", "ru")
    )
    return quiz_settings.apply(parsed, data.get("settings")), data  # the mentor's ⚙️ changes


async def _stale(callback: CallbackQuery) -> None:
    await callback.answer(t("callback_not_allowed"), show_alert=True)


@router.callback_query(DraftCb.filter(F.action == Draft.ALL), QuizUploadStates.preview)
async def show_all(callback: CallbackQuery, callback_data: DraftCb, state: FSMContext) -> None:
    loaded = await _draft(state, callback_data.draft)
    if loaded is None:
        return await _stale(callback)
    text, markup = all_questions(loaded[0], callback_data.draft, callback_data.page)
    await edit(callback, text, markup)
    await callback.answer()


@router.callback_query(DraftCb.filter(F.action == Draft.PREVIEW), QuizUploadStates.preview)
async def back_to_preview(
    callback: CallbackQuery, callback_data: DraftCb, state: FSMContext, identity: Identity, db: Db
) -> None:
    loaded = await _draft(state, callback_data.draft)
    if loaded is None:
        return await _stale(callback)
    parsed = loaded[0]
    duplicate = await db.run(quizzes.find_duplicate, identity.mentor_id, parsed.title) is not None
    await edit(callback, preview_text(parsed, duplicate=duplicate), preview_markup(callback_data.draft, duplicate=duplicate))
    await callback.answer()


_MODES = {Draft.SAVE: SaveMode.NEW, Draft.REPLACE: SaveMode.REPLACE, Draft.COPY: SaveMode.COPY}


@router.callback_query(DraftCb.filter(F.action.in_(set(_MODES))), QuizUploadStates.preview)
async def save(callback: CallbackQuery, callback_data: DraftCb, state: FSMContext) -> None:
    if await _draft(state, callback_data.draft) is None:
        return await _stale(callback)
    await state.update_data(mode=_MODES[callback_data.action].value)
    await state.set_state(QuizUploadStates.publish_mode)
    await edit(callback, t("choose_publish_mode"), publish_markup(callback_data.draft))
    await callback.answer()


@router.callback_query(DraftCb.filter(F.action == Draft.CANCEL))
async def cancel(callback: CallbackQuery, callback_data: DraftCb, state: FSMContext, identity: Identity) -> None:
    if (await state.get_data()).get("draft", "") != callback_data.draft:
        return await _stale(callback)  # the button of an upload already finished or replaced
    await state.clear()
    await edit(callback, t("cancelled"))
    await callback.answer()
    await callback.message.answer(t("quiz_ready_actions"), reply_markup=mentor_menu(identity.language))


# -- publishing -------------------------------------------------------------------------------
async def _publish(
    parsed: ParsedQuiz, data: dict[str, Any], *, ranked: bool, start: dt.datetime | None,
    identity: Identity, db: Db, settings: Settings, runtime: Runtime,
) -> str:
    """Store and publish the draft; returns the text telling the mentor what happened."""
    now = utcnow()

    def notify(quiz: QuizInfo, to: Announcement) -> Outgoing:
        """The "new ranked quiz" message for one student, in their language and our calendar."""
        text = t(
            "new_ranked_quiz_notification", to.language, title=quiz.title,
            start=local_text(quiz.available_from, settings.tz, now=now),
            end=local_text(quiz.available_until, settings.tz, now=now),
        )
        return Outgoing(to.chat_id, "sendMessage", {
            "text": text, "parse_mode": "HTML", "reply_markup": start_markup(quiz.id, to.language),
        })

    published = await db.run(
        quizzes.publish, identity.mentor_id, parsed, mode=SaveMode(data["mode"]), ranked=ranked,
        start=start, now=now, notify=notify, copy_word=t("quiz_copy_word"),
        images=data.get("images") or {},
        school=notifications.School(settings.tz, settings.quiet_minutes),
    )
    quiz = published.quiz
    logger.info("mentor %s published quiz %s (%s)", identity.mentor_id, quiz.id, quiz.quiz_type)
    if not ranked:
        return t("quiz_published_practice", title=quiz.title)
    text = t(
        "quiz_scheduled", title=quiz.title,
        start=local_text(quiz.available_from, settings.tz, now=now),
        end=local_text(quiz.available_until, settings.tz, now=now),
    )
    if start is None:
        runtime.sender.wake()
        return text + "\n\n" + t("quiz_students_notified", count=published.notified)
    return text + "\n\n" + t("quiz_students_notified_later")


async def _publish_now(
    callback: CallbackQuery, draft: str, state: FSMContext, *, ranked: bool, identity: Identity,
    db: Db, settings: Settings, runtime: Runtime,
) -> None:
    """Publish the draft starting now (practice, or a ranked quiz started at once)."""
    loaded = await _draft(state, draft)
    if loaded is None:
        return await _stale(callback)
    text = await _publish(*loaded, ranked=ranked, start=None, identity=identity, db=db,
                             settings=settings, runtime=runtime)
    await state.clear()
    await edit(callback, text)
    await callback.answer()
    await callback.message.answer(t("quiz_ready_actions"), reply_markup=mentor_menu(identity.language))


@router.callback_query(DraftCb.filter(F.action == Draft.PRACTICE), QuizUploadStates.publish_mode)
async def publish_practice(
    callback: CallbackQuery, callback_data: DraftCb, state: FSMContext, identity: Identity,
    db: Db, settings: Settings, runtime: Runtime,
) -> None:
    await _publish_now(callback, callback_data.draft, state, ranked=False, identity=identity,
                       db=db, settings=settings, runtime=runtime)


@router.callback_query(DraftCb.filter(F.action == Draft.RANKED), QuizUploadStates.publish_mode)
async def publish_ranked(callback: CallbackQuery, callback_data: DraftCb, state: FSMContext) -> None:
    if await _draft(state, callback_data.draft) is None:
        return await _stale(callback)
    await state.set_state(QuizUploadStates.ranked_start)
    await edit(callback, t("choose_ranked_start"), ranked_start_markup(callback_data.draft))
    await callback.answer()


@router.callback_query(DraftCb.filter(F.action == Draft.NOW), QuizUploadStates.ranked_start)
async def start_now(
    callback: CallbackQuery, callback_data: DraftCb, state: FSMContext, identity: Identity,
    db: Db, settings: Settings, runtime: Runtime,
) -> None:
    await _publish_now(callback, callback_data.draft, state, ranked=True, identity=identity,
                       db=db, settings=settings, runtime=runtime)


@router.callback_query(DraftCb.filter(F.action == Draft.SCHEDULE), QuizUploadStates.ranked_start)
async def schedule(callback: CallbackQuery, callback_data: DraftCb, state: FSMContext) -> None:
    if await _draft(state, callback_data.draft) is None:
        return await _stale(callback)
    await state.set_state(QuizUploadStates.start_time)
    await edit(callback, t("enter_ranked_start_time"), cancel_markup(callback_data.draft))
    await callback.answer()


@inputs.message(QuizUploadStates.start_time, F.text)
async def start_time(
    message: Message, state: FSMContext, identity: Identity, db: Db, settings: Settings,
    runtime: Runtime,
) -> None:
    try:
        start = quizzes.parse_start(message.text, tz=settings.tz)
    except InvalidStart as exc:
        logger.info("start time %r refused: %s", message.text[:40], exc.reason)
        await message.answer(t("invalid_datetime_format"))
        return
    loaded = await _draft(state)
    if loaded is None:
        await state.clear()
        await message.answer(t("callback_not_allowed"), reply_markup=mentor_menu(identity.language))
        return
    try:
        text = await _publish(*loaded, ranked=True, start=start, identity=identity, db=db,
                                 settings=settings, runtime=runtime)
    except InvalidStart:  # the minute passed while the mentor was typing
        await message.answer(t("invalid_datetime_format"))
        return
    await state.clear()
    await message.answer(text)
    await message.answer(t("quiz_ready_actions"), reply_markup=mentor_menu(identity.language))


@inputs.message(QuizUploadStates.start_time)
async def start_time_not_text(message: Message) -> None:
    await message.answer(t("not_text_prompt"))
