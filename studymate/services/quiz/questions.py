"""Questions of a stored quiz: list, add, edit, delete.

Every function names the acting mentor; another mentor's quiz or question is ``NotFound``.
Typed values are checked like the file format checks them (``quiz.format``): one-line options of
at most 500 characters that differ from each other, a question and its options within 3,500
characters, a letter A–D (the Cyrillic look-alikes А, В, С from a Russian layout count).

What an edit does to attempts already made (v1 left them stale): answers point at question ids, so
renumbering (1..N after a delete) never detaches them. A new correct answer (a letter, the set of
a select-all question, the accepted typed answers) regrades the stored answers of that question
with the engine's own rule (``kinds.is_correct``) and rescores their attempts (the bot first
shows the mentor what changes and asks, see ``key_change``). A deleted question takes its
answers along and leaves the score and total of every finished attempt that contained it.
Either way the quiz's ratings are recomputed (``ratings.recompute_quiz``; it only acts on
ranked quizzes). Editing a text or an option changes no score. An added question is not part
of any attempt already started. An attempt in progress keeps its own question list; the
engine skips ids that no longer exist, and ``rescore_attempt`` gives its score and total
from what survives.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from peewee import fn

from studymate.db.models import QuizAnswer, QuizAttempt, QuizQuestion
from studymate.services import ratings
from studymate.services.errors import NotFound
from studymate.services.paging import Page, paginate
from studymate.services.quiz import kinds
from studymate.services.quiz.authoring import PAGE_SIZE, own_quiz
from studymate.services.quiz.format import (
    LETTERS,
    MAX_ANSWER,
    MAX_OPTION,
    MAX_QUESTION_CHARS,
    MULTI,
    OPTION_LETTERS,
    SINGLE,
    TIME_BONUS,
    TYPED,
    option_key,
)

_CYRILLIC_LETTERS: Final = str.maketrans("АВСас", "ABCac")
# Look-alikes of A–H a Russian layout types (as the file format reads option letters).
_CYRILLIC_OPTION_LETTERS: Final = str.maketrans("АВСЕНасе", "ABCEHace")
_SET_SEPARATORS: Final = str.maketrans("", "", " ,;")


class InvalidQuestion(ValueError):
    """A typed question, option or letter that cannot be stored.

    ``code``: empty, too_long (``limit``), duplicate (``other`` = the letter it repeats),
    letter (not one of A–D, or of the question's ``letters``), letters (a select-all set with
    a letter outside ``letters``), answers (an empty accepted typed answer), bonus (extra
    seconds other than 0, 5, 10) or kind (the field does not apply to a question of ``kind``).
    """

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params


class LastQuestion(ValueError):
    """A quiz keeps at least one question (archive the quiz instead)."""


class Field(StrEnum):
    TEXT = "text"
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"
    CORRECT = "correct"
    BONUS = "bonus"  # extra seconds: 0, 5 or 10, as '#'/'##' give them in a file


@dataclass(frozen=True, slots=True)
class QuestionInfo:
    id: int
    quiz_id: int
    number: int  # position in the quiz, 1-based
    text: str
    options: tuple[str, str, str, str]
    correct: str
    time_bonus: int
    kind: str = SINGLE  # single | truefalse | multi | typed
    image: str | None = None  # Telegram's file id of the question's picture
    choices: tuple[str, ...] = ()  # every option in file order (none for a typed answer)
    correct_letters: str = ""  # "B"; "AC" for select all that apply
    accepted: tuple[str, ...] = ()  # the accepted typed answers

    @property
    def classic(self) -> bool:
        """Four options and one right letter (shown and added as before)."""
        return self.kind == SINGLE and len(self.choices) == len(LETTERS)

    @property
    def letters(self) -> str:
        return "".join(OPTION_LETTERS[: len(self.choices)])

    @property
    def key(self) -> str:
        """The correct answer as the mentor types it: "B", "AC" or "Nukus | Нукус"."""
        return key_text(self.kind, self.correct_letters, self.accepted)

    def editable(self, field: Field) -> bool:
        """Text, extra time and the correct answer of every kind; the options it has."""
        return field in (Field.TEXT, Field.BONUS, Field.CORRECT) or field.value in self.letters

    def option(self, letter: str) -> str:
        return self.options[LETTERS.index(letter)]


def _ordered(quiz_id: int) -> Any:
    return (
        QuizQuestion.select()
        .where(QuizQuestion.quiz == quiz_id)
        .order_by(QuizQuestion.order, QuizQuestion.id)
    )


def _question_info(row: QuizQuestion, number: int) -> QuestionInfo:
    return QuestionInfo(
        id=row.id,
        quiz_id=row.quiz_id,
        number=number,
        text=row.question_text,
        options=(row.option_a, row.option_b, row.option_c, row.option_d),
        correct=row.correct_answer,
        time_bonus=row.time_bonus,
        kind=row.kind or SINGLE,
        image=row.image_file_id,
        choices=tuple(kinds.options_of(row)),
        correct_letters=kinds.correct_letters(row),
        accepted=tuple(kinds.accepted_of(row)),
    )


def questions_page(mentor_id: int, quiz_id: int, page: int) -> Page[QuestionInfo]:
    own_quiz(mentor_id, quiz_id)
    rows = paginate(_ordered(quiz_id), page, lambda row: row, per_page=PAGE_SIZE)
    items = [_question_info(row, rows.offset + i) for i, row in enumerate(rows.items, start=1)]
    return dataclasses.replace(rows, items=items)


def _own_question(mentor_id: int, quiz_id: int, question_id: int) -> QuizQuestion:
    own_quiz(mentor_id, quiz_id)
    row = QuizQuestion.get_or_none((QuizQuestion.id == question_id) & (QuizQuestion.quiz == quiz_id))
    if row is None:
        raise NotFound(question_id)
    return row


def get_question(mentor_id: int, quiz_id: int, question_id: int) -> QuestionInfo:
    row = _own_question(mentor_id, quiz_id, question_id)
    ids = [q.id for q in _ordered(quiz_id).select(QuizQuestion.id)]
    return _question_info(row, ids.index(row.id) + 1)


def clean_text(value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidQuestion("empty")
    if _utf16_len(text) > MAX_QUESTION_CHARS:
        raise InvalidQuestion("too_long", limit=MAX_QUESTION_CHARS)
    return text


def clean_option(value: str | None, others: dict[str, str]) -> str:
    """One line of at most 500 characters, different from the ``others`` (letter → text)."""
    text = " ".join((value or "").split())
    if not text:
        raise InvalidQuestion("empty")
    if len(text) > MAX_OPTION:
        raise InvalidQuestion("too_long", limit=MAX_OPTION)
    for letter, other in others.items():
        if option_key(other) == option_key(text):
            raise InvalidQuestion("duplicate", other=letter)
    return text


def clean_letter(value: str | None) -> str:
    """A, B, C or D in either case (Cyrillic А, В, С from a Russian layout too)."""
    letter = (value or "").strip().translate(_CYRILLIC_LETTERS).upper()
    if letter not in LETTERS:
        raise InvalidQuestion("letter")
    return letter


def clean_bonus(value: str | int | None) -> int:
    """Extra seconds of a question: 0, 5 or 10, the values a file's '#' markers give."""
    try:
        seconds = int(str(value).strip().lstrip("+"))
    except ValueError:
        raise InvalidQuestion("bonus") from None
    if seconds not in TIME_BONUS.values():
        raise InvalidQuestion("bonus")
    return seconds


