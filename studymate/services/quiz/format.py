"""The quiz ``.txt`` format : bytes → questions.

The v1 syntax is kept (``Topic:`` line, ``1.``/``2#.``/``3##.`` questions, ``A)``…``D)`` options,
``B*)`` marks the correct one) and made robust:

- UTF-8 (with or without BOM), UTF-16 and Windows-1251 files are read, and CRLF/CR line
  endings are normalised;
- a question starts only at an *unindented* ``N.`` line outside a ``````` fence, so code and
  numbered lines can live inside a question (fenced or indented) and ``3.14`` never starts one;
- nothing is silently dropped: every problem raises :class:`QuizFormatError` with a code the
  bot renders as ``t(f"quiz_error_{code}", **error.params)``, naming the question and line.

The exact rules for mentors are in the README ("Writing a quiz"); keep the two in step.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Final

LETTERS: Final = ("A", "B", "C", "D")  # the four of a classic question (the bot's editor)
OPTION_LETTERS: Final = ("A", "B", "C", "D", "E", "F", "G", "H")  # 2 to 8 options in a file
MIN_OPTIONS: Final = 2
MAX_ANSWER: Final = 200  # one accepted typed answer
MAX_EXPLANATION: Final = 1000
SECONDS_RANGE: Final = (5, 600)  # "Seconds:" header: time per question
WINDOW_HOURS_RANGE: Final = (1, 14 * 24)  # "Window:" header: the ranked window
MAX_FILE_BYTES: Final = 2 * 1024 * 1024  # Telegram allows 20 MB; 200 long questions fit in 2 MB
MAX_QUESTIONS: Final = 200
MAX_TITLE: Final = 200  # Quiz.title varchar(200)
MAX_TOPIC: Final = 100  # Quiz.topic varchar(100)
MAX_OPTION: Final = 500  # QuizQuestion.option_* varchar(500)
# Question text plus its four options, in UTF-16 units as Telegram counts them. The question
# message and the upload preview (title 200 + topic 100 + ~200 of template) must stay under
# Telegram's 4096-character limit.
MAX_QUESTION_CHARS: Final = 3500
TIME_BONUS: Final = {0: 0, 1: 5, 2: 10}  # number of '#' after the question number → seconds
DEFAULT_TITLE: Final = "Quiz"
_SNIPPET: Final = 60
# Every QuizFormatError.code; the catalogs hold a text "quiz_error_<code>" for each.
ERROR_CODES: Final = frozenset(
    {
        "empty_file",
        "binary_file",
        "unknown_encoding",
        "file_too_large",
        "no_questions",
        "question_number_format",
        "question_indented",
        "text_before_first_question",
        "topic_empty",
        "topic_too_long",
        "too_many_questions",
        "time_bonus_invalid",
        "code_block_not_closed",
        "no_text",
        "no_options",
        "no_options_before_next",
        "option_bad_format",
        "option_cyrillic_letter",
        "option_extra",
        "option_repeated",
        "option_empty",
        "option_too_long",
        "option_missing",
        "option_out_of_order",
        "no_correct",
        "multiple_correct",
        "option_duplicate",
        "unexpected_text_after_options",
        "question_too_long",
    }
)
# The codes of the question kinds and quiz settings (several options, typed answers,
# explanations, "Seconds:"/"Window:"/"Shuffle:"); their texts are "quiz_error_<code>" too.
KIND_ERROR_CODES: Final = frozenset(
    {
        "setting_seconds_invalid",
        "setting_window_invalid",
        "setting_shuffle_invalid",
        "setting_repeated",
        "answer_empty",
        "answer_too_long",
        "answer_repeated",
        "answer_with_options",
        "explanation_empty",
        "explanation_too_long",
        "explanation_repeated",
        "explanation_misplaced",
    }
)
# The codes of pictures: an ``Image:`` line in a question, and the ``.zip`` that brings the
# pictures (read by ``services/quiz/bundle.py``); their texts are "quiz_error_<code>" too.
IMAGE_ERROR_CODES: Final = frozenset(
    {
        "image_name_invalid",
        "image_repeated",
        "image_needs_zip",
        "image_missing",
        "image_too_large",
        "image_not_image",
        "zip_invalid",
        "zip_no_txt",
        "zip_several_txt",
        "zip_too_many_entries",
        "zip_too_large",
    }
)
IMAGE_EXTENSIONS: Final = (".png", ".jpg", ".jpeg")
MAX_IMAGE_NAME: Final = 100

SINGLE: Final = "single"
TRUE_FALSE: Final = "truefalse"
MULTI: Final = "multi"
TYPED: Final = "typed"
KINDS: Final = (SINGLE, TRUE_FALSE, MULTI, TYPED)
# A two-option question whose options are these words (either order) is a true/false one.
TRUE_FALSE_PAIRS: Final = (("true", "false"), ("верно", "неверно"), ("durıs", "nadurıs"))

# No two runs of blanks may meet (as in "[ \t]*#*[ \t]*" with no "#"): a line of blanks that
# never reaches the dot would then be tried every way of splitting it, quadratic in its length.
_QUESTION_RE: Final = re.compile(r"^(\d{1,4})[ \t]*(?:(#+)[ \t]*)?\.(?!\d)[ \t]*(.*)$")
_NUMBER_PAREN_RE: Final = re.compile(r"^\d{1,4}[ \t]*(?:#+[ \t]*)?\)")
_TOPIC_RE: Final = re.compile(r"^(?:тема|topic|tema)\s*:\s*(.*)$", re.IGNORECASE)
_SECONDS_RE: Final = re.compile(r"^(?:seconds|секунды|sekund)\s*:\s*(.*)$", re.IGNORECASE)
_WINDOW_RE: Final = re.compile(r"^(?:window|окно|aralıq)\s*:\s*(.*)$", re.IGNORECASE)
_SHUFFLE_RE: Final = re.compile(r"^(?:shuffle|перемешать|aralastırıw)\s*:\s*(.*)$", re.IGNORECASE)
_WINDOW_VALUE_RE: Final = re.compile(r"^(\d{1,5})\s*(h|d|ч|д|saat|kún)$", re.IGNORECASE)
_SHUFFLE_WORDS: Final = {
    "questions": "questions", "вопросы": "questions", "sorawlar": "questions",
    "options": "options", "варианты": "options", "variantlar": "options",
}
_NO_WORDS: Final = frozenset({"no", "нет", "joq"})
_ANSWER_RE: Final = re.compile(r"^(?:answer|ответ|juwap)\s*:\s*(.*)$", re.IGNORECASE)
_IMAGE_RE: Final = re.compile(r"^(?:image|картинка|súwret)\s*:\s*(.*)$", re.IGNORECASE)
# A plain file name (no folders): letters, digits, blanks, "-", "_", "." and a picture extension.
_IMAGE_NAME_RE: Final = re.compile(r"^[\w][\w .-]*\.(?:png|jpe?g)$", re.IGNORECASE)
_EXPLANATION_RE: Final = re.compile(
    r"^(?:explanation|пояснение|túsindirme)\s*:\s*(.*)$", re.IGNORECASE
)
# Option letters: Latin A–H in either case, plus the Cyrillic look-alikes А, В, С, Е, Н, а, с,
# е that a Russian keyboard layout produces (they cannot be told apart on screen).
_LETTER: Final = "[A-Ha-hАВСЕНасе]"
_CYRILLIC_LETTERS: Final = str.maketrans("АВСЕНасе", "ABCEHace")
_OPTION_RE: Final = re.compile(rf"^({_LETTER})\s*(?:(\*+)\s*)?\)\s*(.*)$")
_EXTRA_OPTION_RE: Final = re.compile(r"^([I-Zi-z])\s*(?:\*+\s*)?\)")
_BAD_OPTION_RE: Final = re.compile(rf"^({_LETTER})\s*(?:\*+\s*)?[.:]\s*\S")
_CYRILLIC_OPTION_RE: Final = re.compile(r"^([А-ЯЁа-яё])\s*(?:\*+\s*)?\)")  # А) Б) В) Г) lists
_FENCE_RE: Final = re.compile(r"^(`{3,}|~{3,})(.*)$")
# C0 controls other than tab, LF, VT, FF (CR is normalised away) and DEL never occur in text.
_CONTROL_RE: Final = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


class QuizFormatError(ValueError):
    """A quiz file that cannot be imported; nothing of it is stored.

    ``params`` holds every placeholder of the ``quiz_error_<code>`` text, including
    ``question`` (the number written in the file) and ``line`` (1-based) when they apply.
    """

    def __init__(
        self, code: str, *, line: int | None = None, question: int | None = None, **params: Any
    ) -> None:
        self.code = code
        self.line = line
        self.question = question
        self.params: dict[str, Any] = dict(params)
        if line is not None:
            self.params["line"] = line
        if question is not None:
            self.params["question"] = question
        super().__init__(f"{code} {self.params}")

    @property
    def key(self) -> str:
        return f"quiz_error_{self.code}"


@dataclass(frozen=True, slots=True)
class ParsedQuestion:
    number: int  # as written in the file (only used to point at it)
    line: int  # line of the ``N.`` header
    text: str  # may contain newlines and ``` fences (see question_html)
    options: tuple[str, ...]  # A, B, … (2 to 8); empty for a typed answer
    correct: str  # the correct letters: "B"; "AC" (select all that apply); "" (typed)
    time_bonus: int  # 0, 5 or 10 extra seconds
    kind: str = SINGLE  # single | truefalse | multi | typed
    answers: tuple[str, ...] = ()  # accepted typed answers
    explanation: str | None = None
    image: str | None = None  # "Image: name.png": a picture of the quiz's .zip
    image_line: int | None = None  # the line of that "Image:" (to point at a missing picture)

    def option(self, letter: str) -> str:
        return self.options[OPTION_LETTERS.index(letter.upper())]


@dataclass(frozen=True, slots=True)
class ParsedQuiz:
    title: str
    topic: str | None
    questions: tuple[ParsedQuestion, ...]
    seconds: int | None = None  # "Seconds:" (None: the bot's setting)
    window_hours: int | None = None  # "Window:" (None: 48 hours)
    shuffle_questions: bool | None = None  # "Shuffle:" (None: as before — never)
    shuffle_options: bool | None = None  # (None: as before — in exams only)


# --- bytes → text -------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """LF line endings and no byte-order marks (one may sit in the middle of pasted files)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")


