"""Quizzes in and out of other formats: which reader an uploaded file goes to (our ``.txt``,
GIFT or Aiken), and a stored quiz as a GIFT file for Moodle."""

from __future__ import annotations

import re
from typing import Final

from studymate.db.models import QuizQuestion
from studymate.services.quiz import kinds
from studymate.services.quiz.aiken import looks_like_aiken, parse_aiken
from studymate.services.quiz.authoring import own_quiz
from studymate.services.quiz.format import (
    MULTI,
    TYPED,
    ParsedQuestion,
    ParsedQuiz,
    normalize_text,
    parse_quiz,
)
from studymate.services.quiz.gift import looks_like_gift, parse_gift, to_gift

TXT: Final = "txt"
GIFT: Final = "gift"
AIKEN: Final = "aiken"
EXTENSIONS: Final = (".txt", ".gift")
# The two words a GIFT {T}/{F} question offers, in the mentor's language (true first).
TRUE_FALSE_WORDS: Final = {
    "ru": ("Верно", "Неверно"), "kaa": ("Durıs", "Nadurıs"), "en": ("True", "False"),
}
# An unindented "N." question line and a starred option: certainly our own format.
_QUESTION_RE: Final = re.compile(r"^\d{1,4}[ \t]*#*\.(?!\d)", re.MULTILINE)
_STARRED_RE: Final = re.compile(r"^[ \t]*[A-Ha-h][ \t]*\*+[ \t]*\)", re.MULTILINE)


def file_kind(text: str, file_name: str | None) -> str:
    """``.gift`` files are GIFT; a ``.txt`` file is read by its syntax (see the README)."""
    if (file_name or "").strip().lower().endswith(".gift"):
        return GIFT
    text = normalize_text(text)
    if _QUESTION_RE.search(text) and _STARRED_RE.search(text):
        return TXT
    if looks_like_aiken(text):
        return AIKEN
    if looks_like_gift(text):
        return GIFT
    return TXT


def parse_any(text: str, *, file_name: str | None, language: str) -> ParsedQuiz:
    """The quiz in an uploaded file of any format we read; raises QuizFormatError."""
    kind = file_kind(text, file_name)
    if kind == GIFT:
        words = TRUE_FALSE_WORDS.get(language, TRUE_FALSE_WORDS["ru"])
        return parse_gift(text, file_name=file_name, true_false=words)
    if kind == AIKEN:
        return parse_aiken(text, file_name=file_name)
    return parse_quiz(text, file_name=file_name)


def stored_quiz(mentor_id: int, quiz_id: int) -> ParsedQuiz:
    """One of the mentor's quizzes as it is now (edits included), for an export."""
    quiz = own_quiz(mentor_id, quiz_id)
    rows = (
        QuizQuestion.select()
        .where(QuizQuestion.quiz == quiz.id)
        .order_by(QuizQuestion.order, QuizQuestion.id)
    )
    questions = []
    for number, row in enumerate(rows, start=1):
        kind = kinds.kind_of(row)
        questions.append(ParsedQuestion(
            number=number, line=0, text=row.question_text, options=tuple(kinds.options_of(row)),
            correct=kinds.correct_letters(row) if kind == MULTI else (row.correct_answer or ""),
            time_bonus=row.time_bonus or 0, kind=kind,
            answers=tuple(kinds.accepted_of(row)) if kind == TYPED else (),
            explanation=row.explanation,
        ))
    return ParsedQuiz(
        title=quiz.title, topic=quiz.topic, questions=tuple(questions),
        seconds=quiz.question_seconds, window_hours=quiz.window_hours,
        shuffle_questions=quiz.shuffle_questions, shuffle_options=quiz.shuffle_options,
    )


def gift_file(mentor_id: int, quiz_id: int) -> tuple[str, str, bytes]:
    """(quiz title, file name, UTF-8 bytes) of the quiz as GIFT."""
    quiz = stored_quiz(mentor_id, quiz_id)
    stem = re.sub(r"[^\w.-]+", "_", quiz.title).strip("._")[:60] or f"quiz_{quiz_id}"
    return quiz.title, f"{stem}.gift", to_gift(quiz).encode("utf-8")
