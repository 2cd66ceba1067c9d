"""Callback data of taking a quiz: lists, start, result, review, answers."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from studymate.bot.callbacks import Int64


class Take(StrEnum):
    RANKED = "r"
    PRACTICE = "p"
    START = "s"
    VIEW = "v"
    REVIEW = "rv"


class TakeCb(CallbackData, prefix="tq1"):
    """Student's quiz lists, start, result and review; attempts are checked against the student."""

    action: Take
    quiz: Int64 = 0
    attempt: Int64 = 0
    page: Int64 = 0


class AnswerCb(CallbackData, prefix="an1"):
    """An answer names the attempt and the question, so only the current question counts."""

    attempt: Int64
    question: Int64
    letter: str
