"""Callback data of the admins' mentor management (the admin is checked by the router's filter)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class AdminAction(StrEnum):
    DEACTIVATE = "off"
    KEEP = "keep"


class AdminCb(CallbackData, prefix="adm1"):
    action: AdminAction
    mentor: int  # the mentor's Telegram id