# --- text → quiz ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Line:
    number: int  # 1-based line in the file
    content: str  # right-stripped, tabs expanded
    kind: str  # "text", "fence" (a ``` line) or "code" (inside a fence)


@dataclass(slots=True)
class _Block:
    number: int
    hashes: str
    line: int
    head: str  # text on the header line after "N."
    body: list[_Line] = field(default_factory=list)
    open_fence: int | None = None  # line of a fence still open at the end of the file


def parse_quiz(
    text: str, *, file_name: str | None, fallback_title: str = DEFAULT_TITLE
) -> ParsedQuiz:
    """Given the text of a quiz file, return its title, topic and questions.

    The title is the topic line's text; without one, the file name without its extension
    (cut to 200 characters); without a usable file name, ``fallback_title``.
    Raises :class:`QuizFormatError` for the first problem in file order.
    """
    text = normalize_text(text)
    if not text.strip():
        raise QuizFormatError("empty_file")
    preamble, blocks, count = _split(text.split("\n"))
    if not blocks:
        for line in preamble:
            _misplaced_question(line)
        raise QuizFormatError("no_questions")
    topic, settings = _topic(preamble)
    if count > MAX_QUESTIONS:
        extra = blocks[MAX_QUESTIONS]
        raise QuizFormatError(
            "too_many_questions", line=extra.line, limit=MAX_QUESTIONS, count=count
        )
    questions = tuple(
        _question(block, next_block=blocks[i + 1] if i + 1 < len(blocks) else None)
        for i, block in enumerate(blocks)
    )
    title = topic if topic is not None else _title_from_file_name(file_name) or fallback_title
    return ParsedQuiz(title=title, topic=topic, questions=questions, **settings)


