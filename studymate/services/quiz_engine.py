"""Taking a quiz (PRODUCT.md §5.3–5.7) with durable progress (DESIGN.md decisions 1 and 2).

Everything that matters lives in the attempt row: the ordered question ids, the current index,
the question and session deadlines and the option shuffle. An answer counts only for the
current question, once, before its deadline; the index moves with a conditional update, so a
double tap or a stale button changes nothing. Deadlines are enforced by ``expire_due`` (one
sweeper for all students, resumable after a restart) and checked again on every answer.
Scores are always computed from the stored answers.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from peewee import fn

from studymate.db.connection import skip_locked
from studymate.db.models import (
    InboxUpdate,
    Mentor,
    Quiz,
    QuizAnswer,
    QuizAttempt,
    QuizQuestion,
    Student,
    utcnow,
)
from studymate.services.quizzes import first_attempts_average
from studymate.services.ratings import on_attempt_finished

QUESTION_SECONDS: Final = 20
SESSION_GRACE_SECONDS: Final = 60
LETTERS: Final = ("A", "B", "C", "D")
LIST_PAGE_SIZE: Final = 5
REVIEW_PAGE_SIZE: Final = 10
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
    STALE = "stale"  # not the current question, or the attempt is over
    LATE = "late"  # after the deadline: recorded as a timeout
    NOT_YOURS = "not_yours"


@dataclass(frozen=True, slots=True)
class QuestionView:
    attempt_id: int
    question_id: int
    number: int  # 1-based position in the attempt
    total: int
    text: str
    options: tuple[str, str, str, str]  # in display order
    deadline: dt.datetime
    is_exam: bool
    chat_id: int | None
    message_id: int | None


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


@dataclass(frozen=True, slots=True)
class Step:
    """What an answer or a timeout led to: the next question, or the end."""

    outcome: Outcome
    next: QuestionView | None = None
    finished: Finished | None = None
    correct: bool | None = None
    language: str | None = None  # the student's, for answers (None from the sweeper)


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
    if exam:
        if quiz.available_from is not None and now < quiz.available_from:
            return Refusal.NOT_STARTED, quiz.available_from
        started = QuizAttempt.select().where(
            (QuizAttempt.quiz == quiz.id) & (QuizAttempt.student == student.id)
        )
        if started.count() >= quiz.max_attempts:  # any started attempt is consumed (B2)
            return Refusal.MAX_ATTEMPTS
    for live in live_attempts(student.id):  # one quiz at a time: a practice run is given up
        _finish(live, now, reason="abandoned", tz=tz)
    shuffle = None
    if exam:
        rng = rng or random.SystemRandom()
        shuffle = {str(q.id): "".join(rng.sample(LETTERS, 4)) for q in questions}
    session = sum(question_seconds(q, base_seconds) for q in questions) + SESSION_GRACE_SECONDS
    attempt = QuizAttempt.create(
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
    )
    return _view(attempt, questions[0])


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


def _order(attempt: QuizAttempt, question_id: int) -> str:
    shuffle = json.loads(attempt.shuffle_map) if attempt.shuffle_map else None
    return shuffle[str(question_id)] if shuffle else "".join(LETTERS)


def _view(attempt: QuizAttempt, question: QuizQuestion) -> QuestionView:
    options = {
        "A": question.option_a, "B": question.option_b, "C": question.option_c, "D": question.option_d,
    }
    order = _order(attempt, question.id)
    return QuestionView(
        attempt_id=attempt.id,
        question_id=question.id,
        number=attempt.current_index + 1,
        total=attempt.total,
        text=question.question_text,
        options=tuple(options[letter] for letter in order),  # type: ignore[arg-type]
        deadline=attempt.question_deadline,
        is_exam=attempt.is_exam,
        chat_id=attempt.chat_id,
        message_id=attempt.message_id,
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
    step carries the student's language, so the bot needs no other lookup for a tap (B17).
    The usual case costs four statements: that read, the current and the next question, the
    conditional move and the answer row.

    ``received_at``: when the tap reached the bot (server time, never the user's): deadlines
    are judged against it, so a tap that waited for a busy or restarting bot still counts."""
    now = now or utcnow()
    at = judged_time(received_at, now)
    attempt = (
        QuizAttempt.select(QuizAttempt, Student.language)
        .join(Student)
        .join(Mentor, on=(Student.mentor == Mentor.id))
        .where(
            (QuizAttempt.id == attempt_id)
            & (Student.telegram_id == student_telegram_id)
            & Mentor.is_active
        )
        .first()
    )
    if attempt is None:
        return Step(Outcome.NOT_YOURS)
    step = _answer(attempt, question_id, display_letter, now, tz=tz, base=base_seconds,
                   telegram_id=student_telegram_id, at=at)
    return replace(step, language=attempt.student.language)


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
) -> Step:
    """``at``: when the tap was given (deadlines); ``now``: when it is acted on (the next
    question's time starts now, when the student sees it)."""
    if attempt.finished_at is not None:
        return Step(Outcome.STALE)
    if attempt.session_deadline is not None and at > attempt.session_deadline:
        finished = _finish(attempt, now, reason="expired", tz=tz, telegram_id=telegram_id)
        return Step(Outcome.LATE, finished=finished)
    ids = json.loads(attempt.question_ids)
    if ids[attempt.current_index] != question_id:
        already = QuizAnswer.select().where(
            (QuizAnswer.attempt == attempt.id) & (QuizAnswer.question == question_id)
        ).exists()
        return Step(Outcome.DUPLICATE if already else Outcome.STALE)
    if at > attempt.question_deadline:
        step = _advance(attempt, ids, "-", now, tz=tz, base=base, telegram_id=telegram_id)
        return Step(Outcome.LATE, step.next, step.finished) if step.outcome is Outcome.ACCEPTED else step
    if display_letter not in LETTERS:
        return Step(Outcome.STALE)
    original = _order(attempt, question_id)[LETTERS.index(display_letter)]
    return _advance(attempt, ids, original, now, tz=tz, base=base, telegram_id=telegram_id,
                    answered_at=at)


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
    answered_at: dt.datetime | None = None,
) -> Step:
    """Record ``letter`` for the current question and move on — once, whoever gets here first.

    The conditional update of ``current_index`` is what makes it once: a second tap, a stale
    button or the sweeper racing an answer finds the index moved and changes nothing. The
    answer row is then written by the one winner (the unique (attempt, question) index stays
    as a second guard)."""
    index = attempt.current_index
    question, next_index, following = _current_and_next(ids, index)
    deadline = (
        now + dt.timedelta(seconds=question_seconds(following, base))
        if following is not None
        else attempt.question_deadline
    )
    moved = (
        QuizAttempt.update(current_index=next_index, question_deadline=deadline)
        .where(
            (QuizAttempt.id == attempt.id)
            & (QuizAttempt.current_index == index)
            & QuizAttempt.finished_at.is_null()
        )
        .execute()
    )
    if not moved:
        return Step(Outcome.DUPLICATE)
    correct = question is not None and letter == question.correct_answer
    if question is not None:
        QuizAnswer.insert(
            attempt=attempt.id, question=question.id, selected_answer=letter,
            is_correct=correct, answered_at=answered_at or now,
        ).execute()
    attempt.current_index, attempt.question_deadline = next_index, deadline
    if following is None:
        finished = _finish(attempt, now, reason="completed", tz=tz, telegram_id=telegram_id)
        return Step(Outcome.ACCEPTED, finished=finished, correct=correct)
    return Step(Outcome.ACCEPTED, next=_view(attempt, following), correct=correct)


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
    if closed:  # streak and season rating follow in the same transaction (§6.5, §6.8)
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
        # The mode the attempt was taken in (B30): an exam whose deadline passed while it
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

    An attempt whose student has a tap stored but not handled yet, received before the
    deadline, waits for that tap: it is judged at its receive time and may still count."""
    now = now or utcnow()
    waiting_tap = InboxUpdate.select(InboxUpdate.update_id).where(
        (InboxUpdate.user_id == Student.telegram_id)
        & InboxUpdate.handled_at.is_null()
        & (InboxUpdate.kind == "callback_query")
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
    """The student left a practice quiz (/cancel): it ends with the answers given."""
    student = _student(student_telegram_id)
    if student is None:
        return None
    finished = None
    for attempt in live_attempts(student.id):
        finished = _finish(attempt, now or utcnow(), reason="abandoned", tz=tz,
                           telegram_id=student_telegram_id)
    return finished


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


# -- results ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReviewLine:
    number: int
    question: str
    chosen: str | None  # option text; None = time expired
    correct_option: str
    is_correct: bool


@dataclass(frozen=True, slots=True)
class Result:
    attempt_id: int
    quiz_id: int
    title: str
    score: int
    total: int
    is_exam: bool  # the quiz is in exam mode now: its answers stay hidden
    archived: bool  # students no longer see the quiz (a button in an old message)
    group_average: float
    lines: list[ReviewLine]
    page: int
    pages: int


def result(
    student_telegram_id: int, attempt_id: int, page: int = 0, *, now: dt.datetime | None = None
) -> Result | None:
    """An attempt's result and one review page; only for its owner and once finished."""
    now = now or utcnow()
    student = _student(student_telegram_id)
    attempt = QuizAttempt.get_or_none(QuizAttempt.id == attempt_id)
    if student is None or attempt is None or attempt.student_id != student.id or attempt.finished_at is None:
        return None
    quiz = Quiz.get_by_id(attempt.quiz_id)
    answers = list(
        QuizAnswer.select(QuizAnswer, QuizQuestion)
        .join(QuizQuestion)
        .where(QuizAnswer.attempt == attempt.id)
        .order_by(QuizQuestion.order, QuizQuestion.id)
    )
    pages = max(1, -(-len(answers) // REVIEW_PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    lines = []
    for answer_row in answers[page * REVIEW_PAGE_SIZE : (page + 1) * REVIEW_PAGE_SIZE]:
        q = answer_row.question
        options = {"A": q.option_a, "B": q.option_b, "C": q.option_c, "D": q.option_d}
        lines.append(
            ReviewLine(
                number=q.order,
                question=q.question_text,
                chosen=options.get(answer_row.selected_answer),
                correct_option=options[q.correct_answer],
                is_correct=answer_row.is_correct,
            )
        )
    return Result(
        attempt_id=attempt.id,
        quiz_id=quiz.id,
        title=quiz.title,
        score=attempt.score,
        total=attempt.total,
        is_exam=is_exam_mode(quiz, now),
        archived=not quiz.is_active,
        group_average=float(first_attempts_average(quiz.id)),  # same rule as the mentor's
        lines=lines,
        page=page,
        pages=pages,
    )


# -- lists --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ListItem:
    quiz_id: int
    title: str
    finished_attempt_id: int | None  # the latest attempt, when it is finished
    score: int | None
    total: int | None


@dataclass(frozen=True, slots=True)
class QuizList:
    items: list[ListItem]
    page: int
    pages: int


def quiz_list(
    student_telegram_id: int, *, ranked: bool, page: int = 0, now: dt.datetime | None = None
) -> QuizList | None:
    """Ranked (exam mode, including not yet open) or practice quizzes of the student's mentor."""
    now = now or utcnow()
    student = _student(student_telegram_id)
    if student is None or student.mentor_id is None:
        return None
    exam = (Quiz.quiz_type == "ranked") & Quiz.available_until.is_null(False) & (Quiz.available_until > now)
    practice = (Quiz.quiz_type == "practice") | (
        (Quiz.quiz_type == "ranked") & Quiz.available_until.is_null(False) & (Quiz.available_until <= now)
    )
    query = (
        Quiz.select()
        .where((Quiz.mentor == student.mentor_id) & Quiz.is_active & (exam if ranked else practice))
        .order_by(Quiz.created_at.desc(), Quiz.id.desc())
    )
    total = query.count()
    pages = max(1, -(-total // LIST_PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    quizzes = list(query.paginate(page + 1, LIST_PAGE_SIZE))
    latest: dict[int, QuizAttempt] = {}
    if quizzes:
        for attempt in (
            QuizAttempt.select()
            .where((QuizAttempt.student == student.id) & QuizAttempt.quiz.in_([q.id for q in quizzes]))
            .order_by(QuizAttempt.id)
        ):
            latest[attempt.quiz_id] = attempt
    items = []
    for quiz in quizzes:
        attempt = latest.get(quiz.id)
        done = attempt is not None and attempt.finished_at is not None
        items.append(
            ListItem(
                quiz.id,
                quiz.title,
                attempt.id if done else None,
                attempt.score if done else None,
                attempt.total if done else None,
            )
        )
    return QuizList(items, page, pages)


def latest_finished(student_telegram_id: int, quiz_id: int) -> int | None:
    student = _student(student_telegram_id)
    if student is None:
        return None
    attempt = (
        QuizAttempt.select()
        .where(
            (QuizAttempt.student == student.id)
            & (QuizAttempt.quiz == quiz_id)
            & QuizAttempt.finished_at.is_null(False)
        )
        .order_by(QuizAttempt.id.desc())
        .first()
    )
    return attempt.id if attempt else None
