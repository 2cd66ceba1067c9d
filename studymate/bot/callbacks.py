"""Typed, versioned callback data (never string-built; ``pack()`` enforces Telegram's 64 bytes)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


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
    topic: int = 0
    material: int = 0
    page: int = 0


class Library(StrEnum):
    TOPICS = "ts"
    TOPIC = "t"
    FILE = "f"


class LibraryCb(CallbackData, prefix="lb1"):
    """Student's view of their mentor's materials."""

    action: Library
    topic: int = 0
    material: int = 0
    page: int = 0


class Questions(StrEnum):
    REPLY = "r"
    PAGE = "p"


class QuestionCb(CallbackData, prefix="qs1"):
    action: Questions
    question: int = 0
    page: int = 0


class Messaging(StrEnum):
    PAGE = "p"
    ONE = "one"
    ALL = "all"
    CLOSE = "x"
    SEND = "send"
    DISCARD = "no"


class MessageCb(CallbackData, prefix="ms1"):
    action: Messaging
    student: int = 0
    page: int = 0


class Take(StrEnum):
    RANKED = "r"
    PRACTICE = "p"
    START = "s"
    VIEW = "v"
    REVIEW = "rv"


class TakeCb(CallbackData, prefix="tq1"):
    """Student's quiz lists, start, result and review; attempts are checked against the student."""

    action: Take
    quiz: int = 0
    attempt: int = 0
    page: int = 0


class AnswerCb(CallbackData, prefix="an1"):
    """An answer names the attempt and the question, so only the current question counts."""

    attempt: int
    question: int
    letter: str
