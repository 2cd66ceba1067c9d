"""A crafted or outdated button naming another mentor's object is refused in the user's language."""

from __future__ import annotations

import pytest
from e2e import GROUP_ID, MENTOR_ID, Chat, plain
from quiz_samples import SPEC_QUESTIONS

from studymate.bot.features.quiz.authoring_callbacks import (
    QuizAction,
    QuizCb,
    QuizQuestionAction,
    QuizQuestionCb,
)
from studymate.db.models import Quiz, QuizQuestion
from studymate.services import mentors
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.format import parse_quiz

pytestmark = pytest.mark.e2e


async def test_foreign_quiz_buttons_are_refused_in_english_for_an_english_mentor(db, fake, run_bot):
    mentors.add_mentor(telegram_id=MENTOR_ID, name="Anna", group_chat_id=GROUP_ID, language="en")
    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-2, language="ru")
    fake.add_user(MENTOR_ID, "Anna")
    parsed = parse_quiz("Тема: Python basics\n\n" + SPEC_QUESTIONS, file_name="x.txt")
    foreign = quizzes.publish(2, parsed, mode=SaveMode.NEW, ranked=False).quiz
    question = QuizQuestion.select().where(QuizQuestion.quiz == foreign.id).first()
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("/start")
    for data in (
        QuizCb(action=QuizAction.SHOW, quiz=foreign.id),
        QuizCb(action=QuizAction.ARCHIVE, quiz=foreign.id),
        QuizCb(action=QuizAction.EXPORT, quiz=foreign.id),
        QuizQuestionCb(action=QuizQuestionAction.DELETE, quiz=foreign.id, question=question.id),
    ):
        answer = await mentor.click(menu["message_id"], data.pack())
        assert answer["show_alert"] and answer["text"] == plain("callback_not_allowed", "en"), data
    assert Quiz.get_by_id(foreign.id).is_active
    assert QuizQuestion.select().where(QuizQuestion.quiz == foreign.id).count() == 3
    assert not fake.calls("sendDocument")
