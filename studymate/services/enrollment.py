"""Who is talking to the bot, and whether a student may use it (re-checked, not only at /start).

Rules:
- An active mentor is a mentor everywhere (mentor check wins over a Student row).
- A student keeps their mentor while they are still in that mentor's group; they are never
  silently moved to another mentor whose group they are also in.
- Membership is confirmed with getChatMember (done by the bot layer) and trusted for
  ``ttl`` seconds (``Student.membership_checked_at``), then confirmed again.
- A confirmed "not a member" (or a deactivated mentor) removes the mentor link: no access.
- A check that failed (network, Telegram error) decides nothing for an existing student.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from peewee import JOIN

from studymate.config import normalize_language
from studymate.db.models import Mentor, QuizAttempt, Student, UserLanguage, utcnow
from studymate.db.prepared import Prepared, slot


class Role(StrEnum):
    MENTOR = "mentor"
    STUDENT = "student"
    STRANGER = "stranger"


@dataclass(frozen=True, slots=True)
class Identity:
    """What the bot knows about a Telegram user at the start of an update."""

    telegram_id: int
    role: Role
    language: str
    known: bool  # has a Mentor or Student row (a language was chosen or inherited)
    mentor_id: int | None = None  # the mentor row of a mentor, or a student's mentor
    mentor_name: str = ""
    mentor_group_id: int | None = None
    student_id: int | None = None
    membership_fresh: bool = False  # student's membership confirmed within the TTL
    quiz_attempt: int | None = None  # a running quiz attempt: other actions wait for it
    quiz_exam: bool = False
    is_deactivated_mentor: bool = False  # a mentor an admin switched off
    mentor_deactivated: bool = False  # a student whose mentor was switched off

    @property
    def denial(self) -> str:
        """The text key that tells a refused user why (not "join the group" when that is not it)."""
        if self.is_deactivated_mentor:
            return "mentor_self_inactive"
        if self.mentor_deactivated:
            return "mentor_inactive"
        return "access_denied"


@dataclass(frozen=True, slots=True)
class MentorGroup:
    mentor_id: int
    group_chat_id: int


@dataclass(frozen=True, slots=True)
class TelegramProfile:
    telegram_id: int
    username: str | None
    first_name: str
    last_name: str


def identify(telegram_id: int, *, ttl: int, default_language: str = "ru") -> Identity:
    """Resolve role, language and a running quiz in one query (two for a user without a
    Student row: mentors and strangers).

    A quiz attempt whose session deadline has passed does not hold the student: the sweeper
    finalises it, and meanwhile the student's other actions are served.
    """
    now = utcnow()
    row = _student_row(telegram_id, now)
    if row is None:
        mentor = Mentor.get_or_none(Mentor.telegram_id == telegram_id)
        if mentor is not None and mentor.is_active:
            return _mentor_identity(telegram_id, mentor, default_language)
        # An inactive mentor keeps their language; so does an admin who is neither role.
        if mentor is not None:
            language = mentor.language
        else:
            chosen = UserLanguage.get_or_none(UserLanguage.telegram_id == telegram_id)
            language = chosen.language if chosen is not None else None
        return Identity(
            telegram_id, Role.STRANGER, normalize_language(language, default_language),
            known=language is not None, is_deactivated_mentor=mentor is not None,
        )
    own_mentor_inactive = False
    if row["own_mentor"] is not None:  # a mentor with a Student row too: the mentor wins
        mentor = Mentor.get_by_id(row["own_mentor"])
        if mentor.is_active:
            return _mentor_identity(telegram_id, mentor, default_language)
        row["language"] = mentor.language
        own_mentor_inactive = True
    linked = row["mentor"] is not None and bool(row["mentor_active"])
    checked = row["membership_checked_at"]
    fresh = bool(linked and checked is not None and now - checked < dt.timedelta(seconds=ttl))
    return Identity(
        telegram_id=telegram_id,
        role=Role.STUDENT if linked else Role.STRANGER,
        language=normalize_language(row["language"], default_language),
        known=True,
        mentor_id=row["mentor"] if linked else None,
        mentor_name=row["mentor_name"] if linked else "",
        mentor_group_id=row["mentor_group"] if linked else None,
        student_id=row["id"],
        membership_fresh=fresh,
        quiz_attempt=row["attempt"],
        quiz_exam=bool(row["attempt"] is not None and row["exam"]),
        is_deactivated_mentor=own_mentor_inactive,
        mentor_deactivated=row["mentor"] is not None and not row["mentor_active"],
    )


def _student_row(telegram_id: int, now: dt.datetime) -> dict[str, Any] | None:
    """The Student row with its mentor, a Mentor row of the same person, and the running
    quiz attempt (not past its session deadline), as one row."""
    rows = _STUDENT_ROW.rows(telegram_id=telegram_id, now=now)
    return dict(zip(_STUDENT_ROW_KEYS, rows[0], strict=True)) if rows else None


def _student_row_query() -> Any:
    same_person = Mentor.alias()
    return (
        Student.select(
            Student.id, Student.language, Student.mentor, Student.membership_checked_at,
            Mentor.is_active, Mentor.name, Mentor.group_chat_id, same_person.id,
            QuizAttempt.id, QuizAttempt.is_exam,
        )
        .join(Mentor, JOIN.LEFT_OUTER, on=(Student.mentor == Mentor.id))
        .switch(Student)
        .join(same_person, JOIN.LEFT_OUTER, on=(same_person.telegram_id == Student.telegram_id))
        .switch(Student)
        .join(
            QuizAttempt, JOIN.LEFT_OUTER,
            on=(
                (QuizAttempt.student == Student.id)
                & QuizAttempt.finished_at.is_null()
                & (QuizAttempt.session_deadline.is_null()
                   | (QuizAttempt.session_deadline > slot("now", QuizAttempt.session_deadline)))
            ),
        )
        .where(Student.telegram_id == slot("telegram_id"))
        .limit(1)
    )


# Every update but a quiz answer starts with this read: composed once.
_STUDENT_ROW = Prepared(_student_row_query)
_STUDENT_ROW_KEYS = (
    "id", "language", "mentor", "membership_checked_at", "mentor_active", "mentor_name",
    "mentor_group", "own_mentor", "attempt", "exam",
)


def _mentor_identity(telegram_id: int, mentor: Mentor, default_language: str) -> Identity:
    return Identity(
        telegram_id=telegram_id,
        role=Role.MENTOR,
        language=normalize_language(mentor.language, default_language),
        known=True,
        mentor_id=mentor.id,
        mentor_name=mentor.name,
        mentor_group_id=mentor.group_chat_id,
    )


def active_mentor_groups() -> list[MentorGroup]:
    """Every active mentor's group, in a stable order (by mentor id)."""
    query = Mentor.select(Mentor.id, Mentor.group_chat_id).where(Mentor.is_active).order_by(Mentor.id)
    return [MentorGroup(m.id, m.group_chat_id) for m in query]


