"""Which attempts count, which one is graded, and how a group's average is stated.

- A *cancelled* attempt (a practice quiz the student left with /cancel after answering at least
  one question) is kept for the student's own review and the CSV, and counts nowhere else: not in
  statistics, averages, streaks, leaderboards or the student's profile. One left before any
  answer is not kept at all.
- The *graded* attempt of a student is the one the mentor's statistics use: their first counted
  attempt, and for a ranked quiz the first one started inside its window. Every later attempt is
  a *retake*: it shows in the student's own results and the CSV, never in the quiz's average.
- An average is taken over each attempt's own question count: an attempt of 3 questions stays
  "1/3" when a 4th question is added later. When every graded attempt has the same count the
  average reads "1.3/3"; otherwise it is given as a percentage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from peewee import Expression

from studymate.db.models import Quiz, QuizAttempt

CANCELLED: Final = "cancelled"
GRADED: Final = "graded"
RETAKE: Final = "retake"
# The same rule for raw SQL, with the attempt table aliased ``alias``.
COUNTS_SQL: Final = "({alias}.finish_reason IS NULL OR {alias}.finish_reason <> 'cancelled')"


def counts() -> Expression:
    """Finished attempts that count (everything but cancelled ones)."""
    return QuizAttempt.finished_at.is_null(False) & (
        QuizAttempt.finish_reason.is_null() | (QuizAttempt.finish_reason != CANCELLED)
    )


def in_window() -> Expression:
    """Attempts that may be graded: any attempt of a practice quiz, and of a ranked quiz only
    those started before its deadline (needs ``Quiz`` joined)."""
    return (
        (Quiz.quiz_type != "ranked")
        | Quiz.available_until.is_null()
        | (QuizAttempt.started_at < Quiz.available_until)
    )


def is_cancelled(reason: str | None) -> bool:
    return reason == CANCELLED


def percent(score: int, total: int) -> Decimal:
    """score/total as a percentage, one decimal, halves up (like the leaderboards)."""
    if total <= 0:
        return Decimal("0.0")
    return (Decimal(score) * 100 / total).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Average:
    score: Decimal  # mean score, one decimal (meaningful when ``total`` is set)
    total: int | None  # the question count all attempts share; None when they differ
    percent: Decimal  # mean of each attempt's own percentage, one decimal
    count: int

    def __str__(self) -> str:
        if self.total is not None:
            return f"{self.score}/{self.total}"
        return f"{self.percent}%"


def average(results: Iterable[tuple[int, int]]) -> Average:
    """The average of (score, total) pairs, each over its own total."""
    pairs = [(score, total) for score, total in results]
    if not pairs:
        return Average(Decimal("0.0"), None, Decimal("0.0"), 0)
    totals = {total for _, total in pairs}
    mean = (Decimal(sum(score for score, _ in pairs)) / len(pairs)).quantize(
        Decimal("0.1"), ROUND_HALF_UP
    )
    shares = [Decimal(score) / total if total > 0 else Decimal(0) for score, total in pairs]
    mean_percent = (sum(shares, Decimal(0)) * 100 / len(pairs)).quantize(
        Decimal("0.1"), ROUND_HALF_UP
    )
    return Average(mean, totals.pop() if len(totals) == 1 else None, mean_percent, len(pairs))
