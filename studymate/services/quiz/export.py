"""The results of a quiz as a CSV file.

UTF-8 with a BOM, ``;`` as separator, CRLF line ends. Excel reads a .csv as UTF-8 only when it
starts with a BOM (without one, Cyrillic names turn into mojibake), and it splits columns on
the list separator of the Windows regional settings, which is ``;`` in the Russian and Uzbek
locales our schools use (a ``sep=;`` line would fix the separator everywhere but makes Excel
ignore the BOM). LibreOffice Calc and Google Sheets detect both the BOM and the separator.
Times are ISO-8601 in the school's time zone with its offset (v1 wrote UTC). A cell starting
with = + - @ gets a leading ' so a student's self-entered name can never run as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Final
from zoneinfo import ZoneInfo

from studymate.db.models import QuizAttempt, Student
from studymate.services.quiz.authoring import own_quiz

CSV_COLUMNS: Final = (
    "quiz_title", "student_telegram_id", "full_name", "username", "first_name", "last_name",
    "score", "total", "started_at", "finished_at",
)


def _cell(value: str | None) -> str:
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _local_iso(moment: dt.datetime, tz: ZoneInfo) -> str:
    return moment.replace(tzinfo=dt.UTC).astimezone(tz).isoformat(timespec="seconds")


def export_csv(mentor_id: int, quiz_id: int, *, tz: ZoneInfo) -> bytes | None:
    """Every finished attempt (retakes and test accounts too), oldest first; None if none.
    Times are ISO-8601 in the school's time zone, with its offset."""
    quiz = own_quiz(mentor_id, quiz_id)
    query = (
        QuizAttempt.select(QuizAttempt, Student)
        .join(Student)
        .where((QuizAttempt.quiz == quiz_id) & QuizAttempt.finished_at.is_null(False))
        .order_by(QuizAttempt.finished_at, QuizAttempt.id)
    )
    rows = [
        (
            _cell(quiz.title),
            a.student.telegram_id,
            _cell(a.student.full_name),
            _cell(a.student.username),
            _cell(a.student.first_name),
            _cell(a.student.last_name),
            a.score,
            a.total,
            _local_iso(a.started_at, tz),
            _local_iso(a.finished_at, tz),
        )
        for a in query
    ]
    if not rows:
        return None
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")
