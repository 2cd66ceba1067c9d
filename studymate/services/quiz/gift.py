"""Moodle GIFT files ↔ quizzes: :func:`parse_gift` reads the parts of GIFT that map onto the
question kinds (multiple choice with one or several right answers, true/false, short answer,
numerical with a tolerance, general feedback) into the same :class:`ParsedQuiz` as the ``.txt``
format; :func:`to_gift` writes a quiz back. A construct that has no kind here (matching,
essay, embedded answers, partial credit, per-answer feedback) is an error naming the question
and line, never skipped. The rules for mentors are in the README ("Quizzes from Moodle").
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from studymate.services.quiz.format import (
    DEFAULT_TITLE,
    MAX_ANSWER,
    MAX_EXPLANATION,
    MAX_QUESTION_CHARS,
    MAX_QUESTIONS,
    MAX_TITLE,
    MAX_TOPIC,
    MIN_OPTIONS,
    MULTI,
    OPTION_LETTERS,
    SINGLE,
    TRUE_FALSE,
    TRUE_FALSE_PAIRS,
    TYPED,
    ParsedQuestion,
    ParsedQuiz,
    QuizFormatError,
    _title_from_file_name,
    check_options,
    normalize_text,
    option_key,
    read_setting,
)

# Every code raised here besides the shared ones (empty_file, too_many_questions, the "too
# long" ones, option_duplicate); the catalogs hold a text "quiz_error_<code>" for each.
GIFT_ERROR_CODES: Final = frozenset(
    {
        "gift_no_questions",
        "gift_title_not_closed",
        "gift_block_not_closed",
        "gift_no_answers",
        "gift_several_blocks",
        "gift_essay",
        "gift_matching",
        "gift_cloze",
        "gift_partial_credit",
        "gift_several_right",
        "gift_answer_feedback",
        "gift_no_correct",
        "gift_bad_number",
        "gift_options_count",
        "gift_option_empty",
        "gift_text_empty",
        "gift_block_unreadable",
    }
)
BLANK: Final = "_____"  # where a "missing word" answer block stood in the sentence
_NAME: Final = 40
# Escaped characters are swapped for private-use ones while the structure is read.
_ESCAPES: Final = {
    "\\": "\ue000", "~": "\ue001", "=": "\ue002", "#": "\ue003", "{": "\ue004", "}": "\ue005",
    ":": "\ue006", "n": "\ue007",
}
_RESTORE: Final = str.maketrans({v: ("\n" if k == "n" else k) for k, v in _ESCAPES.items()})
_ESCAPE_RE: Final = re.compile(r"\\([\\~=#{}:n])")
_FORMAT_RE: Final = re.compile(r"^\[(html|moodle|plain|markdown)\]", re.IGNORECASE)
_CATEGORY_RE: Final = re.compile(r"^\$CATEGORY:\s*(.*)$", re.IGNORECASE)
_BONUS_RE: Final = re.compile(r"^//\s*extra seconds:\s*(5|10)\s*$", re.IGNORECASE)
_CLOZE_RE: Final = re.compile(r"^\s*\d*:[A-Za-z_]+:")
_TRUE_FALSE_RE: Final = re.compile(r"^(true|false|t|f)(#.*)?$", re.IGNORECASE | re.DOTALL)
_WEIGHT_RE: Final = re.compile(r"^\s*%(-?\d+(?:\.\d+)?)%")
_DECIMAL_RE: Final = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_TOLERANCE_RE: Final = re.compile(r"^(.+?)\s*±\s*(.+)$")
_CONTEXTS: Final = frozenset({"$course$", "$system$", "$module$", "$coursecategory$", "top"})
_TRUE_WORDS: Final = frozenset(pair[0] for pair in TRUE_FALSE_PAIRS)


@dataclass(slots=True)
class _Chunk:
    line: int  # first line of the question
    lines: list[str] = field(default_factory=list)
    bonus: int = 0


def _protect(text: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(1)], text)


def _restore(text: str) -> str:
    return text.translate(_RESTORE)


def looks_like_gift(text: str) -> bool:
    """A ``::title::`` line start, or an answer block as only GIFT writes them."""
    body = _protect(normalize_text(text))
    if re.search(r"^\s*::", body, re.MULTILINE):
        return True
    return re.search(r"\{\s*(?:[=~#]|(?:T|F|TRUE|FALSE)\s*(?:#[^}]*)?\})", body) is not None


# --- GIFT → quiz --------------------------------------------------------------------------


def parse_gift(
    text: str, *, file_name: str | None, true_false: tuple[str, str] = ("True", "False"),
    fallback_title: str = DEFAULT_TITLE,
) -> ParsedQuiz:
    """Given the text of a GIFT file, return the quiz; ``true_false`` are the two words a
    ``{T}``/``{F}`` question offers (the mentor's language). Raises QuizFormatError."""
    text = normalize_text(text)
    if not text.strip():
        raise QuizFormatError("empty_file")
    chunks: list[_Chunk] = []
    current: _Chunk | None = None
    category: str | None = None
    settings: dict[str, Any] = {}
    seen: set[str] = set()
    bonus = 0
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped:
            current = None
            continue
        if stripped.startswith("//"):
            comment = stripped[2:].strip()
            if bonus_match := _BONUS_RE.match(stripped):
                bonus = int(bonus_match.group(1))
            elif not chunks and current is None:
                read_setting(comment, number, settings, seen)
            continue
        if current is None and (found := _CATEGORY_RE.match(stripped)):
            category = _category_name(found.group(1)) or category
            continue
        if current is None:
            current = _Chunk(line=number, bonus=bonus)
            bonus = 0
            chunks.append(current)
        current.lines.append(line.rstrip())
    if not chunks:
        raise QuizFormatError("gift_no_questions")
    if len(chunks) > MAX_QUESTIONS:
        raise QuizFormatError(
            "too_many_questions", line=chunks[MAX_QUESTIONS].line, limit=MAX_QUESTIONS,
            count=len(chunks),
        )
    questions = tuple(
        _question(chunk, number, true_false) for number, chunk in enumerate(chunks, start=1)
    )
    if category:
        title = category[:MAX_TITLE].strip()
        topic = category if len(category) <= MAX_TOPIC else None
    else:
        title = _title_from_file_name(file_name) or fallback_title
        topic = None
    return ParsedQuiz(title=title, topic=topic, questions=questions, **settings)


def _category_name(path: str) -> str | None:
    """``$course$/top/Week 3`` → ``Week 3`` (``//`` is a slash inside a name)."""
    parts = [part.replace("//", "/").strip() for part in re.split(r"(?<!/)/(?!/)", path.strip())]
    names = [part for part in parts if part and part.casefold() not in _CONTEXTS]
    return names[-1] if names else None


def _plain(raw: str) -> str:
    """Question or feedback text (still protected) → what a student sees."""
    raw = raw.strip()
    marker = _FORMAT_RE.match(raw)
    if marker:
        raw = raw[marker.end() :]
    value = _restore(raw)
    if marker and marker.group(1).lower() == "html":
        value = re.sub(r"(?i)<br\s*/?>|</p\s*>|</div\s*>", "\n", value)
        value = html.unescape(re.sub(r"<[^>]*>", "", value))
    lines = [line.rstrip() for line in value.split("\n")]
    return "\n".join(lines).strip()


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _NAME else flat[: _NAME - 1] + "…"


def _question(chunk: _Chunk, number: int, true_false: tuple[str, str]) -> ParsedQuestion:
    raw = _protect("\n".join(chunk.lines))

    def line_at(position: int) -> int:
        return chunk.line + raw.count("\n", 0, position)

    start = len(raw) - len(raw.lstrip())
    title = ""
    if raw.startswith("::", start):
        end = raw.find("::", start + 2)
        if end < 0:
            raise QuizFormatError(
                "gift_title_not_closed", question=number, line=chunk.line,
                name=_snippet(_restore(raw[start + 2 :])),
            )
        title = _snippet(_restore(raw[start + 2 : end]))
        start = end + 2
    opening = raw.find("{", start)
    before = raw[start:] if opening < 0 else raw[start:opening]
    name = title or _snippet(_plain(before)) or "…"
    where: dict[str, Any] = {"question": number, "line": chunk.line, "name": name}
    if opening < 0:
        raise QuizFormatError("gift_no_answers", **where)
    closing = raw.find("}", opening)
    if closing < 0:
        raise QuizFormatError("gift_block_not_closed", **{**where, "line": line_at(opening)})
    after = raw[closing + 1 :]
    if "{" in after:
        second = closing + 1 + after.index("{")
        raise QuizFormatError("gift_several_blocks", **{**where, "line": line_at(second)})
    block = raw[opening + 1 : closing]
    block_where = {**where, "line": line_at(opening)}
    if _CLOZE_RE.match(block):
        raise QuizFormatError("gift_cloze", **block_where)
    text = _plain(before)
    if after.strip():
        text = f"{text} {BLANK} {_plain(after)}".strip()
    if not text:
        raise QuizFormatError("gift_text_empty", **where)
    answers, _, feedback = block.partition("####")
    explanation = _plain(feedback) or None
    if explanation is not None and len(explanation) > MAX_EXPLANATION:
        raise QuizFormatError(
            "explanation_too_long", question=number, line=block_where["line"],
            limit=MAX_EXPLANATION, length=len(explanation),
        )
    answers = answers.strip()
    common = {"number": number, "line": chunk.line, "text": text, "time_bonus": chunk.bonus,
              "explanation": explanation}
    if not answers:
        raise QuizFormatError("gift_essay", **block_where)
    if answers.startswith("#"):
        typed = _numerical(answers[1:], block_where)
        return _typed(typed, common, block_where)
    if tf := _TRUE_FALSE_RE.match(answers):
        if tf.group(2):
            raise QuizFormatError("gift_answer_feedback", **block_where)
        right = "A" if tf.group(1).lower() in ("t", "true") else "B"
        return ParsedQuestion(options=true_false, correct=right, kind=TRUE_FALSE, **common)
    if answers[0] not in "=~":
        raise QuizFormatError("gift_block_unreadable", **block_where, snippet=_snippet(_restore(answers)))
    items = _items(answers, opening + 1 + block.index(answers[0]), line_at, where)
    if all(sign == "=" for sign, *_ in items):
        if all("->" in value for _, _, value, _ in items):
            raise QuizFormatError("gift_matching", **block_where)
        if any(weight is not None and weight != 100 for _, weight, _, _ in items):
            raise QuizFormatError("gift_partial_credit", **block_where)
        return _typed(tuple(value for _, _, value, _ in items), common, block_where)
    return _choice(items, common, where)


def _items(
    answers: str, offset: int, line_at: Any, where: dict[str, Any]
) -> list[tuple[str, float | None, str, int]]:
    """``=a ~%50%b`` → [(sign, weight or None, text, line)]."""
    items = []
    for match in re.finditer(r"([=~])([^=~]*)", answers):
        line = line_at(offset + match.start())
        rest = match.group(2)
        weight_match = _WEIGHT_RE.match(rest)
        weight = float(weight_match.group(1)) if weight_match else None
        if weight_match:
            rest = rest[weight_match.end() :]
        if "#" in rest:
            raise QuizFormatError("gift_answer_feedback", **{**where, "line": line})
        value = _plain(rest)
        if not value:
            raise QuizFormatError("gift_option_empty", **{**where, "line": line})
        items.append((match.group(1), weight, value, line))
    return items


def _choice(
    items: list[tuple[str, float | None, str, int]], common: dict[str, Any], where: dict[str, Any]
) -> ParsedQuestion:
    single = any(sign == "=" for sign, *_ in items)
    if single:
        # One "=" answer; "~" answers must be plainly wrong (no credit, no penalty).
        for sign, weight, _, line in items:
            plain = weight is None or weight == (100 if sign == "=" else 0)
            if not plain:
                raise QuizFormatError("gift_partial_credit", **{**where, "line": line})
        right = [i for i, (sign, *_) in enumerate(items) if sign == "="]
        if len(right) > 1:
            raise QuizFormatError("gift_several_right", **{**where, "line": items[right[1]][3]})
    else:
        right = [i for i, (_, weight, _, _) in enumerate(items) if weight is not None and weight > 0]
        if not right:
            raise QuizFormatError("gift_no_correct", **where)
    if not MIN_OPTIONS <= len(items) <= len(OPTION_LETTERS):
        raise QuizFormatError(
            "gift_options_count", **where, count=len(items), max=len(OPTION_LETTERS)
        )
    options = tuple(value for _, _, value, _ in items)
    check_options(
        [(OPTION_LETTERS[i], value, line) for i, (_, _, value, line) in enumerate(items)],
        question=where["question"],
    )
    _check_length(common["text"], options, where)
    correct = "".join(OPTION_LETTERS[i] for i in right)
    kind = MULTI if len(correct) > 1 else SINGLE
    if len(options) == 2 and {option_key(o) for o in options} in [set(p) for p in TRUE_FALSE_PAIRS]:
        kind = TRUE_FALSE
    return ParsedQuestion(options=options, correct=correct, kind=kind, **common)


def _numerical(body: str, where: dict[str, Any]) -> tuple[str, ...]:
    """``3.5:0.1`` / ``1..5`` / ``=3.5:0.1 =4`` → accepted answers (``3.5 ± 0.1``)."""
    if "#" in body or "~" in body:
        raise QuizFormatError("gift_answer_feedback", **where)
    parts = body.split("=")[1:] if body.strip().startswith("=") else [body]
    accepted = []
    for part in parts:
        weight = _WEIGHT_RE.match(part)
        if weight:
            if float(weight.group(1)) != 100:
                raise QuizFormatError("gift_partial_credit", **where)
            part = part[weight.end() :]
        value = _restore(part).strip()
        accepted.append(_number_answer(value, where))
    return tuple(accepted)


def _number_answer(value: str, where: dict[str, Any]) -> str:
    def number(text: str) -> Decimal:
        text = text.strip()
        if not _DECIMAL_RE.match(text):
            raise QuizFormatError("gift_bad_number", **where, snippet=_snippet(value) or "…")
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            raise QuizFormatError("gift_bad_number", **where, snippet=_snippet(value)) from None

    if ".." in value:
        low_text, _, high_text = value.partition("..")
        low, high = number(low_text), number(high_text)
        if low > high:
            raise QuizFormatError("gift_bad_number", **where, snippet=_snippet(value))
        center, half = (low + high) / 2, (high - low) / 2
        return _decimal(center) if half == 0 else f"{_decimal(center)} ± {_decimal(half)}"
    center_text, _, tolerance_text = value.partition(":")
    number(center_text)
    if not tolerance_text.strip():
        return center_text.strip()
    tolerance = number(tolerance_text)
    if tolerance < 0:
        raise QuizFormatError("gift_bad_number", **where, snippet=_snippet(value))
    if tolerance == 0:
        return center_text.strip()
    return f"{center_text.strip()} ± {tolerance_text.strip()}"


def _decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _typed(answers: tuple[str, ...], common: dict[str, Any], where: dict[str, Any]) -> ParsedQuestion:
    for answer in answers:
        if len(answer) > MAX_ANSWER:
            raise QuizFormatError(
                "answer_too_long", question=where["question"], line=where["line"],
                limit=MAX_ANSWER, length=len(answer),
            )
    _check_length(common["text"], answers, where)
    return ParsedQuestion(options=(), correct="", kind=TYPED, answers=answers, **common)


def _check_length(text: str, parts: tuple[str, ...], where: dict[str, Any]) -> None:
    total = sum(len(part.encode("utf-16-le")) // 2 for part in (text, *parts))
    if total > MAX_QUESTION_CHARS:
        raise QuizFormatError(
            "question_too_long", question=where["question"], line=where["line"],
            limit=MAX_QUESTION_CHARS, length=total,
        )


# --- quiz → GIFT --------------------------------------------------------------------------


def escape(text: str) -> str:
    """Text as GIFT writes it: ``~ = # { } : \\`` escaped, line breaks as ``\\n``."""
    out = text.replace("\\", "\\\\")
    for char in "~=#{}:":
        out = out.replace(char, "\\" + char)
    return out.replace("\n", "\\n")


def _plain_number(answer: str) -> str | None:
    """An accepted answer as a GIFT numerical value (``3.5:0.1``), or None for words."""
    value = answer.strip()
    if _DECIMAL_RE.match(value) and "e" not in value.lower():
        return value
    tolerance = _TOLERANCE_RE.match(value)
    if tolerance and all(_DECIMAL_RE.match(p) and "e" not in p.lower() for p in tolerance.groups()):
        return f"{tolerance.group(1)}:{tolerance.group(2)}"
    return None


def _weight(count: int) -> str:
    return f"{100 / count:.5f}".rstrip("0").rstrip(".")


def _answer_block(question: ParsedQuestion) -> list[str]:
    if question.kind == TRUE_FALSE:
        right = option_key(question.option(question.correct[:1]))
        return ["T" if right in _TRUE_WORDS else "F"]
    if question.kind == TYPED:
        numbers = [_plain_number(answer) for answer in question.answers]
        if all(number is not None for number in numbers):
            if len(numbers) == 1:
                return [f"#{numbers[0]}"]
            return ["#", *(f"={number}" for number in numbers)]
        return [f"={_text(answer)}" for answer in question.answers]
    letters = OPTION_LETTERS[: len(question.options)]
    if len(question.correct) == 1:
        return [
            ("=" if letter == question.correct else "~") + _text(option)
            for letter, option in zip(letters, question.options, strict=True)
        ]
    share = _weight(len(question.correct))
    # A wrong choice takes all the credit back: all or nothing, as the bot scores it.
    return [
        f"~%{share if letter in question.correct else '-100'}%{_text(option)}"
        for letter, option in zip(letters, question.options, strict=True)
    ]


def _text(value: str) -> str:
    """A text as GIFT writes it; one that starts like a format marker ("[html]…") goes behind
    an explicit "[plain]", or Moodle (and :func:`parse_gift`) would take it for the format."""
    written = escape(value)
    return f"[plain]{written}" if _FORMAT_RE.match(value.strip()) else written


def _shuffle_line(quiz: ParsedQuiz) -> str | None:
    chosen = {
        (False, False): "no", (True, False): "questions", (False, True): "options",
        (True, True): "questions, options",
    }
    if quiz.shuffle_questions is None and quiz.shuffle_options is None:
        return None
    return chosen[(bool(quiz.shuffle_questions), bool(quiz.shuffle_options))]


def to_gift(quiz: ParsedQuiz) -> str:
    """The quiz as a GIFT file Moodle imports; :func:`parse_gift` reads it back (with our
    settings and time bonuses kept in comments, which Moodle ignores)."""
    out = [f"$CATEGORY: $course$/top/{quiz.title.replace('/', '//')}", ""]
    settings = []
    if quiz.seconds is not None:
        settings.append(f"// Seconds: {quiz.seconds}")
    if quiz.window_hours is not None:
        settings.append(f"// Window: {quiz.window_hours}h")
    if (shuffle := _shuffle_line(quiz)) is not None:
        settings.append(f"// Shuffle: {shuffle}")
    if settings:
        out += ["// StudyMate settings (Moodle ignores comments):", *settings, ""]
    for number, question in enumerate(quiz.questions, start=1):
        if question.time_bonus:
            out.append(f"// Extra seconds: {question.time_bonus}")
        title = escape(_snippet(question.text.replace("\n", " ")))
        marker = "[plain]" if "\n" in question.text or _FORMAT_RE.match(question.text) else ""
        out.append(f"::{number}. {title}::{marker}{escape(question.text)}{{")
        out += _answer_block(question)
        if question.explanation:
            out.append(f"####{_text(question.explanation)}")
        out += ["}", ""]
    return "\n".join(out)
