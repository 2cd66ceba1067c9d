"""Admins (ADMIN_TELEGRAM_IDS) manage mentors from inside the bot: /mentors, /addmentor,
/deactivate (confirmed with a button) and /activate."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from studymate.bot.features.admin.callbacks import AdminAction, AdminCb
from studymate.bot.filters import IsAdmin
from studymate.bot.keyboards import button, list_keyboard
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import mentors
from studymate.services.mentors import MentorError

router = Router(name="admin")
router.message.filter(IsAdmin())
router.callback_query.filter(IsAdmin())
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
        mentors.validate(telegram_id=int(parts[0]), name=parts[2], group_chat_id=int(parts[1]),
                         language=settings.default_language)
    except MentorError as exc:
        bad_group = exc.code == "bad_group_id"
        await message.answer(t("admin_bad_group_id") if bad_group else t("admin_usage_addmentor"))
        return
    problem = await _bot_rights_problem(message.bot, int(parts[1]))
    if problem is not None:
        await message.answer(problem)
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


async def _bot_rights_problem(bot: Bot, group_chat_id: int) -> str | None:
    """Why the bot cannot check members of the group (it must be an administrator), or None."""
    try:
        member = await bot.get_chat_member(group_chat_id, bot.id)
    except TelegramAPIError:
        return t("admin_group_unreachable", group_chat_id=group_chat_id)
    if member.status not in ("administrator", "creator"):
        return t("admin_bot_not_admin", group_chat_id=group_chat_id)
    return None


def _mentor_id(command: CommandObject) -> int | None:
    arg = (command.args or "").strip()
    return int(arg) if arg.isdigit() else None


@router.message(Command("deactivate"), flags=ADMIN)
async def deactivate(message: Message, command: CommandObject, db: Db) -> None:
    telegram_id = _mentor_id(command)
    if telegram_id is None:
        await message.answer(t("admin_usage_deactivate"))
        return
    info = await db.run(mentors.find_mentor, telegram_id)
    if info is None:
        await message.answer(t("admin_mentor_not_found", telegram_id=telegram_id))
        return
    if not info.is_active:
        await message.answer(t("admin_mentor_already_inactive", name=info.name))
        return
    await message.answer(
        t("admin_confirm_deactivate", name=info.name, students=info.students),
        reply_markup=list_keyboard([
            button(t("btn_yes_deactivate"), AdminCb(action=AdminAction.DEACTIVATE, mentor=telegram_id)),
            button(t("btn_no_cancel"), AdminCb(action=AdminAction.KEEP, mentor=telegram_id)),
        ]),
    )


@router.callback_query(AdminCb.filter(F.action == AdminAction.DEACTIVATE), flags=ADMIN)
async def deactivate_confirmed(callback: CallbackQuery, callback_data: AdminCb, db: Db) -> None:
    info = await db.run(mentors.deactivate_mentor, callback_data.mentor)
    if info is None:
        text = t("admin_mentor_not_found", telegram_id=callback_data.mentor)
    else:
        text = t("admin_mentor_deactivated", name=info.name)
    await callback.message.edit_text(text)
    await callback.answer()


@router.callback_query(AdminCb.filter(F.action == AdminAction.KEEP), flags=ADMIN)
async def deactivate_cancelled(callback: CallbackQuery) -> None:
    await callback.message.edit_text(t("admin_deactivate_cancelled"))
    await callback.answer()


@router.message(Command("activate"), flags=ADMIN)
async def activate(message: Message, command: CommandObject, db: Db) -> None:
    telegram_id = _mentor_id(command)
    if telegram_id is None:
        await message.answer(t("admin_usage_activate"))
        return
    info = await db.run(mentors.activate_mentor, telegram_id)
    if info is None:
        await message.answer(t("admin_mentor_not_found", telegram_id=telegram_id))
    else:
        await message.answer(t("admin_mentor_activated", name=info.name))
