"""The student's profile: the name they give, and their statistics.

Names: a real name is kept as typed — "O'Neil", "McDonald", "Анна-Мария", "Gʻulom" — except that
surrounding spaces are trimmed and runs of whitespace collapse to one space (v1 re-capitalised
every word and mangled such names). Allowed: letters of any script (with their combining
marks), spaces, hyphens, apostrophes (' ’ ‘ `) and dots; every word must contain a letter.
Digits, emoji, "@", "_" and the like are refused. "Use Telegram name" is validated the same way
(v1 skipped validation).

Statistics are per mentor (the student's current one) rather than mixed across mentors, the
best result is the best *percentage* (v1: raw score), percentages use the same half-up
rounding as the leaderboard, and a "ranked" quiz is one the student took within its ranked
window (taken only afterwards, as practice, it counts as practice).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from peewee import Case, Cast, fn

from studymate.db.models import Mentor, Quiz, QuizAttempt, Student, utcnow
from studymate.services.quiz.grading import counts
from studymate.services.ratings import RANKED
from studymate.services.streaks import Streak, local_date, local_today, shown_streak

NAME_MIN: Final = 3
NAME_MAX: Final = 200
NAME_PUNCTUATION: Final = frozenset(" -.'’‘`")


class NameProblem(StrEnum):
    """Why a name was refused; the value is the catalog key of the message."""

    TOO_SHORT = "profile_name_too_short"
    TOO_LONG = "profile_name_too_long"
    INVALID = "profile_name_invalid"


@dataclass(frozen=True, slots=True)
class NameCheck:
    name: str  # the normalised name (what would be saved)
    problem: NameProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def normalize_name(text: str) -> str:
    """Trim and collapse whitespace; NFC so that "й" typed in two code points counts as one."""
    return " ".join(unicodedata.normalize("NFC", text).split())


# A new capital follows a hyphen or an apostrophe (O'Neil); Uzbek's letter marks ʻ and ‘
# (oʻ, gʻ) are part of a letter and do not start one.
_WORD_PARTS = re.compile(r"([-'’])")


def tidy_case(name: str) -> str:
    """Capitalise each word typed all in lower or all in upper case ("  али   ВАЛИЕВ " →
    "Али Валиев", "o'neil anna-maria" → "O'Neil Anna-Maria"); a word typed in mixed case
    ("McLeod") is the person's own spelling and stays."""
    words = []
    for word in normalize_name(name).split(" "):
        letters = [ch for ch in word if ch.islower() or ch.isupper()]
        if letters and (all(ch.islower() for ch in letters) or all(ch.isupper() for ch in letters)):
            word = "".join(part[:1].upper() + part[1:].lower() for part in _WORD_PARTS.split(word))
        words.append(word)
    return " ".join(words)


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "L"


def _allowed(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LM" or ch in NAME_PUNCTUATION


def check_full_name(text: str) -> NameCheck:
    name = normalize_name(text)
    if len(name) < NAME_MIN:
        return NameCheck(name, NameProblem.TOO_SHORT)
    if len(name) > NAME_MAX:
        return NameCheck(name, NameProblem.TOO_LONG)
    if not all(_allowed(ch) for ch in name):
        return NameCheck(name, NameProblem.INVALID)
    if not all(any(_is_letter(ch) for ch in word) for word in name.split(" ")):
        return NameCheck(name, NameProblem.INVALID)
    return NameCheck(tidy_case(name), None)


def telegram_name(first_name: str, last_name: str) -> str:
    """What "✅ Use Telegram name" offers: "first last"."""
    return f"{first_name} {last_name}".strip()


def save_full_name(student_id: int, text: str) -> NameCheck:
    """Validate and, when valid, store the name and mark the profile completed."""
    check = check_full_name(text)
    if check.ok:
        (
            Student.update(full_name=check.name, profile_completed=True, last_active=utcnow())
            .where(Student.id == student_id)
            .execute()
        )
    return check


@dataclass(frozen=True, slots=True)
class ProfileStats:
    total_quizzes: int  # distinct quizzes with a finished attempt
    ranked: int  # … of which taken as a ranked exam (within the window)
    practice: int  # … the others
    avg_percentage: float  # all finished attempts: sum of scores / sum of totals
    best_score: int
    best_total: int  # 0 when there is no attempt ("0/0 (0%)")
    best_percentage: float


def _percent(score: int, total: int) -> float:
    # Same half-up rounding to one decimal as the leaderboard (ratings.compute_rating).
    return (2 * score * 1000 + total) // (2 * total) / 10 if total > 0 else 0.0


def profile_stats(student_id: int, *, mentor_id: int | None) -> ProfileStats:
    """Totals, average, best and streak over the student's finished attempts of ``mentor_id``'s quizzes (all mentors when
    None): two indexed queries."""
    where = (QuizAttempt.student == student_id) & counts()  # a cancelled attempt counts nowhere
    if mentor_id is not None:
        where &= Quiz.mentor == mentor_id
    in_window = (
        (Quiz.quiz_type == RANKED)
        & Quiz.available_until.is_null(False)
        & (QuizAttempt.started_at < Quiz.available_until)
    )
    total, ranked, score, possible = (
        QuizAttempt.select(
            fn.COUNT(fn.DISTINCT(QuizAttempt.quiz)),
            fn.COUNT(fn.DISTINCT(Case(None, [(in_window, QuizAttempt.quiz)], None))),
            fn.COALESCE(fn.SUM(QuizAttempt.score), 0),
            fn.COALESCE(fn.SUM(QuizAttempt.total), 0),
        )
        .join(Quiz)
        .where(where)
        .tuples()
        .get()
    )
    best = (
        QuizAttempt.select(QuizAttempt.score, QuizAttempt.total)
        .join(Quiz)
        .where(where & (QuizAttempt.total > 0))
        .order_by(
            (Cast(QuizAttempt.score, "DOUBLE PRECISION") / QuizAttempt.total).desc(),
            QuizAttempt.score.desc(),
            QuizAttempt.finished_at.asc(),
        )
        .tuples()
        .first()
    )
    best_score, best_total = best if best else (0, 0)
    return ProfileStats(
        total_quizzes=total,
        ranked=ranked,
        practice=total - ranked,
        avg_percentage=_percent(int(score), int(possible)),
        best_score=best_score,
        best_total=best_total,
        best_percentage=_percent(best_score, best_total),
    )


@dataclass(frozen=True, slots=True)
class Profile:
    student_id: int
    completed: bool  # False → the name setup flow first
    full_name: str
    telegram_name: str
    username: str | None
    joined: dt.date  # local date (v1 showed the UTC date)
    language: str
    mentor_name: str | None
    stats: ProfileStats
    streak: Streak  # shown truthfully: 0 once a day has been missed


def load_profile(student_id: int, *, tz: ZoneInfo, now: dt.datetime | None = None) -> Profile | None:
    student = Student.get_or_none(Student.id == student_id)
    if student is None:
        return None
    mentor = Mentor.get_or_none(Mentor.id == student.mentor_id) if student.mentor_id else None
    return Profile(
        student_id=student.id,
        completed=student.profile_completed,
        full_name=student.full_name,
        telegram_name=telegram_name(student.first_name, student.last_name),
        username=student.username,
        joined=local_date(student.joined_at, tz),
        language=student.language,
        mentor_name=mentor.name if mentor else None,
        stats=profile_stats(student.id, mentor_id=student.mentor_id),
        streak=shown_streak(student.current_streak, student.longest_streak,
                            student.last_quiz_date, local_today(tz, now)),
    )
