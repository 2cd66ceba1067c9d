"""Callback data of the student's 🔔 Notifications screen."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Notify(StrEnum):
    SHOW = "s"
    TOGGLE = "t"  # ``category`` names which
    QUIET_START = "qs"  # one hour later
    QUIET_END = "qe"
    QUIET_OFF = "qo"  # no quiet hours, or back to the school's


class NotifyCb(CallbackData, prefix="nt1"):
    action: Notify
    category: str = ""
