"""Callback data of the student's profile."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class ProfileAction(StrEnum):
    EDIT = "e"


class ProfileCb(CallbackData, prefix="pf1"):
    action: ProfileAction
