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
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from peewee import IntegrityError

from studymate.db.models import Quiz, QuizAnswer, QuizAttempt, QuizQuestion, Student, utcnow
from studymate.services.quizzes import first_attempts_average
from studymate.services.ratings import on_attempt_finished

QUESTION_SECONDS: Final = 20
SESSION_GRACE_SECONDS: Final = 60
LETTERS: Final = ("A", "B", "C", "D")
LIST_PAGE_SIZE: Final = 5
REVIEW_PAGE_SIZE: Final = 10


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
    quiz_type: str
    score: int
    total: int
    is_exam: bool  # the quiz is in exam mode now: show the score only
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
) -> QuestionView | Refusal | tuple[Refusal, dt.datetime]:
    """Begin an attempt; a refusal says why (``NOT_STARTED`` comes with the start time)."""
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
    )
    return _view(attempt, questions[0])


def live_attempts(student_id: int) -> list[QuizAttempt]:
    return list(
        QuizAttempt.select().where(
            (QuizAttempt.student == student_id) & QuizAttempt.finished_at.is_null()
        )
    )


def remember_message(attempt_id: int, chat_id: int, message_id: int) -> None:
    """The message that shows this attempt's questions (edited by the sweeper too)."""
    QuizAttempt.update(chat_id=chat_id, message_id=message_id).where(QuizAttempt.id == attempt_id).execute()


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


def current_view(attempt_id: int) -> QuestionView | None:
    attempt = QuizAttempt.get_or_none(QuizAttempt.id == attempt_id)
    if attempt is None or attempt.finished_at is not None:
        return None
    ids = json.loads(attempt.question_ids)
    question = QuizQuestion.get_or_none(QuizQuestion.id == ids[attempt.current_index])
    return _view(attempt, question) if question is not None else None  # deleted meanwhile


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
) -> Step:
    now = now or utcnow()
    attempt = QuizAttempt.get_or_none(QuizAttempt.id == attempt_id)
    student = _student(student_telegram_id)
    if attempt is None or student is None or attempt.student_id != student.id:
        return Step(Outcome.NOT_YOURS)
    if attempt.finished_at is not None:
        return Step(Outcome.STALE)
    ids = json.loads(attempt.question_ids)
    if ids[attempt.current_index] != question_id:
        already = QuizAnswer.select().where(
            (QuizAnswer.attempt == attempt.id) & (QuizAnswer.question == question_id)
        ).exists()
        return Step(Outcome.DUPLICATE if already else Outcome.STALE)
    if now > attempt.question_deadline:
        step = _advance(attempt, ids, "-", now, tz=tz, base=base_seconds)
        return Step(Outcome.LATE, step.next, step.finished) if step.outcome is Outcome.ACCEPTED else step
    if display_letter not in LETTERS:
        return Step(Outcome.STALE)
    original = _order(attempt, question_id)[LETTERS.index(display_letter)]
    return _advance(attempt, ids, original, now, tz=tz, base=base_seconds)


def _advance(
    attempt: QuizAttempt,
    ids: list[int],
    letter: str,
    now: dt.datetime,
    *,
    tz: ZoneInfo,
    base: int = QUESTION_SECONDS,
) -> Step:
    """Record ``letter`` for the current question and move on — once, whoever gets here first."""
    index = attempt.current_index
    question = QuizQuestion.get_or_none(QuizQuestion.id == ids[index])
    last = index + 1 >= len(ids)
    following = None if last else QuizQuestion.get_or_none(QuizQuestion.id == ids[index + 1])
    deadline = (
        now + dt.timedelta(seconds=question_seconds(following, base))
        if following
        else attempt.question_deadline
    )
    moved = (
        QuizAttempt.update(current_index=index + 1, question_deadline=deadline)
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
        try:
            with QuizAnswer._meta.database.atomic():
                QuizAnswer.create(
                    attempt=attempt.id, question=question.id, selected_answer=letter,
                    is_correct=correct, answered_at=now,
                )
        except IntegrityError:
            return Step(Outcome.DUPLICATE)
    attempt = QuizAttempt.get_by_id(attempt.id)
    if last or following is None:
        return Step(Outcome.ACCEPTED, finished=_finish(attempt, now, reason="completed", tz=tz), correct=correct)
    return Step(Outcome.ACCEPTED, next=_view(attempt, following), correct=correct)


def _finish(attempt: QuizAttempt, now: dt.datetime, *, reason: str, tz: ZoneInfo) -> Finished:
    """Close the attempt; the score is the number of correct stored answers."""
    score = (
        QuizAnswer.select()
        .where((QuizAnswer.attempt == attempt.id) & QuizAnswer.is_correct)
        .count()
    )
    closed = (
        QuizAttempt.update(score=score, finished_at=now, finish_reason=reason, question_deadline=None)
        .where((QuizAttempt.id == attempt.id) & QuizAttempt.finished_at.is_null())
        .execute()
    )
    quiz = Quiz.get_by_id(attempt.quiz_id)
    if closed:  # streak and season rating follow in the same transaction (§6.5, §6.8)
        on_attempt_finished(attempt.id, tz=tz, now=now)
    return Finished(
        attempt_id=attempt.id,
        quiz_id=quiz.id,
        quiz_type=quiz.quiz_type,
        score=score,
        total=attempt.total,
        is_exam=is_exam_mode(quiz, now),
        reason=reason,
        chat_id=attempt.chat_id,
        message_id=attempt.message_id,
        student_telegram_id=Student.get_by_id(attempt.student_id).telegram_id,
    )




def expire_due(
    *,
    tz: ZoneInfo,
    now: dt.datetime | None = None,
    limit: int = 100,
    base_seconds: int = QUESTION_SECONDS,
) -> list[Step]:
    """The sweeper's step: time out overdue questions and end overdue sessions, for everyone."""
    now = now or utcnow()
    overdue = (
        QuizAttempt.select()
        .where(
            QuizAttempt.finished_at.is_null()
            & ((QuizAttempt.question_deadline < now) | (QuizAttempt.session_deadline < now))
        )
        .order_by(QuizAttempt.question_deadline)
        .limit(limit)
    )
    steps = []
    for attempt in overdue:
        if attempt.session_deadline is not None and attempt.session_deadline < now:
            steps.append(Step(Outcome.LATE, finished=_finish(attempt, now, reason="expired", tz=tz)))
            continue
        step = _advance(
            attempt, json.loads(attempt.question_ids), "-", now, tz=tz, base=base_seconds
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
        finished = _finish(attempt, now or utcnow(), reason="abandoned", tz=tz)
    return finished


def live_for(student_telegram_id: int) -> tuple[int, bool] | None:
    """(attempt id, is it an exam) of the student's running attempt, if any."""
    student = _student(student_telegram_id)
    if student is None:
        return None
    attempts = live_attempts(student.id)
    return (attempts[0].id, attempts[0].is_exam) if attempts else None


def countdown_candidates(*, now: dt.datetime | None = None) -> list[QuestionView]:
    """Running attempts with a message to keep current (for the countdown)."""
    now = now or utcnow()
    query = QuizAttempt.select().where(
        QuizAttempt.finished_at.is_null()
        & (QuizAttempt.question_deadline > now)
        & QuizAttempt.message_id.is_null(False)
    )
    views = []
    for attempt in query:
        ids = json.loads(attempt.question_ids)
        question = QuizQuestion.get_or_none(QuizQuestion.id == ids[attempt.current_index])
        if question is not None:
            views.append(_view(attempt, question))
    return views


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
    is_exam: bool
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
