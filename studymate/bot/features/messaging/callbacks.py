"""Callback data of mentor → student messaging."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


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
