"""Anonymous questions: text only, escaped when shown, kept until the mentor can receive them.

The mentor never learns who asked: what reaches them is the text and an id. A question that
could not be delivered stays undelivered (``delivered_at`` null) and is sent on the mentor's next
``/start``. Replies accumulate in ``reply_text`` separated by a line with "---". A question the
mentor dismisses without replying (``dismissed_at``) leaves the unanswered list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from studymate.db.models import Mentor, Question, Student, utcnow
from studymate.services.errors import NotFound
from studymate.services.paging import Page, paginate

REPLY_SEPARATOR: Final = "\n\n---\n\n"
LIST_PAGE_SIZE: Final = 10


@dataclass(frozen=True, slots=True)
class AnonymousQuestion:
    id: int
    text: str
    is_answered: bool


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a question goes (the mentor) or where a reply goes (the student)."""

    question_id: int
    chat_id: int
    language: str
    text: str
    reply_to_message_id: int | None = None


def ask(student_telegram_id: int, text: str, message_id: int) -> Delivery:
    """Store a question from a student to their mentor; returns how to deliver it."""
    student = Student.get(Student.telegram_id == student_telegram_id)
    mentor = Mentor.get_by_id(student.mentor_id)
    question = Question.create(
        mentor=mentor.id,
        student=student.id,
        student_telegram_id=student_telegram_id,
        text=text,  # whole: the bot refuses a text too long to pass on, never cuts it
        message_id=message_id,
    )
    return Delivery(question.id, mentor.telegram_id, mentor.language, question.text)


def mark_delivered(question_id: int, mentor_message_id: int | None = None) -> None:
    """``mentor_message_id``: the message that brought it, marked answered after a reply."""
    Question.update(delivered_at=utcnow(), mentor_message_id=mentor_message_id).where(
        Question.id == question_id
    ).execute()


def undelivered(mentor_id: int) -> list[Delivery]:
    mentor = Mentor.get_by_id(mentor_id)
    query = (
        Question.select()
        .where((Question.mentor == mentor_id) & Question.delivered_at.is_null())
        .order_by(Question.created_at, Question.id)
    )
    return [Delivery(q.id, mentor.telegram_id, mentor.language, q.text) for q in query]


def get(mentor_id: int, question_id: int) -> AnonymousQuestion:
    question = Question.get_or_none((Question.id == question_id) & (Question.mentor == mentor_id))
    if question is None:
        raise NotFound(question_id)
    return AnonymousQuestion(question.id, question.text, question.is_answered)


def _own(mentor_id: int, question_id: int) -> Question:
    question = Question.get_or_none((Question.id == question_id) & (Question.mentor == mentor_id))
    if question is None:
        raise NotFound(question_id)
    return question


def mentor_message_id(mentor_id: int, question_id: int) -> int | None:
    """The message in the mentor's chat that brought the question (None for older ones)."""
    return _own(mentor_id, question_id).mentor_message_id


def dismiss(mentor_id: int, question_id: int) -> int | None:
    """The mentor puts a question aside without replying: it leaves the unanswered list.

    Returns the id of the message that brought it, to be marked. Only the question's own
    mentor may dismiss it (``NotFound`` otherwise); dismissing twice changes nothing."""
    question = _own(mentor_id, question_id)
    if question.dismissed_at is None:
        Question.update(dismissed_at=utcnow()).where(Question.id == question.id).execute()
    return question.mentor_message_id


def reply(mentor_id: int, question_id: int, text: str) -> Delivery | None:
    """Store a reply; returns the delivery to the student, or None if they are unknown."""
    question = Question.get_or_none((Question.id == question_id) & (Question.mentor == mentor_id))
    if question is None:
        raise NotFound(question_id)
    question.reply_text = f"{question.reply_text}{REPLY_SEPARATOR}{text}" if question.reply_text else text
    question.is_answered = True
    question.replied_at = utcnow()
    question.save()
    if question.student_telegram_id is None:
        return None
    student = Student.get_or_none(Student.telegram_id == question.student_telegram_id)
    language = student.language if student is not None else "ru"
    return Delivery(question.id, question.student_telegram_id, language, text, question.message_id)


def unanswered_page(mentor_id: int, page: int) -> Page[AnonymousQuestion]:
    query = (
        Question.select()
        .where(
            (Question.mentor == mentor_id) & ~Question.is_answered & Question.dismissed_at.is_null()
        )
        .order_by(Question.created_at.desc(), Question.id.desc())
    )
    return paginate(
        query, page, lambda q: AnonymousQuestion(q.id, q.text, q.is_answered), per_page=LIST_PAGE_SIZE
    )
