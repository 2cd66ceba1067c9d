"""The quiz engine's rules: one answer per question, on time, score from stored answers."""

from __future__ import annotations

import datetime as dt
import random
import threading
from zoneinfo import ZoneInfo

import pytest

from studymate.db.models import Quiz, QuizAnswer, QuizAttempt, QuizQuestion, utcnow
from studymate.services import enrollment, mentors
from studymate.services.enrollment import TelegramProfile
from studymate.services.quiz import engine as quiz_engine
from studymate.services.quiz import results as quiz_results
from studymate.services.quiz.engine import Outcome, Refusal

TZ = ZoneInfo("Asia/Tashkent")
STUDENT = 2001
T0 = dt.datetime(2026, 3, 10, 9, 0, 0)


@pytest.fixture
def quiz(db) -> Quiz:
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-1, language="ru")
    enrollment.enroll(TelegramProfile(STUDENT, None, "Ali", ""), mentor_id=1, language="ru")
    quiz = Quiz.create(mentor=1, title="Python", quiz_type="practice")
    for n, correct in enumerate("BCDA", start=1):
        QuizQuestion.create(
            quiz=quiz, question_text=f"Q{n}", option_a=f"a{n}", option_b=f"b{n}", option_c=f"c{n}",
            option_d=f"d{n}", correct_answer=correct, order=n, time_bonus=5 if n == 2 else 0,
        )
    return quiz


def start(quiz, now=T0, **kw):
    return quiz_engine.start(STUDENT, quiz.id, tz=TZ, now=now, **kw)


def answer(view, letter, now):
    return quiz_engine.answer(STUDENT, view.attempt_id, view.question_id, letter, tz=TZ, now=now)


def test_practice_run_with_timeouts_and_stale_taps(quiz):
    q1 = start(quiz)
    assert (q1.number, q1.total, q1.options) == (1, 4, ("a1", "b1", "c1", "d1"))
    assert q1.deadline == T0 + dt.timedelta(seconds=20)
    step = answer(q1, "B", T0 + dt.timedelta(seconds=3))
    assert step.outcome is Outcome.ACCEPTED and step.correct
    q2 = step.next
    assert q2.deadline == T0 + dt.timedelta(seconds=3 + 25)  # 20 s + the '#' bonus
    assert answer(q1, "A", T0 + dt.timedelta(seconds=4)).outcome is Outcome.DUPLICATE  # double tap
    # Nobody answers question 2: the sweeper times it out exactly once.
    [timeout] = quiz_engine.expire_due(tz=TZ, now=T0 + dt.timedelta(seconds=29))
    assert timeout.outcome is Outcome.LATE and timeout.next.number == 3
    assert quiz_engine.expire_due(tz=TZ, now=T0 + dt.timedelta(seconds=29)) == []
    # A tap on the old message: that question timed out; the current one is shown again.
    stale = answer(q2, "C", T0 + dt.timedelta(seconds=30))
    assert stale.outcome is Outcome.TIMED_OUT and stale.next.number == 3
    q3 = timeout.next
    late = answer(q3, "D", q3.deadline + dt.timedelta(seconds=1))  # correct, but too late
    assert late.outcome is Outcome.LATE
    q4 = late.next
    done = answer(q4, "B", q4.deadline - dt.timedelta(seconds=1))
    assert done.finished is not None and (done.finished.score, done.finished.total) == (1, 4)
    letters = [a.selected_answer for a in QuizAnswer.select().order_by(QuizAnswer.id)]
    assert letters == ["B", "-", "-", "B"]
    result = quiz_results.result(STUDENT, q1.attempt_id, now=T0 + dt.timedelta(minutes=5))
    assert [(line.number, line.chosen, line.is_correct) for line in result.lines] == [
        (1, "b1", True), (2, None, False), (3, None, False), (4, "b4", False),
    ]
    assert quiz_results.result(9999, q1.attempt_id) is None  # only the owner sees it


