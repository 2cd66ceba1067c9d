"""Callback data of anonymous questions (the mentor's list and replies)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Questions(StrEnum):
    REPLY = "r"
    PAGE = "p"


class QuestionCb(CallbackData, prefix="ask1"):
    action: Questions
    question: int = 0
    page: int = 0
