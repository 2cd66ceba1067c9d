"""GIFT (Moodle) files: every construct that maps onto a question kind, every one that does
not with its exact error, the examples, numbers with a tolerance, and quiz → GIFT → quiz."""

from __future__ import annotations

import dataclasses
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studymate.config import LANGUAGES
from studymate.i18n import t
from studymate.services.quiz.aiken import AIKEN_ERROR_CODES
from studymate.services.quiz.format import (
    MULTI,
    OPTION_LETTERS,
    SINGLE,
    TRUE_FALSE,
    TYPED,
    ParsedQuestion,
    ParsedQuiz,
    QuizFormatError,
    option_key,
    parse_quiz,
)
from studymate.services.quiz.gift import GIFT_ERROR_CODES, escape, parse_gift, to_gift
from studymate.services.quiz.kinds import typed_matches
from studymate.services.quiz.transfer import AIKEN, GIFT, TXT, file_kind, parse_any

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def one(source: str, **kw) -> ParsedQuestion:
    [question] = parse_gift(source, file_name="t.gift", **kw).questions
    return question


# (GIFT, kind, options, correct, typed answers, explanation)
VALID = [
    ("Capital of France?{=Paris ~London ~Berlin}", SINGLE, ("Paris", "London", "Berlin"), "A", (), None),
    ("::T::Capital?{~London =Paris}", SINGLE, ("London", "Paris"), "B", (), None),
    ("Evens{~%50%2 ~%-100%3 ~%50%4}", MULTI, ("2", "3", "4"), "AC", (), None),
    ("Evens{~%50%2 ~%0%3 ~%50%4 ~5}", MULTI, ("2", "3", "4", "5"), "AC", (), None),
    ("Only one{~%100%a ~%0%b}", SINGLE, ("a", "b"), "A", (), None),
    ("Sun is a star{T}", TRUE_FALSE, ("True", "False"), "A", (), None),
    ("Sun is a star{TRUE}", TRUE_FALSE, ("True", "False"), "A", (), None),
    ("Moon is a star{F}", TRUE_FALSE, ("True", "False"), "B", (), None),
    ("Moon is a star{false####It reflects light.}", TRUE_FALSE, ("True", "False"), "B", (), "It reflects light."),
    ("Two words{=Верно ~Неверно}", TRUE_FALSE, ("Верно", "Неверно"), "A", (), None),
    ("Primary colour{=red =blue =yellow}", TYPED, (), "", ("red", "blue", "yellow"), None),
    ("One word{=break}", TYPED, (), "", ("break",), None),
    ("Pi{#3.14:0.005}", TYPED, (), "", ("3.14 ± 0.005",), None),
    ("Half{#3.5}", TYPED, (), "", ("3.5",), None),
    ("Exact{#2:0}", TYPED, (), "", ("2",), None),
    ("Range{#1..5}", TYPED, (), "", ("3 ± 2",), None),
    ("Range{#1.5..1.5}", TYPED, (), "", ("1.5",), None),
    ("Two numbers{#=3.5:0.1 =%100%7}", TYPED, (), "", ("3.5 ± 0.1", "7"), None),
    ("Q{=a ~b ####Because a.}", SINGLE, ("a", "b"), "A", (), "Because a."),
    ("Grant lies in {=his tomb ~nowhere} today.", SINGLE, ("his tomb", "nowhere"), "A", (), None),
    ("Escapes\\: a\\{b\\}{=1\\=1 ~2\\~3 ~4\\#5}", SINGLE, ("1=1", "2~3", "4#5"), "A", (), None),
    ("Line\\nbreak{=a ~b}", SINGLE, ("a", "b"), "A", (), None),
    ("[html]<p>Is <b>x</b> &lt; y?</p>{=yes ~no}", SINGLE, ("yes", "no"), "A", (), None),
    ("[markdown]Plain{=a ~b}", SINGLE, ("a", "b"), "A", (), None),
    ("Many lines\nof text{\n=a\n~b\n}", SINGLE, ("a", "b"), "A", (), None),
]


