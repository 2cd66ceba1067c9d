"""FSM states of the mentor's materials forms (topic names, uploads)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class UploadStates(StatesGroup):
    topic_name = State()
    rename_topic = State()
    file = State()
    title = State()
