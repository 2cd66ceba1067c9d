"""Taking a quiz with durable progress and idempotent answers: a restart loses nothing.

Everything that matters lives in the attempt row: the ordered question ids, the current index,
the question and session deadlines and the option shuffle. An answer counts only for the
current question, once, before its deadline; the index moves with a conditional update, so a
double tap or a stale button changes nothing. Deadlines are enforced by ``expire_due`` (one
sweeper for all students, resumable after a restart) and checked again on every answer.
Scores are always computed from the stored answers.

A tap on a question that is no longer current (an answered one, one that timed out, a message
left behind by a restart) changes nothing, says why, and brings the current question back.
Leaving a practice quiz (/cancel, or starting another quiz) discards the attempt when no answer
was given and otherwise keeps it as *cancelled*, which counts nowhere (see ``grading``).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from peewee import JOIN, IntegrityError, Select, fn

from studymate.db.connection import is_postgres, json_int_at, skip_locked
from studymate.db.models import (
    InboxUpdate,
    Mentor,
    Quiz,
    QuizAnswer,
    QuizAttempt,
    QuizQuestion,
    Student,
    database_proxy,
    utcnow,
)
from studymate.db.prepared import Prepared, columns_of, instance, slot
from studymate.services.quiz import grading, kinds
from studymate.services.quiz.format import MULTI, SINGLE, TYPED
from studymate.services.quiz.format import OPTION_LETTERS as LETTERS
from studymate.services.ratings import on_attempt_finished

QUESTION_SECONDS: Final = 20
SESSION_GRACE_SECONDS: Final = 60
SUBMIT: Final = "OK"  # the "Submit" button of a select-all question
MAX_TYPED: Final = 1000  # a typed answer is stored up to this many characters
SLOT_TRIES: Final = 3
# A tap is judged at the moment it reached the bot; a receive time older than this is not
# believed (the tap then counts as given now), one in the future neither.
MAX_RECEIVE_LAG: Final = dt.timedelta(minutes=10)
# A tap stored but not yet handled holds its question's timeout back, at most this long.
PENDING_TAP_WINDOW: Final = dt.timedelta(minutes=5)


class Refusal(StrEnum):
    NOT_FOUND = "not_found"  # no such quiz for this student (or another mentor's)
    ARCHIVED = "archived"
    NO_QUESTIONS = "no_questions"
    NOT_STARTED = "not_started"
    MAX_ATTEMPTS = "max_attempts"


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"  # this question was already answered
    TIMED_OUT = "timed_out"  # this question already timed out (say, while the bot restarted)
    STALE = "stale"  # not the current question, or the attempt is over
    LATE = "late"  # after the deadline: recorded as a timeout
    TOGGLED = "toggled"  # an option of a select-all question marked or unmarked
    NOT_TYPED = "not_typed"  # a text message, but the current question has buttons
    NOT_YOURS = "not_yours"


@dataclass(frozen=True, slots=True)
class QuestionView:
    attempt_id: int
    question_id: int
    number: int  # 1-based position in the attempt
    total: int
    text: str
    options: tuple[str, ...]  # in display order (none for a typed answer)
    deadline: dt.datetime
    is_exam: bool
    chat_id: int | None
    message_id: int | None
    kind: str = SINGLE
    selected: str = ""  # display letters toggled so far (select all that apply)
    image: str | None = None  # the Telegram file id of the question's picture


@dataclass(frozen=True, slots=True)
class Finished:
    attempt_id: int
    quiz_id: int
    score: int
    total: int
    is_exam: bool  # taken as an exam: show the score only
    reason: str
    chat_id: int | None
    message_id: int | None
    student_telegram_id: int
    answered: int = 0  # questions answered (not timed out); set when an attempt is left


@dataclass(frozen=True, slots=True)
class Marks:
    """The options of a select-all question marked so far, after a toggle: only the marks on
    its buttons change, so this is all a redraw needs (no question read)."""

    attempt_id: int
    question_id: int
    number: int  # 1-based position in the attempt
    selected: str  # display letters
    chat_id: int | None
    message_id: int | None


@dataclass(frozen=True, slots=True)
class Step:
    """What an answer or a timeout led to: the next question, or the end. For a tap that
    did not count while the attempt runs, ``next`` is the current question, to show again."""

    outcome: Outcome
    next: QuestionView | None = None
    finished: Finished | None = None
    correct: bool | None = None
    language: str | None = None  # the student's, for answers (None from the sweeper)
    marks: Marks | None = None  # after a toggle (``TOGGLED``)


def is_exam_mode(quiz: Quiz, now: dt.datetime) -> bool:
    return quiz.quiz_type == "ranked" and quiz.available_until is not None and now < quiz.available_until


def question_seconds(question: QuizQuestion, base: int = QUESTION_SECONDS) -> int:
    return base + int(question.time_bonus or 0)


def _student(telegram_id: int) -> Student | None:
    return Student.get_or_none(Student.telegram_id == telegram_id)


def _quiz_for(student: Student, quiz_id: int) -> Quiz | None:
    return Quiz.get_or_none((Quiz.id == quiz_id) & (Quiz.mentor == student.mentor_id))


# -- starting -----------------------------------------------------------------------------------
def start(
    student_telegram_id: int,
    quiz_id: int,
    *,
    tz: ZoneInfo,
    now: dt.datetime | None = None,
    rng: random.Random | None = None,
    base_seconds: int = QUESTION_SECONDS,
    chat_id: int | None = None,
    message_id: int | None = None,
) -> QuestionView | Refusal | tuple[Refusal, dt.datetime]:
    """Begin an attempt; a refusal says why (``NOT_STARTED`` comes with the start time).

    ``chat_id``/``message_id``: the message that will show the questions (the sweeper edits
    it too); stored with the attempt in the same statement."""
    now = now or utcnow()
    student = _student(student_telegram_id)
    quiz = _quiz_for(student, quiz_id) if student is not None else None
    if quiz is None:
        return Refusal.NOT_FOUND
    if not quiz.is_active:
        return Refusal.ARCHIVED
    questions = list(quiz.questions.order_by(QuizQuestion.order, QuizQuestion.id))
    if not questions:
        return Refusal.NO_QUESTIONS
    exam = is_exam_mode(quiz, now)
    if exam and quiz.available_from is not None and now < quiz.available_from:
        return Refusal.NOT_STARTED, quiz.available_from
    base_seconds = quiz.question_seconds or base_seconds
    rng = rng or random.SystemRandom()
    if quiz.shuffle_questions:
        rng.shuffle(questions)
    shuffle = None
    if exam if quiz.shuffle_options is None else quiz.shuffle_options:
        shuffle = {}
        for q in questions:  # true/false stays in its order; a typed answer has no options
            if kinds.kind_of(q) in (SINGLE, MULTI):
                letters = kinds.letters_of(q)
                shuffle[str(q.id)] = "".join(rng.sample(letters, len(letters)))
    session = sum(question_seconds(q, base_seconds) for q in questions) + SESSION_GRACE_SECONDS
    fields = dict(
        student=student.id,
        quiz=quiz.id,
        total=len(questions),
        started_at=now,
        question_ids=json.dumps([q.id for q in questions]),
        current_index=0,
        question_deadline=now + dt.timedelta(seconds=question_seconds(questions[0], base_seconds)),
        session_deadline=now + dt.timedelta(seconds=session),
        shuffle_map=json.dumps(shuffle) if shuffle else None,
        is_exam=exam,
        chat_id=chat_id,
        message_id=message_id,
        question_seconds=quiz.question_seconds,
        current_kind=kinds.kind_of(questions[0]),
    )
    attempt = _exam_attempt(quiz, fields) if exam else QuizAttempt.create(**fields)
    if attempt is None:
        return Refusal.MAX_ATTEMPTS
    for live in live_attempts(student.id):  # one quiz at a time: a practice run is left
        if live.id != attempt.id:
            _leave(live, now, tz=tz)
    return _view(attempt, questions[0])


def _exam_attempt(quiz: Quiz, fields: dict[str, Any]) -> QuizAttempt | None:
    """The attempt in the next exam slot, or None when ``max_attempts`` are used (every started
    attempt counts, finished or not). The unique (student, quiz, slot) index decides between starts
    racing on several replicas; the one that lost counts again and finds the slot taken."""
    for _ in range(SLOT_TRIES):
        taken = QuizAttempt.select().where(
            (QuizAttempt.quiz == quiz.id) & (QuizAttempt.student == fields["student"])
        ).count()
        if taken >= quiz.max_attempts:
            return None
        try:
            with QuizAttempt._meta.database.atomic():  # a savepoint: the loser's transaction goes on
                return QuizAttempt.create(exam_slot=taken + 1, **fields)
        except IntegrityError:
            continue
    return None


def started_at(attempt_id: int) -> dt.datetime | None:
    return QuizAttempt.select(QuizAttempt.started_at).where(QuizAttempt.id == attempt_id).scalar()


def started_on_message(
    student_telegram_id: int, quiz_id: int, message_id: int, since: dt.datetime
) -> Step | None:
    """Where the attempt at ``quiz_id`` started on ``message_id`` at ``since`` or later stands
    now, if there is one: a start tap handled a second time (after a crash) shows it again
    instead of starting another."""
    attempt = (
        QuizAttempt.select(QuizAttempt.id)
        .join(Student)
        .where(
            (Student.telegram_id == student_telegram_id)
            & (QuizAttempt.quiz == quiz_id)
            & (QuizAttempt.message_id == message_id)
            & (QuizAttempt.started_at >= since)
        )
        .order_by(QuizAttempt.id.desc())
        .first()
    )
    return None if attempt is None else current_step(student_telegram_id, attempt.id)


def current_step(student_telegram_id: int, attempt_id: int) -> Step:
    """Where an attempt stands now, as the answer that led there showed it: the current
    question, or the end. For showing it again; changes nothing."""
    attempt = (
        QuizAttempt.select(QuizAttempt, Student.language)
        .join(Student)
        .where((QuizAttempt.id == attempt_id) & (Student.telegram_id == student_telegram_id))
        .first()
    )
    if attempt is None:
        return Step(Outcome.NOT_YOURS)
    language = attempt.student.language
    if attempt.finished_at is not None:
        finished = Finished(
            attempt_id=attempt.id, quiz_id=attempt.quiz_id, score=attempt.score,
            total=attempt.total, is_exam=attempt.is_exam,
            reason=attempt.finish_reason or "completed", chat_id=attempt.chat_id,
            message_id=attempt.message_id, student_telegram_id=student_telegram_id,
        )
        return Step(Outcome.ACCEPTED, finished=finished, language=language)
    ids = json.loads(attempt.question_ids)
    question = (
        QuizQuestion.get_or_none(QuizQuestion.id == ids[attempt.current_index])
        if attempt.current_index < len(ids) else None
    )
    if question is None:  # deleted meanwhile: the next answer or timeout moves on
        return Step(Outcome.STALE, language=language)
    return Step(Outcome.ACCEPTED, next=_view(attempt, question), language=language)


def live_attempts(student_id: int) -> list[QuizAttempt]:
    return list(
        QuizAttempt.select().where(
            (QuizAttempt.student == student_id) & QuizAttempt.finished_at.is_null()
        )
    )


def _order(attempt: QuizAttempt, question_id: int) -> str | None:
    """The question's original letters in display order; None when not shuffled."""
    shuffle = json.loads(attempt.shuffle_map) if attempt.shuffle_map else None
    return shuffle.get(str(question_id)) if shuffle else None