def _split(lines: list[str]) -> tuple[list[_Line], list[_Block], int]:
    """Cut the file into the preamble and question blocks, tracking ``` fences; also count
    the questions. Past one question too many only the count matters: no block is kept."""
    preamble: list[_Line] = []
    blocks: list[_Block] = []
    count = 0
    fence: str | None = None  # the opening marker while inside a fence
    fence_line = 0
    for number, raw in enumerate(lines, start=1):
        content = raw.rstrip().expandtabs(4)
        stripped = content.strip()
        target = blocks[-1].body if blocks else preamble
        keep = count <= MAX_QUESTIONS
        if fence is not None:
            closes = stripped.startswith(fence) and not stripped.strip(fence[0])
            if keep:
                target.append(_Line(number, content, "fence" if closes else "code"))
            if closes:
                fence = None
            continue
        header = _QUESTION_RE.match(content)
        if header:
            count += 1
            if count <= MAX_QUESTIONS + 1:
                number_text, hashes, head = header.groups()
                blocks.append(_Block(int(number_text), hashes or "", number, head.strip()))
            continue
        opening = _FENCE_RE.match(stripped)
        if opening:
            fence = opening.group(1)
            fence_line = number
        if keep:
            target.append(_Line(number, content, "fence" if opening else "text"))
    if fence is not None and blocks:
        blocks[-1].open_fence = fence_line
    return preamble, blocks, count


