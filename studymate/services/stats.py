"""Mentor statistics, the materials-submenu summary.

Consistent with the leaderboards: test accounts are left out of every count (including the
download counts of "popular", which v1 counted), and "today" and "the last 7 days" start at
local midnight in ``TIMEZONE`` (v1 used UTC midnight). Per-quiz results live
with the quizzes in ``services/quiz/authoring.py``.

"Active" means a download of one of the mentor's materials *or* a quiz of the mentor finished
in the period: v1 counted downloads only, which showed a class busy with a ranked exam as
inactive.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

from peewee import SQL, Case, Expression, Field, fn

from studymate.db.models import Download, Material, Question, Quiz, QuizAttempt, Student, Topic
from studymate.services.quiz.grading import counts
from studymate.services.streaks import local_midnight_utc, local_today

POPULAR_COUNT: Final = 3
WEEK_DAYS: Final = 7  # "active in the last 7 days": today and the six days before


@dataclass(frozen=True, slots=True)
class PopularMaterial:
    material_id: int
    title: str
    downloads: int


@dataclass(frozen=True, slots=True)
class MentorStats:
    students: int
    topics: int
    materials: int
    questions: int
    unanswered: int  # shown only when > 0
    active_today: int
    active_week: int
    popular: tuple[PopularMaterial, ...]  # at most 3, only materials downloaded at least once


def _not_test(column: Field, test_ids: frozenset[int]) -> Expression | None:
    if not test_ids:
        return None
    return column.not_in(Student.select(Student.id).where(Student.telegram_id.in_(sorted(test_ids))))


def _and(where: Expression, extra: Expression | None) -> Expression:
    return where if extra is None else where & extra


def _active_since(mentor_id: int, since: dt.datetime, test_ids: frozenset[int]) -> int:
    downloads = (
        Download.select(Download.student.alias("sid"))
        .join(Material)
        .join(Topic)
        .where(_and((Topic.mentor == mentor_id) & (Download.downloaded_at >= since),
                    _not_test(Download.student, test_ids)))
    )
    quizzes = (
        QuizAttempt.select(QuizAttempt.student.alias("sid"))
        .join(Quiz)
        .where(_and((Quiz.mentor == mentor_id) & (QuizAttempt.finished_at >= since) & counts(),
                    _not_test(QuizAttempt.student, test_ids)))
    )
    return (downloads | quizzes).count()  # UNION: each student once


def mentor_stats(
    mentor_id: int, *, tz: ZoneInfo, test_ids: frozenset[int], now: dt.datetime | None = None
) -> MentorStats:
    today = local_today(tz, now)
    mine = Student.mentor == mentor_id
    if test_ids:
        mine &= Student.telegram_id.not_in(sorted(test_ids))
    students = Student.select().where(mine).count()
    topics = Topic.select().where(Topic.mentor == mentor_id).count()
    materials = Material.select().join(Topic).where(Topic.mentor == mentor_id).count()
    questions, unanswered = (
        Question.select(
            fn.COUNT(Question.id),
            fn.COALESCE(fn.SUM(Case(None, [(~Question.is_answered & Question.dismissed_at.is_null(), 1)], 0)), 0),
        )
        .where(Question.mentor == mentor_id)
        .tuples()
        .get()
    )
    downloads = fn.COUNT(Download.id)
    popular = (
        Material.select(Material.id, Material.title, downloads.alias("n"))
        .join(Topic)
        .switch(Material)
        .join(Download)
        .where(_and(Topic.mentor == mentor_id, _not_test(Download.student, test_ids)))
        .group_by(Material.id, Material.title)
        .order_by(SQL("n").desc(), Material.title, Material.id)
        .limit(POPULAR_COUNT)
        .tuples()
    )
    return MentorStats(
        students=students,
        topics=topics,
        materials=materials,
        questions=questions,
        unanswered=int(unanswered),
        active_today=_active_since(mentor_id, local_midnight_utc(today, tz), test_ids),
        active_week=_active_since(
            mentor_id, local_midnight_utc(today - dt.timedelta(days=WEEK_DAYS - 1), tz), test_ids
        ),
        popular=tuple(PopularMaterial(mid, title, n) for mid, title, n in popular),
    )
