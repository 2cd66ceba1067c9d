"""Typed callback data of a quiz's per-question statistics (ids only; the quiz is re-checked
against the acting mentor in ``services.quiz.question_stats``)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from studymate.bot.callbacks import Int64


class QuizStatsAction(StrEnum):
    PAGE = "p"  # a page of the per-question list
    CHART = "c"  # send the bar chart as a photo


class QuizStatsCb(CallbackData, prefix="qst1"):
    """``archived``/``list_page`` remember the quiz list the quiz screen goes back to."""

    action: QuizStatsAction
    quiz: Int64
    page: Int64 = 0
    archived: bool = False
    list_page: Int64 = 0
