"""Mentor: per-quiz settings, on an upload's preview (⚙️ → seconds, window, shuffling; the
draft keeps the changes and publishing uses them) and on a published quiz's screen (seconds
and window, only while the quiz has no attempt). Rules: ``services.quiz.settings``."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from studymate.bot.features.quiz.authoring import _draft, _stale
from studymate.bot.features.quiz.authoring_views import edit
from studymate.bot.features.quiz.settings_callbacks import DraftSettingsCb, QuizSettingsCb, Setting
from studymate.bot.features.quiz.settings_views import (
    draft_markup,
    draft_text,
    published_markup,
    published_text,
)
from studymate.bot.features.quiz.states import QuizUploadStates
from studymate.bot.filters import IsMentor
from studymate.bot.keyboards import button
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services.enrollment import Identity
from studymate.services.quiz import settings as quiz_settings
from studymate.services.quiz.format import SECONDS_RANGE
from studymate.services.quiz.settings import HasAttempts, InvalidSetting, NoWindow

logger = logging.getLogger(__name__)
router = Router(name="quiz_settings")
router.callback_query.filter(IsMentor())
inputs = Router(name="quiz_settings_inputs")
inputs.message.filter(IsMentor())


# -- a draft ----------------------------------------------------------------------------------
@router.callback_query(DraftSettingsCb.filter(), StateFilter(QuizUploadStates.preview, QuizUploadStates.seconds))
async def draft_settings(
    callback: CallbackQuery, callback_data: DraftSettingsCb, state: FSMContext, settings: Settings
) -> None:
    loaded = await _draft(state, callback_data.draft)
    if loaded is None:
        return await _stale(callback)
    parsed, data = loaded
    overrides = dict(data.get("settings") or {})
    action, value = callback_data.action, callback_data.value
    if action is Setting.TYPE:
        await state.set_state(QuizUploadStates.seconds)
        low, high = SECONDS_RANGE
        back = DraftSettingsCb(action=Setting.SHOW, draft=callback_data.draft)
        await edit(callback, t("quiz_settings_enter_seconds", min=low, max=high),
                   InlineKeyboardMarkup(inline_keyboard=[[button(t("btn_back"), back)]]))
        await callback.answer()
        return
    await state.set_state(QuizUploadStates.preview)  # back from the typed number, if there
    try:
        if action is Setting.SECONDS:
            overrides = quiz_settings.set_seconds(overrides, value)
        elif action is Setting.WINDOW:
            overrides = quiz_settings.set_window(overrides, value)
        elif action is Setting.SHUFFLE_QUESTIONS:
            overrides = quiz_settings.toggle_shuffle(parsed, overrides, "questions")
        elif action is Setting.SHUFFLE_OPTIONS:
            overrides = quiz_settings.toggle_shuffle(parsed, overrides, "options")
    except InvalidSetting:
        return await _stale(callback)  # a crafted value
    if action is not Setting.SHOW:
        await state.update_data(settings=overrides)
        parsed = quiz_settings.apply(parsed, overrides)
    default = settings.quiz_question_seconds
    await edit(callback, draft_text(parsed, default), draft_markup(parsed, callback_data.draft, default))
    await callback.answer(t("quiz_settings_saved") if action is not Setting.SHOW else None)


@inputs.message(QuizUploadStates.seconds, F.text)
async def typed_seconds(message: Message, state: FSMContext, settings: Settings) -> None:
    low, high = SECONDS_RANGE
    try:
        seconds = quiz_settings.parse_seconds(message.text)
    except InvalidSetting:
        await message.answer(t("quiz_settings_seconds_invalid", min=low, max=high))
        return
    loaded = await _draft(state)
    if loaded is None:
        await state.clear()
        await message.answer(t("callback_not_allowed"))
        return
    parsed, data = loaded
    overrides = quiz_settings.set_seconds(dict(data.get("settings") or {}), seconds)
    await state.update_data(settings=overrides)
    await state.set_state(QuizUploadStates.preview)
    parsed = quiz_settings.apply(parsed, overrides)
    default = settings.quiz_question_seconds
    await message.answer(draft_text(parsed, default), reply_markup=draft_markup(parsed, data["draft"], default))


@inputs.message(QuizUploadStates.seconds)
async def typed_seconds_not_text(message: Message) -> None:
    low, high = SECONDS_RANGE
    await message.answer(t("quiz_settings_seconds_invalid", min=low, max=high))


# -- a published quiz -------------------------------------------------------------------------
@router.callback_query(QuizSettingsCb.filter())
async def published_settings(
    callback: CallbackQuery, callback_data: QuizSettingsCb, identity: Identity, db: Db, settings: Settings
) -> None:
    action, notice, alert = callback_data.action, None, False
    try:
        if action is Setting.SECONDS:
            current = await db.run(quiz_settings.change_published, identity.mentor_id, callback_data.quiz,
                                   seconds=callback_data.value)
        elif action is Setting.WINDOW:
            current = await db.run(quiz_settings.change_published, identity.mentor_id, callback_data.quiz,
                                   window_hours=callback_data.value)
        elif action is Setting.SHOW:
            current = await db.run(quiz_settings.current, identity.mentor_id, callback_data.quiz)
        else:
            return await _stale(callback)  # shuffling is changed before publishing only
        if action is not Setting.SHOW:
            notice = t("quiz_settings_saved")
            logger.info("mentor %s set %s=%s on quiz %s", identity.mentor_id, action.name.lower(),
                        callback_data.value, callback_data.quiz)
    except HasAttempts:
        current = await db.run(quiz_settings.current, identity.mentor_id, callback_data.quiz)
        notice, alert = t("quiz_settings_locked"), True
    except (InvalidSetting, NoWindow):
        return await _stale(callback)  # a crafted value or button
    default = settings.quiz_question_seconds
    await edit(callback, published_text(current, default, settings.tz),
               published_markup(current, callback_data, default))
    await callback.answer(notice, show_alert=alert)