def test_exam_shuffles_options_and_scores_original_letters(quiz):
    quiz.quiz_type, quiz.max_attempts = "ranked", 1
    quiz.available_from, quiz.available_until = T0, T0 + dt.timedelta(hours=48)
    quiz.save()
    view = start(quiz, rng=random.Random(7))
    assert view.is_exam and sorted(view.options) == ["a1", "b1", "c1", "d1"]
    now = T0
    while view is not None:
        correct_text = {"B": "b", "C": "c", "D": "d", "A": "a"}[
            QuizQuestion.get_by_id(view.question_id).correct_answer
        ] + str(view.number)
        now += dt.timedelta(seconds=2)
        step = answer(view, "ABCD"[view.options.index(correct_text)], now)
        assert step.correct
        view, finished = step.next, step.finished
    assert (finished.score, finished.total, finished.is_exam) == (4, 4, True)
    assert {a.selected_answer for a in QuizAnswer.select()} <= set("ABCD")
    assert start(quiz, now=now) is Refusal.MAX_ATTEMPTS


def test_abandoned_ranked_attempt_is_finalised_and_cannot_be_restarted(quiz):
    quiz.quiz_type, quiz.max_attempts = "ranked", 1
    quiz.available_from, quiz.available_until = T0, T0 + dt.timedelta(hours=48)
    quiz.save()
    view = start(quiz)
    answer(view, "ABCD"[view.options.index("b1")], T0 + dt.timedelta(seconds=1))  # shuffled
    steps = quiz_engine.expire_due(tz=TZ, now=T0 + dt.timedelta(hours=1))  # the session is over
    assert [s.finished.reason for s in steps] == ["expired"]
    attempt = QuizAttempt.get()
    assert (attempt.score, attempt.total, attempt.finish_reason) == (1, 4, "expired")
    assert start(quiz, now=T0 + dt.timedelta(hours=2)) is Refusal.MAX_ATTEMPTS


def test_refusals(quiz):
    quiz.quiz_type, quiz.max_attempts = "ranked", 1
    quiz.available_from, quiz.available_until = T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=3)
    quiz.save()
    assert start(quiz) == (Refusal.NOT_STARTED, T0 + dt.timedelta(days=1))
    quiz.is_active = False
    quiz.save()
    assert start(quiz) is Refusal.ARCHIVED
    mentors.add_mentor(telegram_id=5, name="Bob", group_chat_id=-5)
    other = Quiz.create(mentor=2, title="Other")
    assert quiz_engine.start(STUDENT, other.id, tz=TZ) is Refusal.NOT_FOUND  # another mentor's
    empty = Quiz.create(mentor=1, title="Empty")
    assert quiz_engine.start(STUDENT, empty.id, tz=TZ) is Refusal.NO_QUESTIONS
    assert QuizAttempt.select().count() == 0


def test_lists_follow_modes(quiz):
    ranked = Quiz.create(mentor=1, title="Exam", quiz_type="ranked", max_attempts=1,
                         available_from=T0, available_until=T0 + dt.timedelta(hours=48))
    now = T0 + dt.timedelta(hours=1)
    assert [i.title for i in quiz_results.quiz_list(STUDENT, ranked=True, now=now).items] == ["Exam"]
    assert [i.title for i in quiz_results.quiz_list(STUDENT, ranked=False, now=now).items] == ["Python"]
    later = T0 + dt.timedelta(hours=49)
    assert {i.title for i in quiz_results.quiz_list(STUDENT, ranked=False, now=later).items} == {"Exam", "Python"}
    assert ranked.id