def _original(attempt: QuizAttempt, question_id: int, display_letter: str) -> str:
    order = _order(attempt, question_id)
    index = LETTERS.index(display_letter)
    return order[index] if order and index < len(order) else display_letter


def _shown(attempt: QuizAttempt, question_id: int, order: str | None = None) -> str:
    """The display letters of the attempt's selection (its original letters, as stored)."""
    chosen = set(attempt.selection or "")
    order = order or _order(attempt, question_id)
    if order is None:
        return "".join(sorted(chosen))
    return "".join(shown for shown, letter in zip(LETTERS, order, strict=False) if letter in chosen)


def _view(attempt: QuizAttempt, question: QuizQuestion) -> QuestionView:
    options = dict(zip(LETTERS, kinds.options_of(question), strict=False))
    order = _order(attempt, question.id) or "".join(options)
    return QuestionView(
        attempt_id=attempt.id,
        question_id=question.id,
        number=attempt.current_index + 1,
        total=attempt.total,
        text=question.question_text,
        options=tuple(options[letter] for letter in order),
        deadline=attempt.question_deadline,
        is_exam=attempt.is_exam,
        chat_id=attempt.chat_id,
        message_id=attempt.message_id,
        kind=kinds.kind_of(question),
        selected=_shown(attempt, question.id, order),
        image=question.image_file_id,
    )