@pytest.mark.parametrize(("source", "kind", "options", "correct", "answers", "explanation"), VALID)
def test_valid_construct(source, kind, options, correct, answers, explanation):
    question = one(source)
    assert (question.kind, question.options, question.correct, question.answers,
            question.explanation) == (kind, options, correct, answers, explanation)


def test_texts_titles_and_blanks():
    assert one("::Title::Capital?{=a ~b}").text == "Capital?"
    assert one("Line\\nbreak{=a ~b}").text == "Line\nbreak"
    assert one("[html]<p>Is <b>x</b> &lt; y?</p>{=yes ~no}").text == "Is x < y?"
    assert one("Grant lies in {=his tomb ~nowhere} today.").text == "Grant lies in _____ today."
    assert one("Escapes\\: a\\{b\\}{=1 ~2}").text == "Escapes: a{b}"


def test_true_false_words_follow_the_mentor_language():
    assert one("Sun{T}", true_false=("Верно", "Неверно")).options == ("Верно", "Неверно")
    text = "Sun is a star{T}"
    assert parse_any(text, file_name="a.gift", language="kaa").questions[0].options == ("Durıs", "Nadurıs")


def test_category_comments_settings_and_bonus():
    quiz = parse_gift(
        "// Moodle export\n$CATEGORY: $course$/top/Week 3//4\n\n// Seconds: 45\n// Window: 3d\n"
        "// Shuffle: questions\n\n// Extra seconds: 10\n::a::A?{=x ~y}\n\n// question: 7 name: b\nB?{T}\n",
        file_name="w.gift",
    )
    assert (quiz.title, quiz.topic) == ("Week 3/4", "Week 3/4")
    assert (quiz.seconds, quiz.window_hours, quiz.shuffle_questions, quiz.shuffle_options) == (45, 72, True, False)
    assert [q.time_bonus for q in quiz.questions] == [10, 0]
    assert [q.line for q in quiz.questions] == [9, 12]
    assert parse_gift("A?{=x ~y}", file_name="bank.gift").title == "bank"


# (GIFT, code, question, line, name) — every construct that has no question kind here.
INVALID = [
    ("", "empty_file", None, None, None),
    ("// only a comment\n$CATEGORY: x\n", "gift_no_questions", None, None, None),
    ("::Match::Pair them{=cat -> meow =dog -> woof}", "gift_matching", 1, 1, "Match"),
    ("Ok{=a ~b}\n\n::Essay::Write about it{}", "gift_essay", 2, 3, "Essay"),
    ("Tell me{####feedback only}", "gift_essay", 1, 1, "Tell me"),
    ("::Cl::Embedded {1:MULTICHOICE:=a~b} here", "gift_cloze", 1, 1, "Cl"),
    ("Two {=a ~b} gaps {=c ~d}", "gift_several_blocks", 1, 1, "Two"),
    ("::Desc::Just a description", "gift_no_answers", 1, 1, "Desc"),
    ("::Open::Not closed{=a\n~b", "gift_block_not_closed", 1, 1, "Open"),
    ("::Never closed{=a ~b}", "gift_title_not_closed", 1, 1, "Never closed{=a ~b}"),
    ("::P::Partial{=a ~%50%b ~c}", "gift_partial_credit", 1, 1, "P"),
    ("::P::Partial short{=%50%colour =color}", "gift_partial_credit", 1, 1, "P"),
    ("::N::Partial number{#=3:0 =%50%3:1}", "gift_partial_credit", 1, 1, "N"),
    ("::Pen::Penalty{=a ~%-50%b}", "gift_partial_credit", 1, 1, "Pen"),
    ("::Two::Two right{=a =b ~c}", "gift_several_right", 1, 1, "Two"),
    ("::F::Feedback{=a#yes ~b#no}", "gift_answer_feedback", 1, 1, "F"),
    ("::F::Feedback{T#wrong#right}", "gift_answer_feedback", 1, 1, "F"),
    ("::F::Feedback{#3:0.1#close}", "gift_answer_feedback", 1, 1, "F"),
    ("::None::No right one{~a ~b}", "gift_no_correct", 1, 1, "None"),
    ("::Neg::Only penalties{~%-50%a ~%0%b}", "gift_no_correct", 1, 1, "Neg"),
    ("::NaN::Number{#three}", "gift_bad_number", 1, 1, "NaN"),
    ("::Neg::Tolerance{#3:-1}", "gift_bad_number", 1, 1, "Neg"),
    ("::Back::Range{#5..1}", "gift_bad_number", 1, 1, "Back"),
    ("::One::Single option{=a}\n\nX{=a}\n\nToo few{~%100%a}", "gift_options_count", 3, 5, "Too few"),
    ("Nine{=1 ~2 ~3 ~4 ~5 ~6 ~7 ~8 ~9}", "gift_options_count", 1, 1, "Nine"),
    ("::E::Empty option{=a ~ ~b}", "gift_option_empty", 1, 1, "E"),
    ("::Blank::{=a ~b}", "gift_text_empty", 1, 1, "Blank"),
    ("::U::Unreadable{a b c}", "gift_block_unreadable", 1, 1, "U"),
    ("::D::Dup{=a ~A ~b}", "option_duplicate", 1, 1, None),
    ("::L::Long{=" + "x" * 501 + " ~b}", "option_too_long", 1, 1, None),
    ("::L::Long{=" + "x" * 201 + "}", "answer_too_long", 1, 1, None),
    ("::L::Long{=a ~b ####" + "x" * 1001 + "}", "explanation_too_long", 1, 1, None),
    ("::L::" + "x" * 3500 + "{=a ~b}", "question_too_long", 1, 1, None),
    ("\n\n".join(f"Q{n}{{T}}" for n in range(201)), "too_many_questions", None, 401, None),
    ("Q{=a ~b}\n\n// Seconds: 3\n", None, None, None, None),  # a comment after question 1: no setting
    ("// Seconds: 3\nQ{=a ~b}", "setting_seconds_invalid", None, 1, None),
]


