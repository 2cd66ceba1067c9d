"""Aiken files: valid questions, every error with its question, first words and line, and
the example file."""

from __future__ import annotations

from pathlib import Path

import pytest

from studymate.config import LANGUAGES
from studymate.i18n import t
from studymate.services.quiz.aiken import AIKEN_ERROR_CODES, parse_aiken
from studymate.services.quiz.format import SINGLE, TRUE_FALSE, QuizFormatError
from studymate.services.quiz.transfer import parse_any

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# (file, [(text, options, correct, kind)])
VALID = [
    ("What?\nA. one\nB. two\nANSWER: B\n", [("What?", ("one", "two"), "B", SINGLE)]),
    ("What?\nA) one\nB) two\nC) three\nANSWER: C", [("What?", ("one", "two", "three"), "C", SINGLE)]),
    ("What?\r\nA. one\r\nB. two\r\nANSWER:A\r\n", [("What?", ("one", "two"), "A", SINGLE)]),
    ("Sky is blue\nA. True\nB. False\nANSWER: A\n", [("Sky is blue", ("True", "False"), "A", TRUE_FALSE)]),
    ("Q1\nA. a\nB. b\nANSWER: A\nQ2\nA. c\nB. d\nANSWER: B\n",
     [("Q1", ("a", "b"), "A", SINGLE), ("Q2", ("c", "d"), "B", SINGLE)]),
    ("Long question\nover two lines\nA. a\nB. b\nANSWER: B\n",
     [("Long question\nover two lines", ("a", "b"), "B", SINGLE)]),
    ("Eight\n" + "".join(f"{c}. o{c}\n" for c in "ABCDEFGH") + "ANSWER: H\n",
     [("Eight", tuple(f"o{c}" for c in "ABCDEFGH"), "H", SINGLE)]),
]


@pytest.mark.parametrize(("source", "expected"), VALID)
def test_valid(source, expected):
    quiz = parse_aiken(source, file_name="bank.txt")
    assert quiz.title == "bank"
    assert [(q.text, q.options, q.correct, q.kind) for q in quiz.questions] == expected


# (file, code, question, line, name)
INVALID = [
    ("", "empty_file", None, None, None),
    ("What is it?\nANSWER: A\n", "aiken_no_options", 1, 2, "What is it?"),
    ("Q1\nA. a\nB. b\nANSWER: A\n\nSecond one\nA. a\nB. b\n", "aiken_no_answer", 2, 8, "Second one"),
    ("First\nA. a\nB. b\nSecond\nA. c\n", "aiken_no_answer", 1, 4, "First"),
    ("Only text\n", "aiken_no_answer", 1, 1, "Only text"),
    ("Pick\nA. a\nB. b\nANSWER: C\n", "aiken_answer_unknown", 1, 4, "Pick"),
    ("Pick\nA. a\nB. b\nANSWER: A, B\n", "aiken_answer_unknown", 1, 4, "Pick"),
    ("Alone\nA. a\nANSWER: A\n", "aiken_options_count", 1, 3, "Alone"),
    ("Nine\n" + "".join(f"{c}. o{c}\n" for c in "ABCDEFGHI") + "ANSWER: A\n", "aiken_options_count", 1, 10, "Nine"),
    ("Order\nA. a\nC. c\nANSWER: A\n", "aiken_option_order", 1, 3, "Order"),
    ("Empty\nA. a\nB.\nANSWER: A\n", "aiken_option_empty", 1, 3, "Empty"),
    ("Dup\nA. same\nB. Same\nANSWER: A\n", "option_duplicate", 1, 3, None),
    ("Long\nA. " + "x" * 501 + "\nB. b\nANSWER: A\n", "option_too_long", 1, 2, None),
    ("x" * 3500 + "\nA. a\nB. b\nANSWER: A\n", "question_too_long", 1, 1, None),
]


@pytest.mark.parametrize(("source", "code", "question", "line", "name"), INVALID)
def test_error(source, code, question, line, name):
    with pytest.raises(QuizFormatError) as caught:
        parse_aiken(source, file_name="a.txt")
    error = caught.value
    assert (error.code, error.params.get("question"), error.params.get("line"),
            error.params.get("name")) == (code, question, line, name)


def test_no_questions():
    with pytest.raises(QuizFormatError) as caught:
        parse_aiken("\n\n  \n", file_name="a.txt")
    assert caught.value.code == "empty_file"


def test_every_code_is_exercised():
    assert AIKEN_ERROR_CODES - {case[1] for case in INVALID} <= {"aiken_no_questions"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_errors_render_with_question_name_and_line(lang):
    for source, code, question, line, name in INVALID:
        if not code.startswith("aiken_"):
            continue
        with pytest.raises(QuizFormatError) as caught:
            parse_aiken(source, file_name="a.txt")
        rendered = t(caught.value.key, lang, **caught.value.params)
        assert str(question) in rendered and str(line) in rendered and name in rendered


def test_example_aiken_file():
    quiz = parse_any((EXAMPLES / "quiz_aiken.txt").read_text(), file_name="quiz_aiken.txt", language="ru")
    assert quiz.title == "quiz_aiken"
    assert [(q.kind, q.correct, len(q.options)) for q in quiz.questions] == [
        (SINGLE, "B", 4), (SINGLE, "B", 3), (TRUE_FALSE, "A", 2)]
