"""Mentor: quiz lists, the quiz screen, archive/restore, CSV export and GIFT download; every id
is checked against the mentor, so a crafted button cannot touch another mentor's quiz."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import BufferedInputFile, CallbackQuery

from studymate.bot.features.quiz.authoring_callbacks import QuizAction, QuizCb, QuizMenu, QuizMenuCb
from studymate.bot.features.quiz.authoring_views import edit, quiz_list, quiz_markup, quiz_screen
from studymate.bot.filters import IsMentor
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services.enrollment import Identity
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz import export as quiz_export
from studymate.services.quiz import key_change, transfer

logger = logging.getLogger(__name__)
router = Router(name="quiz_manage")
router.callback_query.filter(IsMentor())


@router.callback_query(QuizMenuCb.filter(F.action == QuizMenu.LIST))
async def lists(callback: CallbackQuery, callback_data: QuizMenuCb, identity: Identity, db: Db) -> None:
    page = await db.run(
        quizzes.quizzes_page, identity.mentor_id, archived=callback_data.archived, page=callback_data.page
    )
    text, markup = quiz_list(page, archived=callback_data.archived)
    await edit(callback, text, markup)
    await callback.answer()


async def _show(callback: CallbackQuery, origin: QuizCb, identity: Identity, db: Db, settings: Settings) -> None:
    stats = await db.run(quizzes.quiz_stats, identity.mentor_id, origin.quiz)
    changes = await db.run(key_change.recent, identity.mentor_id, origin.quiz)
    await edit(callback, quiz_screen(stats, settings.tz, changes), quiz_markup(stats.quiz, origin))


@router.callback_query(QuizCb.filter(F.action == QuizAction.SHOW))
async def show(callback: CallbackQuery, callback_data: QuizCb, identity: Identity, db: Db,
               settings: Settings) -> None:
    await _show(callback, callback_data, identity, db, settings)
    await callback.answer()


@router.callback_query(QuizCb.filter(F.action.in_({QuizAction.ARCHIVE, QuizAction.RESTORE})))
async def archive(callback: CallbackQuery, callback_data: QuizCb, identity: Identity, db: Db,
                  settings: Settings) -> None:
    active = callback_data.action is QuizAction.RESTORE
    await db.run(quizzes.set_active, identity.mentor_id, callback_data.quiz, active)
    logger.info("mentor %s %s quiz %s", identity.mentor_id, callback_data.action.name.lower(),
                callback_data.quiz)
    await _show(callback, callback_data.model_copy(update={"action": QuizAction.SHOW}), identity, db, settings)
    await callback.answer(t("quiz_unarchived") if active else t("quiz_archived"))


@router.callback_query(QuizCb.filter(F.action == QuizAction.EXPORT))
async def export(callback: CallbackQuery, callback_data: QuizCb, identity: Identity, db: Db,
                 settings: Settings) -> None:
    data = await db.run(quiz_export.export_csv, identity.mentor_id, callback_data.quiz, tz=settings.tz)
    if data is None:
        await callback.answer(t("quiz_export_empty"))
        return
    await callback.answer()
    document = BufferedInputFile(data, filename=f"quiz_{callback_data.quiz}_results.csv")
    await callback.message.answer_document(document, caption=t("quiz_export_ready"))


@router.callback_query(QuizCb.filter(F.action == QuizAction.GIFT))
async def export_gift(callback: CallbackQuery, callback_data: QuizCb, identity: Identity, db: Db) -> None:
    title, file_name, data = await db.run(transfer.gift_file, identity.mentor_id, callback_data.quiz)
    await callback.answer()
    logger.info("mentor %s downloaded quiz %s as GIFT", identity.mentor_id, callback_data.quiz)
    document = BufferedInputFile(data, filename=file_name)
    await callback.message.answer_document(document, caption=t("quiz_gift_ready", title=title))
