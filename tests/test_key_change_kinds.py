"""Changing the correct answer of every question kind after a class has answered: the preview
names exactly the results whose score moves, the confirmation regrades the stored answers
(select-all sets, typed texts) by the engine's rule, rescores attempts and ratings, records
the change and tells the students. Options of any kind are edited in place."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from studymate.bot.features.quiz.authoring_views import quiz_screen
from studymate.db.models import (
    OutboxMessage,
    Quiz,
    QuizAnswer,
    QuizAttempt,
    QuizKeyChange,
    QuizQuestion,
    SeasonRating,
    Student,
)
from studymate.services import enrollment, mentors
from studymate.services.enrollment import TelegramProfile
from studymate.services.errors import NotFound
from studymate.services.outbox import Outgoing
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz import engine as quiz_engine
from studymate.services.quiz import key_change
from studymate.services.quiz import questions as quiz_questions
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.engine import SUBMIT
from studymate.services.quiz.format import parse_quiz
from studymate.services.quiz.questions import Field, InvalidQuestion

TZ = ZoneInfo("Asia/Tashkent")
T0 = dt.datetime(2026, 3, 10, 9, 0, 0)

FILE = """Topic: Exam
Shuffle: no

1. Pick b
A) a
B*) b
C) c

2. The sky is blue.
A*) True
B) False

3. Select all even
A*) 2
B) 3
C*) 4
D) 5
E*) 6