def move_message(attempt_id: int, old_message_id: int, new_message_id: int) -> bool:
    """The attempt's questions now show in another message (a question with a picture is a
    photo message, and a text message cannot become one); only from the message it had."""
    return bool(
        QuizAttempt.update(message_id=new_message_id)
        .where((QuizAttempt.id == attempt_id) & (QuizAttempt.message_id == old_message_id))
        .execute()
    )


# -- answering and timing out -----------------------------------------------------------------
def answer(
    student_telegram_id: int,
    attempt_id: int,
    question_id: int,
    display_letter: str,
    *,
    tz: ZoneInfo,
    now: dt.datetime | None = None,
    base_seconds: int = QUESTION_SECONDS,
    received_at: dt.datetime | None = None,
) -> Step:
    """One tap on an answer button, checked against the sender in the query that reads the
    attempt: it must be theirs, and they must still be a student of an active mentor. The
    step carries the student's language, so the bot needs no other lookup for a tap.
    The usual case costs three statements: that read (which brings the tapped question and
    the one after the current one along), the conditional move and the answer row.

    ``received_at``: when the tap reached the bot (server time, never the user's): deadlines
    are judged against it, so a tap that waited for a busy or restarting bot still counts."""
    now = now or utcnow()
    at = judged_time(received_at, now)
    row = _TAP_READ.rows(attempt=attempt_id, student=student_telegram_id, question=question_id)
    if not row:
        return Step(Outcome.NOT_YOURS)
    attempt, language, read = _tap_row(row[0])
    step = _answer(attempt, question_id, display_letter, now, tz=tz, base=base_seconds,
                   telegram_id=student_telegram_id, at=at, read=read)
    return replace(step, language=language)


