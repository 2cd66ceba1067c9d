"""Per-quiz settings changed in the bot: time per question, the ranked window, shuffling.

Rules as implemented:
- Values are checked against the same ranges as the file header (``format.SECONDS_RANGE``,
  ``format.WINDOW_HOURS_RANGE``), so a crafted button or a typed number cannot store what an
  uploaded file could not.
- A draft (not stored yet) keeps the mentor's changes as *overrides* beside its text; they are
  applied over the header's values each time the draft is parsed, so the preview and
  publishing use them.
- A published quiz may change its seconds and window only while it has no attempt at all
  (any attempt, even a cancelled one, was run under the old settings): ``HasAttempts``.
  Another mentor's quiz is ``NotFound``. A new window moves ``available_until`` to
  ``available_from`` + window; a practice quiz has no window (``NoWindow``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from studymate.db.models import Quiz, QuizAttempt
from studymate.services.quiz import authoring
from studymate.services.quiz.format import SECONDS_RANGE, WINDOW_HOURS_RANGE, ParsedQuiz

SECONDS_CHOICES: Final = (10, 20, 30, 45, 60, 90, 120)
WINDOW_CHOICES: Final = (24, 48, 72, 7 * 24, 14 * 24)  # hours
DEFAULT_WINDOW_HOURS: Final = int(authoring.RANKED_WINDOW.total_seconds() // 3600)


class InvalidSetting(ValueError):
    """A value outside the allowed range (or not a number)."""


class HasAttempts(Exception):
    """The published quiz already has an attempt: its settings stay as they are."""


class NoWindow(Exception):
    """A practice quiz has no ranked window to change."""


def check_seconds(value: int) -> int:
    low, high = SECONDS_RANGE
    if not low <= value <= high:
        raise InvalidSetting(value)
    return value


def check_window(hours: int) -> int:
    low, high = WINDOW_HOURS_RANGE
    if not low <= hours <= high:
        raise InvalidSetting(hours)
    return hours


def parse_seconds(text: str | None) -> int:
    """A typed number of seconds ("45", " 45 ", "45 s" is refused); raises InvalidSetting."""
    value = (text or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 4:
        raise InvalidSetting(value)
    return check_seconds(int(value))


# --- a draft -------------------------------------------------------------------------------


def apply(parsed: ParsedQuiz, overrides: dict[str, Any] | None) -> ParsedQuiz:
    """The parsed draft with the mentor's changes; unknown or invalid entries are ignored."""
    if not overrides:
        return parsed
    changes: dict[str, Any] = {}
    try:
        if "seconds" in overrides:
            changes["seconds"] = check_seconds(int(overrides["seconds"]))
        if "window_hours" in overrides:
            changes["window_hours"] = check_window(int(overrides["window_hours"]))
    except (InvalidSetting, TypeError, ValueError):
        return parsed
    for name in ("shuffle_questions", "shuffle_options"):
        if isinstance(overrides.get(name), bool):
            changes[name] = overrides[name]
    return dataclasses.replace(parsed, **changes)


def set_seconds(overrides: dict[str, Any], seconds: int) -> dict[str, Any]:
    return {**overrides, "seconds": check_seconds(seconds)}


def set_window(overrides: dict[str, Any], hours: int) -> dict[str, Any]:
    return {**overrides, "window_hours": check_window(hours)}


def toggle_shuffle(parsed: ParsedQuiz, overrides: dict[str, Any], which: str) -> dict[str, Any]:
    """Turn shuffling of ``questions`` or ``options`` on or off; both become explicit (a value
    the file did not set counts as off, so the options are no longer shuffled in exams only)."""
    if which not in ("questions", "options"):
        raise InvalidSetting(which)
    now = apply(parsed, overrides)
    questions, options = bool(now.shuffle_questions), bool(now.shuffle_options)
    if which == "questions":
        questions = not questions
    else:
        options = not options
    return {**overrides, "shuffle_questions": questions, "shuffle_options": options}


# --- a published quiz ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Current:
    quiz_id: int
    title: str
    ranked: bool
    seconds: int | None  # None: the bot's setting
    window_hours: int  # the window's length (48 h when the file set none)
    available_until: dt.datetime | None
    has_attempts: bool


def _has_attempts(quiz_id: int) -> bool:
    return QuizAttempt.select().where(QuizAttempt.quiz == quiz_id).exists()


def _current(quiz: Quiz) -> Current:
    window = quiz.window_hours or DEFAULT_WINDOW_HOURS
    if quiz.available_from is not None and quiz.available_until is not None:
        window = int((quiz.available_until - quiz.available_from).total_seconds() // 3600)
    return Current(quiz.id, quiz.title, quiz.quiz_type == authoring.RANKED, quiz.question_seconds,
                   window, quiz.available_until, _has_attempts(quiz.id))


def current(mentor_id: int, quiz_id: int) -> Current:
    return _current(authoring.own_quiz(mentor_id, quiz_id))


def change_published(
    mentor_id: int, quiz_id: int, *, seconds: int | None = None, window_hours: int | None = None
) -> Current:
    """Change a published quiz's seconds and/or window; call inside a transaction (``Db.run``).
    Raises NotFound, HasAttempts, NoWindow, InvalidSetting (see the module notes)."""
    quiz = authoring.own_quiz(mentor_id, quiz_id)
    updates: dict[Any, Any] = {}
    if seconds is not None:
        updates[Quiz.question_seconds] = check_seconds(seconds)
    if window_hours is not None:
        check_window(window_hours)
        if quiz.quiz_type != authoring.RANKED or quiz.available_from is None:
            raise NoWindow(quiz_id)
        updates[Quiz.window_hours] = window_hours
        updates[Quiz.available_until] = quiz.available_from + dt.timedelta(hours=window_hours)
    if not updates:
        return _current(quiz)
    # Checked and written in one statement: an attempt started meanwhile keeps the quiz as it was.
    no_attempt = Quiz.id.not_in(QuizAttempt.select(QuizAttempt.quiz).where(QuizAttempt.quiz == quiz_id))
    changed = Quiz.update(updates).where((Quiz.id == quiz_id) & no_attempt).execute()
    if not changed:
        raise HasAttempts(quiz_id)
    return current(mentor_id, quiz_id)
