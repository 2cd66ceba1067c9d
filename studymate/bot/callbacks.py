"""Typed, versioned callback data (never string-built; ``pack()`` enforces Telegram's 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LanguageCb(CallbackData, prefix="lang1"):
    code: str
    start: bool = False  # chosen at a first /start: continue with registration afterwards


class NoopCb(CallbackData, prefix="noop"):
    """Page indicators and other buttons that only stop the spinner."""
