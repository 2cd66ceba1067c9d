"""Callback data of mentor → student messaging."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from studymate.bot.callbacks import Int64


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
