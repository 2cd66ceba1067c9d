"""Question kinds: how a parsed question is stored, how its options are read back, and what
counts as a right answer.

- single / truefalse: one letter, equal to ``correct_answer``;
- multi (select all that apply): all or nothing — the chosen set must equal ``correct_set``;
- typed: the text must match one accepted answer, ignoring case, surrounding and repeated
  blanks and Cyrillic/Latin look-alike letters; two numbers compare as numbers
  (``3,5`` = ``3.5`` = ``3.50``); an accepted answer ``3.5 ± 0.1`` takes any number from 3.4
  to 3.6 (how a GIFT numerical answer with a tolerance is kept).
"""

from __future__ import annotations

import json
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from studymate.db.models import QuizQuestion
from studymate.services.quiz.format import MULTI, SINGLE, TYPED, ParsedQuestion
from studymate.services.quiz.format import OPTION_LETTERS as LETTERS

# Cyrillic letters that look like Latin ones, folded (after casefold) to the Latin letter.
_LOOKALIKES: Final = str.maketrans("аеорсухкмтнвіјѕԁ", "aeopcyxkmthbijsd")
_NUMBER_RE: Final = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)$")
_TOLERANCE_RE: Final = re.compile(r"^([^±]+)±([^±]+)$")


def stored_fields(question: ParsedQuestion) -> dict[str, Any]:
    """The QuizQuestion columns of a parsed question (old four-option ones as before)."""
    options = list(question.options)
    four = (options + ["", "", "", ""])[:4]
    return {
        "question_text": question.text,
        "option_a": four[0],
        "option_b": four[1],
        "option_c": four[2],
        "option_d": four[3],
        "correct_answer": question.correct[:1],
        "time_bonus": question.time_bonus,
        "kind": question.kind,
        "options_json": None if len(options) == 4 else json.dumps(options, ensure_ascii=False),
        "correct_set": question.correct if question.kind == MULTI else None,
        "accepted_answers": (
            json.dumps(list(question.answers), ensure_ascii=False) if question.kind == TYPED else None
        ),
        "explanation": question.explanation,
    }


def kind_of(question: QuizQuestion) -> str:
    return question.kind or SINGLE


def options_of(question: QuizQuestion) -> list[str]:
    """The question's options in file order (none for a typed answer)."""
    if question.options_json:
        return list(json.loads(question.options_json))
    if kind_of(question) == TYPED:
        return []
    return [question.option_a, question.option_b, question.option_c, question.option_d]


def letters_of(question: QuizQuestion) -> str:
    return "".join(LETTERS[: len(options_of(question))])


def correct_letters(question: QuizQuestion) -> str:
    return question.correct_set or question.correct_answer or ""


def accepted_of(question: QuizQuestion) -> list[str]:
    return list(json.loads(question.accepted_answers)) if question.accepted_answers else []


def normalize_answer(text: str) -> str:
    """What a typed answer is compared as: NFKC, case folded, look-alikes folded, one space."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_LOOKALIKES)
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return " ".join(visible.split())


def _number(text: str) -> Decimal | None:
    compact = text.replace(" ", "")
    if not _NUMBER_RE.match(compact):
        return None
    try:
        return Decimal(compact.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None


def number_range(answer: str) -> tuple[Decimal, Decimal] | None:
    """``3.5 ± 0.1`` → (3.5, 0.1): a number with a tolerance; None for any other answer."""
    match = _TOLERANCE_RE.match(normalize_answer(answer))
    if match is None:
        return None
    center, tolerance = _number(match.group(1).strip()), _number(match.group(2).strip())
    if center is None or tolerance is None or tolerance < 0:
        return None
    return center, tolerance


def typed_matches(given: str, accepted: list[str]) -> bool:
    mine = normalize_answer(given)
    if not mine:
        return False
    number = _number(mine)
    for answer in accepted:
        theirs = normalize_answer(answer)
        if mine == theirs:
            return True
        other = _number(theirs)
        if number is not None and other is not None and number == other:
            return True
        within = number_range(answer) if number is not None else None
        if within is not None and number is not None and abs(number - within[0]) <= within[1]:
            return True
    return False


def is_correct(question: QuizQuestion, *, letter: str = "", letters: str | None = None,
               text: str | None = None) -> bool:
    """Whether an answer scores: ``letter`` (one tap), ``letters`` (a submitted set) or
    ``text`` (typed). A timeout ("-") never does."""
    kind = kind_of(question)
    if kind == TYPED:
        return text is not None and typed_matches(text, accepted_of(question))
    if kind == MULTI:
        return letters is not None and "".join(sorted(set(letters))) == correct_letters(question)
    return letters is None and text is None and letter != "-" and letter == question.correct_answer
