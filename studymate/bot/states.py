"""FSM states: which step of a form a user is on (the data that matters lives in the database)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class UploadStates(StatesGroup):
    topic_name = State()
    rename_topic = State()
    file = State()
    title = State()


class QuestionStates(StatesGroup):
    question = State()
    reply = State()


class MessageStates(StatesGroup):
    one = State()
    broadcast = State()
    confirm = State()
