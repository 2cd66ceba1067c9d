"""Typed callback data of the mentor's CSV reports (the mentor comes from the identity; a
student id is re-checked against the mentor in ``services.reports``)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from studymate.bot.callbacks import Int64
from studymate.bot.features.leaderboard.callbacks import BoardMode


class ReportKind(StrEnum):
    BOARD = "b"  # the leaderboard in ``mode``
    STUDENT = "s"  # one student's attempts


class ReportCb(CallbackData, prefix="rep1"):
    kind: ReportKind
    mode: BoardMode = BoardMode.SEASON
    student: Int64 = 0