def _topic(preamble: list[_Line]) -> tuple[str | None, dict[str, Any]]:
    """The topic from the first non-blank line and the settings lines (``Seconds:``,
    ``Window:``, ``Shuffle:``, each once, anywhere before question 1); any other text before
    question 1 is an error."""
    topic: str | None = None
    settings: dict[str, Any] = {}
    seen: set[str] = set()
    for line in (item for item in preamble if item.content.strip()):
        if line.kind == "text" and _setting(line, settings, seen):
            continue
        match = _TOPIC_RE.match(line.content.strip()) if topic is None else None
        if match is None:
            _misplaced_question(line)
            raise QuizFormatError(
                "text_before_first_question", line=line.number, snippet=_snippet(line.content)
            )
        topic = match.group(1).strip()
        if not topic:
            raise QuizFormatError("topic_empty", line=line.number)
        if len(topic) > MAX_TOPIC:
            raise QuizFormatError(
                "topic_too_long", line=line.number, limit=MAX_TOPIC, length=len(topic)
            )
    return topic, settings


def read_setting(content: str, line: int, settings: dict[str, Any], seen: set[str]) -> bool:
    """One header setting line (``Seconds: 30``…) into ``settings``, checked as in a .txt
    file (other importers reuse it); False when the line is no setting."""
    return _setting(_Line(line, content.strip(), "text"), settings, seen)