@pytest.mark.parametrize(("source", "code", "question", "line", "name"), INVALID)
def test_unsupported_construct_has_its_error(source, code, question, line, name):
    if code is None:
        assert parse_gift(source, file_name="x.gift").seconds is None
        return
    with pytest.raises(QuizFormatError) as caught:
        parse_gift(source, file_name="x.gift")
    error = caught.value
    assert error.code == code
    assert error.params.get("question") == question
    assert error.params.get("line") == line
    assert error.params.get("name") == name


def test_line_points_at_the_block_line():
    source = "::A::Fine{=a ~b}\n\n::B::Second question\nover lines\n{\n=x -> y\n}"
    with pytest.raises(QuizFormatError) as caught:
        parse_gift(source, file_name="x.gift")
    assert (caught.value.code, caught.value.params["line"], caught.value.params["question"]) == (
        "gift_matching", 5, 2)
    with pytest.raises(QuizFormatError) as caught:
        parse_gift("::A::Fine{\n=a\n~b#why\n}", file_name="x.gift")
    assert caught.value.params["line"] == 3


def test_every_code_is_exercised():
    seen = {case[1] for case in INVALID}
    assert GIFT_ERROR_CODES <= seen


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_import_error_renders_with_question_name_and_line(lang):
    for source, code, question, line, name in INVALID:
        if code is None or not code.startswith("gift_") or question is None:
            continue
        with pytest.raises(QuizFormatError) as caught:
            parse_gift(source, file_name="x.gift")
        rendered = t(caught.value.key, lang, **caught.value.params)
        assert rendered != caught.value.key
        assert str(question) in rendered and str(line) in rendered and name[:10] in rendered
    for code in GIFT_ERROR_CODES | AIKEN_ERROR_CODES:
        text = t(f"quiz_error_{code}", lang)
        assert text != f"quiz_error_{code}"
        names = {field for _, field, _, _ in string.Formatter().parse(text) if field}
        assert names <= {"question", "line", "name", "snippet", "count", "max", "option",
                         "expected", "answer", "letters"}


# --- examples, detection, tolerance --------------------------------------------------------


