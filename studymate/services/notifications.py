"""Which notices may reach a student, and when: categories they can turn off, quiet hours.

Rules:
- Categories a student controls: new quizzes, reminders, new materials, the streak nudge.
  Defaults for a student who never opened the 🔔 screen: all on except the streak nudge
  (a nudge nobody asked for is nagging).
- A mentor's own message and a broadcast are never muted: they are the mentor talking.
- Quiet hours (default 22:00–08:00 in the school's ``TIMEZONE``): a non-urgent notice due
  then is delivered when they end, not dropped. Start equal to end means no quiet hours.

``delivery_time`` and ``quiet_until`` are pure (preferences + a clock); the rest reads and
writes the preferences.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from studymate.db.models import NotificationPrefs, Student, utcnow
from studymate.services.outbox import Outgoing

DEFAULT_TZ: Final = ZoneInfo("Asia/Tashkent")  # the default TIMEZONE
DAY_MINUTES: Final = 24 * 60


class Category(StrEnum):
    NEW_QUIZZES = "new_quizzes"
    REMINDERS = "reminders"
    MATERIALS = "materials"
    STREAK = "streak"
    MENTOR = "mentor"  # a mentor's message, a broadcast, a digest for the mentor: never muted


MUTABLE: Final = (Category.NEW_QUIZZES, Category.REMINDERS, Category.MATERIALS, Category.STREAK)


@dataclass(frozen=True, slots=True)
class School:
    """The school's calendar and the quiet hours of students who did not choose their own."""

    tz: ZoneInfo = DEFAULT_TZ
    quiet: tuple[int, int] = (22 * 60, 8 * 60)  # minutes after local midnight; equal: none


DEFAULT_SCHOOL: Final = School()


@dataclass(frozen=True, slots=True)
class Prefs:
    new_quizzes: bool = True
    reminders: bool = True
    materials: bool = True
    streak: bool = False
    quiet_start: int | None = None  # minutes after local midnight; None: the school's
    quiet_end: int | None = None

    def quiet(self, school: School) -> tuple[int, int]:
        if self.quiet_start is None or self.quiet_end is None:
            return school.quiet
        return (self.quiet_start, self.quiet_end)

    def allows(self, category: Category) -> bool:
        if category is Category.MENTOR:
            return True
        return bool(getattr(self, category.value))


DEFAULTS: Final = Prefs()


def local_now(now: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return now.replace(tzinfo=dt.UTC).astimezone(tz)


def _utc(local: dt.datetime) -> dt.datetime:
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def quiet_until(prefs: Prefs, now: dt.datetime, school: School) -> dt.datetime | None:
    """The end of the quiet hours ``now`` (naive UTC) falls in, as naive UTC; None if not quiet."""
    start, end = prefs.quiet(school)
    if start == end:
        return None
    local = local_now(now, school.tz)
    minute = local.hour * 60 + local.minute
    if start < end:
        inside = start <= minute < end
    else:  # across midnight: 22:00–08:00
        inside = minute >= start or minute < end
    if not inside:
        return None
    day = local.date() if minute < end else local.date() + dt.timedelta(days=1)
    wall = dt.datetime.combine(day, dt.time(end // 60, end % 60))
    return _utc(wall.replace(tzinfo=school.tz))


def delivery_time(
    prefs: Prefs, category: Category, now: dt.datetime, school: School = DEFAULT_SCHOOL
) -> dt.datetime | None:
    """When a notice of ``category`` due ``now`` may be delivered: now, the end of the quiet
    hours, or None when the student turned the category off."""
    if category is Category.MENTOR:
        return now
    if not prefs.allows(category):
        return None
    return quiet_until(prefs, now, school) or now


def local_minutes(moment: dt.time) -> int:
    return moment.hour * 60 + moment.minute


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- stored preferences -----------------------------------------------------------------------


def _from_row(row: NotificationPrefs | None) -> Prefs:
    if row is None:
        return DEFAULTS
    return Prefs(row.new_quizzes, row.reminders, row.materials, row.streak,
                 row.quiet_start, row.quiet_end)


def load(student_id: int) -> Prefs:
    return _from_row(NotificationPrefs.get_or_none(NotificationPrefs.student == student_id))


def load_for_chats(chat_ids: Iterable[int]) -> dict[int, Prefs]:
    """Preferences by Telegram id (students without a row get the defaults)."""
    ids = list(set(chat_ids))
    found: dict[int, Prefs] = dict.fromkeys(ids, DEFAULTS)
    for start in range(0, len(ids), 500):
        rows = (
            NotificationPrefs.select(NotificationPrefs, Student.telegram_id)
            .join(Student)
            .where(Student.telegram_id.in_(ids[start : start + 500]))
        )
        for row in rows:
            found[row.student.telegram_id] = _from_row(row)
    return found


def _save(student_id: int, prefs: Prefs) -> Prefs:
    values = dataclasses.asdict(prefs) | {"updated_at": utcnow()}
    (
        NotificationPrefs.insert(student=student_id, **values)
        .on_conflict(conflict_target=[NotificationPrefs.student], update=values)
        .execute()
    )
    return prefs


def toggle(student_id: int, category: Category) -> Prefs:
    """Turn one category on or off; mentor messages cannot be turned off."""
    if category not in MUTABLE:
        raise ValueError(f"{category} cannot be turned off")
    prefs = load(student_id)
    return _save(student_id, dataclasses.replace(prefs, **{category.value: not prefs.allows(category)}))


def set_quiet_hours(student_id: int, start: int, end: int) -> Prefs:
    """Set the student's own quiet hours (minutes after local midnight); equal values: none."""
    start, end = start % DAY_MINUTES, end % DAY_MINUTES
    return _save(student_id, dataclasses.replace(load(student_id), quiet_start=start, quiet_end=end))


def shift_quiet_hours(student_id: int, *, start_by: int = 0, end_by: int = 0,
                      school: School = DEFAULT_SCHOOL) -> Prefs:
    """Move the start or the end of the student's quiet hours (from the school's default)."""
    start, end = load(student_id).quiet(school)
    return set_quiet_hours(student_id, start + start_by, end + end_by)


def plan(
    messages: list[Outgoing], category: Category, *, now: dt.datetime | None = None,
    school: School | None = None, not_after: dt.datetime | None = None,
) -> list[Outgoing]:
    """The messages of ``category`` that may go out, each with the time it may be delivered:
    dropped for students who turned the category off, held until their quiet hours end, and
    dropped if that would be after ``not_after`` (a reminder for a quiz already closed)."""
    now = now or utcnow()
    school = school or DEFAULT_SCHOOL
    prefs = load_for_chats(m.chat_id for m in messages)
    planned = []
    for message in messages:
        at = delivery_time(prefs[message.chat_id], category, now, school)
        if at is None or (not_after is not None and at >= not_after):
            continue
        planned.append(dataclasses.replace(message, not_before=at))
    return planned
