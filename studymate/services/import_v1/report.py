"""What ``studymate import-v1`` did: counts per table, reasons, problems, rating differences."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

# entity key → (label in the summary, v1 table)
ENTITIES: Final[dict[str, tuple[str, str]]] = {
    "mentor": ("mentors", "mentors_mentor"),
    "student": ("students", "students_student"),
    "topic": ("topics", "materials_topic"),
    "material": ("materials", "materials_material"),
    "download": ("downloads", "downloads_download"),
    "question": ("questions", "questions_question"),
    "quiz": ("quizzes", "quizzes_quiz"),
    "quiz_question": ("quiz questions", "quizzes_quizquestion"),
    "attempt": ("attempts", "quizzes_quizattempt"),
    "answer": ("answers", "quizzes_quizanswer"),
    "season": ("seasons", "students_season"),
    "rating": ("season ratings", "students_seasonrating"),
}
EXAMPLES: Final = 5  # v1 ids shown per problem
DIFFS_SHOWN: Final = 50


@dataclass
class Tally:
    """One v1 table: rows read = imported + already imported + skipped."""

    read: int = 0
    imported: int = 0
    already: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason → rows
    adjusted: Counter[str] = field(default_factory=Counter)  # what was changed → rows

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


@dataclass(frozen=True, slots=True)
class RatingValue:
    rating: float
    quizzes: int
    score: int
    possible: int

    def __str__(self) -> str:
        word = "quiz" if self.quizzes == 1 else "quizzes"
        return f"{self.rating:.1f} ({self.quizzes} {word}, {self.score}/{self.possible})"


@dataclass(frozen=True, slots=True)
class RatingDiff:
    mentor: str
    month: dt.date
    student: str
    v1: RatingValue | None
    now: RatingValue | None


@dataclass
class Summary:
    source: str
    dry_run: bool
    merge: bool
    tallies: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in ENTITIES})
    # (table, reason) → v1 ids: inconsistencies the import cannot resolve
    problems: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    ratings_compared: int = 0
    rating_diffs: list[RatingDiff] = field(default_factory=list)
    saved: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, entity: str, v1_id: int, reason: str) -> None:
        self.problems.setdefault((ENTITIES[entity][1], reason), []).append(v1_id)

    def format(self) -> str:
        return "\n".join(_lines(self))


def _lines(s: Summary) -> list[str]:
    mode = " (dry run)" if s.dry_run else ""
    out = [f"StudyMate v1 import from {s.source}{mode}", ""]
    out.append(f"{'table':16}{'read':>8}{'imported':>10}{'already':>9}{'skipped':>9}")
    for key, (label, _) in ENTITIES.items():
        t = s.tallies[key]
        if key == "rating":
            out.append(f"{label:16}{t.read:>8}{'recomputed, see below':>28}")
            continue
        out.append(f"{label:16}{t.read:>8}{t.imported:>10}{t.already:>9}{t.skipped_total:>9}")
    skipped = [(ENTITIES[k][0], n, r) for k, t in s.tallies.items() for r, n in t.skipped.items()]
    if skipped:
        out += ["", "skipped:"]
        out += [f"  {label:16}{n:>6}  {reason}" for label, n, reason in skipped]
    adjusted = [(ENTITIES[k][0], n, r) for k, t in s.tallies.items() for r, n in t.adjusted.items()]
    if adjusted:
        out += ["", "adjusted:"]
        out += [f"  {label:16}{n:>6}  {reason}" for label, n, reason in adjusted]
    out += ["", *_rating_lines(s)]
    if s.problems:
        out += ["", "unresolved inconsistencies (nothing was saved; fix them in v1 and run again):"]
        for (table, reason), ids in s.problems.items():
            shown = ", ".join(str(i) for i in ids[:EXAMPLES]) + (", …" if len(ids) > EXAMPLES else "")
            out.append(f"  {table} id {shown}: {reason}")
    out += ["", _verdict(s)]
    return out


def _rating_lines(s: Summary) -> list[str]:
    head = (
        f"season ratings recomputed with this version's rules: {s.ratings_compared} compared"
        f" with v1's stored ratings, {len(s.rating_diffs)} "
        f"{'differs' if len(s.rating_diffs) == 1 else 'differ'}"
    )
    if not s.rating_diffs:
        return [head]
    lines = [head + " (v1 mixed UTC and local dates):"]
    lines.append(f"  {'mentor':24}{'month':9}{'student':26}{'v1':28}now")
    for d in s.rating_diffs[:DIFFS_SHOWN]:
        v1 = str(d.v1) if d.v1 else "—"
        now = str(d.now) if d.now else "—"
        lines.append(f"  {d.mentor[:23]:24}{d.month:%Y-%m}  {d.student[:25]:26}{v1:28}{now}")
    if len(s.rating_diffs) > DIFFS_SHOWN:
        lines.append(f"  … and {len(s.rating_diffs) - DIFFS_SHOWN} more")
    return lines


def _verdict(s: Summary) -> str:
    if s.problems:
        return "nothing was saved: the v1 database has inconsistencies this import cannot resolve"
    if s.dry_run:
        return "dry run: nothing was saved"
    new = sum(t.imported for k, t in s.tallies.items() if k != "rating")
    return f"saved: {new} new rows" if new else "saved: nothing new to import"
