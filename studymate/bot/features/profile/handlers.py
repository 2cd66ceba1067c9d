"""👤 Profile: the name setup when it is incomplete, the profile view, and editing the name.

Fixes over v1: "✅ Use Telegram name" is validated like a typed name; names are kept as
typed (``services.profile``); statistics are those of the student's mentor; the streak is
shown as it is today; the joined date is the local date.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardMarkup
from aiogram.utils.keyboard import ReplyKeyboardBuilder

from studymate.bot.features.notifications.callbacks import Notify, NotifyCb
from studymate.bot.features.profile.callbacks import ProfileAction, ProfileCb
from studymate.bot.features.profile.states import ProfileStates
from studymate.bot.filters import IsStudent, MenuButton
from studymate.bot.keyboards import button, cancel_keyboard, list_keyboard, student_menu
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import profile
from studymate.services.enrollment import Identity
from studymate.services.profile import Profile

logger = logging.getLogger(__name__)
router = Router(name="profile")
inputs = Router(name="profile_inputs")
router.message.filter(IsStudent())
router.callback_query.filter(IsStudent())
inputs.message.filter(IsStudent())


def percent(value: float) -> str:
    """One decimal ("73.3", "90.0"), but a plain "0" when there is nothing yet ("0/0 (0%)")."""
    return f"{value:.1f}" if value else "0"


def language_name(code: str) -> str:
    key = f"profile_language_{code}"
    name = t(key)
    return code if name == key else name


def profile_text(p: Profile) -> str:
    stats, streak = p.stats, p.streak
    return t(
        "profile_view",
        name=p.full_name,
        telegram=f"@{p.username}" if p.username else t("profile_not_set"),
        joined=p.joined.strftime("%d.%m.%Y"),
        language=language_name(p.language),
        mentor=p.mentor_name or t("profile_not_set"),
        total_quizzes=stats.total_quizzes,
        total_ranked=stats.ranked,
        total_practice=stats.practice,
        avg_percentage=percent(stats.avg_percentage),
        best_score=stats.best_score,
        best_total=stats.best_total,
        best_percentage=percent(stats.best_percentage),
        streak_emoji="🔥" if streak.active else "💤",
        current_streak=streak.current,
        longest_streak=streak.longest,
    )


def setup_keyboard(lang: str, *, with_telegram_name: bool) -> ReplyKeyboardMarkup:
    builder = ReplyKeyboardBuilder()
    if with_telegram_name:
        builder.button(text=t("btn_use_telegram_name", lang))
    builder.button(text=t("btn_cancel", lang))
    builder.adjust(1)
    return builder.as_markup(resize_keyboard=True)


@router.message(MenuButton("btn_profile"))
async def show(message: Message, state: FSMContext, identity: Identity, settings: Settings,
               db: Db) -> None:
    await state.clear()
    found = None
    if identity.student_id is not None:
        found = await db.run(profile.load_profile, identity.student_id, tz=settings.tz)
    if found is None:
        await message.answer(t("error"))
        return
    if not found.completed:
        # The name Telegram has now, not the one stored at registration.
        user = message.from_user
        offered = profile.telegram_name(user.first_name or "", user.last_name or "")
        await state.set_state(ProfileStates.setup)
        await state.update_data(telegram_name=offered)
        await message.answer(
            t("profile_setup_welcome"),
            reply_markup=setup_keyboard(identity.language, with_telegram_name=bool(offered)),
        )
        return
    markup = list_keyboard([
        button(t("btn_edit_profile"), ProfileCb(action=ProfileAction.EDIT)),
        button(t("btn_notifications"), NotifyCb(action=Notify.SHOW)),
    ])
    await message.answer(profile_text(found), reply_markup=markup)


@router.callback_query(ProfileCb.filter(F.action == ProfileAction.EDIT))
async def edit(callback: CallbackQuery, state: FSMContext, identity: Identity) -> None:
    await state.set_state(ProfileStates.edit)
    await callback.message.answer(t("profile_edit_prompt"),
                                  reply_markup=cancel_keyboard(identity.language))
    await callback.answer()


async def _save(message: Message, state: FSMContext, identity: Identity, db: Db, name: str,
                done_key: str) -> None:
    """Save a valid name and leave the form; otherwise say why and keep waiting."""
    check = await db.run(profile.save_full_name, identity.student_id, name)
    if not check.ok:
        await message.answer(t(check.problem.value))
        return
    await state.clear()
    await message.answer(t(done_key, name=check.name), reply_markup=student_menu(identity.language))


@inputs.message(ProfileStates.setup, MenuButton("btn_use_telegram_name"))
async def use_telegram_name(message: Message, state: FSMContext, identity: Identity,
                            db: Db) -> None:
    offered = (await state.get_data()).get("telegram_name", "")
    await _save(message, state, identity, db, offered, "profile_completed")


@inputs.message(ProfileStates.setup, F.text)
async def setup_name(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    await _save(message, state, identity, db, message.text, "profile_completed")


@inputs.message(ProfileStates.edit, F.text)
async def edit_name(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    await _save(message, state, identity, db, message.text, "profile_updated")


@inputs.message(ProfileStates.setup)
@inputs.message(ProfileStates.edit)
async def not_text(message: Message) -> None:
    await message.answer(t("not_text_prompt"))
