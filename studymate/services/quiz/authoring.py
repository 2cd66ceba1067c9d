"""Quiz authoring for mentors: upload, publish, lists, archive and per-quiz statistics.

Questions of a stored quiz: ``quiz.questions``; the CSV export: ``quiz.export``.

Rules as implemented:
- Every function names the acting mentor; another mentor's quiz or question is ``NotFound``,
  so a crafted callback changes nothing.
- Titles are compared case-insensitively in Python (``casefold``): SQLite's ``lower()`` only
  folds ASCII, so "Тест" and "тест" would differ there. A *duplicate* is an active quiz with the
  same title. Replace archives every active same-titled quiz, then creates the new one. Copy
  takes the first free "T (copy)", "T (copy 2)", … among all the mentor's quizzes.
- Publishing: practice → ``max_attempts`` 999 and no window; ranked → ``max_attempts`` 1 and
  the window start … start + 48 h. A ranked quiz that starts now is marked notified and its
  notifications are queued in the outbox in the same transaction (a crash cannot leave one
  without the other). A scheduled one keeps ``notified_at`` NULL: the sweeper announces it
  when it opens (v1 told students days before, and its scheduled path ended in an
  exception).
- A typed start "DD.MM HH:MM" is local time in ``TIMEZONE``. Without a year it is the
  occurrence nearest to now, which must be in the future: in late December "05.01 10:00" is
  next January, while in June "10.06" (five days ago) is refused as past rather than read as
  next year. ``DD.MM.YYYY HH:MM`` names the year. Impossible dates (31.02) are refused.
- Per-quiz statistics count each student's *first* finished attempt (the graded one, see
  ``grading``; cancelled attempts never count); for a ranked quiz only attempts started inside
  its window count, as for the leaderboards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from peewee import Expression, fn

from studymate.db.models import Quiz, QuizAttempt, QuizQuestion, Student, utcnow
from studymate.services import notifications, ratings
from studymate.services.errors import NotFound
from studymate.services.outbox import Outgoing
from studymate.services.paging import Page, paginate
from studymate.services.quiz import grading, kinds
from studymate.services.quiz import schedule as quiz_openings
from studymate.services.quiz.format import MAX_TITLE, ParsedQuiz

PAGE_SIZE: Final = 5
PRACTICE: Final = "practice"
RANKED: Final = "ranked"
PRACTICE_MAX_ATTEMPTS: Final = 999
RANKED_MAX_ATTEMPTS: Final = 1
RANKED_WINDOW: Final = dt.timedelta(hours=48)
MAX_SCHEDULE_AHEAD: Final = dt.timedelta(days=366)
TOP_SIZE: Final = 5
_START_RE: Final = re.compile(
    r"^\s*(\d{1,2})\s*\.\s*(\d{1,2})(?:\s*\.\s*(\d{4}|\d{2}))?\s+(\d{1,2})\s*[:.]\s*(\d{2})\s*$"
)


class InvalidStart(ValueError):
    """A typed start time that cannot be used; ``reason`` is format, date or past."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SaveMode(StrEnum):
    NEW = "new"
    REPLACE = "replace"  # archive the active quizzes with this title first
    COPY = "copy"  # save under the first free "T (copy N)" title


@dataclass(frozen=True, slots=True)
class QuizInfo:
    id: int
    title: str
    topic: str | None
    is_active: bool
    quiz_type: str
    available_from: dt.datetime | None
    available_until: dt.datetime | None
    notified_at: dt.datetime | None
    questions: int  # current number of questions
    takers: int  # students with a counted first attempt

    @property
    def ranked(self) -> bool:
        return self.quiz_type == RANKED


@dataclass(frozen=True, slots=True)
class TopEntry:
    name: str  # display name, unescaped
    score: int
    total: int


@dataclass(frozen=True, slots=True)
class QuizStats:
    quiz: QuizInfo
    takers: int
    average: Decimal  # mean first-attempt score, one decimal, halves up; 0.0 without takers
    top: tuple[TopEntry, ...]
    graded: grading.Average  # the same attempts, each over its own question count


@dataclass(frozen=True, slots=True)
class Announcement:
    """One student to tell that a ranked quiz is open, in their language."""

    chat_id: int
    language: str


