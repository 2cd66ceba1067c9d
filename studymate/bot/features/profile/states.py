"""FSM states of the profile: the first name setup and a later edit."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class ProfileStates(StatesGroup):
    setup = State()  # profile incomplete: typed name or "✅ Use Telegram name"
    edit = State()  # ✏️ Edit name: a typed name
