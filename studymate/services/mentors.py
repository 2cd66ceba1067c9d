"""Mentor administration (CLI ``studymate mentor`` and the admins' in-bot commands)."""

from __future__ import annotations

from dataclasses import dataclass

from peewee import JOIN, fn

from studymate.config import LANGUAGES, normalize_language
from studymate.db.models import Mentor, Student


class MentorError(ValueError):
    """Input that cannot become a mentor; ``code`` names the problem for a localized text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class MentorInfo:
    telegram_id: int
    name: str
    group_chat_id: int
    language: str
    is_active: bool
    students: int


def _info(mentor: Mentor, students: int = 0) -> MentorInfo:
    return MentorInfo(
        telegram_id=mentor.telegram_id,
        name=mentor.name,
        group_chat_id=mentor.group_chat_id,
        language=mentor.language,
        is_active=mentor.is_active,
        students=students,
    )


def validate(*, telegram_id: int, name: str, group_chat_id: int, language: str) -> str:
    """Check the fields; returns the cleaned name."""
    if telegram_id <= 0:
        raise MentorError("bad_telegram_id", "telegram id must be a positive number")
    if group_chat_id >= 0:
        raise MentorError(
            "bad_group_id",
            "group chat id must be negative (add @RawDataBot to the group to learn it)",
        )
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= 100:
        raise MentorError("bad_name", "name must be 1 to 100 characters")
    if language not in LANGUAGES:
        raise MentorError("bad_language", f"language must be one of {', '.join(LANGUAGES)}")
    return cleaned


def add_mentor(
    *, telegram_id: int, name: str, group_chat_id: int, language: str = "ru"
) -> tuple[MentorInfo, bool]:
    """Create the mentor, or update and reactivate an existing one. Returns (info, created)."""
    language = normalize_language(language, "")
    name = validate(
        telegram_id=telegram_id, name=name, group_chat_id=group_chat_id, language=language
    )
    mentor = Mentor.get_or_none(Mentor.telegram_id == telegram_id)
    created = mentor is None
    if created:
        mentor = Mentor.create(
            telegram_id=telegram_id, name=name, group_chat_id=group_chat_id, language=language
        )
    else:
        mentor.name = name
        mentor.group_chat_id = group_chat_id
        mentor.is_active = True
        mentor.save()
    return _info(mentor), created


def list_mentors() -> list[MentorInfo]:
    query = (
        Mentor.select(Mentor, fn.COUNT(Student.id).alias("n"))
        .join(Student, JOIN.LEFT_OUTER, on=(Student.mentor == Mentor.id))
        .group_by(Mentor.id)
        .order_by(Mentor.id)
    )
    return [_info(m, m.n) for m in query]


def find_mentor(telegram_id: int) -> MentorInfo | None:
    mentor = Mentor.get_or_none(Mentor.telegram_id == telegram_id)
    if mentor is None:
        return None
    students = Student.select().where(Student.mentor == mentor).count()
    return _info(mentor, students)


def deactivate_mentor(telegram_id: int) -> MentorInfo | None:
    """Deactivate; their students lose access at their next action. None if unknown."""
    return _set_active(telegram_id, False)


def activate_mentor(telegram_id: int) -> MentorInfo | None:
    """Switch a deactivated mentor back on; their students come back with them."""
    return _set_active(telegram_id, True)


def _set_active(telegram_id: int, active: bool) -> MentorInfo | None:
    mentor = Mentor.get_or_none(Mentor.telegram_id == telegram_id)
    if mentor is None:
        return None
    mentor.is_active = active
    mentor.save()
    return _info(mentor)
