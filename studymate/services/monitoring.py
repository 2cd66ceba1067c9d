"""Figures the metrics endpoint reads from the database: queue depth, live quizzes, lag.

They are shared by every bot process on the same database, so each replica reports the same
values; a dashboard takes their ``max``, not their sum.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import fn

from studymate.db.models import QuizAttempt, utcnow
from studymate.services import outbox


@dataclass(frozen=True)
class Snapshot:
    outbox_pending: int  # messages waiting to be sent or being sent
    quiz_attempts_active: int  # attempts not finished
    quiz_overdue_seconds: float  # age of the oldest passed deadline not yet handled (0: none)


def snapshot(now: dt.datetime | None = None) -> Snapshot:
    now = now or utcnow()
    pending = outbox.pending_count()
    live = QuizAttempt.finished_at.is_null()
    active = QuizAttempt.select().where(live).count()
    oldest = [
        QuizAttempt.select(fn.MIN(column)).where(live & (column < now)).scalar()
        for column in (QuizAttempt.question_deadline, QuizAttempt.session_deadline)
    ]
    due = [at for at in oldest if at is not None]
    overdue = max(0.0, (now - min(due)).total_seconds()) if due else 0.0
    return Snapshot(pending, active, overdue)
