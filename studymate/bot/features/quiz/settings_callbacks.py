"""Typed callback data of the per-quiz settings screens (a draft's and a published quiz's).

A draft's buttons carry its token (a button of an older preview cannot change a newer
upload); a published quiz's carry its id, re-checked against the acting mentor.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from studymate.bot.callbacks import Int64


class Setting(StrEnum):
    SHOW = "s"  # the settings screen
    SECONDS = "sec"  # ``value`` seconds per question
    TYPE = "typ"  # ask for a typed number of seconds (drafts)
    WINDOW = "win"  # ``value`` hours of ranked window
    SHUFFLE_QUESTIONS = "shq"  # toggle (drafts)
    SHUFFLE_OPTIONS = "sho"  # toggle (drafts)


class DraftSettingsCb(CallbackData, prefix="qds1"):
    action: Setting
    draft: str
    value: Int64 = 0


class QuizSettingsCb(CallbackData, prefix="qps1"):
    """``archived``/``page`` remember the list the quiz screen goes back to."""

    action: Setting
    quiz: Int64
    value: Int64 = 0
    archived: bool = False
    page: Int64 = 0
