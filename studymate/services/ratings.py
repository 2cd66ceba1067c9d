"""Ratings, monthly seasons and leaderboards.

Rules as implemented:
- A *valid ranked attempt*: the quiz belongs to the mentor, is of type ranked, has a
  deadline, the attempt is finished (not cancelled) and was started before the deadline.
- The formula is evaluated in exact integer arithmetic, identically in Python and in
  SQL: avg% is rounded to one decimal first, then multiplied by (1 + bonus) and rounded again.
  Halves round up (12.75 → 12.8); v1 used binary floats, whose halves went either way.
- Seasons are calendar months per mentor in ``TIMEZONE`` (one calendar; v1 mixed in UTC). An attempt
  belongs to the month of the local date it was *started* (as in v1's window), so an attempt
  started at 00:30 local on the 1st counts in the new month. A season row is created with
  INSERT … ON CONFLICT DO NOTHING on (mentor, start_date) and read back: two finishes at the
  same instant create one season. ``is_active`` marks the month containing today.
- A SeasonRating row is recomputed from scratch, in SQL, whenever a ranked attempt finishes
  (including sweeper finalisation) and for every affected student and month when a quiz's
  questions or deadline change (v1 only on a finish).
- Leaderboards and ranks are computed in the database. Test accounts are excluded from every
  list, count and rank; zero ratings are never listed nor counted. The student's rank
  is their position in exactly the list a mentor sees.
- The all-time board is kept the same way, in AllTimeRating rows (mentor, student)
  recomputed by the same upsert without a time window. Aggregating every attempt on each view
  measured 230–350 ms for 3,000 students × 60 quizzes on SQLite; reading the kept rows is an
  indexed read.
- Student view: anonymised with an animal that belongs to the person for the whole season,
  not to the rank: the n-th student to get a rating row in the season is animal n mod 15,
  with ``animal_number`` = n // 15 + 1 to tell apart people sharing an animal.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal
from zoneinfo import ZoneInfo

from peewee import SQL, Expression, Select, fn

from studymate.db.models import (
    AllTimeRating,
    Quiz,
    QuizAttempt,
    Season,
    SeasonRating,
    Student,
    database_proxy,
    utcnow,
)
from studymate.services.paging import Page
from studymate.services.quiz.grading import COUNTS_SQL, counts
from studymate.services.streaks import local_date, local_midnight_utc, local_today, record_quiz_day

logger = logging.getLogger(__name__)

RANKED: Final = "ranked"
STUDENT_TOP: Final = 15
MENTOR_PAGE_SIZE: Final = 10
ANIMAL_KEYS: Final = (
    "animal_fox", "animal_bear", "animal_eagle", "animal_wolf", "animal_lion", "animal_tiger",
    "animal_panda", "animal_koala", "animal_owl", "animal_shark", "animal_cheetah",
    "animal_giraffe", "animal_elephant", "animal_cat", "animal_kangaroo",
)
ANIMAL_COUNT: Final = len(ANIMAL_KEYS)
MONTHS_RU: Final = (
    "Январь", "Февраль", "Март", "Апрель", "Май", "Июнь",
    "Июль", "Август", "Сентябрь", "Октябрь", "Ноябрь", "Декабрь",
)
Mode = Literal["season", "alltime"]


# --- the formula ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rating:
    quizzes: int  # Q: distinct quizzes with a valid attempt
    score: int  # S
    possible: int  # T
    avg_tenths: int  # avg% × 10, rounded half up
    rating_tenths: int  # rating × 10, rounded half up

    @property
    def avg_percentage(self) -> float:
        return self.avg_tenths / 10

    @property
    def rating(self) -> float:
        return self.rating_tenths / 10


def _half_up(numerator: int, denominator: int) -> int:
    """round(numerator / denominator) with halves up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def compute_rating(quizzes: int, score: int, possible: int) -> Rating:
    """avg% = round(S/T×100, 1); rating = round(avg% × (1 + min(Q/10, 1) × 0.5), 1).

    With tenths: avg_t = S×1000/T; rating_t = avg_t × (20 + min(Q, 10)) / 20.
    """
    if possible <= 0:
        return Rating(quizzes, score, possible, 0, 0)
    avg_t = _half_up(score * 1000, possible)
    rating_t = _half_up(avg_t * (20 + min(quizzes, 10)), 20)
    return Rating(quizzes, score, possible, avg_t, rating_t)


