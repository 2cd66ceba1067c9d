"""A typed answer does not wait on the conversation (FSM) storage, as a tap does not: with
that storage failing, the answer still counts and the next question shows; a message from a
student outside a quiz still goes through the storage (its forms need it)."""

from __future__ import annotations

from e2e import STUDENT_ID, plain
from inproc import on_first_question
from test_e2e_quiz_taking import current

from studymate.db.models import QuizAnswer

FILE = """Topic: Typed
1. 6 * 7 = ?
Answer: 42

2. Capital of Karakalpakstan?
Answer: Nukus
"""


class StorageDown(RuntimeError):
    pass


def break_storage(bot) -> list[str]:
    """Make every read of the FSM state fail; the keys it was asked for."""
    asked: list[str] = []

    async def get_state(key):
        asked.append(key)
        raise StorageDown("the FSM storage is unreachable")

    bot.dp.fsm.storage.get_state = get_state
    return asked


async def test_typed_answers_count_while_the_fsm_storage_fails(db, fake, run_bot):
    bot, chat, q1 = await on_first_question(fake, run_bot, FILE, "Typed", ranked=True,
                                            STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    asked = break_storage(bot)

    await chat.send("42")
    assert "Karakalpakstan" in current(fake, STUDENT_ID, q1["message_id"])["text"]
    await chat.send("nukus")
    assert asked == []
    answers = QuizAnswer.select().order_by(QuizAnswer.id)
    assert [(a.typed_text, a.is_correct) for a in answers] == [("42", True), ("nukus", True)]

    # The quiz is over: the next message is an ordinary one, read with its state as before.
    [reply] = await chat.send("hello")
    assert asked and reply["text"] == plain("error", "ru")
