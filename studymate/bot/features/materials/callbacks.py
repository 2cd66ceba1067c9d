"""Callback data of the materials: the mentor's management and the student's library."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from studymate.bot.callbacks import Int64


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


class LibraryCb(CallbackData, prefix="lib1"):
    """Student's view of their mentor's materials."""

    action: Library
    topic: Int64 = 0
    material: Int64 = 0
    page: Int64 = 0
