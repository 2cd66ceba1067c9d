"""FSM states of anonymous questions: the student's question, the mentor's reply."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class QuestionStates(StatesGroup):
    question = State()
    reply = State()
