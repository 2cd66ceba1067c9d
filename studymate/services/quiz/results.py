"""What a student sees of their quizzes: the results and reviews of finished attempts, and the
quiz lists with the attempt each one shows (the graded one, never a retake over it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from studymate.db.models import (
    Quiz,
    QuizAnswer,
    QuizAttempt,
    QuizQuestion,
    utcnow,
)
from studymate.services.quiz import grading, kinds
from studymate.services.quiz.authoring import graded_average
from studymate.services.quiz.engine import _student, is_exam_mode
from studymate.services.quiz.format import MULTI, SINGLE, TYPED
from studymate.services.quiz.format import OPTION_LETTERS as LETTERS

LIST_PAGE_SIZE: Final = 5
REVIEW_PAGE_SIZE: Final = 10


@dataclass(frozen=True, slots=True)
class ReviewLine:
    number: int
    question: str
    chosen: str | None  # option text; None = time expired
    correct_option: str
    is_correct: bool
    explanation: str | None = None
    kind: str = SINGLE


@dataclass(frozen=True, slots=True)
class Result:
    attempt_id: int
    quiz_id: int
    title: str
    score: int
    total: int
    is_exam: bool  # the quiz is in exam mode now: its answers stay hidden
    archived: bool  # students no longer see the quiz (a button in an old message)
    group_average: grading.Average
    lines: list[ReviewLine]
    page: int
    pages: int
    cancelled: bool = False  # left part-way: shown to the student, counted nowhere


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
        options = dict(zip(LETTERS, kinds.options_of(q), strict=False))
        kind = kinds.kind_of(q)
        chosen: str | None = options.get(answer_row.selected_answer)
        if kind == TYPED:
            correct_option = " | ".join(kinds.accepted_of(q))
            chosen = answer_row.typed_text
        elif kind == MULTI:
            correct_option = "; ".join(options[letter] for letter in kinds.correct_letters(q))
            if answer_row.selected_set is not None:
                chosen = "; ".join(options[x] for x in answer_row.selected_set if x in options) or "—"
        else:
            correct_option = options.get(q.correct_answer, "")
        lines.append(
            ReviewLine(
                number=q.order,
                question=q.question_text,
                chosen=chosen,
                correct_option=correct_option,
                is_correct=answer_row.is_correct,
                explanation=q.explanation,
                kind=kind,
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
        group_average=graded_average(quiz.id),  # same rule as the mentor's
        lines=lines,
        page=page,
        pages=pages,
        cancelled=grading.is_cancelled(attempt.finish_reason),
    )


# -- lists --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ListItem:
    quiz_id: int
    title: str
    finished_attempt_id: int | None  # the attempt shown (see ``shown_attempt``), if any
    score: int | None
    total: int | None
    opens_at: dt.datetime | None = None  # a scheduled quiz that has not opened yet


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
    shown = _shown_attempts(student.id, quizzes)
    items = []
    for quiz in quizzes:
        attempt = shown.get(quiz.id)
        done = attempt is not None
        items.append(
            ListItem(
                quiz.id,
                quiz.title,
                attempt.id if done else None,
                attempt.score if done else None,
                attempt.total if done else None,
                quiz.available_from if quiz.available_from and quiz.available_from > now else None,
            )
        )
    return QuizList(items, page, pages)


def _shown_attempts(student_id: int, quizzes: list[Quiz]) -> dict[int, QuizAttempt]:
    """The attempt a student's list shows for each quiz: for a ranked quiz the graded one
    (the first started in its window: a retake after it closed never replaces it), else the
    latest; cancelled attempts never. Quizzes without such an attempt are left out."""
    if not quizzes:
        return {}
    by_id = {q.id: q for q in quizzes}
    shown: dict[int, QuizAttempt] = {}
    for attempt in (
        QuizAttempt.select()
        .where(
            (QuizAttempt.student == student_id)
            & QuizAttempt.quiz.in_(list(by_id))
            & grading.counts()
        )
        .order_by(QuizAttempt.started_at, QuizAttempt.id)
    ):
        quiz = by_id[attempt.quiz_id]
        if quiz.quiz_type == "ranked" and quiz.available_until is not None:
            graded = attempt.started_at < quiz.available_until
            if graded and attempt.quiz_id not in shown:
                shown[attempt.quiz_id] = attempt
            elif not graded and not _graded_in(shown.get(attempt.quiz_id), quiz):
                shown[attempt.quiz_id] = attempt  # no graded attempt: the latest retake
        else:
            shown[attempt.quiz_id] = attempt
    return shown


def _graded_in(attempt: QuizAttempt | None, quiz: Quiz) -> bool:
    return attempt is not None and attempt.started_at < quiz.available_until


def latest_finished(student_telegram_id: int, quiz_id: int) -> int | None:
    """The attempt the student's list shows for the quiz (graded for a ranked quiz)."""
    student = _student(student_telegram_id)
    quiz = Quiz.get_or_none(Quiz.id == quiz_id)
    if student is None or quiz is None:
        return None
    attempt = _shown_attempts(student.id, [quiz]).get(quiz_id)
    return attempt.id if attempt else None
