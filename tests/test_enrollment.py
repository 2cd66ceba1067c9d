"""Role resolution, enrollment and mentor administration against a real database."""

from __future__ import annotations

import datetime as dt

import pytest

from studymate.db.models import Mentor, Student, utcnow
from studymate.services import enrollment, mentors
from studymate.services.enrollment import Role, TelegramProfile


def add_mentor(telegram_id=1001, group=-100500, name="Anna", language="ru"):
    info, created = mentors.add_mentor(
        telegram_id=telegram_id, name=name, group_chat_id=group, language=language
    )
    assert created
    return Mentor.get(Mentor.telegram_id == telegram_id)


def profile(telegram_id=2001, first="Ali", last="", username=None):
    return TelegramProfile(telegram_id, username, first, last)


def test_stranger_is_nobody(db):
    identity = enrollment.identify(3001, ttl=300, default_language="en")
    assert identity.role is Role.STRANGER and not identity.known and identity.language == "en"


def test_active_mentor_wins_over_student_row(db):
    mentor = add_mentor()
    enrollment.enroll(profile(1001), mentor_id=mentor.id, language="en")
    identity = enrollment.identify(1001, ttl=300)
    assert identity.role is Role.MENTOR and identity.mentor_name == "Anna"


def test_enroll_creates_then_refreshes_without_touching_language(db):
    mentor = add_mentor()
    name = enrollment.enroll(profile(first="Ali"), mentor_id=mentor.id, language="kaa")
    assert name == "Anna"
    student = Student.get(Student.telegram_id == 2001)
    assert (student.first_name, student.last_name, student.username, student.language) == ("Ali", "", None, "kaa")
    assert student.mentor_id == mentor.id and not student.profile_completed
    enrollment.enroll(profile(first="Ali", last="Valiev", username="ali"), mentor_id=mentor.id, language="en")
    student = Student.get(Student.telegram_id == 2001)
    assert (student.last_name, student.username, student.language) == ("Valiev", "ali", "kaa")


def test_membership_ttl(db):
    mentor = add_mentor()
    enrollment.enroll(profile(), mentor_id=mentor.id, language="ru")
    assert enrollment.identify(2001, ttl=300).membership_fresh
    Student.update(membership_checked_at=utcnow() - dt.timedelta(seconds=301)).execute()
    identity = enrollment.identify(2001, ttl=300)
    assert identity.role is Role.STUDENT and not identity.membership_fresh
    enrollment.confirm_membership(2001)
    assert enrollment.identify(2001, ttl=300).membership_fresh


def test_revoked_student_is_a_stranger_who_keeps_language(db):
    mentor = add_mentor()
    enrollment.enroll(profile(), mentor_id=mentor.id, language="en")
    enrollment.revoke_access(2001)
    identity = enrollment.identify(2001, ttl=300)
    assert identity.role is Role.STRANGER and identity.known and identity.language == "en"


def test_deactivated_mentor_takes_access_away(db):
    mentor = add_mentor()
    enrollment.enroll(profile(), mentor_id=mentor.id, language="ru")
    mentors.deactivate_mentor(1001)
    assert enrollment.identify(2001, ttl=300).role is Role.STRANGER
    assert enrollment.identify(1001, ttl=300).role is Role.STRANGER  # no longer a mentor
    assert [g.mentor_id for g in enrollment.active_mentor_groups()] == []


@pytest.mark.parametrize(
    ("current", "results", "expected"),
    [
        (None, {}, None),
        (None, {1: False, 2: True, 3: True}, 2),  # first confirmed group, by mentor id
        (None, {1: None, 2: False}, None),  # failed checks admit nobody new
        (3, {1: True, 3: True}, 3),  # never silently moved to another mentor
        (3, {1: True, 3: None}, 3),  # own check failed: decide nothing
        (3, {1: True, 3: False}, 1),  # left the group, member elsewhere
        (3, {1: False}, None),  # mentor deactivated, no other group
    ],
)
def test_choose_mentor(current, results, expected):
    assert enrollment.choose_mentor(current, results) == expected


def test_language_is_stored_on_mentor_before_student(db):
    add_mentor(language="ru")
    assert enrollment.set_language(1001, "kaa")
    assert enrollment.language_of(1001, "ru") == "kaa"
    assert not enrollment.set_language(4242, "en")  # nobody to store it for
    assert enrollment.language_of(4242, "en") == "en"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"group_chat_id": 100500}, "bad_group_id"),
        ({"name": "   "}, "bad_name"),
        ({"name": "x" * 101}, "bad_name"),
        ({"telegram_id": 0}, "bad_telegram_id"),
        ({"language": "de"}, "bad_language"),
    ],
)
def test_mentor_validation(db, kwargs, code):
    args = {"telegram_id": 1001, "name": "Anna", "group_chat_id": -1, "language": "ru"} | kwargs
    with pytest.raises(mentors.MentorError) as err:
        mentors.add_mentor(**args)
    assert err.value.code == code
    assert Mentor.select().count() == 0


def test_add_existing_mentor_updates_and_reactivates(db):
    add_mentor()
    mentors.deactivate_mentor(1001)
    info, created = mentors.add_mentor(telegram_id=1001, name="Anna  B", group_chat_id=-7, language="ru")
    assert not created and info.is_active and info.name == "Anna B" and info.group_chat_id == -7
    assert [m.telegram_id for m in mentors.list_mentors()] == [1001]
