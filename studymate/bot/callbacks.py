"""Typed, versioned callback data (never string-built; ``pack()`` enforces Telegram's 64 bytes)."""

from __future__ import annotations

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