@dataclass(frozen=True, slots=True)
class Published:
    quiz: QuizInfo
    archived: int  # quizzes a replace archived
    notified: int  # notifications queued now (0 for practice and scheduled quizzes)


Notify = Callable[[QuizInfo, Announcement], Outgoing]


# --- reading quizzes ---------------------------------------------------------------------


def _counted() -> Expression:
    """Attempts that count in the mentor's statistics: not cancelled, and for a ranked quiz
    started inside its window."""
    return grading.counts() & grading.in_window()


def _question_counts(quiz_ids: list[int]) -> dict[int, int]:
    if not quiz_ids:
        return {}
    query = (
        QuizQuestion.select(QuizQuestion.quiz, fn.COUNT(QuizQuestion.id))
        .where(QuizQuestion.quiz.in_(quiz_ids))
        .group_by(QuizQuestion.quiz)
    )
    return dict(query.tuples())


def _taker_counts(quiz_ids: list[int]) -> dict[int, int]:
    if not quiz_ids:
        return {}
    query = (
        QuizAttempt.select(QuizAttempt.quiz, fn.COUNT(fn.DISTINCT(QuizAttempt.student)))
        .join(Quiz)
        .where(QuizAttempt.quiz.in_(quiz_ids) & _counted())
        .group_by(QuizAttempt.quiz)
    )
    return dict(query.tuples())


def _infos(quizzes: list[Quiz]) -> list[QuizInfo]:
    ids = [q.id for q in quizzes]
    questions, takers = _question_counts(ids), _taker_counts(ids)
    return [
        QuizInfo(
            id=q.id,
            title=q.title,
            topic=q.topic,
            is_active=q.is_active,
            quiz_type=q.quiz_type,
            available_from=q.available_from,
            available_until=q.available_until,
            notified_at=q.notified_at,
            questions=questions.get(q.id, 0),
            takers=takers.get(q.id, 0),
        )
        for q in quizzes
    ]


def own_quiz(mentor_id: int, quiz_id: int) -> Quiz:
    """The mentor's quiz row; NotFound for anyone else's (every authoring call starts here)."""
    quiz = Quiz.get_or_none((Quiz.id == quiz_id) & (Quiz.mentor == mentor_id))
    if quiz is None:
        raise NotFound(quiz_id)
    return quiz


def get_quiz(mentor_id: int, quiz_id: int) -> QuizInfo:
    return _infos([own_quiz(mentor_id, quiz_id)])[0]


def quizzes_page(mentor_id: int, *, archived: bool, page: int) -> Page[QuizInfo]:
    """Active or archived quizzes of the mentor, newest first, 5 per page."""
    query = (
        Quiz.select()
        .where((Quiz.mentor == mentor_id) & (Quiz.is_active == (not archived)))
        .order_by(Quiz.created_at.desc(), Quiz.id.desc())
    )
    rows = paginate(query, page, lambda quiz: quiz, per_page=PAGE_SIZE)
    return dataclasses.replace(rows, items=_infos(rows.items))


def _first_attempts(quiz_id: int) -> list[tuple[QuizAttempt, Student]]:
    """Each student's earliest-started counted attempt, in no particular order."""
    query = (
        QuizAttempt.select(QuizAttempt, Student)
        .join(Quiz, on=(QuizAttempt.quiz == Quiz.id))
        .switch(QuizAttempt)
        .join(Student, on=(QuizAttempt.student == Student.id))
        .where((QuizAttempt.quiz == quiz_id) & _counted())
        .order_by(QuizAttempt.student, QuizAttempt.started_at, QuizAttempt.id)
    )
    first: dict[int, tuple[QuizAttempt, Student]] = {}
    for attempt in query:
        first.setdefault(attempt.student_id, (attempt, attempt.student))
    return list(first.values())


