"""The results of a quiz as a CSV file.

UTF-8 with a BOM, ``;`` as separator, CRLF line ends. Excel reads a .csv as UTF-8 only when it
starts with a BOM (without one, Cyrillic names turn into mojibake), and it splits columns on
the list separator of the Windows regional settings, which is ``;`` in the Russian and Uzbek
locales our schools use (a ``sep=;`` line would fix the separator everywhere but makes Excel
ignore the BOM). LibreOffice Calc and Google Sheets detect both the BOM and the separator.
After the fixed columns come ``q1`` … ``qN``, one per current question in quiz order: the
answer key the attempt gave (A–D: the original letter, whatever order the options were shown
in; ``-`` timed out; empty: not answered, or the question was not part of that attempt).
Times are ISO-8601 in the school's time zone with its offset (v1 wrote UTC). A cell starting
with = + - @ gets a leading ' so a student's self-entered name can never run as a formula.

Each row says what the attempt is (``status``): ``graded`` (the one the quiz's statistics use),
``retake`` (any later attempt, or one after a ranked quiz closed) or ``cancelled`` (a practice
quiz left part-way: it counts nowhere). Then its percentage and, per question of the quiz as it
is now (``q1``…), the letter chosen: ``-`` when the time ran out, empty when the attempt did not
include that question (added later, or not reached before a cancel).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Final
from zoneinfo import ZoneInfo

from studymate.db.models import QuizAnswer, QuizAttempt, QuizQuestion, Student
from studymate.services.quiz import grading
from studymate.services.quiz.authoring import graded_attempt_ids, own_quiz

CSV_COLUMNS: Final = (
    "quiz_title", "student_telegram_id", "full_name", "username", "first_name", "last_name",
    "status", "score", "total", "percentage", "started_at", "finished_at",
)  # then q1, q2, … one per question


def _cell(value: str | None) -> str:
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _local_iso(moment: dt.datetime, tz: ZoneInfo) -> str:
    return moment.replace(tzinfo=dt.UTC).astimezone(tz).isoformat(timespec="seconds")


def csv_bytes(header: list[str] | tuple[str, ...], rows: list[tuple] | list[list]) -> bytes:
    """UTF-8 with a BOM, ``;``-separated, CRLF: the format every export of the bot uses."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def export_csv(mentor_id: int, quiz_id: int, *, tz: ZoneInfo) -> bytes | None:
    """Every finished attempt (retakes, cancelled attempts and test accounts too), oldest
    first; None if none. Times are ISO-8601 in the school's time zone, with its offset."""
    quiz = own_quiz(mentor_id, quiz_id)
    query = (
        QuizAttempt.select(QuizAttempt, Student)
        .join(Student)
        .where((QuizAttempt.quiz == quiz_id) & QuizAttempt.finished_at.is_null(False))
        .order_by(QuizAttempt.finished_at, QuizAttempt.id)
    )
    attempts = list(query)
    if not attempts:
        return None
    graded = graded_attempt_ids(quiz_id)
    question_ids = [
        q.id for q in QuizQuestion.select(QuizQuestion.id)
        .where(QuizQuestion.quiz == quiz_id)
        .order_by(QuizQuestion.order, QuizQuestion.id)
    ]
    chosen: dict[tuple[int, int], str] = {
        (a.attempt_id, a.question_id): a.selected_answer
        for a in QuizAnswer.select(QuizAnswer.attempt, QuizAnswer.question, QuizAnswer.selected_answer)
        .join(QuizAttempt)
        .where((QuizAttempt.quiz == quiz_id) & QuizAttempt.finished_at.is_null(False))
    }

    def status(attempt: QuizAttempt) -> str:
        if grading.is_cancelled(attempt.finish_reason):
            return grading.CANCELLED
        return grading.GRADED if attempt.id in graded else grading.RETAKE

    rows = [
        (
            _cell(quiz.title),
            a.student.telegram_id,
            _cell(a.student.full_name),
            _cell(a.student.username),
            _cell(a.student.first_name),
            _cell(a.student.last_name),
            status(a),
            a.score,
            a.total,
            str(grading.percent(a.score, a.total)),
            _local_iso(a.started_at, tz),
            _local_iso(a.finished_at, tz),
            *(chosen.get((a.id, q), "") for q in question_ids),
        )
        for a in attempts
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([*CSV_COLUMNS, *(f"q{n}" for n in range(1, len(question_ids) + 1))])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")
