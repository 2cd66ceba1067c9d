"""Which question messages the countdown redraws now — claimed in the attempt rows.

Every bot replica runs a sweeper. If each kept its own "last redrawn" times, N replicas would
edit every question message N times per interval (Telegram's flood limits). Instead the claim
lives in the row: ``countdown_index`` is the question the countdown last saw and
``countdown_at`` when it first saw it or last redrew it. A question is redrawn once per
``every`` seconds, the first time ``every`` seconds after the countdown first saw it (it was
just drawn by whoever moved the attempt on). On PostgreSQL the due rows are taken with
``FOR UPDATE SKIP LOCKED``, so two replicas never claim the same redraw.

A claimed redraw is sent a moment later, and the student may have answered meanwhile: the bot
asks ``still_current`` right before sending a batch of them (and ``moved_on`` after), see
``Drawer``.
"""

from __future__ import annotations

import datetime as dt

from studymate.db.connection import skip_locked
from studymate.db.models import QuizAttempt, Student, utcnow
from studymate.services.quiz.engine import QuestionView, countdown_candidates, current_view


def claim_countdowns(every: float, *, now: dt.datetime | None = None) -> list[QuestionView]:
    """The views to redraw now (claimed: no other process gets them in this interval)."""
    now = now or utcnow()
    views = {view.attempt_id: view for view in countdown_candidates(now=now)}
    if not views:
        return []
    cutoff = now - dt.timedelta(seconds=every)
    new_question = QuizAttempt.countdown_index.is_null() | (
        QuizAttempt.countdown_index != QuizAttempt.current_index
    )
    rows = list(
        skip_locked(
            QuizAttempt.select(
                QuizAttempt.id, QuizAttempt.current_index, QuizAttempt.countdown_index,
                QuizAttempt.countdown_at,
            ).where(
                QuizAttempt.id.in_(list(views))
                & QuizAttempt.finished_at.is_null()
                & (new_question | QuizAttempt.countdown_at.is_null()
                   | (QuizAttempt.countdown_at <= cutoff))
            )
        )
    )
    first_seen, due = [], []
    for row in rows:
        if row.countdown_index != row.current_index:
            first_seen.append(row.id)
        elif views[row.id].number == row.current_index + 1:  # the view is of this question
            due.append(row.id)
    if first_seen:
        QuizAttempt.update(countdown_index=QuizAttempt.current_index, countdown_at=now).where(
            QuizAttempt.id.in_(first_seen)
        ).execute()
    if due:
        QuizAttempt.update(countdown_at=now).where(
            QuizAttempt.id.in_(due) & (QuizAttempt.countdown_index == QuizAttempt.current_index)
        ).execute()
    return [views[attempt_id] for attempt_id in due]


def still_current(claimed: list[QuestionView]) -> dict[int, str]:
    """Which claimed redraws still show the attempt's current question (right before they
    are sent): attempt id → the student's language, for those that do. One query."""
    if not claimed:
        return {}
    index = {view.attempt_id: view.number - 1 for view in claimed}
    rows = (
        QuizAttempt.select(QuizAttempt.id, QuizAttempt.current_index, Student.language)
        .join(Student)
        .where(QuizAttempt.id.in_(list(index)) & QuizAttempt.finished_at.is_null())
    )
    return {row.id: row.student.language for row in rows if row.current_index == index[row.id]}


def moved_on(sent: list[QuestionView]) -> list[QuestionView]:
    """The current questions of the running attempts among ``sent`` that moved past the
    question that was redrawn (right after it was sent)."""
    if not sent:
        return []
    index = {view.attempt_id: view.number - 1 for view in sent}
    moved = [
        row.id
        for row in QuizAttempt.select(QuizAttempt.id, QuizAttempt.current_index).where(
            QuizAttempt.id.in_(list(index)) & QuizAttempt.finished_at.is_null()
        )
        if row.current_index > index[row.id]
    ]
    return [view for attempt_id in moved if (view := current_view(attempt_id)) is not None]
