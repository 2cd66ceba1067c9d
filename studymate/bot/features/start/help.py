"""/help: a short guide for the user's role, in their language."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from studymate.config import Settings
from studymate.i18n import t
from studymate.services.enrollment import Identity, Role

router = Router(name="help")


@router.message(Command("help"), flags={"public": True})
async def help_(message: Message, identity: Identity, settings: Settings) -> None:
    admin = identity.telegram_id in settings.admin_telegram_ids
    if identity.role is Role.MENTOR:
        await message.answer(t("help_mentor"))
        await message.answer(t("help_quiz_format"))
    elif identity.role is Role.STUDENT:
        await message.answer(t("help_student"))
    elif admin:
        await message.answer(t("admin_help"))
        return
    else:
        await message.answer(t("help_stranger"))
        return
    if admin:
        await message.answer(t("help_admin_extra"))
