"""Typed, versioned callback data of the mentor's quiz screens (ids only, ≤ 64 bytes).

Every id is re-checked against the acting mentor in ``services.quiz.authoring`` (a crafted
button changes nothing); the upload flow's buttons carry the draft token, so a button of an older preview
cannot act on a newer upload.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from studymate.bot.callbacks import Int64
from studymate.services.quiz.questions import Field


class QuizMenu(StrEnum):
    MENU = "m"  # the 📝 Quizzes header with its three buttons
    LIST = "l"  # active or archived list
    UPLOAD = "u"  # ask for a .txt file


class QuizMenuCb(CallbackData, prefix="qm1"):
    action: QuizMenu
    archived: bool = False
    page: Int64 = 0


class Draft(StrEnum):
    ALL = "all"  # all questions, ``page``
    PREVIEW = "pv"  # back to the preview
    SAVE = "save"
    REPLACE = "repl"
    COPY = "copy"
    PRACTICE = "pr"
    RANKED = "rk"
    NOW = "now"
    SCHEDULE = "sch"
    CANCEL = "x"


class DraftCb(CallbackData, prefix="qd1"):
    """A step of the upload flow; ``draft`` is the token of the upload it belongs to."""

    action: Draft
    draft: str = ""
    page: Int64 = 0


class QuizAction(StrEnum):
    SHOW = "s"
    ARCHIVE = "a"
    RESTORE = "r"
    EXPORT = "e"
    GIFT = "g"  # download the quiz as a GIFT file (Moodle)


class QuizCb(CallbackData, prefix="qz1"):
    """One quiz; ``archived``/``page`` remember the list to go back to."""

    action: QuizAction
    quiz: Int64
    archived: bool = False
    page: Int64 = 0


class QuizQuestionAction(StrEnum):
    LIST = "l"  # the quiz's questions, ``page``
    SHOW = "s"
    ADD = "add"
    EDIT = "e"  # choose the field
    FIELD = "f"  # edit ``field``
    ASK_DELETE = "ad"
    DELETE = "d"
    REMOVE_PICTURE = "rp"  # 🗑 the question's picture (a photo sent on the detail adds one)


class QuizQuestionCb(CallbackData, prefix="qq1"):
    action: QuizQuestionAction
    quiz: Int64
    question: Int64 = 0
    page: Int64 = 0
    field: Field | None = None


class QuestionBonusCb(CallbackData, prefix="qb1"):
    """Set a question's extra seconds (0, 5 or 10; any other value is refused)."""

    quiz: Int64
    question: Int64
    page: Int64 = 0
    seconds: Int64 = 0
