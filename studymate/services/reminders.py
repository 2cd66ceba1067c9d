"""Reminders, the mentors' digest and the streak nudge: found, claimed once, queued.

Each notice is claimed with a ``Reminder`` row whose key (kind, recipient, subject) is unique:
the insert that wins sends it, every other replica's (or a restarted process's) insert is
ignored. Claim and outbox rows are written in one transaction (call inside ``Db.run``), so a
crash in between leaves neither, and the outbox delivers what was queued after a restart.

- Quiz reminder: a student of the quiz's mentor who has not started an open ranked quiz is
  reminded once when ``before`` (``REMIND_BEFORE_CLOSE``) is left. Held through quiet hours,
  and dropped if they last until the quiz closes, or if the student starts the quiz meanwhile.
- Mentor digest: once a local day from ``DIGEST_TIME``, to each active mentor with anonymous
  questions unanswered for more than a day. A mentor's notice: never muted.
- Streak nudge: once a local day from ``NUDGE_TIME``, to a student who opted in, with a streak
  of at least 3 days that ends yesterday (no quiz yet today).

Every function takes ``now`` (naive UTC), so tests move the clock instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from peewee import fn

from studymate.db.models import (
    Mentor,
    NotificationPrefs,
    OutboxMessage,
    Question,
    Quiz,
    QuizAttempt,
    Reminder,
    Student,
    utcnow,
)
from studymate.services import notifications
from studymate.services.notifications import Category, School
from studymate.services.outbox import Outgoing, enqueue
from studymate.services.streaks import local_date, local_midnight_utc

QUIZ: Final = "quiz"
DIGEST: Final = "digest"
STREAK: Final = "streak"
UNANSWERED_AFTER: Final = dt.timedelta(days=1)
DIGEST_LIMIT: Final = 10  # questions listed (with reply buttons) in one digest
NUDGE_MIN_STREAK: Final = 3


@dataclass(frozen=True, slots=True)
class QuizReminder:
    quiz_id: int
    title: str
    closes: dt.datetime
    chat_id: int
    language: str


@dataclass(frozen=True, slots=True)
class DigestItem:
    question_id: int
    text: str
    asked_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Digest:
    chat_id: int
    language: str
    questions: list[DigestItem]
    total: int  # unanswered for more than a day; ``questions`` shows the oldest of them


@dataclass(frozen=True, slots=True)
class Nudge:
    chat_id: int
    language: str
    streak: int


def claim(kind: str, chat_id: int, subject: str, *, now: dt.datetime | None = None) -> bool:
    """Take the one right to send (kind, recipient, subject); True for the caller who got it."""
    inserted = (
        Reminder.insert(kind=kind, chat_id=chat_id, subject=subject, created_at=now or utcnow())
        .on_conflict_ignore()
        .as_rowcount()
        .execute()
    )
    return bool(inserted)


def _not_claimed(kind: str, subject) -> object:
    return ~fn.EXISTS(Reminder.select().where(
        (Reminder.kind == kind) & (Reminder.chat_id == Student.telegram_id) & (Reminder.subject == subject)
    ))


# --- quiz reminders ------------------------------------------------------------------------------


def due_quiz_reminders(*, now: dt.datetime, before: dt.timedelta) -> list[QuizReminder]:
    """Students who have not started an open ranked quiz that closes within ``before`` and
    were not reminded of it yet (not claimed)."""
    quizzes = Quiz.select().where(
        (Quiz.quiz_type == "ranked")
        & Quiz.is_active
        & (Quiz.available_from <= now)
        & (Quiz.available_until > now)
        & (Quiz.available_until <= now + before)
    )
    found = []
    for quiz in quizzes:
        if quiz.available_until - quiz.available_from <= before:
            # The whole window is shorter than the lead: the opening notice already said when
            # it closes, and a reminder at the same moment would only nag.
            continue
        started = QuizAttempt.select().where(
            (QuizAttempt.quiz == quiz.id) & (QuizAttempt.student == Student.id)
        )
        claimed = Reminder.select().where(
            (Reminder.kind == QUIZ)
            & (Reminder.chat_id == Student.telegram_id)
            & (Reminder.subject == str(quiz.id))
        )
        students = (
            Student.select(Student.telegram_id, Student.language)
            .join(Mentor)
            .where(
                (Student.mentor == quiz.mentor_id)
                & Mentor.is_active
                & Student.blocked_at.is_null()
                & ~fn.EXISTS(started)
                & ~fn.EXISTS(claimed)
            )
            .order_by(Student.id)
        )
        found.extend(
            QuizReminder(quiz.id, quiz.title, quiz.available_until, s.telegram_id, s.language)
            for s in students
        )
    return found


def queue_quiz_reminders(
    message_for: Callable[[QuizReminder], Outgoing], *, before: dt.timedelta,
    now: dt.datetime | None = None, school: School | None = None,
) -> int:
    """Claim and queue the due quiz reminders; returns how many were queued."""
    now = now or utcnow()
    queued = 0
    by_quiz: dict[int, list[QuizReminder]] = {}
    for due in due_quiz_reminders(now=now, before=before):
        if claim(QUIZ, due.chat_id, str(due.quiz_id), now=now):
            by_quiz.setdefault(due.quiz_id, []).append(due)
    for quiz_id, reminders in by_quiz.items():
        messages = notifications.plan(
            [message_for(r) for r in reminders], Category.REMINDERS, now=now, school=school,
            not_after=reminders[0].closes,
        )
        if messages:
            enqueue(messages, kind="quiz_reminder", dedupe_prefix=f"remind:{quiz_id}")
        queued += len(messages)
    return queued


def cancel_quiz_reminder(quiz_id: int, chat_id: int) -> bool:
    """The student started the quiz: a reminder still held (quiet hours) is not sent."""
    return bool(
        OutboxMessage.update(status="failed", error="quiz started", claimed_until=None)
        .where((OutboxMessage.dedupe_key == f"remind:{quiz_id}:{chat_id}")
               & (OutboxMessage.status == "pending"))
        .execute()
    )


# --- the mentors' digest ---------------------------------------------------------------------


def _reached(now: dt.datetime, school: School, at: dt.time) -> dt.date | None:
    """Today's local date once the local time ``at`` has passed today, else None."""
    local = notifications.local_now(now, school.tz)
    return local.date() if local.time() >= at else None


