"""Typed, versioned callback data (never string-built; ``pack()`` enforces Telegram's 64 bytes)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# Ids and pages fit a 64-bit database integer: a crafted button beyond that range does not
# match its handler and gets the usual "no longer available" answer, not a database error.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class LanguageCb(CallbackData, prefix="lang1"):
    code: str
    start: bool = False  # chosen at a first /start: continue with registration afterwards


class NoopCb(CallbackData, prefix="noop"):
    """Page indicators and other buttons that only stop the spinner."""


class Materials(StrEnum):
    UPLOAD_TO = "up"
    NEW_TOPIC = "new"
    TOPICS_PAGE = "tp"  # mentor's topic list (manage)
    UPLOAD_PAGE = "upp"  # mentor's topic list (upload target)
    TOPIC = "t"
    FILES_PAGE = "fp"
    ASK_DELETE = "ad"
    DELETE = "d"
    ASK_DELETE_TOPIC = "adt"
    DELETE_TOPIC = "dt"
    RENAME_TOPIC = "rn"


class MaterialsCb(CallbackData, prefix="mt1"):
    """Mentor's material management; ids are checked against the mentor in services."""

    action: Materials
    topic: Int64 = 0
    material: Int64 = 0
    page: Int64 = 0


class Library(StrEnum):
    TOPICS = "ts"
    TOPIC = "t"
    FILE = "f"


class LibraryCb(CallbackData, prefix="lb1"):
    """Student's view of their mentor's materials."""

    action: Library
    topic: Int64 = 0
    material: Int64 = 0
    page: Int64 = 0


class Questions(StrEnum):
    REPLY = "r"
    PAGE = "p"


class QuestionCb(CallbackData, prefix="qs1"):
    action: Questions
    question: Int64 = 0
    page: Int64 = 0


class Messaging(StrEnum):
    PAGE = "p"
    ONE = "one"
    ALL = "all"
    CLOSE = "x"
    SEND = "send"
    DISCARD = "no"


class MessageCb(CallbackData, prefix="ms1"):
    action: Messaging
    student: Int64 = 0
    page: Int64 = 0


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