def test_example_gift_file():
    quiz = parse_any((EXAMPLES / "quiz_moodle.gift").read_text(), file_name="quiz_moodle.gift",
                     language="en")
    assert (quiz.title, quiz.seconds) == ("Python from Moodle", 30)
    assert [q.kind for q in quiz.questions] == [SINGLE, TRUE_FALSE, MULTI, TYPED, TYPED, TYPED, SINGLE, SINGLE]
    assert quiz.questions[2].correct == "ACE" and quiz.questions[2].time_bonus == 5
    assert quiz.questions[4].answers == ("3.14 ± 0.005",)
    assert quiz.questions[7].options[0] == '{"a": 1}'
    assert quiz.questions[0].explanation.startswith('"def" starts')


def test_file_kind_by_extension_and_syntax():
    assert file_kind("anything", "a.GIFT") == GIFT
    assert file_kind("::t::Q{=a ~b}", "a.txt") == GIFT
    assert file_kind("Q?{T}", "a.txt") == GIFT
    assert file_kind("Q?\nA. a\nB. b\nANSWER: B\n", "a.txt") == AIKEN
    assert file_kind((EXAMPLES / "quiz_kinds.txt").read_text(), "k.txt") == TXT
    assert file_kind((EXAMPLES / "quiz_example.txt").read_text(), "k.txt") == TXT
    # our own format with a dictionary in a question stays ours
    assert file_kind("1. d = {=1}?\nA*) yes\nB) no\n", "a.txt") == TXT
    assert file_kind("1. What?\nA) a\n", "a.txt") == TXT  # its own errors follow


@pytest.mark.parametrize(("given", "accepted", "right"), [
    ("3.14", ["3.14 ± 0.005"], True),
    ("3,142", ["3.14 ± 0.005"], True),
    ("3.145", ["3.14 ± 0.005"], True),
    ("3.146", ["3.14 ± 0.005"], False),
    ("pi", ["3.14 ± 0.005"], False),
    ("3.14 ± 0.005", ["3.14 ± 0.005"], True),
    ("1", ["3 ± 2"], True),
    ("5.5", ["3 ± 2"], False),
])
def test_number_with_a_tolerance(given, accepted, right):
    assert typed_matches(given, accepted) is right


def test_txt_answer_with_a_tolerance():
    [question] = parse_quiz("1. Pi?\nAnswer: 3.14 ± 0.01\n", file_name="p.txt").questions
    assert typed_matches("3.15", list(question.answers))


# --- round trip -----------------------------------------------------------------------------

_WORD = st.text(alphabet=string.ascii_letters + "абвгд0123456789 ~=#{}:\\.,!?()[]-'\"%/", min_size=1,
                max_size=25).map(str.strip).filter(lambda s: s and not s.startswith("%") and "//" not in s)
_LINE = _WORD.filter(lambda s: not s.startswith(("//", "$", "[")))
_TEXT = st.lists(_LINE, min_size=1, max_size=3).map("\n".join)


@st.composite
def _choice(draw, kind):
    count = draw(st.integers(2, len(OPTION_LETTERS)))
    options = draw(st.lists(_WORD, min_size=count, max_size=count, unique_by=option_key))
    pairs = [set(pair) for pair in (("true", "false"), ("верно", "неверно"), ("durıs", "nadurıs"))]
    if len(options) == 2 and {option_key(o) for o in options} in pairs:
        options[0] = options[0] + "x"
    letters = OPTION_LETTERS[:count]
    if kind == SINGLE:
        correct = draw(st.sampled_from(letters))
    else:
        chosen = draw(st.lists(st.sampled_from(letters), min_size=2, max_size=count, unique=True))
        correct = "".join(sorted(chosen))
    return tuple(options), correct


_NUMBER = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False).map(str)
_ANSWER = st.one_of(
    _WORD.filter(lambda s: "->" not in s),
    _NUMBER,
    st.tuples(_NUMBER, st.decimals(min_value=0, max_value=5, places=2).filter(bool)).map(
        lambda p: f"{p[0]} ± {p[1]}"),
)