def check_length(text: str, options: Iterable[str]) -> None:
    if _utf16_len(text) + sum(_utf16_len(o) for o in options) > MAX_QUESTION_CHARS:
        raise InvalidQuestion("too_long", limit=MAX_QUESTION_CHARS)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def add_question(
    mentor_id: int, quiz_id: int, *, text: str, options: tuple[str, str, str, str], correct: str
) -> QuestionInfo:
    """Append a question (order = max + 1, no time bonus). Attempts already made or in
    progress keep their own question list, so their score and total do not change."""
    own_quiz(mentor_id, quiz_id)
    text = clean_text(text)
    cleaned: dict[str, str] = {}
    for letter, option in zip(LETTERS, options, strict=True):
        cleaned[letter] = clean_option(option, cleaned)
    check_length(text, cleaned.values())
    last = QuizQuestion.select(fn.MAX(QuizQuestion.order)).where(QuizQuestion.quiz == quiz_id).scalar()
    row = QuizQuestion.create(
        quiz=quiz_id,
        question_text=text,
        option_a=cleaned["A"],
        option_b=cleaned["B"],
        option_c=cleaned["C"],
        option_d=cleaned["D"],
        correct_answer=clean_letter(correct),
        order=(last or 0) + 1,
        time_bonus=0,
    )
    return get_question(mentor_id, quiz_id, row.id)


_OPTION_COLUMNS: Final = ("option_a", "option_b", "option_c", "option_d")
ANSWER_SEPARATOR: Final = " | "


def key_text(kind: str, letters: str, accepted: Iterable[str]) -> str:
    return ANSWER_SEPARATOR.join(accepted) if kind == TYPED else letters


