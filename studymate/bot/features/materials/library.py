"""Student: the mentor's materials, page by page, and downloads, each sent as its kind."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from studymate.bot.features.materials.callbacks import Library, LibraryCb
from studymate.bot.filters import IsStudent, MenuButton
from studymate.bot.keyboards import button, list_keyboard
from studymate.bot.limits import CAPTION_LIMIT, render_fitting
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import materials
from studymate.services.enrollment import Identity
from studymate.services.materials import NotFound

router = Router(name="library")
router.message.filter(IsStudent())
router.callback_query.filter(IsStudent())

SENDERS = {
    "document": "answer_document",
    "photo": "answer_photo",
    "video": "answer_video",
    "audio": "answer_audio",
    "voice": "answer_voice",
}


async def _topics(mentor_id: int, page: int, db: Db) -> InlineKeyboardMarkup | None:
    found = await db.run(materials.topics_page, mentor_id, page, non_empty=True)
    if not found.items:
        return None
    items = [
        button(f"📂 {x.name}  •  {x.materials} 📄", LibraryCb(action=Library.TOPIC, topic=x.id))
        for x in found.items
    ]
    return list_keyboard(
        items, page=found.page, pages=found.pages,
        make_page=lambda p: LibraryCb(action=Library.TOPICS, page=p),
    )


@router.message(MenuButton("btn_lesson_materials"))
async def library(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    await state.clear()
    markup = await _topics(identity.mentor_id, 0, db)
    if markup is None:
        await message.answer(t("no_materials_yet"))
        return
    await message.answer(t("lesson_materials"), reply_markup=markup)


@router.callback_query(LibraryCb.filter(F.action == Library.TOPICS))
async def topics_page(callback: CallbackQuery, callback_data: LibraryCb, identity: Identity, db: Db) -> None:
    markup = await _topics(identity.mentor_id, callback_data.page, db)
    if markup is None:
        await callback.message.edit_text(t("no_materials_yet"))
    else:
        await callback.message.edit_text(t("lesson_materials"), reply_markup=markup)
    await callback.answer()


@router.callback_query(LibraryCb.filter(F.action == Library.TOPIC))
async def topic(callback: CallbackQuery, callback_data: LibraryCb, identity: Identity, db: Db) -> None:
    try:
        found = await db.run(materials.get_topic, identity.mentor_id, callback_data.topic)
        files = await db.run(materials.materials_page, identity.mentor_id, found.id, callback_data.page)
    except NotFound:
        await callback.answer(t("file_not_found"), show_alert=True)
        return
    items = [
        button(f"{files.offset + n}. {m.title}", LibraryCb(action=Library.FILE, material=m.id))
        for n, m in enumerate(files.items, start=1)
    ]
    markup = list_keyboard(
        items, page=files.page, pages=files.pages,
        make_page=lambda p: LibraryCb(action=Library.TOPIC, topic=found.id, page=p),
        footer=[[button(t("btn_back"), LibraryCb(action=Library.TOPICS))]],
    )
    await callback.message.edit_text(t("topic_files", name=found.name, count=found.materials), reply_markup=markup)
    await callback.answer()


@router.callback_query(LibraryCb.filter(F.action == Library.FILE))
async def get_file(callback: CallbackQuery, callback_data: LibraryCb, identity: Identity, db: Db) -> None:
    try:
        item = await db.run(materials.get_material, identity.mentor_id, callback_data.material)
    except NotFound:
        await callback.answer(t("file_not_found"), show_alert=True)
        return
    caption = render_fitting("material_caption", None, field="title", limit=CAPTION_LIMIT, title=item.title)
    send = getattr(callback.message, SENDERS[item.kind])
    await send(item.file_id, caption=caption)
    await db.run(materials.record_download, identity.telegram_id, item.id)
    await callback.answer(t("file_sent"))
