"""Callback data of anonymous questions (the mentor's list and replies)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from studymate.bot.callbacks import Int64


class Questions(StrEnum):
    REPLY = "r"
    PAGE = "p"
    DISMISS = "d"  # from the question's own message
    DISMISS_LISTED = "l"  # from the unanswered list (the list is refreshed)


class QuestionCb(CallbackData, prefix="ask1"):
    action: Questions
    question: Int64 = 0
    page: Int64 = 0
