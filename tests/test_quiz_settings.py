"""Per-quiz settings changed in the bot (services.quiz.settings) on the backend under test."""

from __future__ import annotations

import datetime as dt

import pytest
from quiz_samples import SPEC_EXAMPLE

from studymate.db.models import Quiz, QuizAttempt, Student
from studymate.services import mentors
from studymate.services.errors import NotFound
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz import settings as quiz_settings
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.format import parse_quiz
from studymate.services.quiz.settings import HasAttempts, InvalidSetting, NoWindow

NOW = dt.datetime(2026, 2, 10, 7, 0)


def parsed(header: str = ""):
    return parse_quiz(header + SPEC_EXAMPLE, file_name="quiz.txt")


@pytest.fixture
def mentor(db) -> int:
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-100500, language="ru")
    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-100600, language="en")
    return 1


@pytest.mark.parametrize("text", ["", "abc", "4", "601", "٣٠", "30s", "-30", "99999"])
def test_typed_seconds_outside_the_header_rules_are_refused(text):
    with pytest.raises(InvalidSetting):
        quiz_settings.parse_seconds(text)


def test_typed_seconds_within_5_to_600_are_taken():
    assert [quiz_settings.parse_seconds(v) for v in ("5", " 45 ", "600")] == [5, 45, 600]


def test_draft_overrides_replace_the_header_values():
    base = parsed("Seconds: 30\nWindow: 72h\nShuffle: no\n")
    overrides = quiz_settings.set_seconds({}, 90)
    overrides = quiz_settings.set_window(overrides, 14 * 24)
    overrides = quiz_settings.toggle_shuffle(base, overrides, "questions")
    changed = quiz_settings.apply(base, overrides)
    assert (changed.seconds, changed.window_hours) == (90, 336)
    assert (changed.shuffle_questions, changed.shuffle_options) == (True, False)
    again = quiz_settings.apply(base, quiz_settings.toggle_shuffle(base, overrides, "questions"))
    assert again.shuffle_questions is False
    assert changed.questions == base.questions and changed.title == base.title


def test_shuffle_not_set_in_the_file_counts_as_off_and_turns_on():
    base = parsed()
    assert base.shuffle_options is None
    assert quiz_settings.apply(base, quiz_settings.toggle_shuffle(base, {}, "options")).shuffle_options is True


def test_out_of_range_values_are_refused_and_ignored_when_crafted():
    with pytest.raises(InvalidSetting):
        quiz_settings.set_seconds({}, 4)
    with pytest.raises(InvalidSetting):
        quiz_settings.set_window({}, 15 * 24)
    base = parsed("Seconds: 30\n")
    assert quiz_settings.apply(base, {"seconds": 9999}).seconds == 30
    assert quiz_settings.apply(base, {"seconds": "x"}).seconds == 30


def test_publishing_a_draft_with_overrides_stores_them(mentor):
    draft = quiz_settings.apply(parsed(), {"seconds": 45, "window_hours": 24, "shuffle_questions": True})
    quiz = quizzes.publish(mentor, draft, mode=SaveMode.NEW, ranked=True, now=NOW).quiz
    row = Quiz.get_by_id(quiz.id)
    assert (row.question_seconds, row.window_hours, row.shuffle_questions) == (45, 24, True)
    assert row.available_until - row.available_from == dt.timedelta(hours=24)


def test_published_window_change_moves_the_end_from_the_start(mentor):
    quiz = quizzes.publish(mentor, parsed(), mode=SaveMode.NEW, ranked=True, now=NOW).quiz
    now = quiz_settings.change_published(mentor, quiz.id, seconds=60, window_hours=7 * 24)
    row = Quiz.get_by_id(quiz.id)
    assert row.available_from == NOW and row.available_until == NOW + dt.timedelta(days=7)
    assert (row.question_seconds, row.window_hours) == (60, 168)
    assert (now.seconds, now.window_hours, now.has_attempts) == (60, 168, False)


def test_published_change_refused_once_an_attempt_exists(mentor):
    quiz = quizzes.publish(mentor, parsed(), mode=SaveMode.NEW, ranked=True, now=NOW).quiz
    who = Student.create(telegram_id=2001, mentor=mentor, first_name="S")
    QuizAttempt.create(student=who, quiz=quiz.id, started_at=NOW)  # not even finished
    assert quiz_settings.current(mentor, quiz.id).has_attempts
    with pytest.raises(HasAttempts):
        quiz_settings.change_published(mentor, quiz.id, seconds=60)
    with pytest.raises(HasAttempts):
        quiz_settings.change_published(mentor, quiz.id, window_hours=24)
    row = Quiz.get_by_id(quiz.id)
    assert row.question_seconds is None and row.available_until - row.available_from == dt.timedelta(hours=48)


def test_published_change_of_another_mentors_quiz_is_not_found(mentor):
    quiz = quizzes.publish(mentor, parsed(), mode=SaveMode.NEW, ranked=True, now=NOW).quiz
    with pytest.raises(NotFound):
        quiz_settings.change_published(2, quiz.id, seconds=60)
    with pytest.raises(NotFound):
        quiz_settings.current(2, quiz.id)
    assert Quiz.get_by_id(quiz.id).question_seconds is None


def test_practice_quiz_changes_seconds_but_has_no_window(mentor):
    quiz = quizzes.publish(mentor, parsed(), mode=SaveMode.NEW, ranked=False, now=NOW).quiz
    assert quiz_settings.change_published(mentor, quiz.id, seconds=10).seconds == 10
    with pytest.raises(NoWindow):
        quiz_settings.change_published(mentor, quiz.id, window_hours=24)
    with pytest.raises(InvalidSetting):
        quiz_settings.change_published(mentor, quiz.id, seconds=601)
