"""FSM states of mentor → student messages and broadcasts."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class MessageStates(StatesGroup):
    one = State()
    broadcast = State()
    confirm = State()