def due_digests(*, now: dt.datetime, school: School, at: dt.time) -> list[Digest]:
    """Mentors owed today's digest: questions unanswered for more than a day, not claimed."""
    today = _reached(now, school, at)
    if today is None:
        return []
    old = now - UNANSWERED_AFTER
    mentors = (
        Mentor.select()
        .where(
            Mentor.is_active
            & fn.EXISTS(
                Question.select().where(
                    (Question.mentor == Mentor.id) & ~Question.is_answered & Question.dismissed_at.is_null()
                    & (Question.created_at < old)
                )
            )
            & ~fn.EXISTS(
                Reminder.select().where(
                    (Reminder.kind == DIGEST) & (Reminder.chat_id == Mentor.telegram_id)
                    & (Reminder.subject == today.isoformat())
                )
            )
        )
        .order_by(Mentor.id)
    )
    digests = []
    for mentor in mentors:
        pending = Question.select().where(
            (Question.mentor == mentor.id) & ~Question.is_answered & Question.dismissed_at.is_null()
            & (Question.created_at < old)
        )
        items = [
            DigestItem(q.id, q.text, q.created_at)
            for q in pending.order_by(Question.created_at, Question.id).limit(DIGEST_LIMIT)
        ]
        digests.append(Digest(mentor.telegram_id, mentor.language, items, pending.count()))
    return digests


def queue_digests(
    message_for: Callable[[Digest], Outgoing], *, at: dt.time, now: dt.datetime | None = None,
    school: School | None = None,
) -> int:
    now = now or utcnow()
    school = school or notifications.DEFAULT_SCHOOL
    today = local_date(now, school.tz).isoformat()
    messages = [
        message_for(d)
        for d in due_digests(now=now, school=school, at=at)
        if claim(DIGEST, d.chat_id, today, now=now)
    ]
    if messages:
        enqueue(messages, kind="digest", dedupe_prefix=f"digest:{today}")
    return len(messages)


# --- the streak nudge -------------------------------------------------------------------------


def due_nudges(*, now: dt.datetime, school: School, at: dt.time) -> list[Nudge]:
    """Students who opted in, with a streak of ≥ 3 days ending yesterday, not nudged today."""
    today = _reached(now, school, at)
    if today is None:
        return []
    yesterday = today - dt.timedelta(days=1)
    students = (
        Student.select(Student.telegram_id, Student.language, Student.current_streak)
        .join(NotificationPrefs)
        .where(
            NotificationPrefs.streak
            & Student.blocked_at.is_null()
            & (Student.current_streak >= NUDGE_MIN_STREAK)
            & (Student.last_quiz_date == yesterday)
            & _not_claimed(STREAK, today.isoformat())
        )
        .order_by(Student.id)
    )
    return [Nudge(s.telegram_id, s.language, s.current_streak) for s in students]


def queue_nudges(
    message_for: Callable[[Nudge], Outgoing], *, at: dt.time, now: dt.datetime | None = None,
    school: School | None = None,
) -> int:
    now = now or utcnow()
    school = school or notifications.DEFAULT_SCHOOL
    today = local_date(now, school.tz)
    nudges = [n for n in due_nudges(now=now, school=school, at=at)
              if claim(STREAK, n.chat_id, today.isoformat(), now=now)]
    # A nudge held past midnight would be about a day already lost: dropped instead.
    midnight = local_midnight_utc(today + dt.timedelta(days=1), school.tz)
    messages = notifications.plan(
        [message_for(n) for n in nudges], Category.STREAK, now=now, school=school, not_after=midnight
    )
    if messages:
        enqueue(messages, kind="streak_nudge", dedupe_prefix=f"streak:{today.isoformat()}")
    return len(messages)
