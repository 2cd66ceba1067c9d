"""Admins (ADMIN_TELEGRAM_IDS) manage mentors from inside the bot: /mentors, /addmentor, /deactivate."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from studymate.bot.filters import IsAdmin
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import mentors
from studymate.services.mentors import MentorError

router = Router(name="admin")
router.message.filter(IsAdmin())
ADMIN = {"public": True}  # admins need not be mentors or students


@router.message(Command("admin"), flags=ADMIN)
async def help_(message: Message) -> None:
    await message.answer(t("admin_help"))


@router.message(Command("mentors"), flags=ADMIN)
async def list_(message: Message, db: Db) -> None:
    rows = await db.run(mentors.list_mentors)
    if not rows:
        await message.answer(t("admin_no_mentors"))
        return
    lines = [t("admin_mentors_header", count=len(rows))]
    for m in rows:
        status = t("mentor_status_active") if m.is_active else t("mentor_status_inactive")
        lines.append(
            t(
                "admin_mentor_line",
                name=m.name,
                telegram_id=m.telegram_id,
                group_chat_id=m.group_chat_id,
                status=status,
            )
        )
    await message.answer("\n".join(lines))


@router.message(Command("addmentor"), flags=ADMIN)
async def add(message: Message, command: CommandObject, db: Db, settings: Settings) -> None:
    parts = (command.args or "").split(maxsplit=2)
    if len(parts) < 3 or not all(p.lstrip("-").isdigit() for p in parts[:2]):
        await message.answer(t("admin_usage_addmentor"))
        return
    try:
        info, created = await db.run(
            mentors.add_mentor,
            telegram_id=int(parts[0]),
            group_chat_id=int(parts[1]),
            name=parts[2],
            language=settings.default_language,
        )
    except MentorError as exc:
        await message.answer(t("admin_bad_group_id") if exc.code == "bad_group_id" else t("admin_usage_addmentor"))
        return
    key = "admin_mentor_added" if created else "admin_mentor_updated"
    await message.answer(
        t(key, name=info.name, telegram_id=info.telegram_id, group_chat_id=info.group_chat_id)
    )


@router.message(Command("deactivate"), flags=ADMIN)
async def deactivate(message: Message, command: CommandObject, db: Db) -> None:
    arg = (command.args or "").strip()
    if not arg.isdigit():
        await message.answer(t("admin_usage_deactivate"))
        return
    info = await db.run(mentors.deactivate_mentor, int(arg))
    if info is None:
        await message.answer(t("admin_mentor_not_found", telegram_id=arg))
    else:
        await message.answer(t("admin_mentor_deactivated", name=info.name))