def _attempt_read(first: Callable[[Any], Any], where: Any) -> Any:
    """An attempt the sender may answer in (``where``; their mentor active), with two
    questions: the one ``first`` joins on and the one after the current one (either NULL
    when there is none). The row ``_tap_row`` reads."""
    question, following = QuizQuestion.alias("question"), QuizQuestion.alias("following")
    return (
        QuizAttempt.select(
            *columns_of(QuizAttempt), Student.language, *columns_of(question), *columns_of(following)
        )
        .join(Student)
        .join(Mentor, on=(Student.mentor == Mentor.id))
        .switch(QuizAttempt)
        .join(question, JOIN.LEFT_OUTER, on=first(question))
        .switch(QuizAttempt)
        .join(following, JOIN.LEFT_OUTER,
              on=(following.id == json_int_at(QuizAttempt.question_ids, QuizAttempt.current_index + 1)))
        .where(where & Mentor.is_active)
        .order_by(QuizAttempt.id.desc())
        .limit(1)
    )


# A tap names its attempt and the tapped question.
_TAP_READ = Prepared(lambda: _attempt_read(
    lambda tapped: tapped.id == slot("question"),
    (QuizAttempt.id == slot("attempt")) & (Student.telegram_id == slot("student")),
))
# A text answers the student's running attempt, at its current question.
_TYPED_READ = Prepared(lambda: _attempt_read(
    lambda current: current.id == json_int_at(QuizAttempt.question_ids, QuizAttempt.current_index),
    (Student.telegram_id == slot("student")) & QuizAttempt.finished_at.is_null(),
))
_ATTEMPT_COLUMNS = len(QuizAttempt._meta.sorted_fields)
_QUESTION_COLUMNS = len(QuizQuestion._meta.sorted_fields)


def _tap_row(row: tuple[Any, ...]) -> tuple[QuizAttempt, str, tuple[QuizQuestion | None, QuizQuestion | None]]:
    first = _ATTEMPT_COLUMNS + 1
    attempt = instance(QuizAttempt, row[:_ATTEMPT_COLUMNS])
    tapped = instance(QuizQuestion, row[first : first + _QUESTION_COLUMNS])
    following = instance(QuizQuestion, row[first + _QUESTION_COLUMNS :])
    return attempt, row[_ATTEMPT_COLUMNS], (tapped, following)


