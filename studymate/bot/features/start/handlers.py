"""/start, /cancel and ❌ Cancel: who you are and your menu."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, User

from studymate.bot.features.questions.handlers import deliver_pending
from studymate.bot.features.quiz.views import show_left
from studymate.bot.filters import MenuButton
from studymate.bot.infra.access import Membership
from studymate.bot.keyboards import admin_menu, language_picker, mentor_menu, student_menu
from studymate.bot.runtime import Runtime
from studymate.config import Settings, normalize_language
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services.enrollment import Identity, Role
from studymate.services.quiz import engine as quiz_engine

router = Router(name="start")
PUBLIC = {"public": True}


@router.message(CommandStart(), flags=PUBLIC)
async def start(
    message: Message,
    state: FSMContext,
    identity: Identity,
    membership: Membership,
    db: Db,
    settings: Settings,
) -> None:
    await state.clear()
    if identity.role is Role.MENTOR:
        await greet_mentor(message, identity, db)
    elif not identity.known:
        # First contact: let them pick a language before anything else, asked in the
        # language their Telegram app uses when it is one of ours.
        suggested = normalize_language(message.from_user.language_code, "")
        await message.answer(
            t("choose_language_first"),
            reply_markup=language_picker(selected=suggested or None, start=True),
        )
    elif identity.role is Role.STRANGER and identity.telegram_id in settings.admin_telegram_ids:
        await greet_admin(message)
    else:
        await admit(message, identity, membership, welcome_key="welcome_student")


CANCEL = {"public": True, "cancel": True}


@router.message(Command("cancel"), flags=CANCEL)
@router.message(MenuButton("btn_cancel"), flags=CANCEL)
async def cancel(
    message: Message,
    state: FSMContext,
    identity: Identity,
    membership: Membership,
    db: Db,
    settings: Settings,
    runtime: Runtime,
) -> None:
    await state.clear()
    if identity.quiz_attempt is not None:  # only a practice quiz gets here (the gate)
        finished = await db.run(quiz_engine.give_up, identity.telegram_id, tz=settings.tz)
        if finished is not None:  # the question message says what became of the attempt
            await show_left(message.bot, runtime.sweeper.drawer, finished, identity.language)
    if identity.role is Role.MENTOR:
        await greet_mentor(message, identity, db)
    elif identity.role is Role.STRANGER and identity.telegram_id in settings.admin_telegram_ids:
        await greet_admin(message)
    else:
        await admit(message, identity, membership, welcome_key="cancelled")


async def greet_mentor(message: Message, identity: Identity, db: Db) -> None:
    await message.answer(
        t("welcome_mentor", name=identity.mentor_name), reply_markup=mentor_menu(identity.language)
    )
    await deliver_pending(message.bot, db, identity)


async def greet_admin(message: Message, lang: str | None = None) -> None:
    """An admin who is neither mentor nor student: their commands, and the language button."""
    await message.answer(t("welcome_admin", lang), reply_markup=admin_menu(lang))


async def admit(
    message: Message,
    identity: Identity,
    membership: Membership,
    *,
    welcome_key: str,
    language: str | None = None,
    user: User | None = None,
) -> None:
    """Check the groups, enroll if a member, and answer in ``language`` (default: the user's)."""
    lang = language or identity.language
    admission = await membership.admit(
        message.bot, user or message.from_user, identity, language=lang
    )
    if admission.mentor_id is None:
        await message.answer(t(identity.denial, lang))
        return
    await message.answer(
        t(welcome_key, lang, name=admission.mentor_name), reply_markup=student_menu(lang)
    )
