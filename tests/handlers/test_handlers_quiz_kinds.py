"""A student takes a quiz with one question of each kind, in process: toggles, Submit, a
typed answer as a message, and the review with explanations and the right score."""

from __future__ import annotations

from e2e import STUDENT_ID, plain
from inproc import on_first_question
from test_e2e_quiz_taking import current, tap

FILE = """Topic: Kinds
1. Pick b
A) a
B*) b
C) c
Explanation: b it is

2. The sky is blue.
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


def _button(message: dict, label: str) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if label in button["text"]:
                return button["callback_data"]
    raise AssertionError(f"{label!r} not on {message['reply_markup']!r}")


def marks(message: dict) -> list[str]:
    """The option buttons of a select-all question, as labelled (without ✅ Submit)."""
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row if "✅" not in b["text"]]


async def test_one_question_of_each_kind(db, fake, run_bot):
    _, chat, q1 = await on_first_question(fake, run_bot, FILE, "Kinds", STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    mid = q1["message_id"]
    await tap(fake, chat, q1, "b")  # right
    q2 = current(fake, STUDENT_ID, mid)
    assert plain("quiz_hint_truefalse", "ru") in q2["text"]
    await chat.click(mid, _button(q2, "Неверно"))  # wrong
    q3 = current(fake, STUDENT_ID, mid)
    await chat.click(mid, _button(q3, "A"))
    await chat.click(mid, _button(q3, "C"))
    marked = current(fake, STUDENT_ID, mid)
    assert marks(marked) == ["☑️ A", "⬜ B", "☑️ C"]
    assert marked["text"] == q3["text"] and "☑️ A)" not in q3["text"]  # the marks: on the buttons
    await chat.click(mid, _button(marked, "✅"))  # right: exactly A and C
    q4 = current(fake, STUDENT_ID, mid)
    assert plain("quiz_hint_typed", "ru") in q4["text"]
    assert await chat.send("3,50") == []  # right: numbers compare as numbers
    assert fake.messages(STUDENT_ID)[-1]["reactions"] == ["✍"]  # taken: no message of its own
    done = current(fake, STUDENT_ID, mid)
    assert "3/4" in done["text"]
    assert "💡 b it is" in done["text"] and "💡 true division" in done["text"]
    assert "Верно" in done["text"]  # the right answer of the missed question


async def test_a_typed_answer_is_confirmed_in_words_where_reactions_are_refused(db, fake, run_bot):
    _, chat, q1 = await on_first_question(fake, run_bot, FILE, "Kinds", STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    mid = q1["message_id"]
    await tap(fake, chat, q1, "b")
    await chat.click(mid, _button(current(fake, STUDENT_ID, mid), "Верно"))
    await chat.click(mid, _button(current(fake, STUDENT_ID, mid), "✅"))
    fake.add_fault("setMessageReaction", 400, description="Bad Request: REACTION_INVALID")
    [reply] = await chat.send("3.5")
    assert reply["text"] == plain("quiz_typed_received", "ru")
    assert "3/4" in current(fake, STUDENT_ID, mid)["text"]
