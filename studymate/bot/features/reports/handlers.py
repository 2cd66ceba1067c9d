"""Mentor: CSV reports sent as documents — the leaderboard being shown (its ⬇️ CSV button)
and one student's attempts (the 📄 button beside each name in the student picker, the one list
of all the mentor's students; the leaderboard lists only those with ranked points)."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import BufferedInputFile, CallbackQuery

from studymate.bot.features.reports.callbacks import ReportCb, ReportKind
from studymate.bot.filters import IsMentor
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import reports
from studymate.services.enrollment import Identity
from studymate.services.errors import NotFound

logger = logging.getLogger(__name__)
router = Router(name="reports")
router.callback_query.filter(IsMentor())


async def _send(callback: CallbackQuery, report: reports.Report, caption: str) -> None:
    await callback.answer()
    document = BufferedInputFile(report.data, filename=report.file_name)
    await callback.message.answer_document(document, caption=caption)


@router.callback_query(ReportCb.filter(F.kind == ReportKind.BOARD))
async def board(callback: CallbackQuery, callback_data: ReportCb, identity: Identity, settings: Settings,
                db: Db) -> None:
    report = await db.run(
        reports.board_csv, identity.mentor_id, mode=callback_data.mode.value, tz=settings.tz,
        test_ids=frozenset(settings.test_student_ids),
    )
    if report is None:
        await callback.answer(t("leaderboard_empty"))
        return
    await _send(callback, report, t("report_board_ready", count=report.rows))
    logger.info("mentor %s exported the %s leaderboard (%d rows)", identity.mentor_id,
                callback_data.mode.value, report.rows)


@router.callback_query(ReportCb.filter(F.kind == ReportKind.STUDENT))
async def student(callback: CallbackQuery, callback_data: ReportCb, identity: Identity, settings: Settings,
                  db: Db) -> None:
    try:
        report = await db.run(reports.student_csv, identity.mentor_id, callback_data.student, tz=settings.tz)
    except NotFound:
        await callback.answer(t("student_not_found"), show_alert=True)
        return
    if report is None:
        await callback.answer(t("report_student_empty"))
        return
    await _send(callback, report, t("report_student_ready", count=report.rows))