def _average(scores: list[int]) -> Decimal:
    if not scores:
        return Decimal("0.0")
    return (Decimal(sum(scores)) / len(scores)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def first_attempts_average(quiz_id: int) -> Decimal:
    """The group average shown with a result: mean first-attempt score, 1 decimal."""
    return _average([attempt.score for attempt, _ in _first_attempts(quiz_id)])


def graded_average(quiz_id: int) -> grading.Average:
    """The group average as shown to students: graded attempts, each over its own question count."""
    return grading.average((attempt.score, attempt.total) for attempt, _ in _first_attempts(quiz_id))


def graded_attempt_ids(quiz_id: int) -> set[int]:
    """The ids of the graded attempts of a quiz (one per student at most)."""
    return {attempt.id for attempt, _ in _first_attempts(quiz_id)}


def quiz_stats(mentor_id: int, quiz_id: int) -> QuizStats:
    """The management screen: takers, average and top 5 by first attempts."""
    info = get_quiz(mentor_id, quiz_id)
    first = _first_attempts(quiz_id)
    ranked = sorted(first, key=lambda pair: (-pair[0].score, pair[0].finished_at, pair[0].id))
    top = tuple(
        TopEntry(
            ratings.display_name(s.full_name, s.username, s.first_name, s.last_name, s.telegram_id),
            a.score,
            a.total,
        )
        for a, s in ranked[:TOP_SIZE]
    )
    graded = grading.average((a.score, a.total) for a, _ in first)
    return QuizStats(info, len(first), _average([a.score for a, _ in first]), top, graded)


# --- saving and publishing ---------------------------------------------------------------


def title_key(title: str) -> str:
    return unicodedata.normalize("NFC", " ".join(title.split())).casefold()


def _titles(mentor_id: int) -> list[tuple[int, str, bool]]:
    query = Quiz.select(Quiz.id, Quiz.title, Quiz.is_active).where(Quiz.mentor == mentor_id)
    return [(q.id, q.title, q.is_active) for q in query]


def find_duplicate(mentor_id: int, title: str) -> QuizInfo | None:
    """The newest active quiz of the mentor with this title (any letter case), if any."""
    key = title_key(title)
    ids = [i for i, other, active in _titles(mentor_id) if active and title_key(other) == key]
    if not ids:
        return None
    return get_quiz(mentor_id, max(ids))


def copy_title(mentor_id: int, title: str, copy_word: str = "copy") -> str:
    """The first of "T (copy)", "T (copy 2)", … that no quiz of the mentor uses; ``copy_word``
    is the word in the mentor's language."""
    taken = {title_key(other) for _, other, _ in _titles(mentor_id)}
    number = 1
    while True:
        suffix = f" ({copy_word})" if number == 1 else f" ({copy_word} {number})"
        candidate = title[: MAX_TITLE - len(suffix)].rstrip() + suffix
        if title_key(candidate) not in taken:
            return candidate
        number += 1


def _archive_same_title(mentor_id: int, title: str) -> int:
    key = title_key(title)
    ids = [i for i, other, active in _titles(mentor_id) if active and title_key(other) == key]
    if ids:
        Quiz.update(is_active=False).where(Quiz.id.in_(ids)).execute()
    return len(ids)


def publish(
    mentor_id: int,
    parsed: ParsedQuiz,
    *,
    mode: SaveMode,
    ranked: bool,
    start: dt.datetime | None = None,
    now: dt.datetime | None = None,
    notify: Notify | None = None,
    copy_word: str = "copy",
    school: notifications.School | None = None,
    images: dict[str, str] | None = None,
) -> Published:
    """Store an uploaded quiz and publish it; call inside one transaction (``Db.run``).

    ``images`` maps a question's ``Image:`` name to the Telegram file id of that picture.

    ``start`` (naive UTC, in the future) schedules a ranked quiz; without it a ranked quiz
    opens ``now`` and ``notify`` renders the message queued for each of the mentor's students.
    """
    now = now or utcnow()
    if not parsed.questions:
        raise ValueError("a quiz needs questions")
    if start is not None and not ranked:
        raise ValueError("only a ranked quiz has a start time")
    if start is not None and start <= now:
        raise InvalidStart("past")
    title = parsed.title
    archived = 0
    if mode is SaveMode.REPLACE:
        archived = _archive_same_title(mentor_id, title)
    elif mode is SaveMode.COPY:
        title = copy_title(mentor_id, title, copy_word)
    opens = (start or now) if ranked else None
    window = dt.timedelta(hours=parsed.window_hours) if parsed.window_hours else RANKED_WINDOW
    quiz = Quiz.create(
        mentor=mentor_id,
        title=title,
        topic=parsed.topic,
        quiz_type=RANKED if ranked else PRACTICE,
        max_attempts=RANKED_MAX_ATTEMPTS if ranked else PRACTICE_MAX_ATTEMPTS,
        available_from=opens,
        available_until=opens + window if opens else None,
        notified_at=now if ranked and start is None else None,
        created_at=now,
        question_seconds=parsed.seconds,
        window_hours=parsed.window_hours,
        shuffle_questions=parsed.shuffle_questions,
        shuffle_options=parsed.shuffle_options,
    )
    QuizQuestion.insert_many(
        [
            {"quiz": quiz.id, "order": number, **kinds.stored_fields(q),
             "image_file_id": (images or {}).get(q.image) if q.image else None}
            for number, q in enumerate(parsed.questions, start=1)
        ]
    ).execute()
    info = get_quiz(mentor_id, quiz.id)
    notified = 0
    if quiz.notified_at is not None and notify is not None:
        notified = queue_announcements(info, mentor_id, notify, now=now, school=school)
    return Published(info, archived, notified)


def queue_announcements(
    quiz: QuizInfo, mentor_id: int, notify: Notify, *, now: dt.datetime | None = None,
    school: notifications.School | None = None,
) -> int:
    """Queue "a ranked quiz is open" for every student of the mentor (test accounts too: they are hidden from rankings only;
    not those known to have blocked the bot). The outbox keys are the sweeper's
    (``quiz_openings``), so a quiz is never announced twice to anyone."""
    students = (
        Student.select(Student.telegram_id, Student.language)
        .where((Student.mentor == mentor_id) & Student.blocked_at.is_null())
        .order_by(Student.id)
    )
    messages = [notify(quiz, Announcement(s.telegram_id, s.language)) for s in students]
    if not messages:
        return 0
    return quiz_openings.queue_notifications(
        quiz.id, messages, now=now, school=school, closes=quiz.available_until
    )


def parse_start(text: str, *, tz: ZoneInfo, now: dt.datetime | None = None) -> dt.datetime:
    """A typed "DD.MM HH:MM" (or "DD.MM.YYYY HH:MM") local start → naive UTC (see the module
    notes); raises InvalidStart."""
    now = now or utcnow()
    match = _START_RE.match(text or "")
    if match is None:
        raise InvalidStart("format")
    day, month, year, hour, minute = match.groups()
    if int(hour) > 23 or int(minute) > 59:
        raise InvalidStart("date")
    local_now = now.replace(tzinfo=dt.UTC).astimezone(tz)
    if year:
        years = [int(year) + (2000 if len(year) == 2 else 0)]
    else:
        years = [local_now.year - 1, local_now.year, local_now.year + 1]
    candidates = []
    for candidate_year in years:
        try:
            local = dt.datetime(candidate_year, int(month), int(day), int(hour), int(minute))
        except ValueError:
            continue
        moment = local.replace(tzinfo=tz).astimezone(dt.UTC)
        if moment.astimezone(tz).replace(tzinfo=None) != local:
            continue  # skipped by a daylight-saving change: that wall-clock time never happens
        candidates.append(moment.replace(tzinfo=None))
    if not candidates:
        raise InvalidStart("date")
    chosen = min(candidates, key=lambda moment: abs(moment - now))
    if chosen <= now:
        raise InvalidStart("past")
    if chosen - now > MAX_SCHEDULE_AHEAD:
        raise InvalidStart("date")
    return chosen


# --- archive -----------------------------------------------------------------------------


def set_active(mentor_id: int, quiz_id: int, active: bool) -> QuizInfo:
    """Archive (hide from students) or restore a quiz; idempotent, so a double tap is harmless.
    Archived quizzes keep counting in leaderboards."""
    own_quiz(mentor_id, quiz_id)
    Quiz.update(is_active=active).where(Quiz.id == quiz_id).execute()
    return get_quiz(mentor_id, quiz_id)