4. Capital of Karakalpakstan?
Answer: Nukus | Нукус
"""

# The generated class: name → (q1 letter, q2 letter, q3 set, q4 typed text).
CLASS = {
    "Aziz": ("B", "A", "ACE", "Nukus"),
    "Bahor": ("A", "B", "AC", "nókis"),
    "Dilnoza": ("C", "A", "ACE", "НУКУС"),
    "Farrukh": ("B", "B", "E", "Nökis"),
    "Gulnora": ("A", "A", "BD", "  nukus  "),
    "Jasur": ("C", "B", "AC", "Moscow"),
}
# Typed answers each key accepts, written out by hand (not by the engine's comparison).
TYPED_BEFORE = {"Aziz": True, "Bahor": False, "Dilnoza": True, "Farrukh": False, "Gulnora": True,
                "Jasur": False}
TYPED_AFTER = {**TYPED_BEFORE, "Farrukh": True}  # "Nukus | Нукус | Nökis"


def right(key: dict[int, object], name: str) -> int:
    """The score of ``name`` under ``key`` (question number → the letter, set or typed table)."""
    return sum(answered_right(key, name, order) for order in (1, 2, 3, 4))


def answered_right(key: dict[int, object], name: str, order: int) -> bool:
    if order == 4:
        return key[4][name]  # type: ignore[index]
    return "".join(sorted(CLASS[name][order - 1])) == key[order]


BEFORE = {1: "B", 2: "A", 3: "ACE", 4: TYPED_BEFORE}


@pytest.fixture
def exam(db) -> Quiz:
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-1, language="en")
    mentors.add_mentor(telegram_id=1002, name="Olga", group_chat_id=-2, language="en")
    published = quizzes.publish(1, parse_quiz(FILE, file_name="e.txt"), mode=SaveMode.NEW, ranked=True,
                                now=T0)
    quiz = Quiz.get_by_id(published.quiz.id)
    for n, (name, (single, truth, chosen, typed)) in enumerate(CLASS.items()):
        telegram_id = 3000 + n
        enrollment.enroll(TelegramProfile(telegram_id, None, name, ""), mentor_id=1, language="en")
        Student.update(full_name=name).where(Student.telegram_id == telegram_id).execute()
        now = T0 + dt.timedelta(minutes=n)
        view = quiz_engine.start(telegram_id, quiz.id, tz=TZ, now=now)
        for letter in (single, truth):
            view = quiz_engine.answer(telegram_id, view.attempt_id, view.question_id, letter, tz=TZ,
                                      now=now).next
        for letter in chosen:
            quiz_engine.answer(telegram_id, view.attempt_id, view.question_id, letter, tz=TZ, now=now)
        quiz_engine.answer(telegram_id, view.attempt_id, view.question_id, SUBMIT, tz=TZ, now=now)
        done = quiz_engine.answer_text(telegram_id, typed, tz=TZ, now=now)
        assert done.finished is not None
    assert scores() == {name: right(BEFORE, name) for name in CLASS}
    return quiz


def scores() -> dict[str, int]:
    return {a.student.full_name: a.score for a in QuizAttempt.select().join(Student)}


def question(quiz: Quiz, order: int) -> QuizQuestion:
    return QuizQuestion.get((QuizQuestion.quiz == quiz.id) & (QuizQuestion.order == order))


def told(seen, changes) -> Outgoing:
    text = ",".join(f"{c.before}->{c.after}" for c in changes)
    return Outgoing(changes[0].chat_id, "sendMessage", {"text": f"{seen.number}:{text}"})


@pytest.mark.parametrize(("order", "typed", "old", "new", "after"), [
    (1, "c", "B", "C", {**BEFORE, 1: "C"}),
    (2, "b", "A", "B", {**BEFORE, 2: "B"}),
    (3, "c a", "ACE", "AC", {**BEFORE, 3: "AC"}),
    (4, " Nukus |Нукус | Nökis ", "Nukus | Нукус", "Nukus | Нукус | Nökis", {**BEFORE, 4: TYPED_AFTER}),
])
def test_each_kind_is_previewed_regraded_rescored_recorded_and_told(exam, order, typed, old, new, after):
    row = question(exam, order)
    seen = key_change.preview(1, exam.id, row.id, typed)
    moved = sorted((name, right(BEFORE, name), right(after, name)) for name in CLASS
                   if right(BEFORE, name) != right(after, name))
    assert moved, "the change must move somebody's score"
    assert (seen.old, seen.new, seen.results, seen.asks, seen.boards) == (old, new, len(CLASS), True, True)
    assert [(c.name, c.before, c.after) for c in seen.changes] == moved
    assert scores() == {name: right(BEFORE, name) for name in CLASS}  # nothing changed yet

    applied = key_change.apply(1, exam.id, row.id, typed, expected_old=key_change.token(old), tz=TZ,
                               notify=told, now=T0 + dt.timedelta(days=1))
    assert applied.notified == len(moved)
    assert scores() == {name: right(after, name) for name in CLASS}
    ratings = {r.student.full_name: r.total_score for r in SeasonRating.select().join(Student)}
    assert ratings == scores()
    stored = {a.attempt.student.full_name: a.is_correct
              for a in QuizAnswer.select().join(QuizAttempt).join(Student).where(QuizAnswer.question == row.id)}
    assert stored == {name: answered_right(after, name, order) for name in CLASS}
    messages = sorted(json.loads(m.payload)["text"] for m in OutboxMessage.select())
    assert messages == sorted(f"{order}:{before}->{now}" for _, before, now in moved)
    [record] = key_change.recent(1, exam.id)
    assert (record.number, record.old, record.new, record.who, record.rescored) == (
        order, old, new, "Anna", len(moved))
    assert f"{old} → {new}" in quiz_screen(quizzes.quiz_stats(1, exam.id), TZ, [record])
    # The same confirmation again finds the key changed and saves nothing more.
    with pytest.raises(key_change.KeyChanged):
        key_change.apply(1, exam.id, row.id, typed, expected_old=key_change.token(old), tz=TZ, notify=told)
    assert QuizKeyChange.select().count() == 1 and OutboxMessage.select().count() == len(moved)


def test_setting_the_same_key_again_asks_nothing(exam):
    assert not key_change.preview(1, exam.id, question(exam, 3).id, "eca").asks
    assert not key_change.preview(1, exam.id, question(exam, 4).id, "Nukus|Нукус").asks


def test_a_key_outside_the_kind_is_refused_with_its_letters(exam):
    def code(order: int, value: str) -> tuple[str, dict]:
        with pytest.raises(InvalidQuestion) as error:
            key_change.preview(1, exam.id, question(exam, order).id, value)
        return error.value.code, error.value.params

    assert code(1, "D") == ("letter", {"letters": "A, B, C"})
    assert code(1, "AB") == ("letter", {"letters": "A, B, C"})
    assert code(2, "C") == ("letter", {"letters": "A, B"})
    assert code(3, "") == ("letters", {"letters": "A, B, C, D, E"})
    assert code(3, "A F") == ("letters", {"letters": "A, B, C, D, E"})
    assert code(4, "Nukus |") == ("answers", {})
    assert code(4, "x" * 201) == ("too_long", {"limit": 200})
    assert key_change.preview(1, exam.id, question(exam, 3).id, "С, а").new == "AC"  # Cyrillic look-alikes


def test_another_mentor_can_neither_preview_nor_edit(exam):
    row = question(exam, 3)
    with pytest.raises(NotFound):
        key_change.preview(2, exam.id, row.id, "A")
    with pytest.raises(NotFound):
        quiz_questions.update_question(2, exam.id, row.id, Field.E, "8", tz=TZ)


def test_options_of_every_kind_are_edited_in_place_and_change_no_score(exam):
    multi, truth = question(exam, 3), question(exam, 2)
    info = quiz_questions.update_question(1, exam.id, multi.id, Field.E, " 8 ", tz=TZ)
    assert info.choices == ("2", "3", "4", "5", "8") and info.key == "ACE"
    assert json.loads(QuizQuestion.get_by_id(multi.id).options_json)[4] == "8"
    info = quiz_questions.update_question(1, exam.id, multi.id, Field.B, "7", tz=TZ)
    assert info.choices[1] == "7" and QuizQuestion.get_by_id(multi.id).option_b == "7"
    with pytest.raises(InvalidQuestion) as error:
        quiz_questions.update_question(1, exam.id, multi.id, Field.D, "8", tz=TZ)
    assert (error.value.code, error.value.params) == ("duplicate", {"other": "E"})
    with pytest.raises(InvalidQuestion) as error:
        quiz_questions.update_question(1, exam.id, truth.id, Field.C, "Maybe", tz=TZ)
    assert error.value.code == "kind"
    info = quiz_questions.update_question(1, exam.id, truth.id, Field.B, "Not true", tz=TZ)
    assert info.choices == ("True", "Not true")
    with pytest.raises(InvalidQuestion):
        quiz_questions.update_question(1, exam.id, question(exam, 4).id, Field.A, "x", tz=TZ)
    assert scores() == {name: right(BEFORE, name) for name in CLASS}


def test_the_direct_path_regrades_a_typed_question_too(exam):
    """update_question (used when nothing needs confirming) keeps the same rule."""
    row = question(exam, 4)
    info = quiz_questions.update_question(1, exam.id, row.id, Field.CORRECT, "Nökis|Nukus|Нукус", tz=TZ)
    assert info.accepted == ("Nökis", "Nukus", "Нукус")
    assert scores() == {name: right({**BEFORE, 4: TYPED_AFTER}, name) for name in CLASS}