def key_of(row: QuizQuestion) -> str:
    return key_text(kinds.kind_of(row), kinds.correct_letters(row), kinds.accepted_of(row))


def clean_key(row: QuizQuestion, value: str | None) -> str:
    """The correct answer typed for ``row``'s kind, in its stored form: one of its letters
    ("b", Cyrillic look-alikes too), a set of them ("A C", "ac" → "AC"), or accepted answers
    split by ``|`` like a file's ``Answer:`` line ("Nukus | Нукус")."""
    kind, letters = kinds.kind_of(row), kinds.letters_of(row)
    if kind == TYPED:
        parts = [part.strip() for part in (value or "").split("|")]
        if not all(parts):
            raise InvalidQuestion("answers")
        if any(len(part) > MAX_ANSWER for part in parts):
            raise InvalidQuestion("too_long", limit=MAX_ANSWER)
        check_length(row.question_text, parts)
        return ANSWER_SEPARATOR.join(parts)
    typed = (value or "").translate(_CYRILLIC_OPTION_LETTERS).translate(_SET_SEPARATORS).upper()
    if kind == MULTI:
        if not typed or any(letter not in letters for letter in typed):
            raise InvalidQuestion("letters", letters=", ".join(letters))
        return "".join(sorted(set(typed)))
    if len(typed) != 1 or typed not in letters:
        classic = kind == SINGLE and len(letters) == len(LETTERS)  # "A, B, C or D" as before
        raise InvalidQuestion("letter", **({} if classic else {"letters": ", ".join(letters)}))
    return typed


def with_key(row: QuizQuestion, key: str) -> QuizQuestion:
    """``row`` with the correct answer ``key`` (a ``clean_key`` value) in its columns."""
    kind = kinds.kind_of(row)
    if kind == TYPED:
        answers = key.split("|")
        row.accepted_answers = json.dumps([a.strip() for a in answers], ensure_ascii=False)
    elif kind == MULTI:
        row.correct_set, row.correct_answer = key, key[:1]
    else:
        row.correct_answer = key
    return row


def update_question(
    mentor_id: int, quiz_id: int, question_id: int, field: Field, value: str, *, tz: ZoneInfo
) -> QuestionInfo:
    """Change one field. A new correct answer regrades the answers already given to this
    question, rescores their attempts and recomputes the quiz's ratings. Extra seconds change
    no score: an attempt in progress gets them from its next display of the question on."""
    row = _own_question(mentor_id, quiz_id, question_id)
    if not _question_info(row, 0).editable(field):
        raise InvalidQuestion("kind", kind=kinds.kind_of(row))
    options = dict(zip(OPTION_LETTERS, kinds.options_of(row), strict=False))
    if field is Field.CORRECT:
        key = clean_key(row, value)
        if key != key_of(row):
            set_key(row, key, tz=tz)
    elif field is Field.BONUS:
        row.time_bonus = clean_bonus(value)
        row.save()
    elif field is Field.TEXT:
        text = clean_text(value)
        check_length(text, options.values() or kinds.accepted_of(row))
        row.question_text = text
        row.save()
    else:
        others = {letter: text for letter, text in options.items() if letter != field.value}
        option = clean_option(value, others)
        check_length(row.question_text, [*others.values(), option])
        _store_option(row, field.value, option)
    return get_question(mentor_id, quiz_id, question_id)


def _store_option(row: QuizQuestion, letter: str, text: str) -> None:
    """The first four options live in option_a…d; a question with another count keeps them
    all in options_json too (``kinds.stored_fields``)."""
    index = OPTION_LETTERS.index(letter)
    if row.options_json:
        options = kinds.options_of(row)
        options[index] = text
        row.options_json = json.dumps(options, ensure_ascii=False)
    if index < len(_OPTION_COLUMNS):
        setattr(row, _OPTION_COLUMNS[index], text)
    row.save()


def set_correct(row: QuizQuestion, letter: str, *, tz: ZoneInfo) -> None:
    """Store a new correct letter (see ``set_key``)."""
    set_key(row, letter, tz=tz)


def set_key(row: QuizQuestion, key: str, *, tz: ZoneInfo) -> None:
    """Store a new correct answer (a ``clean_key`` value), regrade the answers given to the
    question, rescore their attempts and recompute the quiz's ratings."""
    with_key(row, key).save()
    _regrade(row)
    attempts = [a.attempt_id for a in QuizAnswer.select(QuizAnswer.attempt).where(
        QuizAnswer.question == row.id)]
    _rescore(attempts)
    ratings.recompute_quiz(quiz_id=row.quiz_id, tz=tz)


