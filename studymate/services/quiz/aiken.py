"""Aiken files (Moodle's simplest question format) → quizzes: a question line, options
``A.``/``A)`` one per line, then ``ANSWER: B``. Every question is a single-answer one (two
options ``True``/``False`` make a true/false one, as in a ``.txt`` file). Errors name the
question (its number in the file and first words) and the line.
"""

from __future__ import annotations

import re
from typing import Any, Final

from studymate.services.quiz.format import (
    DEFAULT_TITLE,
    MAX_QUESTION_CHARS,
    MAX_QUESTIONS,
    MIN_OPTIONS,
    OPTION_LETTERS,
    SINGLE,
    TRUE_FALSE,
    TRUE_FALSE_PAIRS,
    ParsedQuestion,
    ParsedQuiz,
    QuizFormatError,
    _title_from_file_name,
    check_options,
    normalize_text,
    option_key,
)

AIKEN_ERROR_CODES: Final = frozenset(
    {
        "aiken_no_questions",
        "aiken_no_options",
        "aiken_no_answer",
        "aiken_answer_unknown",
        "aiken_options_count",
        "aiken_option_order",
        "aiken_option_empty",
    }
)
_OPTION_RE: Final = re.compile(r"^([A-Z])[.)](?:\s+(.*))?$")
_ANSWER_RE: Final = re.compile(r"^ANSWER\s*:\s*(.*)$", re.IGNORECASE)
_NAME: Final = 40


def looks_like_aiken(text: str) -> bool:
    """``ANSWER: X`` lines (capital letters, as Aiken writes them) and no ``*`` options."""
    lines = normalize_text(text).split("\n")
    if any(re.match(r"^\s*[A-Ha-h]\s*\*+\s*\)", line) for line in lines):
        return False
    return any(re.match(r"^ANSWER:\s*[A-Z]\s*$", line.strip()) for line in lines)


def _name(lines: list[str]) -> str:
    flat = " ".join(" ".join(lines).split())
    return (flat if len(flat) <= _NAME else flat[: _NAME - 1] + "…") or "…"


def parse_aiken(
    text: str, *, file_name: str | None, fallback_title: str = DEFAULT_TITLE
) -> ParsedQuiz:
    text = normalize_text(text)
    if not text.strip():
        raise QuizFormatError("empty_file")
    questions: list[ParsedQuestion] = []
    text_lines: list[str] = []
    options: list[tuple[str, str, int]] = []  # letter, text, line
    start = 0

    def where(line: int) -> dict[str, Any]:
        return {"question": len(questions) + 1, "line": line, "name": _name(text_lines)}

    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        answer = _ANSWER_RE.match(stripped)
        option = _OPTION_RE.match(stripped)
        if answer is not None and text_lines:
            if not options:
                raise QuizFormatError("aiken_no_options", **where(number))
            questions.append(_question(text_lines, options, answer.group(1).strip(), start,
                                       where(number)))
            if len(questions) > MAX_QUESTIONS:
                raise QuizFormatError(
                    "too_many_questions", line=start, limit=MAX_QUESTIONS, count=len(questions)
                )
            text_lines, options = [], []
        elif option is not None and text_lines:
            letter, value = option.group(1), (option.group(2) or "").strip()
            expected = OPTION_LETTERS[len(options)] if len(options) < len(OPTION_LETTERS) else None
            if expected is None:
                raise QuizFormatError(
                    "aiken_options_count", **where(number), count=len(options) + 1,
                    max=len(OPTION_LETTERS),
                )
            if letter != expected:
                raise QuizFormatError(
                    "aiken_option_order", **where(number), option=letter, expected=expected
                )
            if not value:
                raise QuizFormatError("aiken_option_empty", **where(number), option=letter)
            options.append((letter, value, number))
        elif options:
            # Text after the options: the ANSWER line of this question is missing.
            raise QuizFormatError("aiken_no_answer", **where(number))
        else:
            if not text_lines:
                start = number
            text_lines.append(stripped)
    if text_lines:
        line = options[-1][2] if options else start
        raise QuizFormatError("aiken_no_answer", **where(line))
    if not questions:
        raise QuizFormatError("aiken_no_questions")
    title = _title_from_file_name(file_name) or fallback_title
    return ParsedQuiz(title=title, topic=None, questions=tuple(questions))


def _question(
    text_lines: list[str], options: list[tuple[str, str, int]], answer: str, start: int,
    where: dict[str, Any],
) -> ParsedQuestion:
    letters = [letter for letter, _, _ in options]
    if answer not in letters:
        raise QuizFormatError(
            "aiken_answer_unknown", **where, answer=answer or "—", letters=", ".join(letters)
        )
    if len(options) < MIN_OPTIONS:
        raise QuizFormatError(
            "aiken_options_count", **where, count=len(options), max=len(OPTION_LETTERS)
        )
    check_options(options, question=where["question"])
    text = "\n".join(text_lines)
    values = tuple(value for _, value, _ in options)
    total = sum(len(part.encode("utf-16-le")) // 2 for part in (text, *values))
    if total > MAX_QUESTION_CHARS:
        raise QuizFormatError(
            "question_too_long", question=where["question"], line=start,
            limit=MAX_QUESTION_CHARS, length=total,
        )
    pair = {option_key(value) for value in values}
    kind = TRUE_FALSE if any(pair == set(words) for words in TRUE_FALSE_PAIRS) else SINGLE
    return ParsedQuestion(
        number=where["question"], line=start, text=text, options=values, correct=answer,
        time_bonus=0, kind=kind,
    )