def judged_time(received_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """The moment a tap counts at: when it reached the bot, unless that is not plausible."""
    if received_at is None or received_at > now or now - received_at > MAX_RECEIVE_LAG:
        return now
    return received_at


def _answer(
    attempt: QuizAttempt,
    question_id: int,
    display_letter: str,
    now: dt.datetime,
    *,
    tz: ZoneInfo,
    base: int,
    telegram_id: int,
    at: dt.datetime,
    read: tuple[QuizQuestion | None, QuizQuestion | None] = (None, None),
) -> Step:
    """``at``: when the tap was given (deadlines); ``now``: when it is acted on (the next
    question's time starts now, when the student sees it)."""
    if attempt.finished_at is not None:
        return Step(Outcome.STALE)
    if attempt.session_deadline is not None and at > attempt.session_deadline:
        finished = _finish(attempt, now, reason="expired", tz=tz, telegram_id=telegram_id)
        return Step(Outcome.LATE, finished=finished)
    ids = json.loads(attempt.question_ids)
    if attempt.current_index >= len(ids) or ids[attempt.current_index] != question_id:
        given = (
            QuizAnswer.select(QuizAnswer.selected_answer)
            .where((QuizAnswer.attempt == attempt.id) & (QuizAnswer.question == question_id))
            .first()
        )
        if given is None:
            outcome = Outcome.STALE
        else:
            outcome = Outcome.TIMED_OUT if given.selected_answer == "-" else Outcome.DUPLICATE
        return Step(outcome, next=_current_view(attempt, ids))
    if at > attempt.question_deadline:
        step = _advance(attempt, ids, "-", now, tz=tz, base=base, telegram_id=telegram_id)
        if step.outcome is Outcome.ACCEPTED:
            return Step(Outcome.LATE, step.next, step.finished)
        # The sweeper timed the question out between our read and our move: the same truth,
        # and the question that is current now.
        fresh = QuizAttempt.get_or_none(
            (QuizAttempt.id == attempt.id) & QuizAttempt.finished_at.is_null()
        )
        return Step(Outcome.TIMED_OUT, next=_current_view(fresh, ids) if fresh else None)
    kind = attempt.current_kind or SINGLE
    if kind == MULTI and display_letter == SUBMIT:
        return _advance(attempt, ids, "", now, tz=tz, base=base, telegram_id=telegram_id,
                        letters=attempt.selection or "", read=_read_along(attempt, ids, *read))
    if display_letter not in LETTERS or kind == TYPED:
        return Step(Outcome.STALE)
    original = _original(attempt, question_id, display_letter)
    if kind == MULTI:
        return _toggle(attempt, question_id, original)
    return _advance(attempt, ids, original, now, tz=tz, base=base, telegram_id=telegram_id,
                    answered_at=at, read=_read_along(attempt, ids, *read))


def _read_along(
    attempt: QuizAttempt, ids: list[int], current: QuizQuestion | None, following: QuizQuestion | None,
) -> tuple[QuizQuestion, QuizQuestion | None] | None:
    """The current and the next question as the tap's read brought them, when it did (the
    tapped question is the current one, and the next one exists or there is none)."""
    index = attempt.current_index
    if current is None or current.id != ids[index]:
        return None
    if index + 1 == len(ids):
        return current, None
    if following is not None and following.id == ids[index + 1]:
        return current, following
    return None


def _current_view(attempt: QuizAttempt, ids: list[int]) -> QuestionView | None:
    """The attempt's current question, to show again after a tap on an older one."""
    if attempt.current_index >= len(ids):
        return None
    question = QuizQuestion.get_or_none(QuizQuestion.id == ids[attempt.current_index])
    return _view(attempt, question) if question is not None else None


def current_view(attempt_id: int) -> QuestionView | None:
    """The current question of a running attempt (None once it ended)."""
    attempt = QuizAttempt.get_or_none(
        (QuizAttempt.id == attempt_id) & QuizAttempt.finished_at.is_null()
    )
    return _current_view(attempt, json.loads(attempt.question_ids)) if attempt else None


def _toggle(attempt: QuizAttempt, question_id: int, letter: str) -> Step:
    """Mark or unmark one option of a select-all question, durably (a restart keeps it).
    Conditional on the position and on the selection read, so two quick taps handled by two
    replicas cannot lose one: the loser reads again. One statement after the attempt read:
    the marks come from the attempt row alone."""
    for _ in range(SLOT_TRIES):
        before = attempt.selection or ""
        after = "".join(sorted(set(before) ^ {letter})) or None
        changed = _MARK.rowcount(
            after=after, attempt=attempt.id, index=attempt.current_index, before=before
        )
        if changed:
            attempt.selection = after
            marks = Marks(
                attempt_id=attempt.id, question_id=question_id, number=attempt.current_index + 1,
                selected=_shown(attempt, question_id), chat_id=attempt.chat_id,
                message_id=attempt.message_id,
            )
            return Step(Outcome.TOGGLED, marks=marks)
        fresh = QuizAttempt.get_or_none(QuizAttempt.id == attempt.id)
        if fresh is None or fresh.finished_at is not None or fresh.current_index != attempt.current_index:
            return Step(Outcome.STALE)
        attempt.selection = fresh.selection
    return Step(Outcome.STALE)


_MARK = Prepared(lambda: (
    QuizAttempt.update(selection=slot("after"))
    .where(
        (QuizAttempt.id == slot("attempt"))
        & (QuizAttempt.current_index == slot("index"))
        & QuizAttempt.finished_at.is_null()
        & (fn.COALESCE(QuizAttempt.selection, "") == slot("before"))
    )
))


def answer_text(
    student_telegram_id: int,
    text: str,
    *,
    sent_at: dt.datetime | None = None,
    tz: ZoneInfo,
    now: dt.datetime | None = None,
    base_seconds: int = QUESTION_SECONDS,
    received_at: dt.datetime | None = None,
) -> Step:
    """A text message from a student with a running attempt: the answer to the current
    question when it is a typed one (``NOT_TYPED`` otherwise). ``sent_at`` (the message's
    date, naive UTC) makes a repeat harmless: a message sent before the current question was
    shown answered an earlier one (or nothing), so it is ``DUPLICATE``. Deadlines are judged
    at ``received_at``, when the message reached the bot, like a tap's."""
    now = now or utcnow()
    at = judged_time(received_at, now)
    row = _TYPED_READ.rows(student=student_telegram_id)
    if not row:
        return Step(Outcome.NOT_YOURS)
    attempt, language, (current, following) = _tap_row(row[0])
    if (attempt.current_kind or SINGLE) != TYPED:
        return Step(Outcome.NOT_TYPED, language=language)
    ids = json.loads(attempt.question_ids)
    base = attempt.question_seconds or base_seconds
    if sent_at is not None and _sent_before_shown(attempt, ids, sent_at, base, current):
        return Step(Outcome.DUPLICATE, language=language)
    read = _read_along(attempt, ids, current, following) if attempt.current_index < len(ids) else None
    if attempt.session_deadline is not None and at > attempt.session_deadline:
        finished = _finish(attempt, now, reason="expired", tz=tz, telegram_id=student_telegram_id)
        return Step(Outcome.LATE, finished=finished, language=language)
    if at > attempt.question_deadline:
        step = _advance(attempt, ids, "-", now, tz=tz, base=base, telegram_id=student_telegram_id)
        if step.outcome is Outcome.ACCEPTED:
            step = Step(Outcome.LATE, step.next, step.finished)
        return replace(step, language=language)
    step = _advance(attempt, ids, "", now, tz=tz, base=base, telegram_id=student_telegram_id,
                    text=text.strip()[:MAX_TYPED], answered_at=at, read=read)
    return replace(step, language=language)


def _sent_before_shown(
    attempt: QuizAttempt, ids: list[int], sent_at: dt.datetime, base: int, current: QuizQuestion | None,
) -> bool:
    """Whether a message sent at ``sent_at`` (whole seconds, as Telegram dates messages) left
    before the current question was shown. The question showed ``base`` seconds plus its time
    bonus (never negative) before its deadline, so a message sent after ``deadline - base``
    is in time whatever the bonus: the usual case, decided without reading the question."""
    deadline = attempt.question_deadline
    if deadline is None or attempt.current_index >= len(ids):
        return False
    sent = sent_at + dt.timedelta(seconds=1)
    if sent > deadline - dt.timedelta(seconds=base):
        return False
    if current is None or current.id != ids[attempt.current_index]:
        current = QuizQuestion.get_or_none(QuizQuestion.id == ids[attempt.current_index])
    return current is not None and sent <= deadline - dt.timedelta(seconds=question_seconds(current, base))


def _current_and_next(ids: list[int], index: int) -> tuple[QuizQuestion | None, int, QuizQuestion | None]:
    """The current question and the next one that still exists (a mentor may have deleted
    questions meanwhile: they are skipped), with its index; one query in the usual case."""
    wanted = ids[index : index + 2]
    rows = {q.id: q for q in QuizQuestion.select().where(QuizQuestion.id.in_(wanted))}
    current = rows.get(ids[index])
    if len(wanted) == 2 and ids[index + 1] in rows:
        return current, index + 1, rows[ids[index + 1]]
    rest = ids[index + 2 :]
    if rest:
        found = {q.id: q for q in QuizQuestion.select().where(QuizQuestion.id.in_(rest))}
        for offset, question_id in enumerate(rest, start=index + 2):
            if question_id in found:
                return current, offset, found[question_id]
    return current, len(ids), None


def _advance(
    attempt: QuizAttempt,
    ids: list[int],
    letter: str,
    now: dt.datetime,
    *,
    tz: ZoneInfo,
    base: int = QUESTION_SECONDS,
    telegram_id: int | None = None,
    letters: str | None = None,
    text: str | None = None,
    answered_at: dt.datetime | None = None,
    read: tuple[QuizQuestion, QuizQuestion | None] | None = None,
) -> Step:
    """Record ``letter`` for the current question and move on — once, whoever gets here first.
    A select-all question records ``letters`` (the set submitted), a typed one ``text``.
    ``read``: the current and the next question when the caller has them already.

    The conditional update of ``current_index`` is what makes it once: a second tap, a stale
    button or the sweeper racing an answer finds the index moved and changes nothing. The
    answer row is then written by the one winner (the unique (attempt, question) index stays
    as a second guard)."""
    index = attempt.current_index
    base = attempt.question_seconds or base
    if read is not None:
        (question, following), next_index = read, index + 1
    else:
        question, next_index, following = _current_and_next(ids, index)
    deadline = (
        now + dt.timedelta(seconds=question_seconds(following, base))
        if following is not None
        else attempt.question_deadline
    )
    if letter == "-":
        letters = text = None
    correct = question is not None and kinds.is_correct(
        question, letter=letter, letters=letters, text=text
    )
    move = {
        "attempt": attempt.id, "index": index, "to": next_index, "deadline": deadline,
        "kind": kinds.kind_of(following) if following is not None else attempt.current_kind,
    }
    record = None if question is None else {
        "question": question.id, "letter": letter, "correct": correct,
        "at": answered_at or now, "letters": letters, "text": text,
    }
    if not _move_and_record(move, record):
        return Step(Outcome.DUPLICATE)
    attempt.current_index, attempt.question_deadline = next_index, deadline
    attempt.selection = None
    if following is not None:
        attempt.current_kind = kinds.kind_of(following)
    if following is None:
        finished = _finish(attempt, now, reason="completed", tz=tz, telegram_id=telegram_id)
        return Step(Outcome.ACCEPTED, finished=finished, correct=correct)
    return Step(Outcome.ACCEPTED, next=_view(attempt, following), correct=correct)


def _move_and_record(move: dict[str, Any], record: dict[str, Any] | None) -> bool:
    """Move to the next question if nobody did first, and store the answer (``record``, none
    for a question deleted meanwhile) only then. PostgreSQL does both in one statement, the
    answer row written from what the move returned; SQLite runs the two in turn."""
    if record is not None and is_postgres(database_proxy.obj):
        return _MOVE_AND_RECORD.rowcount(**move, **record) > 0
    if not _MOVE.rowcount(**move):
        return False
    if record is not None:
        _RECORD.execute(attempt=move["attempt"], **record)
    return True


def _move_query() -> Any:
    """The move to the next question, only from the position the answer was read at: once."""
    return (
        QuizAttempt.update(
            current_index=slot("to"),
            question_deadline=slot("deadline", QuizAttempt.question_deadline),
            selection=None,
            current_kind=slot("kind"),
        )
        .where(
            (QuizAttempt.id == slot("attempt"))
            & (QuizAttempt.current_index == slot("index"))
            & QuizAttempt.finished_at.is_null()
        )
    )


_ANSWER_COLUMNS = (
    QuizAnswer.question, QuizAnswer.selected_answer, QuizAnswer.is_correct,
    QuizAnswer.answered_at, QuizAnswer.selected_set, QuizAnswer.typed_text,
)


def _answer_values() -> list[Any]:
    return [
        slot("question"), slot("letter"), slot("correct", QuizAnswer.is_correct),
        slot("at", QuizAnswer.answered_at), slot("letters"), slot("text"),
    ]


def _move_and_record_query() -> Any:
    moved = _move_query().returning(QuizAttempt.id).cte("moved")
    rows = Select([moved], [moved.c.id, *_answer_values()])
    return QuizAnswer.insert_from(rows, [QuizAnswer.attempt, *_ANSWER_COLUMNS]).with_cte(moved)


_MOVE = Prepared(_move_query)
_RECORD = Prepared(lambda: QuizAnswer.insert(
    dict(zip([QuizAnswer.attempt, *_ANSWER_COLUMNS], [slot("attempt"), *_answer_values()], strict=True))
))
_MOVE_AND_RECORD = Prepared(_move_and_record_query)


def _finish(
    attempt: QuizAttempt,
    now: dt.datetime,
    *,
    reason: str,
    tz: ZoneInfo,
    telegram_id: int | None = None,
) -> Finished:
    """Close the attempt. The score is the number of correct stored answers; the total is
    the number of its questions that still exist (a deleted question leaves every attempt)."""
    score = (
        QuizAnswer.select()
        .where((QuizAnswer.attempt == attempt.id) & QuizAnswer.is_correct)
        .count()
    )
    ids = json.loads(attempt.question_ids or "[]")
    total = (
        QuizQuestion.select().where(QuizQuestion.id.in_(ids)).count() if ids else attempt.total
    )
    closed = (
        QuizAttempt.update(
            score=score, total=total, finished_at=now, finish_reason=reason, question_deadline=None
        )
        .where((QuizAttempt.id == attempt.id) & QuizAttempt.finished_at.is_null())
        .execute()
    )
    if closed:  # streak and season rating follow in the same transaction
        on_attempt_finished(attempt.id, tz=tz, now=now)
    else:  # someone else closed it first: report what they stored
        stored = QuizAttempt.get_by_id(attempt.id)
        score, total, reason = stored.score, stored.total, stored.finish_reason or reason
    if telegram_id is None:
        telegram_id = Student.get_by_id(attempt.student_id).telegram_id
    return Finished(
        attempt_id=attempt.id,
        quiz_id=attempt.quiz_id,
        score=score,
        total=total,
        # The mode the attempt was taken in: an exam whose deadline passed while it
        # ran still ends on the score alone; the review opens from the list afterwards.
        is_exam=attempt.is_exam,
        reason=reason,
        chat_id=attempt.chat_id,
        message_id=attempt.message_id,
        student_telegram_id=telegram_id,
    )


def expire_due(
    *,
    tz: ZoneInfo,
    now: dt.datetime | None = None,
    limit: int = 100,
    base_seconds: int = QUESTION_SECONDS,
) -> list[Step]:
    """The sweeper's step: time out overdue questions and end overdue sessions, for everyone.

    An attempt whose student has a tap or a message (a typed answer) stored but not handled
    yet, received before the deadline, waits for it: it is judged at its receive time and may
    still count."""
    now = now or utcnow()
    waiting_tap = InboxUpdate.select(InboxUpdate.update_id).where(
        (InboxUpdate.user_id == Student.telegram_id)
        & InboxUpdate.handled_at.is_null()
        & InboxUpdate.kind.in_(("callback_query", "message"))
        & (InboxUpdate.received_at <= QuizAttempt.question_deadline)
        & (InboxUpdate.received_at > now - PENDING_TAP_WINDOW)
    )
    overdue = (
        QuizAttempt.select(QuizAttempt, Student.telegram_id)
        .join(Student)
        .where(
            QuizAttempt.finished_at.is_null()
            & ((QuizAttempt.question_deadline < now) | (QuizAttempt.session_deadline < now))
            & ~fn.EXISTS(waiting_tap)
        )
        .order_by(QuizAttempt.question_deadline)
        .limit(limit)
    )
    overdue = skip_locked(overdue, of=QuizAttempt)  # replicas sweep disjoint attempts
    steps = []
    for attempt in overdue:
        telegram_id = attempt.student.telegram_id
        if attempt.session_deadline is not None and attempt.session_deadline < now:
            finished = _finish(attempt, now, reason="expired", tz=tz, telegram_id=telegram_id)
            steps.append(Step(Outcome.LATE, finished=finished))
            continue
        step = _advance(
            attempt, json.loads(attempt.question_ids), "-", now, tz=tz, base=base_seconds,
            telegram_id=telegram_id,
        )
        if step.outcome is Outcome.ACCEPTED:
            steps.append(Step(Outcome.LATE, step.next, step.finished, correct=False))
    return steps


def give_up(
    student_telegram_id: int, *, tz: ZoneInfo, now: dt.datetime | None = None
) -> Finished | None:
    """The student left a practice quiz (/cancel): discarded without an answer, else kept
    as cancelled (``reason`` "discarded" or "cancelled")."""
    student = _student(student_telegram_id)
    if student is None:
        return None
    finished = None
    for attempt in live_attempts(student.id):
        finished = _leave(attempt, now or utcnow(), tz=tz, telegram_id=student_telegram_id)
    return finished


def _leave(
    attempt: QuizAttempt, now: dt.datetime, *, tz: ZoneInfo, telegram_id: int | None = None
) -> Finished:
    """A running attempt the student walked away from. An exam cannot be left (the access
    gate refuses /cancel): one still found running is finished with the answers given. A
    practice attempt is closed first, so a timeout racing this changes nothing, then deleted
    when no question was answered, else kept as cancelled: no streak, no rating."""
    if attempt.is_exam:
        return _finish(attempt, now, reason="abandoned", tz=tz, telegram_id=telegram_id)
    answers = list(
        QuizAnswer.select(QuizAnswer.selected_answer, QuizAnswer.is_correct)
        .where(QuizAnswer.attempt == attempt.id)
    )
    answered = sum(1 for a in answers if a.selected_answer != "-")
    score = sum(1 for a in answers if a.is_correct)
    ids = json.loads(attempt.question_ids or "[]")
    total = QuizQuestion.select().where(QuizQuestion.id.in_(ids)).count() if ids else attempt.total
    closed = (
        QuizAttempt.update(
            score=score, total=total, finished_at=now, finish_reason=grading.CANCELLED,
            question_deadline=None,
        )
        .where((QuizAttempt.id == attempt.id) & QuizAttempt.finished_at.is_null())
        .execute()
    )
    reason = grading.CANCELLED
    if closed and not answered:
        QuizAnswer.delete().where(QuizAnswer.attempt == attempt.id).execute()
        QuizAttempt.delete().where(QuizAttempt.id == attempt.id).execute()
        reason = "discarded"
    elif not closed:  # it ended meanwhile (its last answer, or the session deadline)
        stored = QuizAttempt.get_by_id(attempt.id)
        score, total, reason = stored.score, stored.total, stored.finish_reason or reason
    if telegram_id is None:
        telegram_id = Student.get_by_id(attempt.student_id).telegram_id
    return Finished(
        attempt_id=attempt.id, quiz_id=attempt.quiz_id, score=score, total=total, is_exam=False,
        reason=reason, chat_id=attempt.chat_id, message_id=attempt.message_id,
        student_telegram_id=telegram_id, answered=answered,
    )


def live_for(student_telegram_id: int) -> tuple[int, bool] | None:
    """(attempt id, is it an exam) of the student's running attempt, if any."""
    student = _student(student_telegram_id)
    if student is None:
        return None
    attempts = live_attempts(student.id)
    return (attempts[0].id, attempts[0].is_exam) if attempts else None


def countdown_candidates(*, now: dt.datetime | None = None) -> list[QuestionView]:
    """Running attempts with a message to keep current (for the countdown): two queries,
    however many students are taking a quiz."""
    now = now or utcnow()
    # In its last second a question is about to be replaced by its timeout: a redraw then
    # would reach the student showing 0 (or after the deadline).
    last_useful = now + dt.timedelta(seconds=1)
    attempts = list(
        QuizAttempt.select().where(
            QuizAttempt.finished_at.is_null()
            & (QuizAttempt.question_deadline > last_useful)
            & QuizAttempt.message_id.is_null(False)
        )
    )
    current: dict[int, int] = {}  # attempt id -> its current question id
    for attempt in attempts:
        ids = json.loads(attempt.question_ids)
        if attempt.current_index < len(ids):
            current[attempt.id] = ids[attempt.current_index]
    wanted = sorted(set(current.values()))
    questions = (
        {q.id: q for q in QuizQuestion.select().where(QuizQuestion.id.in_(wanted))} if wanted else {}
    )
    return [
        _view(a, questions[current[a.id]])
        for a in attempts
        if a.id in current and current[a.id] in questions
    ]
