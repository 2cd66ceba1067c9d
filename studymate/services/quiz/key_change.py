"""Changing the correct answer of a question that students have answered: a decision, not a
side effect.

A key is what the mentor types for the question's kind (``questions.clean_key``): a letter,
a select-all set ("AC") or the accepted typed answers ("Nukus | Нукус"). ``preview`` says
what would change (each finished result whose score moves, and whether the leaderboards are
re-scored) without changing anything; each stored answer is graded under the new key by the
engine's rule (``questions.grade_stored``). The bot shows it and asks. ``apply`` then stores
the new key only if the key is still the one the mentor saw (``token``), regrades and
rescores (``questions.set_key``), keeps a ``QuizKeyChange`` record (who, when, old and new
key) for the quiz screen, and queues one message per affected student with their new score
in the outbox, all in the caller's transaction. Cancelled attempts are regraded like the others
but, counting nowhere, are neither listed nor reported; an attempt still running shows its
score when it ends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
_SHORT: Final = 8  # a key of up to eight Latin letters is its own token


def token(key: str) -> str:
    """A short stand-in for a key that fits in a button's data: the letters themselves, or
    '#' and a digest of typed answers (the bot keeps the answers while it asks)."""
    if key.isascii() and key.isalpha() and len(key) <= _SHORT:
        return key
    return "#" + hashlib.sha256(key.encode()).hexdigest()[:12]


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
        """The mentor must confirm: a new key on a question with results."""
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
    a value that is no key of the question's kind, NotFound for another mentor's question."""
    question = questions.get_question(mentor_id, quiz_id, question_id)
    row = QuizQuestion.get_by_id(question_id)
    new = questions.clean_key(row, value)
    regraded = questions.with_key(row, new)  # in memory: nothing is saved here
    quiz = own_quiz(mentor_id, quiz_id)
    rows = (
        QuizAnswer.select(QuizAnswer.selected_answer, QuizAnswer.selected_set,
                          QuizAnswer.typed_text, QuizAnswer.is_correct, QuizAttempt, Student)
        .join(QuizAttempt)
        .join(Student)
        .where((QuizAnswer.question == question_id) & counts())
    )
    results, changes, boards = 0, [], False
    for answer in rows:
        attempt, student = answer.attempt, answer.attempt.student
        results += 1
        after = attempt.score - int(answer.is_correct) + int(questions.grade_stored(regraded, answer))
        if after == attempt.score or new == question.key:
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
    return KeyChangePreview(quiz.id, quiz.title, question_id, question.number, question.key,
                            new, results, tuple(changes), boards)


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
    KeyChanged when the key is no longer ``expected_old`` (the key or its ``token``)."""
    seen = preview(mentor_id, quiz_id, question_id, value)
    if expected_old not in (seen.old, token(seen.old)):
        raise KeyChanged(question_id)
    if seen.old == seen.new:
        return Applied(seen, 0)
    questions.set_key(QuizQuestion.get_by_id(question_id), seen.new, tz=tz)
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

