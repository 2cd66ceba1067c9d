"""The quiz file beyond A–D: question kinds, explanations and header settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studymate.config import LANGUAGES
from studymate.i18n import t
from studymate.services.quiz.decoding import load_quiz
from studymate.services.quiz.format import KIND_ERROR_CODES, QuizFormatError, parse_quiz

ROOT = Path(__file__).resolve().parents[1]

# (name, text, kind, options, correct, answers, explanation)
VALID = [
    ("two options", "1. Q\nA) yes\nB*) no\n", "single", ("yes", "no"), "B", (), None),
    ("three options", "1. Q\nA) a\nB) b\nC*) c\n", "single", ("a", "b", "c"), "C", (), None),
    ("eight options", "1. Q\n" + "".join(f"{x}{'*' if x == 'H' else ''}) {x.lower()}\n" for x in "ABCDEFGH"),
     "single", tuple("abcdefgh"), "H", (), None),
    ("true/false", "1. Sky is blue\nA*) True\nB) False\n", "truefalse", ("True", "False"), "A", (), None),
    ("верно/неверно", "1. Q\nA) Неверно\nB*) Верно\n", "truefalse", ("Неверно", "Верно"), "B", (), None),
    ("durıs/nadurıs", "1. Q\nA*) Durıs\nB) Nadurıs\n", "truefalse", ("Durıs", "Nadurıs"), "A", (), None),
    ("select all", "1. Q\nA*) a\nB) b\nC*) c\nD) d\n", "multi", ("a", "b", "c", "d"), "AC", (), None),
    ("two of two starred, not true/false", "1. Q\nA*) x\nB*) y\n", "multi", ("x", "y"), "AB", (), None),
    ("typed", "1. 6 × 7?\nAnswer: 42\n", "typed", (), "", ("42",), None),
    ("typed, several", "1. Capital?\nОтвет: Париж | Paris\n", "typed", (), "", ("Париж", "Paris"), None),
    ("typed, juwap", "1. Q\nJuwap: bes\n", "typed", (), "", ("bes",), None),
    ("typed with explanation", "1. Q\nAnswer: 4\nExplanation: 2 + 2\n", "typed", (), "", ("4",), "2 + 2"),
    ("explanation", "1. Q\nA) a\nB*) b\nПояснение: потому что b\n", "single", ("a", "b"), "B", (),
     "потому что b"),
    ("túsindirme", "1. Q\nA) a\nB*) b\n\nTúsindirme: sebebi b\n", "single", ("a", "b"), "B", (), "sebebi b"),
    ("Cyrillic Е and Н as letters", "1. Q\nA) a\nB) b\nC) c\nD) d\nЕ) e\nF) f\nG) g\nН*) h\n", "single",
     tuple("abcdefgh"), "H", (), None),
]

# (name, text, code, question, line, params)
MALFORMED = [
    ("seconds not a number", "Seconds: fast\n1. Q\nA*) a\nB) b\n", "setting_seconds_invalid", None, 1,
     {"min": 5, "max": 600}),
    ("seconds too small", "Topic: T\nSeconds: 4\n1. Q\nA*) a\nB) b\n", "setting_seconds_invalid", None, 2, {}),
    ("seconds too large", "Секунды: 601\n1. Q\nA*) a\nB) b\n", "setting_seconds_invalid", None, 1, {}),
    ("window without unit", "Window: 72\n1. Q\nA*) a\nB) b\n", "setting_window_invalid", None, 1,
     {"max_days": 14}),
    ("window too long", "Window: 15d\n1. Q\nA*) a\nB) b\n", "setting_window_invalid", None, 1, {}),
    ("window zero", "Окно: 0h\n1. Q\nA*) a\nB) b\n", "setting_window_invalid", None, 1, {}),
    ("shuffle unknown word", "Shuffle: answers\n1. Q\nA*) a\nB) b\n", "setting_shuffle_invalid", None, 1,
     {"snippet": "Shuffle: answers"}),
    ("shuffle empty", "Shuffle:\n1. Q\nA*) a\nB) b\n", "setting_shuffle_invalid", None, 1, {}),
    ("shuffle no with more", "Shuffle: no, options\n1. Q\nA*) a\nB) b\n", "setting_shuffle_invalid", None, 1, {}),
    ("setting twice", "Seconds: 30\nSeconds: 40\n1. Q\nA*) a\nB) b\n", "setting_repeated", None, 2, {}),
    ("one option only", "1. Q\nA*) a\n", "option_missing", 1, 1, {"option": "B"}),
    ("ninth option", "1. Q\n" + "".join(f"{x}) {x}\n" for x in "ABCDEFGH") + "I*) i\n", "option_extra", 1, 10,
     {"option": "I"}),
    ("gap in letters", "1. Q\nA*) a\nB) b\nD) d\n", "option_missing", 1, 1, {"option": "C"}),
    ("true/false both starred", "1. Q\nA*) Верно\nB*) Неверно\n", "multiple_correct", 1, 3, {"options": "A, B"}),
    ("answer empty", "1. Q\nAnswer:\n", "answer_empty", 1, 2, {}),
    ("answer with empty alternative", "1. Q\nAnswer: 42 | \n", "answer_empty", 1, 2, {}),
    ("answer too long", "1. Q\nAnswer: " + "x" * 201 + "\n", "answer_too_long", 1, 2, {"limit": 200, "length": 201}),
    ("answer twice", "1. Q\nAnswer: 1\nAnswer: 2\n", "answer_repeated", 1, 3, {}),
    ("answer before options", "1. Q\nAnswer: a\nA*) a\nB) b\n", "answer_with_options", 1, 2, {}),
    ("answer after options", "1. Q\nA*) a\nB) b\nAnswer: a\n", "answer_with_options", 1, 4, {}),
    ("explanation empty", "1. Q\nA*) a\nB) b\nExplanation:\n", "explanation_empty", 1, 4, {}),
    ("explanation too long", "1. Q\nA*) a\nB) b\nExplanation: " + "y" * 1001 + "\n", "explanation_too_long", 1, 4,
     {"limit": 1000, "length": 1001}),
    ("explanation twice", "1. Q\nAnswer: 1\nExplanation: a\nExplanation: b\n", "explanation_repeated", 1, 4, {}),
    ("explanation before options", "1. Q\nExplanation: early\nA*) a\nB) b\n", "explanation_misplaced", 1, 2,
     {"snippet": "Explanation: early"}),
    ("option after explanation", "1. Q\nA*) a\nB) b\nExplanation: e\nC) c\n", "unexpected_text_after_options",
     1, 5, {}),
    ("text after answer", "1. Q\nAnswer: 1\nmore words\n", "unexpected_text_after_options", 1, 3,
     {"snippet": "more words"}),
]


@pytest.mark.parametrize(
    ("text", "kind", "options", "correct", "answers", "explanation"),
    [case[1:] for case in VALID], ids=[case[0] for case in VALID],
)
def test_each_kind_parses(text, kind, options, correct, answers, explanation):
    question = parse_quiz(text, file_name="k.txt").questions[0]
    assert (question.kind, question.options, question.correct) == (kind, options, correct)
    assert (question.answers, question.explanation) == (answers, explanation)


def test_header_settings():
    text = "Topic: T\nSeconds: 30\nWindow: 3d\nShuffle: questions, options\n\n1. Q\nA*) a\nB) b\n"
    quiz = parse_quiz(text, file_name="k.txt")
    assert (quiz.title, quiz.seconds, quiz.window_hours) == ("T", 30, 72)
    assert (quiz.shuffle_questions, quiz.shuffle_options) == (True, True)
    quiz = parse_quiz("Window: 72h\nShuffle: no\nTopic: T\n1. Q\nA*) a\nB) b\n", file_name="k.txt")
    assert (quiz.topic, quiz.window_hours, quiz.shuffle_questions, quiz.shuffle_options) == ("T", 72, False, False)
    quiz = parse_quiz("Перемешать: варианты\nОкно: 1ч\n1. Q\nA*) a\nB) b\n", file_name="k.txt")
    assert (quiz.window_hours, quiz.shuffle_questions, quiz.shuffle_options) == (1, False, True)
    plain = parse_quiz("1. Q\nA*) a\nB) b\n", file_name="k.txt")
    assert (plain.seconds, plain.window_hours, plain.shuffle_questions, plain.shuffle_options) == (None,) * 4


@pytest.mark.parametrize(
    ("text", "code", "question", "line", "params"),
    [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED],
)
def test_malformed_new_line_gets_its_error(text, code, question, line, params):
    with pytest.raises(QuizFormatError) as caught:
        parse_quiz(text, file_name="f.txt")
    error = caught.value
    assert (error.code, error.question, error.line) == (code, question, line)
    assert params.items() <= error.params.items()


def test_every_new_code_is_exercised_and_renders_in_every_language():
    codes = {case[2] for case in MALFORMED}
    assert KIND_ERROR_CODES <= codes
    for lang in LANGUAGES:
        for _, text, *_ in MALFORMED:
            with pytest.raises(QuizFormatError) as caught:
                parse_quiz(text, file_name="f.txt")
            rendered = t(caught.value.key, lang, **caught.value.params)
            assert rendered != caught.value.key
            assert str(caught.value.line) in rendered
            if caught.value.question is not None:
                assert str(caught.value.question) in rendered


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.txt")), ids=lambda p: p.name)
def test_every_example_file_parses(path):
    from studymate.services.quiz.decoding import decode_quiz_bytes
    from studymate.services.quiz.transfer import parse_any  # .txt files may be Aiken ones

    quiz = parse_any(decode_quiz_bytes(path.read_bytes()), file_name=path.name, language="ru")
    assert quiz.questions


def test_the_kinds_example_has_every_kind_and_setting():
    quiz = load_quiz((ROOT / "examples" / "quiz_kinds.txt").read_bytes(), file_name="quiz_kinds.txt")
    assert {q.kind for q in quiz.questions} == {"single", "truefalse", "multi", "typed"}
    assert quiz.seconds and quiz.window_hours and quiz.shuffle_options is not None
    assert any(q.explanation for q in quiz.questions)


_LINES = st.sampled_from([
    "1. Q", "2#. Q", "A) a", "B*) b", "C) c", "H*) h", "I) i", "Answer: 1 | 2", "Answer:", "Ответ: x",
    "Explanation: e", "Explanation:", "Seconds: 30", "Seconds: x", "Window: 72h", "Window: 99d",
    "Shuffle: no", "Shuffle: questions, options", "Shuffle: ,", "Topic: T", "```", "A*) True", "B) False",
    "   indented", "", "Е) е", "Б) б", "3.14", "1) one",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_LINES, st.text(max_size=40)), max_size=30))
def test_parser_raises_only_its_own_error(lines):
    try:
        parse_quiz("\n".join(lines), file_name="h.txt")
    except QuizFormatError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_loader_raises_only_its_own_error_on_any_bytes(data):
    try:
        load_quiz(data, file_name="h.txt")
    except QuizFormatError:
        pass
