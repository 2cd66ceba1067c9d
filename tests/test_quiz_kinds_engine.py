"""The engine with each question kind: right and wrong, once, refused late, toggles durable."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from studymate.db.models import Quiz, QuizAnswer, QuizAttempt, QuizQuestion
from studymate.services import enrollment, mentors
from studymate.services.enrollment import TelegramProfile
from studymate.services.quiz import authoring
from studymate.services.quiz import engine as quiz_engine
from studymate.services.quiz import results as quiz_results
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.engine import SUBMIT, Outcome
from studymate.services.quiz.format import parse_quiz
from studymate.services.quiz.kinds import typed_matches

TZ = ZoneInfo("Asia/Tashkent")
STUDENT = 2001
T0 = dt.datetime(2026, 3, 10, 9, 0, 0)
S = dt.timedelta(seconds=1)

FILE = """Topic: Kinds
Seconds: 30

1. Pick b
A) a
B*) b
C) c
Explanation: b it is

2. The sky is blue.
A*) True
B) False

3. Select all even
A*) 2
B) 3
C*) 4
D) 5
E*) 6

4. 7 / 2 = ?
Answer: 3.5 | three and a half
Explanation: true division
"""


@pytest.fixture
def quiz(db) -> Quiz:
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-1, language="en")
    enrollment.enroll(TelegramProfile(STUDENT, None, "Ali", ""), mentor_id=1, language="en")
    published = authoring.publish(1, parse_quiz(FILE, file_name="k.txt"), mode=SaveMode.NEW, ranked=False, now=T0)
    return Quiz.get_by_id(published.quiz.id)


def tap(view, letter, now):
    return quiz_engine.answer(STUDENT, view.attempt_id, view.question_id, letter, tz=TZ, now=now)


def typed(text, now, sent_at=None):
    return quiz_engine.answer_text(STUDENT, text, sent_at=sent_at, tz=TZ, now=now)


def test_stored_kinds_and_settings(quiz):
    assert quiz.question_seconds == 30
    kinds = [(q.kind, q.correct_answer, q.correct_set) for q in quiz.questions.order_by(QuizQuestion.order)]
    assert kinds == [("single", "B", None), ("truefalse", "A", None), ("multi", "A", "ACE"), ("typed", "", None)]


def _through_to(quiz, index, now=T0):
    """Start and answer wrongly until question ``index`` (0-based) is current."""
    view = quiz_engine.start(STUDENT, quiz.id, tz=TZ, now=now, chat_id=STUDENT, message_id=7)
    for _ in range(index):
        step = tap(view, "C" if view.kind != "truefalse" else "B", now)
        if view.kind == "multi":
            step = tap(view, SUBMIT, now)
        view = step.next
    return view


def test_all_right_scores_everything_and_review_explains(quiz):
    now = T0
    q1 = quiz_engine.start(STUDENT, quiz.id, tz=TZ, now=now)
    assert q1.deadline == now + 30 * S and q1.options == ("a", "b", "c") and q1.kind == "single"
    q2 = tap(q1, "B", now).next
    assert (q2.kind, q2.options) == ("truefalse", ("True", "False"))
    q3 = tap(q2, "A", now).next
    assert q3.kind == "multi" and len(q3.options) == 5
    for letter in "ACE":
        toggled = tap(q3, letter, now)
        assert toggled.outcome is Outcome.TOGGLED
    assert toggled.marks.selected == "ACE"
    q4 = tap(q3, SUBMIT, now).next
    assert q4.kind == "typed" and q4.options == ()
    done = typed("  3,50 ", now)
    assert done.outcome is Outcome.ACCEPTED and done.correct
    assert (done.finished.score, done.finished.total) == (4, 4)
    result = quiz_results.result(STUDENT, q1.attempt_id, now=now)
    assert [(line.chosen, line.correct_option, line.explanation) for line in result.lines] == [
        ("b", "b", "b it is"), ("True", "True", None), ("2; 4; 6", "2; 4; 6", None),
        ("3,50", "3.5 | three and a half", "true division"),
    ]


def test_all_wrong_scores_nothing(quiz):
    now = T0
    q1 = quiz_engine.start(STUDENT, quiz.id, tz=TZ, now=now)
    q2 = tap(q1, "A", now).next
    q3 = tap(q2, "B", now).next
    tap(q3, "A", now), tap(q3, "C", now)  # two of the three right ones: all or nothing
    q4 = tap(q3, SUBMIT, now).next
    done = typed("4", now)
    assert done.outcome is Outcome.ACCEPTED and not done.correct
    assert done.finished.score == 0
    sets = [(a.selected_answer, a.selected_set, a.typed_text, a.is_correct) for a in QuizAnswer.select().order_by(QuizAnswer.id)]
    assert sets == [("A", None, None, False), ("B", None, None, False), ("", "AC", None, False), ("", None, "4", False)]
    assert q4.question_id


def test_submit_and_typed_answer_count_once(quiz):
    q3 = _through_to(quiz, 2)
    tap(q3, "A", T0)
    first = tap(q3, SUBMIT, T0)
    assert first.outcome is Outcome.ACCEPTED
    assert tap(q3, SUBMIT, T0).outcome is Outcome.DUPLICATE
    assert tap(q3, "C", T0).outcome is Outcome.DUPLICATE  # a toggle on the old message
    q4 = first.next
    shown_at = q4.deadline - 30 * S
    assert typed("3.5", shown_at + S, sent_at=shown_at + S).outcome is Outcome.ACCEPTED
    # The same message again (a redelivery), or one sent before the question showed: nothing.
    again = typed("3.5", shown_at + 2 * S, sent_at=shown_at - 2 * S)
    assert again.outcome in (Outcome.DUPLICATE, Outcome.NOT_YOURS)
    assert QuizAnswer.select().count() == 4


def test_a_typed_question_with_extra_seconds_takes_answers_from_when_it_showed(db):
    """A question with a time bonus showed earlier than its deadline minus the usual seconds:
    an answer sent in those extra seconds counts, one sent before the question showed not."""
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-1, language="en")
    enrollment.enroll(TelegramProfile(STUDENT, None, "Ali", ""), mentor_id=1, language="en")
    text = "Seconds: 30\n\n1. Pick b\nA) a\nB*) b\n\n2##. 6 * 7 = ?\nAnswer: 42\n"
    published = authoring.publish(1, parse_quiz(text, file_name="b.txt"), mode=SaveMode.NEW, ranked=False, now=T0)
    q1 = quiz_engine.start(STUDENT, published.quiz.id, tz=TZ, now=T0)
    shown_at = T0 + 5 * S
    q2 = tap(q1, "B", shown_at).next
    assert q2.deadline == shown_at + 40 * S
    early = typed("42", shown_at + 2 * S, sent_at=shown_at - 2 * S)  # left before it showed
    assert early.outcome is Outcome.DUPLICATE
    done = typed("42", shown_at + 3 * S, sent_at=shown_at + 2 * S)  # within the extra 10 s
    assert done.outcome is Outcome.ACCEPTED and done.finished.score == 2


def test_text_on_a_question_with_buttons_is_not_an_answer(quiz):
    _through_to(quiz, 0)
    assert typed("b", T0).outcome is Outcome.NOT_TYPED
    assert QuizAnswer.select().count() == 0


def test_toggles_survive_a_restart_and_keep_the_deadline(quiz):
    q3 = _through_to(quiz, 2)
    tap(q3, "A", T0 + S)
    tap(q3, "E", T0 + 2 * S)
    tap(q3, "B", T0 + 3 * S)
    tap(q3, "B", T0 + 4 * S)  # unmarked again
    # "Restart": nothing in memory; the engine reads the attempt again.
    attempt = QuizAttempt.get_by_id(q3.attempt_id)
    assert (attempt.selection, attempt.question_deadline) == ("AE", q3.deadline)
    [view] = quiz_engine.countdown_candidates(now=T0 + 5 * S)
    assert view.selected == "AE" and view.deadline == q3.deadline
    tap(q3, "C", T0 + 6 * S)
    done = tap(q3, SUBMIT, T0 + 7 * S)
    assert done.correct and QuizAnswer.get(QuizAnswer.selected_set.is_null(False)).selected_set == "ACE"


def test_late_toggle_submit_and_typed_answer_are_refused(quiz):
    q3 = _through_to(quiz, 2)
    tap(q3, "A", T0)
    late = tap(q3, "C", q3.deadline + S)
    assert late.outcome is Outcome.LATE
    answer = QuizAnswer.select().order_by(QuizAnswer.id.desc()).first()
    assert (answer.selected_answer, answer.selected_set, answer.is_correct) == ("-", None, False)
    q4 = late.next
    refused = typed("3.5", q4.deadline + S)
    assert refused.outcome is Outcome.LATE and refused.finished.score == 0
    assert QuizAnswer.select().order_by(QuizAnswer.id.desc()).first().typed_text is None


def test_sweeper_times_out_a_typed_question(quiz):
    q4 = _through_to(quiz, 3)
    [step] = quiz_engine.expire_due(tz=TZ, now=q4.deadline + S)
    assert step.outcome is Outcome.LATE and step.finished.score == 0
    assert typed("3.5", q4.deadline + 2 * S).outcome is Outcome.NOT_YOURS  # nothing live any more


def test_shuffle_settings(db):
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-1, language="en")
    enrollment.enroll(TelegramProfile(STUDENT, None, "Ali", ""), mentor_id=1, language="en")
    text = "Shuffle: questions, options\n" + "".join(
        f"{n}. Q{n}\nA*) a{n}\nB) b{n}\nC) c{n}\nD) d{n}\nE) e{n}\n" for n in range(1, 9)
    )
    published = authoring.publish(1, parse_quiz(text, file_name="s.txt"), mode=SaveMode.NEW, ranked=False, now=T0)
    view = quiz_engine.start(STUDENT, published.quiz.id, tz=TZ, now=T0, rng=random.Random(3))
    attempt = QuizAttempt.get_by_id(view.attempt_id)
    ids = [q.id for q in QuizQuestion.select().order_by(QuizQuestion.order)]
    assert sorted(attempt.question_ids[1:-1].split(", "), key=int) == [str(i) for i in ids]
    assert attempt.question_ids != str(ids)  # practice, yet shuffled as the file asks
    original = view.options.index(view.options[0])
    right = "ABCDE"[[o[0] for o in view.options].index("a")]
    assert original == 0 and tap(view, right, T0).correct


@pytest.mark.parametrize(("given", "accepted", "ok"), [
    ("3,5", ["3.5"], True), ("3.50", ["3.5"], True), (" 3.5 ", ["3,5"], True), ("35", ["3.5"], False),
    ("Paris", ["париж", "paris"], True), ("  new   york ", ["New York"], True),
    ("Аpple", ["apple"], True),  # a Cyrillic А typed in a Latin word
    ("cоре", ["cope"], True), ("", ["x"], False), ("1e3", ["1000"], False),
])
def test_typed_comparison(given, accepted, ok):
    assert typed_matches(given, accepted) is ok
