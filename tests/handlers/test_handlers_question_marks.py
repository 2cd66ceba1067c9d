"""The anonymous question's message tells the mentor what became of it: answered after a
reply, or dismissed without one (from the message or from the ❓ list)."""

from __future__ import annotations

import pytest
from e2e import MENTOR_ID, STUDENT_ID, button_data, inline_labels, make_school, plain
from inproc import Chat

from studymate.db.models import Mentor, Question, Student
from studymate.services import questions
from studymate.services.errors import NotFound


@pytest.fixture
def school(db, fake):
    make_school(fake)


def ru(key: str, **params) -> str:
    return plain(key, "ru", **params)


def shown(fake, message_id: int) -> dict:
    return [m for m in fake.messages(MENTOR_ID) if m["message_id"] == message_id][0]


async def ask(fake, text: str) -> dict:
    student, mentor = Chat(fake, STUDENT_ID), Chat(fake, MENTOR_ID)
    before = mentor.last_bot_message_id()
    await student.send("❓ Задать вопрос")
    await student.send(text)
    [notice] = await mentor.replies(before)
    return notice


async def test_question_message_is_marked_answered_after_a_reply(school, fake, run_bot):
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    notice = await ask(fake, "When is the exam?")
    assert inline_labels(notice) == [ru("btn_reply"), ru("btn_dismiss")]
    assert Question.get().mentor_message_id == notice["message_id"]
    after = mentor.last_bot_message_id()
    await mentor.click(notice["message_id"], button_data(notice, ru("btn_reply")))
    await mentor.replies(after)
    await mentor.send("On Friday")
    marked = shown(fake, notice["message_id"])
    assert marked["text"] == ru("anonymous_question", text="When is the exam?") + "\n\n" + ru(
        "question_answered_mark")
    assert inline_labels(marked) == []


async def test_mentor_dismisses_a_question_from_its_message(school, fake, run_bot):
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    notice = await ask(fake, "Spam?")
    answer = await mentor.click(notice["message_id"], button_data(notice, ru("btn_dismiss")))
    assert answer["text"] == ru("question_dismissed")
    marked = shown(fake, notice["message_id"])
    assert marked["text"].endswith(ru("question_dismissed_mark")) and inline_labels(marked) == []
    [listing] = await mentor.send("❓ Вопросы")
    assert listing["text"] == ru("no_questions")
    assert not Question.get().is_answered  # dismissed is not answered


async def test_mentor_dismisses_from_the_unanswered_list(school, fake, run_bot):
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    first = await ask(fake, "First")
    await ask(fake, "Second")
    [listing] = await mentor.send("❓ Вопросы")
    assert inline_labels(listing) == [ru("btn_reply_to", num=1), ru("btn_dismiss_to", num=1),
                                      ru("btn_reply_to", num=2), ru("btn_dismiss_to", num=2)]
    await mentor.click(listing["message_id"], button_data(listing, ru("btn_dismiss_to", num=2)))
    refreshed = shown(fake, listing["message_id"])
    assert "Second" in refreshed["text"] and "First" not in refreshed["text"]
    assert shown(fake, first["message_id"])["text"].endswith(ru("question_dismissed_mark"))


def test_only_the_own_mentor_dismisses(school):
    question = Question.create(mentor=Mentor.get().id, student=Student.get().id, text="x")
    with pytest.raises(NotFound):
        questions.dismiss(Mentor.get().id + 1, question.id)
    assert Question.get().dismissed_at is None