def grade_stored(question: QuizQuestion, answer: QuizAnswer) -> bool:
    """Whether a stored answer scores under ``question``'s key, by the engine's own rule."""
    kind = kinds.kind_of(question)
    if kind == TYPED:
        return kinds.is_correct(question, text=answer.typed_text)
    if kind == MULTI:
        return kinds.is_correct(question, letters=answer.selected_set)
    return kinds.is_correct(question, letter=answer.selected_answer)


def delete_question(mentor_id: int, quiz_id: int, question_id: int, *, tz: ZoneInfo) -> int:
    """Delete a question and its answers; finished attempts that contained it lose it from
    their score and total; the rest are renumbered 1..N; ratings recomputed. Returns the
    number of questions left. Raises LastQuestion for the only question of a quiz."""
    row = _own_question(mentor_id, quiz_id, question_id)
    if _ordered(quiz_id).count() <= 1:
        raise LastQuestion(quiz_id)
    answered = {
        a.attempt_id
        for a in QuizAnswer.select(QuizAnswer.attempt).where(QuizAnswer.question == row.id)
    }
    attempts = list(
        QuizAttempt.select(
            QuizAttempt.id, QuizAttempt.question_ids, QuizAttempt.finished_at, QuizAttempt.total
        ).where(QuizAttempt.quiz == quiz_id)
    )
    QuizAnswer.delete().where(QuizAnswer.question == row.id).execute()
    row.delete_instance()
    touched = []
    for attempt in attempts:
        if attempt.id in answered or row.id in _ids(attempt.question_ids):
            touched.append(attempt.id)
            if attempt.finished_at is not None:
                QuizAttempt.update(total=max(attempt.total - 1, 0)).where(
                    QuizAttempt.id == attempt.id
                ).execute()
    _rescore(touched)
    _renumber(quiz_id)
    if touched:
        ratings.recompute_quiz(quiz_id, tz=tz)
    return _ordered(quiz_id).count()


def _ids(question_ids: str | None) -> list[int]:
    try:
        value = json.loads(question_ids or "[]")
    except ValueError:
        return []
    return [int(i) for i in value] if isinstance(value, list) else []


def _regrade(question: QuizQuestion) -> None:
    right: dict[bool, list[int]] = {True: [], False: []}
    for answer in QuizAnswer.select(
        QuizAnswer.id, QuizAnswer.selected_answer, QuizAnswer.selected_set, QuizAnswer.typed_text,
        QuizAnswer.is_correct,
    ).where(QuizAnswer.question == question.id):
        correct = grade_stored(question, answer)
        if correct != answer.is_correct:
            right[correct].append(answer.id)
    for correct, ids in right.items():
        for chunk in range(0, len(ids), 500):
            QuizAnswer.update(is_correct=correct).where(
                QuizAnswer.id.in_(ids[chunk:chunk + 500])).execute()


def _rescore(attempt_ids: list[int]) -> None:
    """score = the attempt's correct stored answers, so it can never count one twice."""
    if not attempt_ids:
        return
    correct = dict(
        QuizAnswer.select(QuizAnswer.attempt, fn.COUNT(QuizAnswer.id))
        .where(QuizAnswer.attempt.in_(attempt_ids) & (QuizAnswer.is_correct == True))  # noqa: E712
        .group_by(QuizAnswer.attempt)
        .tuples()
    )
    for attempt in QuizAttempt.select(QuizAttempt.id, QuizAttempt.score).where(
        QuizAttempt.id.in_(attempt_ids)
    ):
        score = correct.get(attempt.id, 0)
        if attempt.score != score:
            QuizAttempt.update(score=score).where(QuizAttempt.id == attempt.id).execute()


def rescore_attempt(attempt_id: int) -> tuple[int, int]:
    """(score, total) of an attempt from its stored answers and the questions of its list
    that still exist; for the engine when it finishes an attempt whose quiz was edited."""
    attempt = QuizAttempt.get_by_id(attempt_id)
    ids = _ids(attempt.question_ids)
    total = (
        QuizQuestion.select().where(QuizQuestion.id.in_(ids)).count() if ids else attempt.total
    )
    score = (
        QuizAnswer.select()
        .where((QuizAnswer.attempt == attempt_id) & (QuizAnswer.is_correct == True))  # noqa: E712
        .count()
    )
    return score, total


def _renumber(quiz_id: int) -> None:
    for number, row in enumerate(_ordered(quiz_id), start=1):
        if row.order != number:
            QuizQuestion.update(order=number).where(QuizQuestion.id == row.id).execute()
