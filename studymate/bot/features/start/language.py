"""🌐 Language: the picker and the choice (also offered at the first /start)."""

from __future__ import annotations

import contextlib

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from studymate.bot.callbacks import LanguageCb
from studymate.bot.features.start.handlers import admit, greet_admin
from studymate.bot.filters import MenuButton
from studymate.bot.infra.access import Membership
from studymate.bot.keyboards import language_picker, mentor_menu, student_menu
from studymate.config import LANGUAGES, Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services.enrollment import Identity, Role, set_language

router = Router(name="language")
PUBLIC = {"public": True}


@router.message(MenuButton("btn_language"), flags=PUBLIC)
async def show_picker(message: Message, state: FSMContext, identity: Identity) -> None:
    await state.clear()
    await message.answer(t("choose_language"), reply_markup=language_picker(selected=identity.language))


@router.callback_query(LanguageCb.filter(), flags=PUBLIC)
async def choose(
    callback: CallbackQuery,
    callback_data: LanguageCb,
    identity: Identity,
    db: Db,
    membership: Membership,
    settings: Settings,
) -> None:
    lang = callback_data.code
    if lang not in LANGUAGES:
        await callback.answer(t("callback_not_allowed"), show_alert=True)
        return
    is_admin = identity.telegram_id in settings.admin_telegram_ids
    await db.run(set_language, identity.telegram_id, lang, keep_for_stranger=is_admin)
    await callback.answer(t("language_changed", lang))
    with contextlib.suppress(TelegramBadRequest):
        # The picker itself now reads in the chosen language, not in the one it was asked in.
        await callback.message.edit_text(
            t("language_chosen", lang, language=t(f"lang_name_{lang}", lang)), reply_markup=None
        )
    if identity.role is Role.STRANGER and is_admin:
        await greet_admin(callback.message, lang)
    elif identity.role is Role.MENTOR:
        await callback.message.answer(t("language_changed", lang), reply_markup=mentor_menu(lang))
    elif identity.role is Role.STUDENT:
        await callback.message.answer(t("language_changed", lang), reply_markup=student_menu(lang))
    elif callback_data.start:
        # The first /start continues: check the groups and welcome in the chosen language.
        await admit(
            callback.message,
            identity,
            membership,
            welcome_key="welcome_student",
            language=lang,
            user=callback.from_user,
        )
