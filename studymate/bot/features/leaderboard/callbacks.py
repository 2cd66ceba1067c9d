"""Callback data of the leaderboards (typed, ids only)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from studymate.bot.callbacks import Int64


class BoardMode(StrEnum):
    SEASON = "season"
    ALLTIME = "alltime"


class Board(StrEnum):
    SHOW = "v"  # a page of a mode (also the mode switch, which keeps the page)
    BACK = "b"  # close the board, back to the main menu (v1's button did nothing)


class BoardCb(CallbackData, prefix="board1"):
    """The mentor's leaderboard; the mentor comes from the identity, never from the data."""

    action: Board = Board.SHOW
    mode: BoardMode = BoardMode.SEASON
    page: Int64 = 0
