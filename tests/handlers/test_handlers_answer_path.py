"""The quiz answer path skips the FSM: an answer (a tap, or a typed answer in polling mode) is
not held up behind the same student's slow update (the user's event lock), and a form state
the student has stays untouched."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.fsm.storage.base import StorageKey
from e2e import STUDENT_ID, make_school
from inproc import Chat, on_first_question
from test_e2e_quiz_taking import current, make_quiz, open_quiz, tap


@pytest.mark.parametrize("fsm_in", ["database", "redis"])
async def test_an_answer_does_not_wait_for_the_students_event_lock(db, fake, run_bot, request, fsm_in):
    make_school(fake)
    make_quiz("Practice", 2, correct="BC")
    redis = request.getfixturevalue("redis_url") if fsm_in == "redis" else ""
    bot = await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60", STUDYMATE_REDIS_URL=redis)
    chat = Chat(fake, STUDENT_ID)
    q1 = await open_quiz(fake, chat, "📚", "Practice")
    assert "Question 1" in q1["text"]
    fsm = bot.dp.fsm
    key = StorageKey(bot_id=bot.bot.id, chat_id=STUDENT_ID, user_id=STUDENT_ID)
    await fsm.storage.set_state(key, "SomeForm:text")
    async with fsm.events_isolation.lock(key):  # another update of this student still running
        await asyncio.wait_for(tap(fake, chat, q1, "b1"), timeout=5)
    assert "Question 2" in current(fake, STUDENT_ID, q1["message_id"])["text"]
    assert await fsm.storage.get_state(key) == "SomeForm:text"


@pytest.mark.parametrize("fsm_in", ["database", "redis"])
async def test_a_typed_answer_does_not_wait_for_the_students_event_lock(db, fake, run_bot, request,
                                                                        fsm_in):
    typed = "Topic: Typed\n1. 6 * 7 = ?\nAnswer: 42\n\n2. 2 + 2 = ?\nAnswer: 4\n"
    redis = request.getfixturevalue("redis_url") if fsm_in == "redis" else ""
    bot, chat, q1 = await on_first_question(fake, run_bot, typed, "Typed", STUDYMATE_QUIZ_QUESTION_SECONDS="60",
                                            STUDYMATE_REDIS_URL=redis)
    fsm = bot.dp.fsm
    key = StorageKey(bot_id=bot.bot.id, chat_id=STUDENT_ID, user_id=STUDENT_ID)
    await fsm.storage.set_state(key, "SomeForm:text")
    async with fsm.events_isolation.lock(key):  # another update of this student still running
        await asyncio.wait_for(chat.send("42"), timeout=5)
    assert "2 + 2" in current(fake, STUDENT_ID, q1["message_id"])["text"]
    assert await fsm.storage.get_state(key) == "SomeForm:text"


async def test_a_malformed_answer_button_goes_the_usual_way(db, fake, run_bot):
    make_school(fake)
    make_quiz("Practice", 1)
    await run_bot()
    chat = Chat(fake, STUDENT_ID)
    q1 = await open_quiz(fake, chat, "📚", "Practice")
    alert = await chat.click(q1["message_id"], "an1:not-a-number:1:A")
    assert alert["text"]  # the fallback's "this button is no longer available"
    assert current(fake, STUDENT_ID, q1["message_id"])["text"] == q1["text"]
