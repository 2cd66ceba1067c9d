"""One attempt means one attempt: the database, not a check in Python, keeps a one-attempt exam
to one attempt when replicas start it at the same moment (threads stand in for replicas)."""

from __future__ import annotations

import datetime as dt

from test_replica_safety import NOW, TZ, school, together

from studymate.db.models import QuizAttempt
from studymate.services.quiz import engine as quiz_engine
from studymate.services.quiz.engine import QuestionView, Refusal


def test_concurrent_starts_of_a_one_attempt_exam_make_one_attempt(db):
    quiz, students = school(10)
    for student in students:
        results = together(db, lambda s=student: quiz_engine.start(
            s.telegram_id, quiz.id, tz=TZ, now=NOW, chat_id=s.telegram_id, message_id=10))
        assert sum(isinstance(r, QuestionView) for r in results) == 1
        assert sorted(r for r in results if not isinstance(r, QuestionView)) == [Refusal.MAX_ATTEMPTS] * 3
    per_student = [QuizAttempt.select().where(QuizAttempt.student == s.id).count() for s in students]
    assert per_student == [1] * 10


def test_a_two_attempt_exam_gives_two_under_concurrent_starts(db):
    quiz, [student] = school(1)
    quiz.max_attempts = 2
    quiz.save()
    results = together(db, lambda: quiz_engine.start(student.telegram_id, quiz.id, tz=TZ, now=NOW))
    assert sum(isinstance(r, QuestionView) for r in results) == 2
    assert QuizAttempt.select().count() == 2


def test_imported_repeated_exam_attempts_are_kept_and_still_count(db):
    """v1 let some students take an exam twice: those rows stay, and no third one starts."""
    quiz, [student] = school(1)
    for minutes in (30, 20):
        QuizAttempt.create(student=student.id, quiz=quiz.id, is_exam=True, total=3, score=2,
                           started_at=NOW - dt.timedelta(minutes=minutes),
                           finished_at=NOW - dt.timedelta(minutes=minutes - 5),
                           finish_reason="completed")
    assert quiz_engine.start(student.telegram_id, quiz.id, tz=TZ, now=NOW) is Refusal.MAX_ATTEMPTS
    assert QuizAttempt.select().count() == 2


def test_practice_attempts_take_no_slot(db):
    quiz, [student] = school(1)
    later = quiz.available_until + dt.timedelta(minutes=1)  # the exam is over: practice now
    for minutes in range(3):
        view = quiz_engine.start(student.telegram_id, quiz.id, tz=TZ, now=later + dt.timedelta(minutes=minutes))
        assert isinstance(view, QuestionView)
    # Each new start leaves the previous unanswered practice run, which is discarded.
    assert [a.exam_slot for a in QuizAttempt.select()] == [None]