def _setting(line: _Line, settings: dict[str, Any], seen: set[str]) -> bool:
    """Read one header setting into ``settings``; False when the line is none."""
    content = line.content.strip()
    for name, pattern in (("seconds", _SECONDS_RE), ("window", _WINDOW_RE), ("shuffle", _SHUFFLE_RE)):
        match = pattern.match(content)
        if match is None:
            continue
        value = match.group(1).strip()
        where = {"line": line.number, "snippet": _snippet(content)}
        if name in seen:
            raise QuizFormatError("setting_repeated", **where)
        seen.add(name)
        if name == "seconds":
            low, high = SECONDS_RANGE
            if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
                raise QuizFormatError("setting_seconds_invalid", **where, min=low, max=high)
            settings["seconds"] = int(value)
        elif name == "window":
            low, high = WINDOW_HOURS_RANGE
            found = _WINDOW_VALUE_RE.match(value)
            hours = None
            if found and found.group(1).isascii():
                days = found.group(2).casefold() in ("d", "д", "kún")
                hours = int(found.group(1)) * (24 if days else 1)
            if hours is None or not low <= hours <= high:
                raise QuizFormatError("setting_window_invalid", **where, max_days=high // 24)
            settings["window_hours"] = hours
        else:
            words = [word.strip().casefold() for word in value.split(",")]
            if words == [] or any(not word for word in words):
                raise QuizFormatError("setting_shuffle_invalid", **where)
            if len(words) == 1 and words[0] in _NO_WORDS:
                settings["shuffle_questions"] = settings["shuffle_options"] = False
            elif all(word in _SHUFFLE_WORDS for word in words):
                chosen = {_SHUFFLE_WORDS[word] for word in words}
                settings["shuffle_questions"] = "questions" in chosen
                settings["shuffle_options"] = "options" in chosen
            else:
                raise QuizFormatError("setting_shuffle_invalid", **where)
        return True
    return False


def _misplaced_question(line: _Line) -> None:
    """Point at a line that was meant to start a question but does not (``1)``, indented)."""
    if line.kind != "text":
        return
    if _NUMBER_PAREN_RE.match(line.content):
        raise QuizFormatError(
            "question_number_format", line=line.number, snippet=_snippet(line.content)
        )
    if line.content[:1].isspace() and _QUESTION_RE.match(line.content.strip()):
        raise QuizFormatError("question_indented", line=line.number, snippet=_snippet(line.content))


def _question(block: _Block, *, next_block: _Block | None) -> ParsedQuestion:
    image = _take_image(block)
    question = _question_body(block, next_block=next_block)
    if image is None:
        return question
    return dataclasses.replace(question, image=image[0], image_line=image[1])


def _take_image(block: _Block) -> tuple[str, int] | None:
    """Remove the question's ``Image: name.png`` line (anywhere in it, outside code) from its
    body and return (name, line)."""
    found: tuple[str, int] | None = None
    kept: list[_Line] = []
    for line in block.body:
        match = _IMAGE_RE.match(line.content.strip()) if line.kind == "text" else None
        if match is None:
            kept.append(line)
            continue
        where = {"question": block.number, "line": line.number}
        if found is not None:
            raise QuizFormatError("image_repeated", **where)
        name = match.group(1).strip()
        if len(name) > MAX_IMAGE_NAME or not _IMAGE_NAME_RE.match(name):
            raise QuizFormatError("image_name_invalid", **where, snippet=_snippet(line.content))
        found = (name, line.number)
    block.body = kept
    return found


def _question_body(block: _Block, *, next_block: _Block | None) -> ParsedQuestion:
    where: dict[str, int] = {"question": block.number, "line": block.line}
    if len(block.hashes) > 2:
        raise QuizFormatError(
            "time_bonus_invalid", **where, snippet=f"{block.number}{block.hashes}."
        )
    if block.open_fence is not None:
        raise QuizFormatError("code_block_not_closed", question=block.number, line=block.open_fence)
    first_option = next(
        (
            i
            for i, line in enumerate(block.body)
            if line.kind == "text" and _OPTION_RE.match(line.content.strip())
        ),
        None,
    )
    text_lines = block.body if first_option is None else block.body[:first_option]
    answer_at = next(
        (
            i
            for i, line in enumerate(text_lines)
            if line.kind == "text" and _ANSWER_RE.match(line.content.strip())
        ),
        None,
    )
    if answer_at is not None:
        if first_option is not None:
            raise QuizFormatError(
                "answer_with_options", question=block.number, line=text_lines[answer_at].number
            )
        return _typed_question(block, text_lines[:answer_at], text_lines[answer_at:])
    text = _question_text(block.head, text_lines)
    if first_option is None:
        for line in text_lines:
            _bad_option(block, line)
            _misplaced_explanation(block, line)
        if not text:
            raise QuizFormatError("no_text", **where)
        if next_block is not None:
            raise QuizFormatError("no_options_before_next", **where, next_line=next_block.line)
        raise QuizFormatError("no_options", **where)
    for line in text_lines:
        _misplaced_explanation(block, line)
    if not text:
        raise QuizFormatError("no_text", **where)
    options, correct, explanation = _options(block, block.body[first_option:])
    total = _utf16_len(text) + sum(_utf16_len(option) for option in options)
    if total > MAX_QUESTION_CHARS:
        raise QuizFormatError("question_too_long", **where, limit=MAX_QUESTION_CHARS, length=total)
    kind = SINGLE
    if len(correct) > 1:
        kind = MULTI
    if len(options) == 2 and _is_true_false(options):
        if len(correct) > 1:
            raise QuizFormatError(
                "multiple_correct", question=block.number, line=_star_line(block, correct[1]),
                options=", ".join(correct),
            )
        kind = TRUE_FALSE
    return ParsedQuestion(
        number=block.number,
        line=block.line,
        text=text,
        options=options,
        correct=correct,
        time_bonus=TIME_BONUS[len(block.hashes)],
        kind=kind,
        explanation=explanation,
    )


def _is_true_false(options: tuple[str, ...]) -> bool:
    pair = {option_key(option) for option in options}
    return any(pair == set(words) for words in TRUE_FALSE_PAIRS)


def _star_line(block: _Block, letter: str) -> int:
    for line in block.body:
        match = _OPTION_RE.match(line.content.strip()) if line.kind == "text" else None
        if match and _letter(match.group(1)) == letter and match.group(2):
            return line.number
    return block.line


def _misplaced_explanation(block: _Block, line: _Line) -> None:
    """An ``Explanation:`` line goes after the options (or the answer), not in the question."""
    if line.kind == "text" and _EXPLANATION_RE.match(line.content.strip()):
        raise QuizFormatError(
            "explanation_misplaced", question=block.number, line=line.number,
            snippet=_snippet(line.content),
        )


def _explanation(
    block: _Block, line: _Line, match: re.Match[str], current: str | None
) -> str:
    where = {"question": block.number, "line": line.number}
    if current is not None:
        raise QuizFormatError("explanation_repeated", **where)
    value = match.group(1).strip()
    if not value:
        raise QuizFormatError("explanation_empty", **where)
    if len(value) > MAX_EXPLANATION:
        raise QuizFormatError(
            "explanation_too_long", **where, limit=MAX_EXPLANATION, length=len(value)
        )
    return value


def _typed_question(block: _Block, text_lines: list[_Line], rest: list[_Line]) -> ParsedQuestion:
    """A question answered by typing: ``Answer: 42 | forty-two``, then maybe an explanation."""
    where: dict[str, int] = {"question": block.number, "line": block.line}
    for line in text_lines:
        _misplaced_explanation(block, line)
    text = _question_text(block.head, text_lines)
    if not text:
        raise QuizFormatError("no_text", **where)
    answers: tuple[str, ...] | None = None
    explanation: str | None = None
    for line in rest:
        content = line.content.strip()
        if not content:
            continue
        here = {"question": block.number, "line": line.number}
        answer = _ANSWER_RE.match(content) if line.kind == "text" else None
        explained = _EXPLANATION_RE.match(content) if line.kind == "text" else None
        if answer is not None:
            if answers is not None:
                raise QuizFormatError("answer_repeated", **here)
            parts = [part.strip() for part in answer.group(1).split("|")]
            if not any(parts) or not all(parts):
                raise QuizFormatError("answer_empty", **here)
            for part in parts:
                if len(part) > MAX_ANSWER:
                    raise QuizFormatError(
                        "answer_too_long", **here, limit=MAX_ANSWER, length=len(part)
                    )
            answers = tuple(parts)
        elif explained is not None:
            explanation = _explanation(block, line, explained, explanation)
        else:
            _misplaced_question(line)
            raise QuizFormatError(
                "unexpected_text_after_options", **here, snippet=_snippet(content)
            )
    assert answers is not None  # rest starts with the Answer: line
    total = _utf16_len(text) + sum(_utf16_len(answer) for answer in answers)
    if total > MAX_QUESTION_CHARS:
        raise QuizFormatError("question_too_long", **where, limit=MAX_QUESTION_CHARS, length=total)
    return ParsedQuestion(
        number=block.number,
        line=block.line,
        text=text,
        options=(),
        correct="",
        time_bonus=TIME_BONUS[len(block.hashes)],
        kind=TYPED,
        answers=answers,
        explanation=explanation,
    )


def _bad_option(block: _Block, line: _Line) -> None:
    """Point at a line that looks like an option written the wrong way (``A.``, ``Б)``)."""
    content = line.content.strip()
    if line.kind != "text":
        return
    where = {"question": block.number, "line": line.number, "snippet": _snippet(content)}
    if bad := _BAD_OPTION_RE.match(content):
        raise QuizFormatError("option_bad_format", **where, option=_letter(bad.group(1)))
    if _CYRILLIC_OPTION_RE.match(content):
        raise QuizFormatError("option_cyrillic_letter", **where)


def _question_text(head: str, lines: list[_Line]) -> str:
    """Header text plus the following lines, their common indentation removed (code keeps its
    relative indentation); blank lines inside are kept, leading and trailing ones dropped."""
    indents = [
        len(line.content) - len(line.content.lstrip()) for line in lines if line.content.strip()
    ]
    cut = min(indents, default=0)
    body = [line.content[cut:] for line in lines]
    text = "\n".join([head, *body] if head else body).strip("\n")
    has_words = any(line.content.strip() for line in lines if line.kind != "fence") or bool(head)
    return text if has_words else ""


def _options(block: _Block, lines: list[_Line]) -> tuple[tuple[str, ...], str, str | None]:
    found: dict[str, tuple[int, str]] = {}  # letter → (line, text)
    order: list[str] = []
    starred: list[tuple[str, int]] = []
    explanation: str | None = None
    for line in lines:
        content = line.content.strip()
        if not content:
            continue
        where = {"question": block.number, "line": line.number}
        match = _OPTION_RE.match(content) if line.kind == "text" else None
        explained = _EXPLANATION_RE.match(content) if line.kind == "text" else None
        if explained is not None:
            explanation = _explanation(block, line, explained, explanation)
            continue
        if match is not None and explanation is not None:  # options go before the explanation
            raise QuizFormatError(
                "unexpected_text_after_options", **where, snippet=_snippet(content)
            )
        if match is None:
            if line.kind == "text" and (extra := _EXTRA_OPTION_RE.match(content)):
                raise QuizFormatError(
                    "option_extra",
                    **where,
                    option=extra.group(1).upper(),
                    snippet=_snippet(content),
                )
            if line.kind == "text" and _ANSWER_RE.match(content):
                raise QuizFormatError("answer_with_options", **where)
            _bad_option(block, line)
            _misplaced_question(line)
            raise QuizFormatError(
                "unexpected_text_after_options", **where, snippet=_snippet(content)
            )
        letter, stars, option_text = _letter(match.group(1)), match.group(2), match.group(3).strip()
        if letter in found:
            raise QuizFormatError("option_repeated", **where, option=letter)
        if not option_text:
            raise QuizFormatError("option_empty", **where, option=letter)
        if len(option_text) > MAX_OPTION:
            raise QuizFormatError(
                "option_too_long", **where, option=letter, limit=MAX_OPTION, length=len(option_text)
            )
        found[letter] = (line.number, option_text)
        order.append(letter)
        if stars:
            starred.append((letter, line.number))
    where = {"question": block.number, "line": block.line}
    # 2 to 8 options, A onwards without a gap: the last letter used says how many there are.
    count = max(max(OPTION_LETTERS.index(letter) for letter in found) + 1, MIN_OPTIONS)
    letters = OPTION_LETTERS[:count]
    for letter in letters:
        if letter not in found:
            raise QuizFormatError("option_missing", **where, option=letter)
    for letter, expected in zip(order, letters, strict=True):
        if letter != expected:
            raise QuizFormatError(
                "option_out_of_order",
                question=block.number,
                line=found[letter][0],
                option=letter,
                expected=expected,
            )
    if not starred:
        raise QuizFormatError("no_correct", **where)
    seen: dict[str, str] = {}
    for letter in letters:
        line_number, option_text = found[letter]
        key = option_key(option_text)
        if key in seen:
            raise QuizFormatError(
                "option_duplicate",
                question=block.number,
                line=line_number,
                option=letter,
                other=seen[key],
            )
        seen[key] = letter
    correct = "".join(sorted(letter for letter, _ in starred))
    return tuple(found[letter][1] for letter in letters), correct, explanation


def _letter(written: str) -> str:
    return written.translate(_CYRILLIC_LETTERS).upper()


def check_options(options: list[tuple[str, str, int]], *, question: int) -> None:
    """(letter, text, line) of one question's options: none too long, no two alike once
    normalised (the readers of other formats share this rule with our own)."""
    seen: dict[str, str] = {}
    for letter, value, line in options:
        if len(value) > MAX_OPTION:
            raise QuizFormatError(
                "option_too_long", question=question, line=line, option=letter,
                limit=MAX_OPTION, length=len(value),
            )
        key = option_key(value)
        if key in seen:
            raise QuizFormatError(
                "option_duplicate", question=question, line=line, option=letter, other=seen[key],
            )
        seen[key] = letter


def option_key(option: str) -> str:
    """What an option looks like: invisible characters (zero-width space and joiners, soft
    hyphen: Unicode format characters) dropped, case and runs of blanks ignored."""
    visible = "".join(c for c in unicodedata.normalize("NFC", option) if unicodedata.category(c) != "Cf")
    return " ".join(visible.casefold().split())


def _title_from_file_name(file_name: str | None) -> str:
    """``week3.txt`` → ``week3``; path parts and one extension (with a letter) are dropped."""
    name = re.split(r"[\\/]", file_name or "")[-1].strip()
    name = re.sub(r"\.(?=\d*[A-Za-z])[A-Za-z0-9]{1,5}$", "", name).strip()  # not "Quiz 1.2"
    return name[:MAX_TITLE].strip()


def _snippet(content: str) -> str:
    content = content.strip()
    return content if len(content) <= _SNIPPET else content[: _SNIPPET - 1] + "…"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- showing a question -------------------------------------------------------------------


