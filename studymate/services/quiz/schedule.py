"""Scheduled ranked quizzes: students are told when a quiz opens, not when it is published."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from studymate.db.models import Quiz, Student, utcnow
from studymate.services import notifications
from studymate.services.outbox import Outgoing, enqueue


@dataclass(frozen=True, slots=True)
class Opening:
    quiz_id: int
    title: str
    available_until: dt.datetime
    students: list[tuple[int, str]]  # (telegram id, language)


def claim_openings(*, now: dt.datetime | None = None) -> list[Opening]:
    """Ranked quizzes that opened and whose students were not told yet; each is claimed once."""
    now = now or utcnow()
    due = Quiz.select().where(
        (Quiz.quiz_type == "ranked")
        & Quiz.is_active
        & Quiz.notified_at.is_null()
        & (Quiz.available_from <= now)
        & (Quiz.available_until > now)
    )
    openings = []
    for quiz in due:
        claimed = (
            Quiz.update(notified_at=now)
            .where((Quiz.id == quiz.id) & Quiz.notified_at.is_null())
            .execute()
        )
        if not claimed:
            continue
        students = [
            (s.telegram_id, s.language)
            for s in Student.select().where((Student.mentor == quiz.mentor_id) & Student.blocked_at.is_null())
        ]
        openings.append(Opening(quiz.id, quiz.title, quiz.available_until, students))
    return openings


def open_due(
    message_for: Callable[[Opening, int, str], Outgoing], *, now: dt.datetime | None = None,
    school: notifications.School | None = None,
) -> int:
    """Claim the quizzes that opened and queue their notices in the same transaction (call it
    inside one): a process killed in between leaves neither, so every notice goes out once,
    whichever replica's sweeper gets there first. Returns the number of quizzes opened."""
    openings = claim_openings(now=now)
    for opening in openings:
        messages = [message_for(opening, chat_id, lang) for chat_id, lang in opening.students]
        queue_notifications(opening.quiz_id, messages, now=now, school=school,
                            closes=opening.available_until)
    return len(openings)


def queue_notifications(
    quiz_id: int, messages: list[Outgoing], *, now: dt.datetime | None = None,
    school: notifications.School | None = None, closes: dt.datetime | None = None,
) -> int:
    """Queue the opening notices for the students who want them (held through their quiet
    hours, unless the quiz closes by then); the dedupe key makes a repeated call send
    nothing twice. Returns the number queued."""
    messages = notifications.plan(
        messages, notifications.Category.NEW_QUIZZES, now=now, school=school, not_after=closes
    )
    enqueue(messages, kind="quiz_opened", dedupe_prefix=f"quiz-opened:{quiz_id}")
    return len(messages)