def choose_mentor(
    current_mentor_id: int | None, results: dict[int, bool | None]
) -> int | None:
    """Given membership results per mentor id (None = check failed), pick the student's mentor.

    The current mentor wins while the student is (or may still be) in their group; otherwise
    the first mentor, by id, whose group confirmed the membership.
    """
    if current_mentor_id in results and results[current_mentor_id] is not False:
        return current_mentor_id  # confirmed, or the check failed: keep what the student has
    for mentor_id in sorted(results):
        if results[mentor_id] is True:
            return mentor_id
    return None


def enroll(profile: TelegramProfile, *, mentor_id: int, language: str) -> str:
    """Create or refresh the Student row for a confirmed member of ``mentor_id``'s group.

    Returns the mentor's name (for the welcome text).
    """
    now = utcnow()
    student = Student.get_or_none(Student.telegram_id == profile.telegram_id)
    if student is None:
        Student.create(
            telegram_id=profile.telegram_id,
            username=profile.username,
            first_name=profile.first_name[:100],
            last_name=profile.last_name[:100],
            mentor=mentor_id,
            language=language,
            membership_checked_at=now,
            joined_at=now,
            last_active=now,
        )
        return Mentor.get_by_id(mentor_id).name
    student.username = profile.username
    student.first_name = profile.first_name[:100]
    student.last_name = profile.last_name[:100]
    student.mentor = mentor_id
    student.membership_checked_at = now
    student.last_active = now
    student.blocked_at = None
    student.save()
    return Mentor.get_by_id(mentor_id).name


def confirm_membership(telegram_id: int) -> None:
    """The student's own group confirmed them again: restart the TTL."""
    Student.update(membership_checked_at=utcnow()).where(Student.telegram_id == telegram_id).execute()


def revoke_access(telegram_id: int) -> None:
    """The student is no longer in any active mentor's group: drop the mentor link."""
    (
        Student.update(mentor=None, membership_checked_at=utcnow())
        .where(Student.telegram_id == telegram_id)
        .execute()
    )


def set_language(telegram_id: int, language: str, *, keep_for_stranger: bool = False) -> bool:
    """Store the language on the Mentor row (even inactive) or else the Student row; someone
    with neither (an admin) keeps it in ``UserLanguage`` when ``keep_for_stranger``."""
    if Mentor.update(language=language).where(Mentor.telegram_id == telegram_id).execute():
        return True
    if (
        Student.update(language=language, last_active=utcnow())
        .where(Student.telegram_id == telegram_id)
        .execute()
    ):
        return True
    if not keep_for_stranger:
        return False
    (
        UserLanguage.insert(telegram_id=telegram_id, language=language, updated_at=utcnow())
        .on_conflict(
            conflict_target=[UserLanguage.telegram_id],
            update={UserLanguage.language: language, UserLanguage.updated_at: utcnow()},
        )
        .execute()
    )
    return True


def language_of(telegram_id: int, default_language: str) -> str:
    """A recipient's own language (used for alerts and messages to other users)."""
    mentor = Mentor.get_or_none(Mentor.telegram_id == telegram_id)
    if mentor is not None:
        return normalize_language(mentor.language, default_language)
    student = Student.get_or_none(Student.telegram_id == telegram_id)
    if student is not None:
        return normalize_language(student.language, default_language)
    chosen = UserLanguage.get_or_none(UserLanguage.telegram_id == telegram_id)
    if chosen is not None:
        return normalize_language(chosen.language, default_language)
    return default_language


def clear_blocked(telegram_id: int) -> None:
    """A user who writes to the bot has evidently unblocked it."""
    (
        Student.update(blocked_at=None)
        .where((Student.telegram_id == telegram_id) & Student.blocked_at.is_null(False))
        .execute()
    )