def test_two_answers_at_once_store_one(quiz, db):
    from studymate.db.connection import transaction

    view = start(quiz, now=utcnow())
    results = []

    def tap(letter):
        # The same database object gives each thread its own connection, as the bot's pool does.
        db.connect(reuse_if_open=True)
        try:
            with transaction(db):
                step = quiz_engine.answer(STUDENT, view.attempt_id, view.question_id, letter, tz=TZ)
            results.append(step.outcome)
        finally:
            db.close()

    threads = [threading.Thread(target=tap, args=(letter,)) for letter in "BA"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted([Outcome.ACCEPTED, Outcome.DUPLICATE])
    assert QuizAnswer.select().count() == 1
    assert QuizAttempt.get().current_index == 1


def test_session_limit_follows_the_quiz_length(quiz):
    view = start(quiz, base_seconds=30)
    attempt = QuizAttempt.get_by_id(view.attempt_id)
    # 4 questions of 30 s, one with the '#' bonus, plus the grace period (not v1's fixed 900 s).
    assert attempt.session_deadline == T0 + dt.timedelta(seconds=4 * 30 + 5 + quiz_engine.SESSION_GRACE_SECONDS)
    assert attempt.question_deadline == T0 + dt.timedelta(seconds=30)


def test_an_exam_that_closes_mid_attempt_still_ends_on_the_score_only(quiz):
    """The mode is the one the attempt started in; the answers show from the list later."""
    quiz.quiz_type, quiz.max_attempts = "ranked", 1
    quiz.available_from, quiz.available_until = T0, T0 + dt.timedelta(seconds=30)
    quiz.save()
    view, now = start(quiz), T0
    while view is not None:
        now += dt.timedelta(seconds=15)  # the deadline passes during question 2
        step = answer(view, "A", now)
        view, finished = step.next, step.finished
    assert finished.is_exam
    later = quiz_results.result(STUDENT, finished.attempt_id, now=now)
    assert not later.is_exam and len(later.lines) == 4  # practice mode now: full review


def test_a_question_deleted_during_an_attempt_is_skipped_and_leaves_the_total(quiz):
    from studymate.services.quiz import questions as quiz_questions

    q1 = start(quiz)
    second = QuizQuestion.get(QuizQuestion.quiz == quiz.id, QuizQuestion.order == 2)
    quiz_questions.delete_question(1, quiz.id, second.id, tz=TZ)
    step = answer(q1, "B", T0 + dt.timedelta(seconds=1))
    assert step.next.text == "Q3"  # the deleted question 2 is skipped, not the end of the quiz
    step = answer(step.next, "D", T0 + dt.timedelta(seconds=2))
    done = answer(step.next, "A", T0 + dt.timedelta(seconds=3))
    assert (done.finished.score, done.finished.total) == (3, 3)
    assert QuizAnswer.select().count() == 3


def test_an_answer_after_the_session_ended_finalises_the_attempt(quiz):
    view = start(quiz)
    attempt = QuizAttempt.get_by_id(view.attempt_id)
    late = answer(view, "B", attempt.session_deadline + dt.timedelta(seconds=1))
    assert late.outcome is Outcome.LATE and late.finished.reason == "expired"
    assert QuizAnswer.select().count() == 0 and QuizAttempt.get().finished_at is not None


def test_a_tap_by_someone_else_or_after_the_mentor_left_is_not_theirs(quiz):
    view = start(quiz)
    mine = quiz_engine.answer(STUDENT, view.attempt_id, view.question_id, "B", tz=TZ, now=T0)
    assert mine.outcome is Outcome.ACCEPTED and mine.language == "ru"
    enrollment.enroll(TelegramProfile(2002, None, "Bek", ""), mentor_id=1, language="ru")
    other = quiz_engine.answer(2002, view.attempt_id, mine.next.question_id, "C", tz=TZ, now=T0)
    assert other.outcome is Outcome.NOT_YOURS
    mentors.deactivate_mentor(1001)
    gone = quiz_engine.answer(STUDENT, view.attempt_id, mine.next.question_id, "C", tz=TZ, now=T0)
    assert gone.outcome is Outcome.NOT_YOURS and QuizAnswer.select().count() == 1


def test_an_attempt_past_its_session_deadline_no_longer_holds_the_student(quiz):
    """Until the sweeper finalises it, the student's other actions are served."""
    view = start(quiz, now=utcnow())
    assert enrollment.identify(STUDENT, ttl=300).quiz_attempt == view.attempt_id
    QuizAttempt.update(session_deadline=utcnow() - dt.timedelta(seconds=1)).execute()
    identity = enrollment.identify(STUDENT, ttl=300)
    assert identity.quiz_attempt is None and identity.role.value == "student"
