"""A question's extra seconds set after saving: only 0, 5 or 10, as a file's '#' markers give;
the engine's time for the question follows; scores do not change."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from studymate.db.models import QuizQuestion
from studymate.services import mentors
from studymate.services.errors import NotFound
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz import questions as quiz_questions
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.engine import question_seconds
from studymate.services.quiz.format import parse_quiz
from studymate.services.quiz.questions import Field, InvalidQuestion

TZ = ZoneInfo("Asia/Tashkent")
FILE = "1. One?\nA*) a\nB) b\nC) c\nD) d\n\n2##. Two?\nA) a\nB*) b\nC) c\nD) d\n"


@pytest.fixture
def quiz(db):
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-100500, language="ru")
    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-100600, language="en")
    return quizzes.publish(1, parse_quiz(FILE, file_name="t.txt"), mode=SaveMode.NEW, ranked=False).quiz


def test_extra_seconds_take_only_the_file_values(quiz):
    first, second = QuizQuestion.select().where(QuizQuestion.quiz == quiz.id).order_by(QuizQuestion.order)
    assert (first.time_bonus, second.time_bonus) == (0, 10)
    assert quiz_questions.update_question(1, quiz.id, first.id, Field.BONUS, "5", tz=TZ).time_bonus == 5
    assert question_seconds(QuizQuestion.get_by_id(first.id)) == 25
    assert quiz_questions.update_question(1, quiz.id, second.id, Field.BONUS, "+0", tz=TZ).time_bonus == 0
    for wrong in ("7", "15", "-5", "x", ""):
        with pytest.raises(InvalidQuestion) as refused:
            quiz_questions.update_question(1, quiz.id, first.id, Field.BONUS, wrong, tz=TZ)
        assert refused.value.code == "bonus"
    assert QuizQuestion.get_by_id(first.id).time_bonus == 5
    with pytest.raises(NotFound):  # another mentor's question
        quiz_questions.update_question(2, quiz.id, first.id, Field.BONUS, "10", tz=TZ)
