"""Changing the correct answer of a question that students have answered: a decision, not a
side effect.

``preview`` says what would change (each finished result whose score moves, and whether the
leaderboards are re-scored) without changing anything; the bot shows it and asks. ``apply``
then stores the new letter only if the key is still the one the mentor saw, regrades and
rescores (``questions.set_correct``), keeps a ``QuizKeyChange`` record (who, when, old and new
letter) for the quiz screen, and queues one message per affected student with their new score
in the outbox, all in the caller's transaction. Cancelled attempts are regraded like the others
but, counting nowhere, are neither listed nor reported; an attempt still running shows its
score when it ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

from peewee import JOIN

from studymate.db.models import (
    Mentor,
    QuizAnswer,
    QuizAttempt,
    QuizKeyChange,
    QuizQuestion,
    Student,
    utcnow,
)
from studymate.services import ratings
from studymate.services.outbox import Outgoing, enqueue
from studymate.services.quiz import questions
from studymate.services.quiz.authoring import own_quiz
from studymate.services.quiz.grading import counts

RECENT: Final = 5  # key changes listed on the quiz screen


class KeyChanged(Exception):
    """The correct answer is no longer the one the mentor saw in the preview."""


@dataclass(frozen=True, slots=True)
class ScoreChange:
    attempt_id: int
    student_id: int
    chat_id: int  # the student's Telegram id
    language: str
    name: str  # display name, unescaped
    before: int
    after: int
    total: int


@dataclass(frozen=True, slots=True)
class KeyChangePreview:
    quiz_id: int
    title: str
    question_id: int
    number: int  # the question's position in the quiz
    old: str
    new: str
    results: int  # finished (not cancelled) results that answered the question
    changes: tuple[ScoreChange, ...]  # those whose score changes, by name
    boards: bool  # a ranked result inside the window changes: leaderboards are re-scored

    @property
    def asks(self) -> bool:
        """The mentor must confirm: a new letter on a question with results."""
        return self.old != self.new and self.results > 0


@dataclass(frozen=True, slots=True)
class Applied:
    preview: KeyChangePreview
    notified: int  # students told their new score


@dataclass(frozen=True, slots=True)
class KeyChangeInfo:
    changed_at: dt.datetime
    number: int
    old: str
    new: str
    who: str  # the mentor's name
    rescored: int


def preview(mentor_id: int, quiz_id: int, question_id: int, value: str) -> KeyChangePreview:
    """What setting the correct answer to ``value`` would change; raises InvalidQuestion for
    a value that is not a letter, NotFound for another mentor's question."""
    letter = questions.clean_letter(value)
    question = questions.get_question(mentor_id, quiz_id, question_id)
    quiz = own_quiz(mentor_id, quiz_id)
    rows = (
        QuizAnswer.select(QuizAnswer.selected_answer, QuizAnswer.is_correct, QuizAttempt, Student)
        .join(QuizAttempt)
        .join(Student)
        .where((QuizAnswer.question == question_id) & counts())
    )
    results, changes, boards = 0, [], False
    for row in rows:
        attempt, student = row.attempt, row.attempt.student
        results += 1
        after = attempt.score - int(row.is_correct) + int(row.selected_answer == letter)
        if after == attempt.score or letter == question.correct:
            continue
        name = ratings.display_name(
            student.full_name, student.username, student.first_name, student.last_name,
            student.telegram_id,
        )
        changes.append(ScoreChange(attempt.id, student.id, student.telegram_id, student.language,
                                   name, attempt.score, after, attempt.total))
        in_window = quiz.available_until is not None and attempt.started_at < quiz.available_until
        boards = boards or (quiz.quiz_type == "ranked" and in_window)
    changes.sort(key=lambda c: (c.name.casefold(), c.attempt_id))
    return KeyChangePreview(quiz.id, quiz.title, question_id, question.number, question.correct,
                            letter, results, tuple(changes), boards)


Notify = Callable[[KeyChangePreview, list[ScoreChange]], Outgoing]


def apply(
    mentor_id: int,
    quiz_id: int,
    question_id: int,
    value: str,
    *,
    expected_old: str,
    tz: ZoneInfo,
    notify: Notify | None = None,
    now: dt.datetime | None = None,
) -> Applied:
    """Set the correct answer the mentor confirmed (call inside one transaction). Raises
    KeyChanged when the key is no longer ``expected_old``."""
    seen = preview(mentor_id, quiz_id, question_id, value)
    if seen.old != expected_old:
        raise KeyChanged(question_id)
    if seen.old == seen.new:
        return Applied(seen, 0)
    questions.set_correct(QuizQuestion.get_by_id(question_id), seen.new, tz=tz)
    if not seen.results:
        return Applied(seen, 0)
    record = QuizKeyChange.create(
        quiz=quiz_id, question=question_id, question_number=seen.number, mentor=mentor_id,
        old_answer=seen.old, new_answer=seen.new, rescored=len(seen.changes),
        changed_at=now or utcnow(),
    )
    if notify is None or not seen.changes:
        return Applied(seen, 0)
    by_student: dict[int, list[ScoreChange]] = {}
    for change in seen.changes:
        by_student.setdefault(change.student_id, []).append(change)
    messages = [notify(seen, changes) for changes in by_student.values()]
    enqueue(messages, kind="quiz_key_change", mentor_id=mentor_id,
            dedupe_prefix=f"quiz-key:{record.id}")
    return Applied(seen, len(messages))


def recent(mentor_id: int, quiz_id: int, limit: int = RECENT) -> list[KeyChangeInfo]:
    """The quiz's latest key changes, newest first."""
    own_quiz(mentor_id, quiz_id)
    query = (
        QuizKeyChange.select(QuizKeyChange, Mentor.name)
        .join(Mentor, JOIN.LEFT_OUTER, on=(QuizKeyChange.mentor == Mentor.id), attr="by")
        .where(QuizKeyChange.quiz == quiz_id)
        .order_by(QuizKeyChange.changed_at.desc(), QuizKeyChange.id.desc())
        .limit(limit)
    )
    return [
        KeyChangeInfo(row.changed_at, row.question_number, row.old_answer, row.new_answer,
                      getattr(row.by, "name", None) or "", row.rescored)
        for row in query
    ]

