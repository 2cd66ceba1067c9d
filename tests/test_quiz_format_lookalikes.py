"""Two options that look identical are refused, even when invisible characters tell them apart."""

from __future__ import annotations

import pytest

from studymate.services.quiz.format import QuizFormatError, parse_quiz


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\u180e"])
def test_an_invisible_character_does_not_make_an_option_different(invisible):
    text = f"1. Capital of France?\nA) Paris\nB*) Lyon\nC) Pa{invisible}ris\nD) Nice\n"
    with pytest.raises(QuizFormatError) as error:
        parse_quiz(text, file_name="q.txt")
    assert error.value.code == "option_duplicate"
    assert error.value.params == {"option": "C", "other": "A", "question": 1, "line": 4}


def test_options_that_differ_visibly_are_kept_as_written():
    parsed = parse_quiz("1. Q\nA) x²\nB*) x2\nC) ½\nD) 1/2\n", file_name="q.txt")
    assert parsed.questions[0].options == ("x²", "x2", "½", "1/2")


def test_an_option_typed_in_the_bot_is_refused_the_same_way():
    from studymate.services.quiz.questions import InvalidQuestion, clean_option

    with pytest.raises(InvalidQuestion) as error:
        clean_option("Pa\u200bris", {"A": "Paris", "B": "Lyon"})
    assert error.value.code == "duplicate" and error.value.params == {"other": "A"}