# --- seasons ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeasonInfo:
    id: int
    mentor_id: int
    start_date: dt.date
    end_date: dt.date
    is_active: bool

    @property
    def year(self) -> int:
        return self.start_date.year

    @property
    def month(self) -> int:
        """1–12: the bot shows ``t(f"month_{month}") {year}``."""
        return self.start_date.month


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def season_window(start_date: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in naive UTC of the local month beginning on ``start_date``."""
    return local_midnight_utc(start_date, tz), local_midnight_utc(next_month(start_date), tz)


def _season_info(season: Season) -> SeasonInfo:
    return SeasonInfo(season.id, season.mentor_id, season.start_date, season.end_date,
                      season.is_active)


def _get_or_create_season(
    mentor_id: int, start: dt.date, end: dt.date, name: str, *, active: bool
) -> Season:
    """Race-free get-or-create: everyone inserts with ON CONFLICT DO NOTHING on the unique
    (mentor, start_date), then reads the one row."""
    season = Season.get_or_none((Season.mentor == mentor_id) & (Season.start_date == start))
    if season is not None:
        return season
    with database_proxy.atomic():
        (
            Season.insert(
                mentor=mentor_id, name=name, start_date=start, end_date=end, is_active=active,
                created_at=utcnow(),
            )
            .on_conflict(conflict_target=[Season.mentor, Season.start_date], action="NOTHING")
            .execute()
        )
        if active:
            # The month rolled over: the old current season is no longer active. Idempotent,
            # and there is no "one active" constraint that a concurrent caller could trip.
            (
                Season.update(is_active=False)
                .where((Season.mentor == mentor_id) & Season.is_active
                       & (Season.start_date != start))
                .execute()
            )
        return Season.get((Season.mentor == mentor_id) & (Season.start_date == start))


def season_for_date(
    mentor_id: int, day: dt.date, *, tz: ZoneInfo, now: dt.datetime | None = None
) -> SeasonInfo:
    """The mentor's season of the month containing local date ``day``; created if missing
    (active when it is the current month)."""
    start = month_start(day)
    name = f"{MONTHS_RU[start.month - 1]} {start.year}"
    end = next_month(start) - dt.timedelta(days=1)
    active = start == month_start(local_today(tz, now))
    return _season_info(_get_or_create_season(mentor_id, start, end, name, active=active))


def current_season(mentor_id: int, *, tz: ZoneInfo, now: dt.datetime | None = None) -> SeasonInfo:
    """The season of today's local month (created on demand, like v1)."""
    return season_for_date(mentor_id, local_today(tz, now), tz=tz, now=now)


# --- recalculation ----------------------------------------------------------------------------


def _ranked_finished(mentor_id: int) -> Expression:
    return (
        (Quiz.mentor == mentor_id)
        & (Quiz.quiz_type == RANKED)
        & counts()
    )


# The recalculation is one INSERT … SELECT … ON CONFLICT DO UPDATE (SQLite ≥ 3.24 and
# PostgreSQL alike), written as SQL text: it runs on every finished ranked attempt, and
# building it with peewee's expression tree cost more (≈ 10 ms) than executing it.
# Integer arithmetic only, so both backends round exactly like compute_rating().
AVG_TENTHS_SQL: Final = "CASE WHEN t > 0 THEN (s * 2000 + t) / (t * 2) ELSE 0 END"
RATING_TENTHS_SQL: Final = "(avg_t * (CASE WHEN q > 10 THEN 10 ELSE q END + 20) * 2 + 20) / 40"
_VALID_SQL: Final = "z.available_until IS NOT NULL AND a.started_at < z.available_until"
_COUNTED_SQL: Final = "a.finished_at IS NOT NULL AND " + COUNTS_SQL.format(alias="a")
_RECOMPUTE_SQL: Final = f"""
INSERT INTO {{table}} ({{owner}}, student_id, total_ranked_quizzes, total_score,
    total_possible, avg_percentage, rating_score, earliest_attempt_at, updated_at)
SELECT {{p}}, student_id, q, s, t, avg_t / 10.0, {RATING_TENTHS_SQL} / 10.0, e, {{p}}
FROM (
    SELECT student_id, q, s, t, e, {AVG_TENTHS_SQL} AS avg_t
    FROM (
        SELECT a.student_id AS student_id,
               COUNT(DISTINCT CASE WHEN {_VALID_SQL} THEN a.quiz_id END) AS q,
               SUM(CASE WHEN {_VALID_SQL} THEN a.score ELSE 0 END) AS s,
               SUM(CASE WHEN {_VALID_SQL} THEN a.total ELSE 0 END) AS t,
               MIN(CASE WHEN {_VALID_SQL} THEN a.finished_at END) AS e
        FROM quiz_attempt AS a JOIN quiz AS z ON z.id = a.quiz_id
        WHERE z.mentor_id = {{p}} AND z.quiz_type = {{p}} AND {_COUNTED_SQL}
              {{scope}}
        GROUP BY a.student_id
    ) AS sums
) AS rated
WHERE true
ON CONFLICT ({{owner}}, student_id) DO UPDATE SET
    total_ranked_quizzes = excluded.total_ranked_quizzes,
    total_score = excluded.total_score,
    total_possible = excluded.total_possible,
    avg_percentage = excluded.avg_percentage,
    rating_score = excluded.rating_score,
    earliest_attempt_at = excluded.earliest_attempt_at,
    updated_at = excluded.updated_at
"""


RatingTable = type[SeasonRating] | type[AllTimeRating]


def _recompute(
    table: RatingTable,
    owner_id: int,
    mentor_id: int,
    window: tuple[dt.datetime, dt.datetime] | None,
    student_ids: list[int] | None,
    quiz_id: int | None,
) -> None:
    """Recompute rating rows of one season (``SeasonRating``, within ``window``) or of one
    mentor's all time (``AllTimeRating``, no window) in one INSERT … SELECT upsert.

    Which students: those given, or those with a finished attempt of ``quiz_id`` (in the
    window), or (neither given) every student with a ranked attempt (in the window). Every
    such student with a finished ranked-type attempt gets a row (zeros if none is valid);
    rows of named students with no such attempt any more are zeroed.
    """
    p = database_proxy.param
    stamp = utcnow()
    owner = SeasonRating.season if table is SeasonRating else AllTimeRating.mentor
    args: list[object] = [owner_id, table.updated_at.db_value(stamp), mentor_id, RANKED]
    scope = ""
    bounds: list[object] = []
    if window is not None:
        bounds = [QuizAttempt.started_at.db_value(t) for t in window]
        scope += f" AND a.started_at >= {p} AND a.started_at < {p}"
        args += bounds
    if student_ids is not None:
        scope += f" AND a.student_id IN ({', '.join([p] * len(student_ids))})"
        args += student_ids
    elif quiz_id is not None:
        scope += (
            " AND a.student_id IN (SELECT b.student_id FROM quiz_attempt AS b"
            f" WHERE b.quiz_id = {p} AND b.finished_at IS NOT NULL"
            f" AND {COUNTS_SQL.format(alias='b')}"
            + (f" AND b.started_at >= {p} AND b.started_at < {p})" if bounds else ")")
        )
        args += [quiz_id, *bounds]
    zeros = {
        table.total_ranked_quizzes: 0, table.total_score: 0, table.total_possible: 0,
        table.avg_percentage: 0.0, table.rating_score: 0.0, table.earliest_attempt_at: None,
        table.updated_at: stamp,
    }
    sql = _RECOMPUTE_SQL.format(
        p=p, scope=scope, table=table._meta.table_name, owner=owner.column_name
    )
    with database_proxy.atomic():
        # Rows in scope start from zero: a student whose last attempt in the season was
        # removed or fell outside the window keeps a row, but an empty one.
        if student_ids is not None:
            table.update(zeros).where(
                (owner == owner_id) & table.student.in_(student_ids)
            ).execute()
        elif quiz_id is None:
            table.update(zeros).where(owner == owner_id).execute()
        database_proxy.execute_sql(sql, args)


def recompute_season(
    season: SeasonInfo,
    *,
    tz: ZoneInfo,
    student_ids: list[int] | None = None,
    quiz_id: int | None = None,
) -> None:
    """Recompute the SeasonRating rows of ``season`` from scratch (see :func:`_recompute`)."""
    window = season_window(season.start_date, tz)
    _recompute(SeasonRating, season.id, season.mentor_id, window, student_ids, quiz_id)


def recompute_alltime(
    mentor_id: int, *, student_ids: list[int] | None = None, quiz_id: int | None = None
) -> None:
    """Recompute the mentor's AllTimeRating rows from scratch (see :func:`_recompute`)."""
    _recompute(AllTimeRating, mentor_id, mentor_id, None, student_ids, quiz_id)


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def _attempt_months(where: Expression, tz: ZoneInfo) -> list[dt.date]:
    """Local months (first days) holding at least one attempt matching ``where``."""
    low, high = (
        QuizAttempt.select(fn.MIN(QuizAttempt.started_at), fn.MAX(QuizAttempt.started_at))
        .join(Quiz)
        .where(where)
        .tuples()
        .get()
    )
    if low is None:
        return []
    months = []
    for month in _months(local_date(_as_datetime(low), tz), local_date(_as_datetime(high), tz)):
        start, end = season_window(month, tz)
        found = (
            QuizAttempt.select(QuizAttempt.id)
            .join(Quiz)
            .where(where & (QuizAttempt.started_at >= start) & (QuizAttempt.started_at < end))
            .exists()
        )
        if found:
            months.append(month)
    return months


def _as_datetime(value: dt.datetime | str) -> dt.datetime:
    # SQLite returns MIN/MAX of a datetime column as text.
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class FinishEffects:
    """What finishing an attempt changed, for the result screen and for tests."""

    day: dt.date  # the local day the attempt counts for (streak and season)
    season: SeasonInfo | None  # None for a practice quiz
    rating: Rating | None


def season_rating(season_id: int, student_id: int) -> Rating | None:
    row = SeasonRating.get_or_none(
        (SeasonRating.season == season_id) & (SeasonRating.student == student_id)
    )
    if row is None:
        return None
    return compute_rating(row.total_ranked_quizzes, row.total_score, row.total_possible)


def on_attempt_finished(
    attempt_id: int, *, tz: ZoneInfo, now: dt.datetime | None = None
) -> FinishEffects | None:
    """Call after an attempt got its ``finished_at`` (answer, timeout or sweeper).

    Counts the day in the student's streak and, for a ranked-type quiz, recomputes the
    student's rating in the season of the attempt's start and all time. Idempotent.
    """
    attempt = (
        QuizAttempt.select(QuizAttempt, Quiz)
        .join(Quiz)
        .where(QuizAttempt.id == attempt_id)
        .first()
    )
    if attempt is None or attempt.finished_at is None or attempt.finish_reason == "cancelled":
        return None  # a cancelled attempt counts nowhere
    day = local_date(attempt.started_at, tz)
    with database_proxy.atomic():
        record_quiz_day(attempt.student_id, day)
        if attempt.quiz.quiz_type != RANKED:
            return FinishEffects(day, None, None)
        season = season_for_date(attempt.quiz.mentor_id, day, tz=tz, now=now)
        recompute_season(season, tz=tz, student_ids=[attempt.student_id])
        recompute_alltime(attempt.quiz.mentor_id, student_ids=[attempt.student_id])
    return FinishEffects(day, season, season_rating(season.id, attempt.student_id))


def recompute_quiz(quiz_id: int, *, tz: ZoneInfo, now: dt.datetime | None = None) -> int:
    """After a ranked quiz's questions, scores or deadline changed: recompute the rating of
    every student with a finished attempt of it, in every month such an attempt started and
    all time. Returns the number of months recomputed."""
    quiz = Quiz.get_or_none(Quiz.id == quiz_id)
    if quiz is None or quiz.quiz_type != RANKED:
        return 0
    months = _attempt_months((QuizAttempt.quiz == quiz_id) & counts(), tz)
    with database_proxy.atomic():
        for month in months:
            season = season_for_date(quiz.mentor_id, month, tz=tz, now=now)
            recompute_season(season, tz=tz, quiz_id=quiz_id)
        if months:
            recompute_alltime(quiz.mentor_id, quiz_id=quiz_id)
    logger.info("recomputed ratings of quiz %s in %d season(s)", quiz_id, len(months))
    return len(months)


def recompute_mentor(mentor_id: int, *, tz: ZoneInfo, now: dt.datetime | None = None) -> int:
    """Rebuild every rating of a mentor, monthly and all-time (after deleting a quiz,
    importing data or changing TIMEZONE). Returns the number of months recomputed."""
    months = set(_attempt_months(_ranked_finished(mentor_id), tz))
    months.update(
        s.start_date for s in Season.select(Season.start_date).where(Season.mentor == mentor_id)
    )
    with database_proxy.atomic():
        for month in sorted(months):
            recompute_season(season_for_date(mentor_id, month, tz=tz, now=now), tz=tz)
        recompute_alltime(mentor_id)
    return len(months)


# --- leaderboards -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoardRow:
    """One line of the mentor's leaderboard."""

    rank: int
    student_id: int
    name: str  # display name; unescaped
    rating: float
    avg_percentage: float
    quizzes: int


@dataclass(frozen=True, slots=True)
class MentorBoard:
    mode: Mode
    season: SeasonInfo | None  # the season shown (None in all-time mode)
    page: Page[BoardRow]  # page.total = number of ranked students; empty → leaderboard_empty


@dataclass(frozen=True, slots=True)
class StudentRow:
    """One line of the student's leaderboard: a medal or "n.", an animal or "YOU", a score."""

    rank: int
    rating: float
    is_you: bool
    animal_index: int  # 0–14: fox, bear, eagle, … kangaroo, fixed per person and season
    animal_number: int  # 1 for the first 15 students of the season, 2 for the next 15, …

    @property
    def animal_key(self) -> str:
        """Catalog key of the animal; show ``animal_number`` after it when it is above 1."""
        return ANIMAL_KEYS[self.animal_index]


@dataclass(frozen=True, slots=True)
class StudentBoard:
    season: SeasonInfo
    rows: tuple[StudentRow, ...]  # empty → leaderboard_empty
    your_rank: int | None  # None: no positive rating this season (or a test account)
    your_rating: float | None

    @property
    def show_your_rank(self) -> bool:
        """Append ``leaderboard_your_rank`` (the student is not among the rows shown)."""
        return self.your_rank is not None and self.your_rank > len(self.rows)


def display_name(
    full_name: str, username: str | None, first_name: str, last_name: str, telegram_id: int
) -> str:
    """As v1 showed it: the self-entered name, else @username, else "first last", else the id."""
    if full_name:
        return full_name
    if username:
        return f"@{username}"
    return f"{first_name} {last_name}".strip() or str(telegram_id)


def _test_students(test_ids: frozenset[int]) -> Select:
    return Student.select(Student.id).where(Student.telegram_id.in_(sorted(test_ids)))


def _season_ranked(season_id: int, test_ids: frozenset[int]) -> Expression:
    """The rows every season list, count and rank is made of."""
    where = (SeasonRating.season == season_id) & (SeasonRating.rating_score > 0)
    if test_ids:
        where &= SeasonRating.student.not_in(_test_students(test_ids))
    return where


_SEASON_ORDER = (
    SeasonRating.rating_score.desc(),
    SeasonRating.earliest_attempt_at.asc(nulls="LAST"),
    SeasonRating.student.asc(),
)


def _page_of(
    fetch: Callable[[int, int], list[tuple]], page: int, per_page: int
) -> tuple[list[tuple], int, int]:
    """Rows of one page of a query carrying ``COUNT(*) OVER ()`` as its last column; a page
    past the end is clamped to the last page."""
    page = max(page, 0)
    rows = fetch(page * per_page, per_page)
    if not rows and page > 0:
        first = fetch(0, 1)
        total = first[0][-1] if first else 0
        page = max(0, -(-total // per_page) - 1)
        rows = fetch(page * per_page, per_page) if total else []
    total = rows[0][-1] if rows else 0
    return rows, page, total


def _names(student_ids: list[int]) -> dict[int, str]:
    query = Student.select(
        Student.id, Student.full_name, Student.username, Student.first_name, Student.last_name,
        Student.telegram_id,
    ).where(Student.id.in_(student_ids))
    return {s.id: display_name(s.full_name, s.username, s.first_name, s.last_name, s.telegram_id)
            for s in query}


def season_leaderboard(
    season_id: int, *, test_ids: frozenset[int], page: int = 0, per_page: int = MENTOR_PAGE_SIZE
) -> Page[BoardRow]:
    """Ranked students of a season, rating desc, earliest valid finish, student id."""
    return _board(SeasonRating, _season_ranked(season_id, test_ids), _SEASON_ORDER, page, per_page)


_ALLTIME_ORDER = (
    AllTimeRating.rating_score.desc(),
    AllTimeRating.avg_percentage.desc(),
    AllTimeRating.total_ranked_quizzes.desc(),
    AllTimeRating.earliest_attempt_at.asc(nulls="LAST"),
    AllTimeRating.student.asc(),
)


def _board(
    table: RatingTable, where: Expression, order: tuple, page: int, per_page: int
) -> Page[BoardRow]:
    def fetch(offset: int, limit: int) -> list[tuple]:
        return list(
            table.select(
                table.student, table.rating_score, table.avg_percentage,
                table.total_ranked_quizzes, fn.COUNT(SQL("*")).over(),
            )
            .where(where)
            .order_by(*order)
            .offset(offset)
            .limit(limit)
            .tuples()
        )

    rows, page, total = _page_of(fetch, page, per_page)
    names = _names([r[0] for r in rows])
    items = [
        BoardRow(page * per_page + i + 1, sid, names[sid], rating, avg, quizzes)
        for i, (sid, rating, avg, quizzes, _) in enumerate(rows)
    ]
    return Page(items, page, max(1, -(-total // per_page)), page * per_page, total)


def alltime_leaderboard(
    mentor_id: int, *, test_ids: frozenset[int], page: int = 0, per_page: int = MENTOR_PAGE_SIZE
) -> Page[BoardRow]:
    """Every student with valid ranked attempts of the mentor's quizzes (T > 0, even
    at rating 0, as v1); rating desc, avg% desc, quizzes desc, earliest valid finish, id."""
    where = (AllTimeRating.mentor == mentor_id) & (AllTimeRating.total_possible > 0)
    if test_ids:
        where &= AllTimeRating.student.not_in(_test_students(test_ids))
    return _board(AllTimeRating, where, _ALLTIME_ORDER, page, per_page)


def mentor_board(
    mentor_id: int,
    *,
    mode: Mode = "season",
    page: int = 0,
    tz: ZoneInfo,
    test_ids: frozenset[int],
    now: dt.datetime | None = None,
) -> MentorBoard:
    """The mentor's 🏆 screen: the current season (default) or all time, 10 a page."""
    if mode == "alltime":
        return MentorBoard(mode, None, alltime_leaderboard(mentor_id, test_ids=test_ids, page=page))
    season = current_season(mentor_id, tz=tz, now=now)
    return MentorBoard(mode, season, season_leaderboard(season.id, test_ids=test_ids, page=page))


def season_rank(season_id: int, student_id: int, *, test_ids: frozenset[int]) -> int | None:
    """The student's position in :func:`season_leaderboard` (None when not on it).

    Compared against the student's own row inside the query, so the ordering is exactly
    the one the database applies to the list.
    """
    me_row = (
        SeasonRating.select(SeasonRating.rating_score, Student.telegram_id)
        .join(Student)
        .where((SeasonRating.season == season_id) & (SeasonRating.student == student_id))
        .first()
    )
    if me_row is None or me_row.rating_score <= 0 or me_row.student.telegram_id in test_ids:
        return None
    me = SeasonRating.alias("me")
    them = SeasonRating
    tie_ahead = (
        (them.earliest_attempt_at < me.earliest_attempt_at)
        | ((them.earliest_attempt_at == me.earliest_attempt_at) & (them.student < me.student))
        | (me.earliest_attempt_at.is_null() & (
            them.earliest_attempt_at.is_null(False)
            | (them.earliest_attempt_at.is_null() & (them.student < me.student))))
    )
    ahead = (
        them.select()
        .join(me, on=(me.season == them.season))
        .where(
            (me.student == student_id)
            & _season_ranked(season_id, test_ids)
            & (them.rating_score >= me.rating_score)
            & ((them.rating_score > me.rating_score) | tie_ahead)
        )
        .count()
    )
    return ahead + 1


def _animals(season_id: int, rating_ids: list[int]) -> dict[int, int]:
    """Rating row id → its 0-based order of creation within the season."""
    ordinal = fn.ROW_NUMBER().over(order_by=[SeasonRating.id]) - 1
    inner = (
        SeasonRating.select(SeasonRating.id.alias("rid"), ordinal.alias("n"))
        .where(SeasonRating.season == season_id)
        .alias("ordered")
    )
    query = (
        SeasonRating.select(inner.c.rid, inner.c.n)
        .from_(inner)
        .where(inner.c.rid.in_(rating_ids))
        .tuples()
    )
    return dict(query)


def student_board(
    student_id: int, *, tz: ZoneInfo, test_ids: frozenset[int], now: dt.datetime | None = None
) -> StudentBoard | None:
    """The student's 🏆 screen: top 15 of the current season of their mentor, their
    own row marked, their rank when below. None when the student has no mentor."""
    student = Student.get_or_none(Student.id == student_id)
    if student is None or student.mentor_id is None:
        return None
    season = current_season(student.mentor_id, tz=tz, now=now)
    top = list(
        SeasonRating.select(SeasonRating.id, SeasonRating.student, SeasonRating.rating_score)
        .where(_season_ranked(season.id, test_ids))
        .order_by(*_SEASON_ORDER)
        .limit(STUDENT_TOP)
        .tuples()
    )
    ordinals = _animals(season.id, [rid for rid, _, _ in top]) if top else {}
    rows = tuple(
        StudentRow(
            rank=i + 1,
            rating=rating,
            is_you=sid == student_id,
            animal_index=ordinals[rid] % ANIMAL_COUNT,
            animal_number=ordinals[rid] // ANIMAL_COUNT + 1,
        )
        for i, (rid, sid, rating) in enumerate(top)
    )
    mine = next((r for r in rows if r.is_you), None)
    if mine is not None:
        return StudentBoard(season, rows, mine.rank, mine.rating)
    rank = season_rank(season.id, student_id, test_ids=test_ids)
    rating = season_rating(season.id, student_id) if rank is not None else None
    return StudentBoard(season, rows, rank, rating.rating if rating else None)

