"""🏆 Leaderboards: the mentor's (season / all time, 10 a page) and the student's top 15
of the current season.

Fixes over v1: every label is localized (v1 hard-coded Russian mode buttons and the
all-time subtitle), the ⬅️ Back button works and every button press is answered; an
empty season still shows the mode row so the mentor can switch to all time; animals belong
to a person for the whole season, not to a rank, and test accounts are left out everywhere
(in ``services.ratings``).
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from studymate.bot.callbacks import NoopCb
from studymate.bot.features.leaderboard.callbacks import Board, BoardCb, BoardMode
from studymate.bot.features.reports.callbacks import ReportCb, ReportKind
from studymate.bot.filters import IsMentor, IsStudent, MenuButton
from studymate.bot.keyboards import button, mentor_menu, nav_row
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import ratings
from studymate.services.enrollment import Identity
from studymate.services.ratings import MentorBoard, SeasonInfo, StudentBoard, StudentRow

logger = logging.getLogger(__name__)
router = Router(name="leaderboard")
MEDALS = ("🥇", "🥈", "🥉")


def season_title(season: SeasonInfo) -> str:
    """"📅 February 2026" in the reader's language (month names from ``month_N``)."""
    return t("leaderboard_season_title", month=t(f"month_{season.month}"), year=season.year)


def score(value: float) -> str:
    return f"{value:.1f}"


# --- mentor ---------------------------------------------------------------------------------


def mentor_text(board: MentorBoard) -> str:
    subtitle = season_title(board.season) if board.season else t("leaderboard_alltime_title")
    head = [t("leaderboard_mentor_title"), f"<i>{subtitle}</i>"]
    page = board.page
    if not page.items:
        return "\n".join(head) + "\n\n" + t("leaderboard_empty")
    head.append("<i>" + t("leaderboard_mentor_pagination", total=page.total, page=page.page + 1,
                          total_pages=page.pages) + "</i>")
    lines = [
        t("leaderboard_mentor_entry", rank=row.rank, name=row.name, score=score(row.rating),
          percentage=score(row.avg_percentage), quizzes=row.quizzes)
        for row in page.items
    ]
    return "\n".join(head) + "\n\n" + "\n".join(lines)


def _mode_button(mode: BoardMode, shown: BoardMode, page: int) -> InlineKeyboardButton:
    label = t("btn_mode_season") if mode is BoardMode.SEASON else t("btn_mode_alltime")
    if mode is shown:
        return InlineKeyboardButton(text=f"✅ {label}", callback_data=NoopCb().pack())
    icon = "📅" if mode is BoardMode.SEASON else "📊"
    return button(f"{icon} {label}", BoardCb(mode=mode, page=page))


def mentor_markup(board: MentorBoard) -> InlineKeyboardMarkup:
    shown = BoardMode(board.mode)
    page = board.page
    builder = InlineKeyboardBuilder()
    builder.row(*(_mode_button(mode, shown, page.page) for mode in BoardMode))
    nav_row(builder, page.page, page.pages, lambda p: BoardCb(mode=shown, page=p))
    if page.items:
        builder.row(button(t("btn_export_csv"), ReportCb(kind=ReportKind.BOARD, mode=shown)))
    builder.row(button(t("btn_back_menu"), BoardCb(action=Board.BACK)))
    return builder.as_markup()


async def _mentor_board(identity: Identity, settings: Settings, db: Db, mode: BoardMode, page: int) -> MentorBoard:
    return await db.run(
        ratings.mentor_board, identity.mentor_id, mode=mode.value, page=page, tz=settings.tz,
        test_ids=frozenset(settings.test_student_ids),
    )


@router.message(MenuButton("btn_leaderboard"), IsMentor())
async def mentor_leaderboard(message: Message, state: FSMContext, identity: Identity, settings: Settings,
                             db: Db) -> None:
    await state.clear()
    board = await _mentor_board(identity, settings, db, BoardMode.SEASON, 0)
    await message.answer(mentor_text(board), reply_markup=mentor_markup(board))


@router.callback_query(BoardCb.filter(F.action == Board.SHOW), IsMentor())
async def mentor_page(callback: CallbackQuery, callback_data: BoardCb, identity: Identity,
                      settings: Settings, db: Db) -> None:
    board = await _mentor_board(identity, settings, db, callback_data.mode, callback_data.page)
    try:
        await callback.message.edit_text(mentor_text(board), reply_markup=mentor_markup(board))
    except TelegramBadRequest as exc:  # the same page pressed twice
        if "message is not modified" not in exc.message:
            raise
    await callback.answer()


@router.callback_query(BoardCb.filter(F.action == Board.BACK), IsMentor())
async def mentor_back(callback: CallbackQuery, identity: Identity) -> None:
    """Close the board and show the main menu again."""
    try:
        await callback.message.delete()
    except TelegramBadRequest:  # older than 48 h: at least take the buttons away
        with contextlib.suppress(TelegramBadRequest):
            await callback.message.edit_reply_markup(reply_markup=None)
    await callback.message.answer(t("back_to_menu"), reply_markup=mentor_menu(identity.language))
    await callback.answer()


# --- student --------------------------------------------------------------------------------


def medal(rank: int) -> str:
    return MEDALS[rank - 1] if rank <= len(MEDALS) else f"{rank}."


def animal(row: StudentRow) -> str:
    """"🦊 Fox", or "🦊 Fox 2" for the 16th–30th student of the season, and so on."""
    name = t(row.animal_key)
    return name if row.animal_number == 1 else f"{name} {row.animal_number}"


def student_text(board: StudentBoard) -> str:
    if not board.rows:
        return t("leaderboard_empty")
    lines = [t("leaderboard_title"), f"<i>{season_title(board.season)}</i>", ""]
    for row in board.rows:
        if row.is_you:
            lines.append(t("leaderboard_you", medal=medal(row.rank), score=score(row.rating)))
        else:
            lines.append(t("leaderboard_entry", medal=medal(row.rank), name=animal(row),
                           score=score(row.rating)))
        if row.rank == len(MEDALS) and len(board.rows) > len(MEDALS):
            lines.append(t("leaderboard_separator_top3"))
    if board.show_your_rank and board.your_rating is not None:
        lines += ["", t("leaderboard_your_rank", rank=board.your_rank,
                        score=score(board.your_rating))]
    return "\n".join(lines)


@router.message(MenuButton("btn_leaderboard"), IsStudent())
async def student_leaderboard(message: Message, state: FSMContext, identity: Identity, settings: Settings,
                              db: Db) -> None:
    await state.clear()
    board = None
    if identity.student_id is not None:
        board = await db.run(
            ratings.student_board, identity.student_id, tz=settings.tz,
            test_ids=frozenset(settings.test_student_ids),
        )
    if board is None:
        await message.answer(t("not_assigned"))
        return
    await message.answer(student_text(board))
