"""A quiz with one question of each kind and a picture, uploaded as a .zip through the bot, taken
by two students (one right on every kind, one wrong on every kind), reviewed with explanations."""

from __future__ import annotations

from e2e import MENTOR_ID, STUDENT_ID, make_school, plain
from inproc import Chat
from quiz_pictures import make_zip, tiny_png
from test_e2e_quiz_authoring import finish, press, ru
from test_e2e_quiz_taking import open_quiz

from handlers.test_handlers_quiz_kinds import _button, marks
from handlers.test_handlers_quiz_pictures import shown, upload
from studymate.db.models import QuizAttempt, QuizQuestion, Student

FILE = """Topic: Kinds
1. Pick b
A) a
B*) b
C) c
Explanation: b it is

2. The sky in this picture is blue.
Image: sky.png
A*) Верно
B) Неверно

3. Select all even
A*) 2
B) 3
C*) 4

4. 7 / 2 = ?
Answer: 3.5
Explanation: true division
"""


async def _take(fake, user_id: int, answers: dict[str, object]) -> dict:
    """Answer the four questions as ``answers`` says; returns the last message (the result)."""
    chat = Chat(fake, user_id)
    await open_quiz(fake, chat, "📚", "Kinds")
    q1 = shown(fake, user_id)[-1]
    await chat.click(q1["message_id"], _button(q1, answers["single"]))
    q2 = shown(fake, user_id)[-1]
    assert q2["media_type"] == "photo" and "The sky in this picture" in q2["caption"]
    await chat.click(q2["message_id"], _button(q2, answers["truefalse"]))
    q3 = shown(fake, user_id)[-1]
    for letter in answers["multi"]:
        await chat.click(q3["message_id"], _button(shown(fake, user_id)[-1], letter))
    marked = shown(fake, user_id)[-1]
    assert marks(marked) == [f"{'☑️' if letter in answers['multi'] else '⬜'} {letter}" for letter in "ABC"]
    await chat.click(q3["message_id"], _button(marked, "✅"))
    q4 = shown(fake, user_id)[-1]
    assert plain("quiz_hint_typed", "ru") in q4["text"]
    assert await chat.send(answers["typed"]) == []  # taken, right or wrong: ✍ on the message
    assert fake.messages(user_id)[-1]["reactions"] == ["✍"]
    return next(m for m in fake.messages(user_id) if m["message_id"] == q4["message_id"])


async def test_every_kind_from_a_zip_with_a_picture_right_and_wrong(db, fake, run_bot):
    make_school(fake, students=2)
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    mentor = Chat(fake, MENTOR_ID)
    preview = await upload(mentor, fake, make_zip({"kinds.txt": FILE, "sky.png": tiny_png()}), "kinds.zip")
    assert ru("quiz_preview_pictures", count=1) in preview["text"]
    modes = await press(mentor, fake, preview, ru("btn_save_quiz"))
    await finish(mentor, fake, modes, ru("btn_publish_practice"))
    kinds = [q.kind for q in QuizQuestion.select().order_by(QuizQuestion.order)]
    assert kinds == ["single", "truefalse", "multi", "typed"]

    right = await _take(fake, STUDENT_ID, {"single": "B", "truefalse": "Верно", "multi": "AC", "typed": "3,50"})
    wrong = await _take(fake, STUDENT_ID + 1, {"single": "A", "truefalse": "Неверно", "multi": "B", "typed": "4"})
    assert "4/4" in right["text"] and "0/4" in wrong["text"]
    for done in (right, wrong):
        assert "💡 b it is" in done["text"] and "💡 true division" in done["text"]
    scores = {a.student.telegram_id: (a.score, a.total) for a in QuizAttempt.select(QuizAttempt, Student).join(Student)}
    assert scores == {STUDENT_ID: (4, 4), STUDENT_ID + 1: (0, 4)}