@st.composite
def _question(draw, number):
    kind = draw(st.sampled_from([SINGLE, MULTI, TRUE_FALSE, TYPED]))
    text = draw(_TEXT)
    explanation = draw(st.none() | _WORD)
    bonus = draw(st.sampled_from([0, 5, 10]))
    common = {"number": number, "line": 0, "text": text, "time_bonus": bonus, "explanation": explanation}
    if kind == TYPED:
        answers = draw(st.lists(_ANSWER, min_size=1, max_size=3))
        return ParsedQuestion(options=(), correct="", kind=TYPED, answers=tuple(answers), **common)
    if kind == TRUE_FALSE:
        return ParsedQuestion(options=("True", "False"), correct=draw(st.sampled_from("AB")),
                              kind=TRUE_FALSE, **common)
    options, correct = draw(_choice(kind))
    return ParsedQuestion(options=options, correct=correct, kind=kind, **common)


@st.composite
def _quiz(draw):
    count = draw(st.integers(1, 6))
    questions = tuple(draw(_question(n)) for n in range(1, count + 1))
    title = draw(_WORD.filter(lambda s: not s.startswith("/") and not s.endswith("/")))  # Moodle paths
    shuffle = draw(st.sampled_from([(None, None), (False, False), (True, False), (False, True), (True, True)]))
    return ParsedQuiz(
        title=title, topic=title, questions=questions,
        seconds=draw(st.none() | st.integers(5, 600)), window_hours=draw(st.none() | st.integers(1, 336)),
        shuffle_questions=shuffle[0], shuffle_options=shuffle[1],
    )


def _same(quiz: ParsedQuiz) -> ParsedQuiz:
    """What must survive: everything but the line numbers."""
    return dataclasses.replace(
        quiz, questions=tuple(dataclasses.replace(q, line=0) for q in quiz.questions))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_quiz())
def test_export_then_import_gives_the_same_quiz(quiz):
    back = parse_gift(to_gift(quiz), file_name="any.gift")
    assert _same(back) == _same(quiz)


def test_round_trip_of_the_example_files():
    for name in ("quiz_kinds.txt", "quiz_example.txt"):
        quiz = parse_quiz((EXAMPLES / name).read_text(), file_name=name)
        quiz = dataclasses.replace(quiz, topic=quiz.title)
        assert _same(parse_gift(to_gift(quiz), file_name="x.gift")) == _same(quiz)
    gift = parse_gift((EXAMPLES / "quiz_moodle.gift").read_text(), file_name="m.gift")
    assert _same(parse_gift(to_gift(gift), file_name="x.gift")) == _same(gift)


def test_export_is_what_moodle_reads():
    quiz = parse_quiz((EXAMPLES / "quiz_kinds.txt").read_text(), file_name="k.txt")
    gift = to_gift(quiz)
    assert "$CATEGORY: $course$/top/Every question kind" in gift
    assert "~%33.33333%tuple\n~%-100%list" in gift  # weights Moodle accepts; a wrong pick costs all
    assert "{\nT\n####" in gift and "{\n#3.5\n" in gift and "{\n=break\n}" in gift
    assert escape('a{b}:c=d~e#f\\g\nh') == 'a\\{b\\}\\:c\\=d\\~e\\#f\\\\g\\nh'


def test_texts_that_start_like_a_format_marker_survive_the_round_trip():
    """Moodle reads "[html]", "[plain]"… at the start of a text as its format: a text that
    starts that way itself is written behind an explicit "[plain]"."""
    common = {"line": 0, "time_bonus": 0}
    quiz = ParsedQuiz(title="Markers", topic="Markers", questions=(
        ParsedQuestion(number=1, text="[html] is a GIFT marker", options=("0", "[PLAIN]"),
                       correct="A", explanation="[markdown] too", **common),
        ParsedQuestion(number=2, text="Type it", options=(), correct="", kind=TYPED,
                       answers=("[Moodle]",), **common),
    ))
    assert _same(parse_gift(to_gift(quiz), file_name="m.gift")) == _same(quiz)
