"""Which question messages the countdown redraws now — claimed in the attempt rows.

Every bot replica runs a sweeper. If each kept its own "last redrawn" times, N replicas would
edit every question message N times per interval (Telegram's limits, B18). Instead the claim
lives in the row: ``countdown_index`` is the question the countdown last saw and
``countdown_at`` when it first saw it or last redrew it. A question is redrawn once per
``every`` seconds, the first time ``every`` seconds after the countdown first saw it (it was
just drawn by whoever moved the attempt on). On PostgreSQL the due rows are taken with
``FOR UPDATE SKIP LOCKED``, so two replicas never claim the same redraw.

A claimed redraw is sent a moment later, and the student may have answered meanwhile: the bot
asks ``still_current`` right before sending it (and ``moved_on`` after), see ``Drawer``.
"""

from __future__ import annotations

import datetime as dt

from studymate.db.connection import skip_locked
from studymate.db.models import QuizAttempt, utcnow
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


def still_current(attempt_id: int, index: int) -> bool:
    """Is question ``index`` (0-based) still the running attempt's current one?"""
    return (
        QuizAttempt.select(QuizAttempt.id)
        .where(
            (QuizAttempt.id == attempt_id)
            & (QuizAttempt.current_index == index)
            & QuizAttempt.finished_at.is_null()
        )
        .exists()
    )


def moved_on(attempt_id: int, index: int) -> QuestionView | None:
    """The current question of the running attempt when it is past question ``index``."""
    view = current_view(attempt_id)
    return view if view is not None and view.number - 1 > index else None
