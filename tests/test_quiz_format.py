"""The quiz .txt format: what a mentor's file becomes."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from quiz_samples import SPEC_EXAMPLE

from studymate.config import LANGUAGES
from studymate.i18n import t
from studymate.services.quiz.decoding import decode_quiz_bytes, load_quiz
from studymate.services.quiz.format import (
    ERROR_CODES,
    MAX_FILE_BYTES,
    MAX_OPTION,
    MAX_QUESTION_CHARS,
    MAX_QUESTIONS,
    ParsedQuestion,
    QuizFormatError,
    parse_quiz,
)
from studymate.services.quiz.rendering import question_html, question_plain

ROOT = Path(__file__).resolve().parents[1]


OPTIONS = "A) one\nB*) two\nC) three\nD) four"


def q(number: str, text: str, options: str = OPTIONS) -> str:
    return f"{number} {text}\n{options}\n"


def test_spec_example_scenario_26() -> None:
    quiz = parse_quiz(SPEC_EXAMPLE, file_name="anything.txt")

    assert (quiz.title, quiz.topic) == ("Python basics", "Python basics")
    assert [(x.correct, x.time_bonus) for x in quiz.questions] == [("B", 0), ("C", 5), ("D", 10)]
    assert quiz.questions[0] == ParsedQuestion(
        number=1,
        line=3,
        text="Which keyword defines a function?",
        options=("func", "def", "lambda", "define"),
        correct="B",
        time_bonus=0,
    )
    assert quiz.questions[1].text == "What does this code print?\nx = [1, 2, 3]\nprint(len(x))"
    assert quiz.questions[1].options == ("2", "1", "3", "error")
    assert quiz.questions[2].option("d") == "tuple"


def test_bom_crlf_and_code_block_with_numbered_line() -> None:
    text = (
        "Topic: Floats\n"
        "\n"
        "1#. What is printed?\n"
        "```python\n"
        "1. x = 3.14\n"
        "    2. indented = True\n"
        "```\n"
        "A) 1\n"
        "B*) 3.14\n"
        "C) 2\n"
        "D) nothing\n"
        "\n"
        "2##. Steps:\n"
        "  1. read x\n"
        "  2. print x\n"
        "3.14 is a decimal, not a question\n"
        "a) read only\n"
        "b) print only\n"
        "c*) both\n"
        "d) neither\n"
    )
    data = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()

    quiz = load_quiz(data, file_name="ignored.txt")

    assert (quiz.title, quiz.topic) == ("Floats", "Floats")  # the BOM no longer hides the topic
    first, second = quiz.questions
    assert first.text == "What is printed?\n```python\n1. x = 3.14\n    2. indented = True\n```"
    assert (first.line, first.options, first.correct, first.time_bonus) == (
        3,
        ("1", "3.14", "2", "nothing"),
        "B",
        5,
    )
    assert second.text == ("Steps:\n  1. read x\n  2. print x\n3.14 is a decimal, not a question")
    assert (second.line, second.correct, second.time_bonus) == (13, "C", 10)
    assert "\r" not in first.text + second.text


def test_indented_code_keeps_relative_indentation_and_loses_the_common_one() -> None:
    text = q(
        "1.",
        "What does this print?\n    for i in range(2):\n        print(i)\n\n    print('end')",
    )

    (question,) = parse_quiz(text, file_name="f.txt").questions

    assert question.text == (
        "What does this print?\nfor i in range(2):\n    print(i)\n\nprint('end')"
    )


def test_question_and_options_may_fill_the_limit_exactly() -> None:
    options = "A) one\nB*) two\nC) three\nD) four"  # 15 characters of option text
    text = _long(MAX_QUESTION_CHARS - 15 - 2) + "😀"
    (question,) = parse_quiz(q("1.", text, options), file_name="f").questions
    assert question.text == text


def test_question_text_may_start_on_the_next_line() -> None:
    (question,) = parse_quiz("7.\nWhy?\n" + OPTIONS, file_name="f").questions
    assert (question.number, question.text) == (7, "Why?")


def test_numbers_need_not_be_sequential_and_file_order_is_kept() -> None:
    text = q("5.", "five") + "\n" + q("2.", "two") + q("2.", "two again")
    quiz = parse_quiz(text, file_name="f")
    assert [(x.number, x.text, x.line) for x in quiz.questions] == [
        (5, "five", 1),
        (2, "two", 7),
        (2, "two again", 12),
    ]


def test_shipped_example_file_parses() -> None:
    quiz = load_quiz((ROOT / "examples" / "quiz_example.txt").read_bytes(), file_name="x.txt")

    assert quiz.title == "Python basics"
    assert [(x.correct, x.time_bonus) for x in quiz.questions] == [
        ("B", 0),
        ("C", 5),
        ("D", 10),
        ("B", 5),
        ("C", 10),
        ("C", 0),
        ("B", 0),
    ]
    assert "1. x = 3.14" in quiz.questions[3].text
    assert "        print(i)" in quiz.questions[4].text


@pytest.mark.parametrize(
    ("file_name", "title"),
    [
        ("week3.txt", "week3"),
        ("Week 3 — циклы.TXT", "Week 3 — циклы"),
        ("quiz.final.txt", "quiz.final"),
        ("C:\\Users\\anna\\week4.txt", "week4"),
        ("notes", "notes"),
        ("Quiz 1.2", "Quiz 1.2"),
        ("x" * 250 + ".txt", "x" * 200),
        (None, "Quiz"),
        (".txt", "Quiz"),
    ],
)
def test_title_falls_back_to_the_file_name_scenario_28(file_name: str | None, title: str) -> None:
    quiz = parse_quiz(q("1.", "Q"), file_name=file_name)
    assert (quiz.title, quiz.topic) == (title, None)


def test_topic_line_variants() -> None:
    for line in ("Тема: Циклы", "TOPIC:Циклы", "tema :  Циклы  ", "\n\n  Тема: Циклы"):
        quiz = parse_quiz(f"{line}\n{q('1.', 'Q')}", file_name="f.txt")
        assert (quiz.title, quiz.topic) == ("Циклы", "Циклы")


# Options typed on a Russian keyboard layout: Cyrillic А and С look exactly like Latin A and C.
RUSSIAN = (
    "Тема: Циклы\n\n1#. Сколько раз выполнится цикл?\nА) ноль\nB) один\nС*) три\nD) бесконечно\n"
)


def test_windows_1251_file_parses_like_utf8() -> None:
    expected = parse_quiz(RUSSIAN, file_name="f.txt")

    quiz = load_quiz(RUSSIAN.replace("\n", "\r\n").encode("cp1251"), file_name="f.txt")

    assert quiz == expected
    assert quiz.title == "Циклы"
    (question,) = quiz.questions
    assert question.text == "Сколько раз выполнится цикл?"
    assert (question.options, question.correct, question.time_bonus) == (
        ("ноль", "один", "три", "бесконечно"),
        "C",
        5,
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_and_without_bom(encoding: str) -> None:
    text = "Tema: Qaraqalpaq tili\n" + q("1.", "Qaysı sóz durıs jazılǵan?")
    quiz = load_quiz(text.encode(encoding), file_name="f.txt")
    assert quiz.topic == "Qaraqalpaq tili"
    assert quiz.questions[0].text == "Qaysı sóz durıs jazılǵan?"


def test_decoding_normalises_line_endings_and_dos_eof() -> None:
    assert decode_quiz_bytes(b"1. a\r\nb\rc\n\x1a") == "1. a\nb\nc\n"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b" \r\n\t\r\n", "empty_file"),
        (b"\xef\xbb\xbf", "empty_file"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "binary_file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary_file"),
        (b"1. question\x07 with a bell", "binary_file"),
        (b"\xef\xbb\xbf1. \xff\xfe broken", "unknown_encoding"),
        (b"\x98\xc0", "unknown_encoding"),
        ("1. Вопрос\nA) да\n".encode() + b"\xff" + "B*) нет".encode(), "unknown_encoding"),
        (b"a" * (MAX_FILE_BYTES + 1), "file_too_large"),
    ],
)
def test_undecodable_files(data: bytes, code: str) -> None:
    with pytest.raises(QuizFormatError) as caught:
        load_quiz(data, file_name="f.txt")
    assert caught.value.code == code
    assert caught.value.line is None and caught.value.question is None


def _long(n: int) -> str:
    return "x" * n


MALFORMED: list[tuple[str, str, str, int | None, int | None, dict[str, object]]] = [
    # (case id, file text, code, question, line, other params)
    ("blank", "  \n\n", "empty_file", None, None, {}),
    ("no numbered questions", "Тема: X\nJust text\nA) a\n", "no_questions", None, None, {}),
    ("numbered with bracket", "1) Q\n" + OPTIONS, "question_number_format", None, 1, {}),
    (
        "preamble text",
        "Тема: X\nАвтор: Анна\n\n" + q("1.", "Q"),
        "text_before_first_question",
        None,
        2,
        {"snippet": "Автор: Анна"},
    ),
    (
        "question without number",
        "Which keyword?\n" + OPTIONS + "\n" + q("2.", "Q"),
        "text_before_first_question",
        None,
        1,
        {},
    ),
    (
        "topic line late",
        "\n" + q("1.", "Q") + "Topic: X\n",
        "unexpected_text_after_options",
        1,
        7,
        {},
    ),
    ("indented first question", "  1. Q\n" + OPTIONS, "question_indented", None, 1, {}),
    (
        "indented later question",
        q("1.", "Q") + "\t2. Q\n" + OPTIONS,
        "question_indented",
        None,
        6,
        {"snippet": "2. Q"},
    ),
    (
        "later question with bracket",
        q("1.", "Q") + "2) Q\n" + OPTIONS,
        "question_number_format",
        None,
        6,
        {},
    ),
    ("empty topic", "Тема:\n" + q("1.", "Q"), "topic_empty", None, 1, {}),
    ("long topic", "Topic: " + _long(101) + "\n" + q("1.", "Q"), "topic_too_long", None, 1, {}),
    (
        "too many questions",
        "".join(q(f"{i}.", f"Q{i}") for i in range(1, MAX_QUESTIONS + 2)),
        "too_many_questions",
        None,
        5 * MAX_QUESTIONS + 1,
        {"limit": MAX_QUESTIONS, "count": MAX_QUESTIONS + 1},
    ),
    ("three hashes", q("1.", "Q") + q("2###.", "Q"), "time_bonus_invalid", 2, 6, {}),
    (
        "unclosed fence",
        q("1.", "Q") + "2. Code:\n```\nx = 1\n" + OPTIONS,
        "code_block_not_closed",
        2,
        7,
        {},
    ),
    ("no text", q("1.", "Q") + "2.\n" + OPTIONS, "no_text", 2, 6, {}),
    ("only a fence as text", "1.\n```\n```\n" + OPTIONS, "no_text", 1, 1, {}),
    ("no options at the end", q("1.", "Q") + "2. Q\n\n", "no_options", 2, 6, {}),
    (
        "unindented numbered list",
        "1. Which steps?\n1. read\n2. print\n" + OPTIONS,
        "no_options_before_next",
        1,
        1,
        {"next_line": 2},
    ),
    (
        "option with a dot",
        "1. Q\nA. one\nB. two\nC. three\nD. four\n",
        "option_bad_format",
        1,
        2,
        {"option": "A"},
    ),
    (
        "one option with a dot",
        "1. Q\nA) one\nB*) two\nC: three\nD) four\n",
        "option_bad_format",
        1,
        4,
        {"option": "C"},
    ),
    (
        "Russian option letters",
        "1. Q\nА) один\nБ*) два\nВ) три\nГ) четыре\n",
        "option_cyrillic_letter",
        1,
        3,
        {"snippet": "Б*) два"},
    ),
    (
        "Russian lowercase option letters",
        "1. Q\nб) один\nг*) два\n",
        "option_cyrillic_letter",
        1,
        2,
        {},
    ),
    (  # A) to H) are options: a ninth is one too many
        "fifth option",
        q("1.", "Q", OPTIONS + "\nE) five\nF) six\nG) seven\nH) eight\nI) nine"),
        "option_extra",
        1,
        10,
        {"option": "I"},
    ),
    (
        "repeated letter",
        "1. Q\nA) one\nB*) two\nB) again\nC) three\nD) four\n",
        "option_repeated",
        1,
        4,
        {"option": "B"},
    ),
    ("empty option", "1. Q\nA) one\nB*) two\nC)\nD) four\n", "option_empty", 1, 4, {"option": "C"}),
    (
        "long option",
        f"1. Q\nA) one\nB*) two\nC) {_long(MAX_OPTION + 1)}\nD) four\n",
        "option_too_long",
        1,
        4,
        {"option": "C", "limit": MAX_OPTION, "length": MAX_OPTION + 1},
    ),
    (
        "question 2 lacks D",
        q("1.", "Q") + "\n2. Q\nA) one\nB*) two\nC) three\nE) five\n",
        "option_missing",
        2,
        7,
        {"option": "D"},
    ),
    (
        "options out of order",
        "1. Q\nA) one\nC) three\nB*) two\nD) four\n",
        "option_out_of_order",
        1,
        3,
        {"option": "C", "expected": "B"},
    ),
    ("no star", q("1.", "Q", OPTIONS.replace("*", "")), "no_correct", 1, 1, {}),
    (
        "two stars",  # on a true/false question (elsewhere they mean "select all that apply")
        "1. Q\nA*) True\nB*) False\n",
        "multiple_correct",
        1,
        3,
        {"options": "A, B"},
    ),
    (
        "duplicate options",
        "1. Q\nA) list\nB*) tuple\nC)  LIST \nD) set\n",
        "option_duplicate",
        1,
        4,
        {"option": "C", "other": "A"},
    ),
    (
        "two-line option",
        "1. Q\nA) one\nB*) two\n   continued\nC) three\nD) four\n",
        "unexpected_text_after_options",
        1,
        4,
        {"snippet": "continued"},
    ),
    (
        "code after options",
        q("1.", "Q") + "```\nx\n```\n",
        "unexpected_text_after_options",
        1,
        6,
        {},
    ),
    (
        "question too long",
        q("1.", _long(MAX_QUESTION_CHARS - 50) + "😀" * 40),  # an emoji is 2 UTF-16 units
        "question_too_long",
        1,
        1,
        {"limit": MAX_QUESTION_CHARS, "length": MAX_QUESTION_CHARS - 50 + 80 + 15},
    ),
]


@pytest.mark.parametrize(
    ("text", "code", "question", "line", "params"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_file_gets_its_specific_error(
    text: str, code: str, question: int | None, line: int | None, params: dict[str, object]
) -> None:
    with pytest.raises(QuizFormatError) as caught:
        parse_quiz(text, file_name="f.txt")
    error = caught.value
    assert (error.code, error.question, error.line) == (code, question, line)
    assert params.items() <= error.params.items()
    if question is not None:
        assert error.params["question"] == question
    if line is not None:
        assert error.params["line"] == line


def test_every_error_code_is_exercised() -> None:
    decoding_only = {"binary_file", "unknown_encoding", "file_too_large"}
    assert {case[2] for case in MALFORMED} | decoding_only == ERROR_CODES


def _catalog_has_quiz_errors() -> bool:
    return t("quiz_error_no_questions", "en") != "quiz_error_no_questions"


@pytest.mark.skipif(
    not _catalog_has_quiz_errors(), reason="quiz_error_* texts not merged into the catalogs yet"
)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_error_renders_in_every_language(lang: str) -> None:
    errors = [QuizFormatError("binary_file"), QuizFormatError("file_too_large", limit=2048)]
    for _, text, *_ in MALFORMED:
        with pytest.raises(QuizFormatError) as caught:
            parse_quiz(text, file_name="f.txt")
        errors.append(caught.value)
    for error in errors:
        rendered = t(error.key, lang, **error.params)
        assert rendered != error.key
        if error.line is not None:
            assert str(error.line) in rendered
        if error.question is not None:
            assert str(error.question) in rendered
    for code in ERROR_CODES:
        text = t(f"quiz_error_{code}", lang)
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
        assert names <= {
            "question", "line", "option", "limit", "length", "count", "snippet",
            "next_line", "expected", "options", "other",
        }  # fmt: skip


def test_question_html_renders_fences_as_pre_and_escapes_the_rest() -> None:
    text = "Is <div> a block?\n```python\nif a < b:\n    print('&')\n```\nAnd after"
    assert question_html(text) == (
        "Is &lt;div&gt; a block?\n"
        "<pre><code class=\"language-python\">if a &lt; b:\n    print('&amp;')</code></pre>\n"
        "And after"
    )
    assert question_plain(text) == "Is <div> a block?\nif a < b:\n    print('&')\nAnd after"
