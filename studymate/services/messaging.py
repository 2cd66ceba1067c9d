"""Mentor → student messages: the picker, one student, and paced broadcasts."""

from __future__ import annotations

from dataclasses import dataclass

from studymate.db.models import OutboxBatch, OutboxMessage, Student
from studymate.services.errors import NotFound
from studymate.services.outbox import Outgoing, enqueue
from studymate.services.paging import Page, paginate

PICKER_PAGE_SIZE = 5


@dataclass(frozen=True, slots=True)
class Recipient:
    id: int
    telegram_id: int
    name: str
    language: str


def messaging_name(student: Student) -> str:
    """As v1 showed it: full name, else first+last, else "ID: n"; plus " (@username)"."""
    name = student.full_name or " ".join(p for p in (student.first_name, student.last_name) if p)
    name = name or f"ID: {student.telegram_id}"
    return f"{name} (@{student.username})" if student.username else name


def _recipient(student: Student) -> Recipient:
    return Recipient(student.id, student.telegram_id, messaging_name(student), student.language)


def students_page(mentor_id: int, page: int) -> Page[Recipient]:
    query = Student.select().where(Student.mentor == mentor_id).order_by(Student.joined_at, Student.id)
    return paginate(query, page, _recipient, per_page=PICKER_PAGE_SIZE)


def get_student(mentor_id: int, student_id: int) -> Recipient:
    student = Student.get_or_none((Student.id == student_id) & (Student.mentor == mentor_id))
    if student is None:
        raise NotFound(student_id)
    return _recipient(student)


def broadcast_recipients(mentor_id: int) -> list[Recipient]:
    """Everyone a broadcast reaches: the mentor's students, test accounts included (the mentor
    sees what the students get), minus students known to have blocked the bot. Its length is
    the count on the 📢 button, in the prompt and in the confirmation."""
    query = (
        Student.select()
        .where((Student.mentor == mentor_id) & Student.blocked_at.is_null())
        .order_by(Student.id)
    )
    return [_recipient(s) for s in query]


def blocked_names(mentor_id: int) -> list[str]:
    """The students a broadcast will not reach: they blocked the bot."""
    query = (
        Student.select()
        .where((Student.mentor == mentor_id) & Student.blocked_at.is_null(False))
        .order_by(Student.id)
    )
    return [messaging_name(s) for s in query]


def missed_names(batch_id: int) -> list[str]:
    """Who did not get a broadcast: its messages that failed, and the students left out
    because they had blocked the bot."""
    batch = OutboxBatch.get_by_id(batch_id)
    if batch.mentor_id is None:
        return []
    failed = OutboxMessage.select(OutboxMessage.chat_id).where(
        (OutboxMessage.batch == batch_id) & (OutboxMessage.status == "failed")
    )
    query = (
        Student.select()
        .where(
            (Student.mentor == batch.mentor_id)
            & (Student.telegram_id.in_(failed) | Student.blocked_at.is_null(False))
        )
        .order_by(Student.id)
    )
    return [messaging_name(s) for s in query]


def queue_broadcast(
    mentor_id: int, messages: list[Outgoing], *, status_chat_id: int, status_message_id: int
) -> int:
    return enqueue(
        messages,
        kind="broadcast",
        mentor_id=mentor_id,
        status_chat_id=status_chat_id,
        status_message_id=status_message_id,
    )
