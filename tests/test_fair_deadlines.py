"""A tap or a typed answer is judged at the moment it reached the bot, not when a busy bot got
round to it."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from studymate.db.models import InboxUpdate, Quiz, QuizAnswer, QuizAttempt, QuizQuestion
from studymate.services import enrollment, inbox, mentors
from studymate.services.enrollment import TelegramProfile
from studymate.services.quiz import authoring
from studymate.services.quiz import engine as quiz_engine
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.engine import Outcome
from studymate.services.quiz.format import parse_quiz

TZ = ZoneInfo("Asia/Tashkent")
STUDENT = 2001
T0 = dt.datetime(2026, 3, 10, 9, 0, 0)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def quiz(db) -> Quiz:
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-1, language="ru")
    enrollment.enroll(TelegramProfile(STUDENT, None, "Ali", ""), mentor_id=1, language="ru")
    quiz = Quiz.create(mentor=1, title="Python", quiz_type="practice")
    for n, correct in enumerate("BCD", start=1):
        QuizQuestion.create(
            quiz=quiz, question_text=f"Q{n}", option_a=f"a{n}", option_b=f"b{n}", option_c=f"c{n}",
            option_d=f"d{n}", correct_answer=correct, order=n,
        )
    return quiz


def answer(view, letter, *, now, received_at):
    return quiz_engine.answer(STUDENT, view.attempt_id, view.question_id, letter, tz=TZ,
                              now=now, received_at=received_at)


def test_a_tap_received_before_the_deadline_counts_when_handled_after_it(quiz):
    q1 = quiz_engine.start(STUDENT, quiz.id, tz=TZ, now=T0)
    handled = q1.deadline + 3 * SECOND  # the bot was busy (or restarting) for a while
    step = answer(q1, "B", now=handled, received_at=q1.deadline - SECOND)
    assert step.outcome is Outcome.ACCEPTED and step.correct
    # The next question's time starts when the student can see it, not at the tap.
    assert step.next.deadline == handled + dt.timedelta(seconds=quiz_engine.QUESTION_SECONDS)
    stored = QuizAnswer.get()
    assert (stored.selected_answer, stored.is_correct, stored.answered_at) == (
        "B", True, q1.deadline - SECOND)

    # Received after the deadline: late, whenever it is handled.
    q2 = step.next
    late = answer(q2, "C", now=q2.deadline + 2 * SECOND, received_at=q2.deadline + SECOND)
    assert late.outcome is Outcome.LATE and late.next.number == 3


def test_a_receive_time_in_the_future_or_implausibly_old_is_not_believed(quiz):
    q1 = quiz_engine.start(STUDENT, quiz.id, tz=TZ, now=T0)
    after = q1.deadline + SECOND
    future = answer(q1, "B", now=after, received_at=after + dt.timedelta(minutes=1))
    assert future.outcome is Outcome.LATE  # judged now, which is past the deadline
    q2 = future.next
    ancient = answer(q2, "C", now=q2.deadline + SECOND, received_at=q2.deadline - dt.timedelta(hours=1))
    assert ancient.outcome is Outcome.LATE
    assert [a.selected_answer for a in QuizAnswer.select().order_by(QuizAnswer.id)] == ["-", "-"]


def test_the_session_limit_is_judged_at_the_receive_time_too(quiz):
    q1 = quiz_engine.start(STUDENT, quiz.id, tz=TZ, now=T0)
    attempt = QuizAttempt.get_by_id(q1.attempt_id)
    QuizAttempt.update(question_deadline=attempt.session_deadline).execute()
    step = answer(q1, "B", now=attempt.session_deadline + 5 * SECOND,
                  received_at=attempt.session_deadline - SECOND)
    assert step.outcome is Outcome.ACCEPTED and step.correct


def test_the_sweeper_leaves_a_question_whose_tap_waits_to_be_handled(quiz):
    q1 = quiz_engine.start(STUDENT, quiz.id, tz=TZ, now=T0)
    tap = {"update_id": 77, "callback_query": {"id": "1", "from": {"id": STUDENT}}}
    inbox.store([inbox.Incoming(77, STUDENT, "callback_query", json.dumps(tap))],
                received_at=q1.deadline - SECOND)
    overdue = q1.deadline + 2 * SECOND
    assert quiz_engine.expire_due(tz=TZ, now=overdue) == []  # the tap is still waiting
    step = answer(q1, "B", now=overdue, received_at=q1.deadline - SECOND)
    inbox.mark_handled([77], now=overdue)
    assert step.outcome is Outcome.ACCEPTED and step.correct

    # A waiting tap received after the deadline holds nothing back; nor does a handled one.
    q2 = step.next
    inbox.store([inbox.Incoming(78, STUDENT, "callback_query", "{}")],
                received_at=q2.deadline + SECOND)
    [timeout] = quiz_engine.expire_due(tz=TZ, now=q2.deadline + 2 * SECOND)
    assert timeout.outcome is Outcome.LATE and timeout.next.number == 3
    assert InboxUpdate.select().where(InboxUpdate.handled_at.is_null()).count() == 1


TYPED_FILE = """Seconds: 20

1. 6 * 7 = ?
Answer: 42

2. 7 / 2 = ?
Answer: 3.5
"""


@pytest.fixture
def typed_quiz(db) -> Quiz:
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-1, language="ru")
    enrollment.enroll(TelegramProfile(STUDENT, None, "Ali", ""), mentor_id=1, language="ru")
    published = authoring.publish(1, parse_quiz(TYPED_FILE, file_name="t.txt"), mode=SaveMode.NEW,
                                  ranked=False, now=T0)
    return Quiz.get_by_id(published.quiz.id)


def typed(text, *, now, received_at, sent_at):
    return quiz_engine.answer_text(STUDENT, text, sent_at=sent_at, tz=TZ, now=now,
                                   received_at=received_at)


def test_a_typed_answer_received_before_the_deadline_counts_when_handled_after_it(typed_quiz):
    q1 = quiz_engine.start(STUDENT, typed_quiz.id, tz=TZ, now=T0)
    received = q1.deadline - SECOND
    step = typed("42", now=q1.deadline + 3 * SECOND, received_at=received, sent_at=received)
    assert step.outcome is Outcome.ACCEPTED and step.correct
    stored = QuizAnswer.get()
    assert (stored.typed_text, stored.is_correct, stored.answered_at) == ("42", True, received)

    q2 = step.next
    late = typed("3.5", now=q2.deadline + 2 * SECOND, received_at=q2.deadline + SECOND,
                 sent_at=q2.deadline + SECOND)
    assert late.outcome is Outcome.LATE


def test_the_sweeper_waits_for_a_typed_answer_too(typed_quiz):
    q1 = quiz_engine.start(STUDENT, typed_quiz.id, tz=TZ, now=T0)
    message = {"update_id": 90, "message": {"message_id": 5, "from": {"id": STUDENT}, "text": "42"}}
    inbox.store([inbox.Incoming(90, STUDENT, "message", json.dumps(message))],
                received_at=q1.deadline - SECOND)
    assert quiz_engine.expire_due(tz=TZ, now=q1.deadline + 2 * SECOND) == []
