"""Mentor: the materials submenu, topics and uploads of any media kind; in a name or title
form, non-text gets a prompt and a menu button leaves the form instead of becoming the name."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from studymate.bot.features.materials.callbacks import Materials, MaterialsCb
from studymate.bot.features.materials.states import UploadStates
from studymate.bot.filters import IsMentor, MenuButton
from studymate.bot.keyboards import (
    button,
    cancel_keyboard,
    list_keyboard,
    materials_menu,
    mentor_menu,
)
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import materials, stats
from studymate.services.enrollment import Identity
from studymate.services.materials import InvalidName, NotFound
from studymate.services.paging import Page

router = Router(name="materials_mentor")
router.message.filter(IsMentor())
router.callback_query.filter(IsMentor())
inputs = Router(name="materials_mentor_inputs")
inputs.message.filter(IsMentor())


# -- menus -------------------------------------------------------------------------------
@router.message(MenuButton("btn_materials_menu"))
async def submenu(message: Message, state: FSMContext, identity: Identity) -> None:
    await state.clear()
    await message.answer(t("materials_submenu_header"), reply_markup=materials_menu(identity.language))


@router.message(MenuButton("btn_back_menu"))
async def back_to_main(message: Message, state: FSMContext, identity: Identity) -> None:
    await state.clear()
    await message.answer(
        t("welcome_mentor", name=identity.mentor_name), reply_markup=mentor_menu(identity.language)
    )


@router.message(MenuButton("btn_statistics"))
async def statistics(message: Message, state: FSMContext, identity: Identity, db: Db,
                     settings: Settings) -> None:
    await state.clear()
    found = await db.run(
        stats.mentor_stats, identity.mentor_id, tz=settings.tz,
        test_ids=frozenset(settings.test_student_ids),
    )
    questions = t("stats_questions", total=found.questions)
    if found.unanswered:
        questions = f"{questions} {t('stats_unanswered', count=found.unanswered)}"
    lines = [
        t("statistics"),
        f"{t('stats_students')} {found.students}",
        f"{t('stats_topics')} {found.topics}",
        f"{t('stats_materials')} {found.materials}",
        questions,
        "",
        f"{t('stats_active_today')} {found.active_today}",
        f"{t('stats_active_week')} {found.active_week}",
    ]
    if found.popular:
        lines += ["", t("stats_popular")]
        lines += [
            t("stats_popular_item", num=n, title=item.title, count=item.downloads)
            for n, item in enumerate(found.popular, start=1)
        ]
    await message.answer("\n".join(lines), reply_markup=materials_menu(identity.language))


def _topics_markup(page: Page, *, upload: bool, footer: list | None = None) -> InlineKeyboardMarkup:
    if upload:
        items = [
            button(f"📁 {x.name}", MaterialsCb(action=Materials.UPLOAD_TO, topic=x.id))
            for x in page.items
        ]
    else:
        items = [
            button(f"📁 {x.name}  •  {x.materials} 📄", MaterialsCb(action=Materials.TOPIC, topic=x.id))
            for x in page.items
        ]
    action = Materials.UPLOAD_PAGE if upload else Materials.TOPICS_PAGE
    return list_keyboard(
        items, page=page.page, pages=page.pages,
        make_page=lambda p: MaterialsCb(action=action, page=p), footer=footer,
    )


def _upload_markup(page: Page) -> InlineKeyboardMarkup:
    new = [[button(t("create_new_topic"), MaterialsCb(action=Materials.NEW_TOPIC))]]
    return _topics_markup(page, upload=True, footer=new)


@router.message(MenuButton("btn_upload"))
async def upload(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    await state.clear()
    page = await db.run(materials.topics_page, identity.mentor_id, 0)
    await message.answer(t("choose_topic_upload"), reply_markup=_upload_markup(page))


@router.callback_query(MaterialsCb.filter(F.action == Materials.UPLOAD_PAGE))
async def upload_page(callback: CallbackQuery, callback_data: MaterialsCb, identity: Identity, db: Db) -> None:
    page = await db.run(materials.topics_page, identity.mentor_id, callback_data.page)
    await callback.message.edit_reply_markup(reply_markup=_upload_markup(page))
    await callback.answer()


@router.message(MenuButton("btn_manage"))
async def manage(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    await state.clear()
    page = await db.run(materials.topics_page, identity.mentor_id, 0)
    if not page.items:
        await message.answer(t("no_topics"))
        return
    await message.answer(t("select_topic_manage"), reply_markup=_topics_markup(page, upload=False))


@router.callback_query(MaterialsCb.filter(F.action == Materials.TOPICS_PAGE))
async def manage_page(callback: CallbackQuery, callback_data: MaterialsCb, identity: Identity, db: Db) -> None:
    await _topics_page(callback, identity, db, page=callback_data.page)
    await callback.answer()


async def _topics_page(callback: CallbackQuery, identity: Identity, db: Db, *, page: int) -> None:
    found = await db.run(materials.topics_page, identity.mentor_id, page)
    if not found.items:
        await callback.message.edit_text(t("no_topics_left"))
    else:
        markup = _topics_markup(found, upload=False)
        await callback.message.edit_text(t("select_topic_manage"), reply_markup=markup)


# -- one topic: its files, deletion, rename ------------------------------------------------
async def _show_topic(callback: CallbackQuery, mentor_id: int, topic_id: int, page: int, db: Db) -> None:
    topic = await db.run(materials.get_topic, mentor_id, topic_id)
    files = await db.run(materials.materials_page, mentor_id, topic_id, page)
    items = [
        button(f"🗑️ {item.title}", MaterialsCb(action=Materials.ASK_DELETE, topic=topic_id,
                                                material=item.id, page=files.page))
        for item in files.items
    ]
    footer = [
        [button(t("btn_rename_topic"), MaterialsCb(action=Materials.RENAME_TOPIC, topic=topic_id))],
        [button(t("btn_delete_topic"), MaterialsCb(action=Materials.ASK_DELETE_TOPIC, topic=topic_id))],
        [button(t("btn_back_topics"), MaterialsCb(action=Materials.TOPICS_PAGE))],
    ]
    markup = list_keyboard(
        items, page=files.page, pages=files.pages, footer=footer,
        make_page=lambda p: MaterialsCb(action=Materials.FILES_PAGE, topic=topic_id, page=p),
    )
    await callback.message.edit_text(t("tap_to_delete", name=topic.name), reply_markup=markup)


@router.callback_query(MaterialsCb.filter(F.action.in_({Materials.TOPIC, Materials.FILES_PAGE})))
async def topic(callback: CallbackQuery, callback_data: MaterialsCb, identity: Identity, db: Db) -> None:
    await _show_topic(callback, identity.mentor_id, callback_data.topic, callback_data.page, db)
    await callback.answer()


@router.callback_query(MaterialsCb.filter(F.action == Materials.ASK_DELETE))
async def ask_delete(callback: CallbackQuery, callback_data: MaterialsCb, identity: Identity, db: Db) -> None:
    try:
        item = await db.run(materials.get_material, identity.mentor_id, callback_data.material)
    except NotFound:
        await callback.answer(t("file_not_found"), show_alert=True)
        return
    markup = list_keyboard([], footer=[[
        button(t("btn_yes_delete"), callback_data.model_copy(update={"action": Materials.DELETE})),
        button(t("btn_no_cancel"), callback_data.model_copy(update={"action": Materials.FILES_PAGE})),
    ]])
    await callback.message.edit_text(t("confirm_delete_file", title=item.title), reply_markup=markup)
    await callback.answer()


@router.callback_query(MaterialsCb.filter(F.action == Materials.DELETE))
async def delete(callback: CallbackQuery, callback_data: MaterialsCb, identity: Identity, db: Db) -> None:
    await db.run(materials.delete_material, identity.mentor_id, callback_data.material)
    await _show_topic(callback, identity.mentor_id, callback_data.topic, callback_data.page, db)
    await callback.answer(t("file_deleted"))


@router.callback_query(MaterialsCb.filter(F.action == Materials.ASK_DELETE_TOPIC))
async def ask_delete_topic(callback: CallbackQuery, callback_data: MaterialsCb, identity: Identity, db: Db) -> None:
    topic_row = await db.run(materials.get_topic, identity.mentor_id, callback_data.topic)
    markup = list_keyboard([], footer=[[
        button(t("btn_yes_delete_all"), callback_data.model_copy(update={"action": Materials.DELETE_TOPIC})),
        button(t("btn_no_cancel"), callback_data.model_copy(update={"action": Materials.TOPIC})),
    ]])
    text = t("confirm_delete_topic", name=topic_row.name, count=topic_row.materials)
    await callback.message.edit_text(text, reply_markup=markup)
    await callback.answer()


@router.callback_query(MaterialsCb.filter(F.action == Materials.DELETE_TOPIC))
async def delete_topic(callback: CallbackQuery, callback_data: MaterialsCb, identity: Identity, db: Db) -> None:
    removed = await db.run(materials.delete_topic, identity.mentor_id, callback_data.topic)
    await _topics_page(callback, identity, db, page=0)
    await callback.answer(t("topic_deleted", name=removed.name))


@router.callback_query(MaterialsCb.filter(F.action == Materials.RENAME_TOPIC))
async def rename_topic(callback: CallbackQuery, callback_data: MaterialsCb, state: FSMContext,
                       identity: Identity, db: Db) -> None:
    topic_row = await db.run(materials.get_topic, identity.mentor_id, callback_data.topic)
    await state.set_state(UploadStates.rename_topic)
    await state.update_data(topic_id=topic_row.id)
    await callback.message.answer(t("enter_new_topic_name", name=topic_row.name),
                                  reply_markup=cancel_keyboard(identity.language))
    await callback.answer()


# -- upload: topic → file → title ----------------------------------------------------------
@router.callback_query(MaterialsCb.filter(F.action == Materials.NEW_TOPIC))
async def new_topic(callback: CallbackQuery, state: FSMContext, identity: Identity) -> None:
    await state.set_state(UploadStates.topic_name)
    # One prompt that carries the ❌ Cancel keyboard (an edited menu and a second, vaguer
    # prompt disagreed about what to send).
    await callback.message.answer(t("enter_topic_name"), reply_markup=cancel_keyboard(identity.language))
    await callback.answer()


@router.callback_query(MaterialsCb.filter(F.action == Materials.UPLOAD_TO))
async def upload_to(callback: CallbackQuery, callback_data: MaterialsCb, state: FSMContext,
                    identity: Identity, db: Db) -> None:
    topic_row = await db.run(materials.get_topic, identity.mentor_id, callback_data.topic)
    await state.set_state(UploadStates.file)
    await state.update_data(topic_id=topic_row.id, topic_name=topic_row.name)
    await callback.message.answer(t("send_file", name=topic_row.name),
                                  reply_markup=cancel_keyboard(identity.language))
    await callback.answer()


@inputs.message(UploadStates.topic_name, F.text)
async def topic_name(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    try:
        created = await db.run(materials.create_topic, identity.mentor_id, message.text)
    except InvalidName as exc:
        await message.answer(t("name_invalid_length", limit=exc.limit))
        return
    await state.clear()
    await message.answer(t("topic_created", name=created.name), reply_markup=materials_menu(identity.language))


@inputs.message(UploadStates.rename_topic, F.text)
async def new_topic_name(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    topic_id = (await state.get_data()).get("topic_id")
    try:
        renamed = await db.run(materials.rename_topic, identity.mentor_id, topic_id, message.text)
    except InvalidName as exc:
        await message.answer(t("name_invalid_length", limit=exc.limit))
        return
    except NotFound:
        renamed = None
    await state.clear()
    text = t("topic_renamed", name=renamed.name) if renamed else t("callback_not_allowed")
    await message.answer(text, reply_markup=materials_menu(identity.language))


def _attachment(message: Message) -> tuple[str, str, str] | None:
    """(kind, file_id, file_name) of a file a mentor may upload."""
    if message.document:
        return "document", message.document.file_id, message.document.file_name or "document"
    if message.photo:
        return "photo", message.photo[-1].file_id, "photo.jpg"
    if message.video:
        return "video", message.video.file_id, message.video.file_name or "video.mp4"
    if message.audio:
        return "audio", message.audio.file_id, message.audio.file_name or "audio.mp3"
    if message.voice:
        return "voice", message.voice.file_id, "voice.ogg"
    return None


@inputs.message(UploadStates.file)
async def file(message: Message, state: FSMContext, identity: Identity) -> None:
    attachment = _attachment(message)
    if attachment is None:
        await message.answer(t("send_file_kinds"))
        return
    kind, file_id, file_name = attachment
    await state.update_data(kind=kind, file_id=file_id, file_name=file_name)
    await state.set_state(UploadStates.title)
    text = t("photo_received") if kind == "photo" else t("file_received", name=file_name)
    await message.answer(text, reply_markup=cancel_keyboard(identity.language))


@inputs.message(UploadStates.title, F.text)
async def title(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    data = await state.get_data()
    try:
        item = await db.run(
            materials.add_material,
            identity.mentor_id,
            data["topic_id"],
            title=message.text,
            file_id=data["file_id"],
            file_name=data["file_name"],
            kind=data["kind"],
        )
    except InvalidName as exc:
        await message.answer(t("name_invalid_length", limit=exc.limit))
        return
    except NotFound:
        await state.clear()
        await message.answer(t("callback_not_allowed"), reply_markup=materials_menu(identity.language))
        return
    await state.clear()
    await message.answer(
        t("material_added", topic=data["topic_name"], title=item.title),
        reply_markup=materials_menu(identity.language),
    )


@inputs.message(UploadStates.topic_name)
@inputs.message(UploadStates.rename_topic)
@inputs.message(UploadStates.title)
async def not_text(message: Message) -> None:
    await message.answer(t("not_text_prompt"))
