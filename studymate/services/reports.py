"""CSV reports for a mentor: the leaderboard as shown (season or all time) and one student's
attempts. Same file format as the quiz export (``quiz.export.csv_bytes``: UTF-8 with a BOM,
``;``, CRLF; a cell starting with = + - @ gets a leading ').

- The leaderboard file has every ranked row of the board the mentor is looking at, in the
  board's order and with its ranks (``ratings.season_leaderboard`` / ``alltime_leaderboard``;
  test accounts left out as on the screen), plus the score and possible points behind each
  rating.
- The student file has every finished attempt the student made on this mentor's quizzes,
  oldest first, numbered per quiz (1 = the first attempt, the one the quiz statistics count).
  The student must be the mentor's (``NotFound`` otherwise, as for a crafted button).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

from studymate.db.models import AllTimeRating, Quiz, QuizAttempt, SeasonRating, Student
from studymate.services import ratings
from studymate.services.errors import NotFound
from studymate.services.quiz.export import _cell, _local_iso, csv_bytes

BOARD_COLUMNS: Final = (
    "rank", "student_telegram_id", "full_name", "username", "first_name", "last_name", "rating",
    "avg_percentage", "ranked_quizzes", "score", "possible",
)
STUDENT_COLUMNS: Final = (
    "quiz_title", "quiz_type", "attempt", "score", "total", "percentage", "started_at",
    "finished_at", "finish_reason",
)
_EVERYONE: Final = 1_000_000  # one page holding the whole board


@dataclass(frozen=True, slots=True)
class Report:
    file_name: str
    data: bytes
    rows: int


def board_csv(
    mentor_id: int, *, mode: ratings.Mode, tz: ZoneInfo, test_ids: frozenset[int]
) -> Report | None:
    """The mentor's leaderboard in ``mode`` ("season": the current season); None if empty."""
    if mode == "alltime":
        page = ratings.alltime_leaderboard(mentor_id, test_ids=test_ids, per_page=_EVERYONE)
        where = AllTimeRating.mentor == mentor_id
        table: type[SeasonRating] | type[AllTimeRating] = AllTimeRating
        name = "leaderboard_alltime.csv"
    else:
        season = ratings.current_season(mentor_id, tz=tz)
        page = ratings.season_leaderboard(season.id, test_ids=test_ids, per_page=_EVERYONE)
        where = SeasonRating.season == season.id
        table = SeasonRating
        name = f"leaderboard_{season.year}-{season.month:02d}.csv"
    if not page.items:
        return None
    ids = [row.student_id for row in page.items]
    points = {
        sid: (score, possible)
        for sid, score, possible in table.select(table.student, table.total_score, table.total_possible)
        .where(where & table.student.in_(ids))
        .tuples()
    }
    people = {s.id: s for s in Student.select().where(Student.id.in_(ids))}
    rows = [
        (
            row.rank,
            people[row.student_id].telegram_id,
            _cell(people[row.student_id].full_name),
            _cell(people[row.student_id].username),
            _cell(people[row.student_id].first_name),
            _cell(people[row.student_id].last_name),
            f"{row.rating:.1f}",
            f"{row.avg_percentage:.1f}",
            row.quizzes,
            *points.get(row.student_id, (0, 0)),
        )
        for row in page.items
    ]
    return Report(name, csv_bytes(BOARD_COLUMNS, rows), len(rows))


def student_csv(mentor_id: int, student_id: int, *, tz: ZoneInfo) -> Report | None:
    """Every finished attempt of the mentor's student on the mentor's quizzes; None if none."""
    student = Student.get_or_none((Student.id == student_id) & (Student.mentor == mentor_id))
    if student is None:
        raise NotFound(student_id)
    attempts = (
        QuizAttempt.select(QuizAttempt, Quiz)
        .join(Quiz)
        .where(
            (QuizAttempt.student == student_id)
            & (Quiz.mentor == mentor_id)
            & QuizAttempt.finished_at.is_null(False)
        )
        .order_by(QuizAttempt.started_at, QuizAttempt.id)
    )
    numbers: dict[int, int] = {}
    rows = []
    for a in attempts:
        numbers[a.quiz_id] = numbers.get(a.quiz_id, 0) + 1
        share = f"{(1000 * a.score + a.total // 2) // a.total / 10:.1f}" if a.total else ""
        rows.append((
            _cell(a.quiz.title),
            a.quiz.quiz_type,
            numbers[a.quiz_id],
            a.score,
            a.total,
            share,
            _local_iso(a.started_at, tz),
            _local_iso(a.finished_at, tz),
            a.finish_reason or "",
        ))
    if not rows:
        return None
    return Report(f"student_{student.telegram_id}_report.csv", csv_bytes(STUDENT_COLUMNS, rows), len(rows))
