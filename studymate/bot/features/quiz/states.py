"""FSM states of the mentor's quiz flows (the quiz itself is stored only when published)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class QuizUploadStates(StatesGroup):
    file = State()  # waiting for the .txt document
    preview = State()  # draft parsed; preview / all questions / save
    publish_mode = State()  # practice or ranked
    ranked_start = State()  # start now or choose a time
    start_time = State()  # waiting for "DD.MM HH:MM"
    seconds = State()  # waiting for a typed number of seconds per question (draft settings)


class QuestionFormStates(StatesGroup):
    text = State()
    option_a = State()
    option_b = State()
    option_c = State()
    option_d = State()
    correct = State()
    edit_value = State()  # one field of an existing question
