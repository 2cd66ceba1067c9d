"""A typed answer that is not the last question: the next question replaces it on screen."""

from __future__ import annotations

from e2e import STUDENT_ID, make_school
from inproc import Chat
from test_e2e_quiz_taking import current, open_quiz

from studymate.services.quiz import authoring
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.format import parse_quiz

FILE = """Topic: Typed first
1. 6 * 7 = ?
Answer: 42

2. Pick b
A) a
B*) b
C) c
"""


async def test_typed_answer_shows_the_next_question(db, fake, run_bot):
    make_school(fake)
    authoring.publish(1, parse_quiz(FILE, file_name="t.txt"), mode=SaveMode.NEW, ranked=True)
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    chat = Chat(fake, STUDENT_ID)
    q1 = await open_quiz(fake, chat, "🏆", "Typed first")
    assert "6 * 7" in q1["text"]
    await chat.send("42")
    q2 = current(fake, STUDENT_ID, q1["message_id"])
    assert "Pick b" in q2["text"]
