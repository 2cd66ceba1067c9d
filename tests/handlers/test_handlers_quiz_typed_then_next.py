"""A typed answer that is not the last question: the next question replaces it on screen."""

from __future__ import annotations

from e2e import STUDENT_ID
from inproc import on_first_question
from test_e2e_quiz_taking import current

FILE = """Topic: Typed first
1. 6 * 7 = ?
Answer: 42

2. Pick b
A) a
B*) b
C) c
"""


async def test_typed_answer_shows_the_next_question(db, fake, run_bot):
    _, chat, q1 = await on_first_question(fake, run_bot, FILE, "Typed first", ranked=True,
                                          STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    assert "6 * 7" in q1["text"]
    await chat.send("42")
    q2 = current(fake, STUDENT_ID, q1["message_id"])
    assert "Pick b" in q2["text"]
