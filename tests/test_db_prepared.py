"""Statements composed once and run with fresh values give what the same peewee query gives,
on each engine: values in their stored form (dates), rows as Python values, an outer join
that found nothing as None."""

from __future__ import annotations

import datetime as dt

from peewee import JOIN

from studymate.db.models import Mentor, Student
from studymate.db.prepared import Prepared, columns_of, instance, slot

BORN = dt.datetime(2026, 9, 1, 8, 30, 15, 250_000)

_RENAME = Prepared(lambda: Student.update(full_name=slot("name")).where(Student.id == slot("id")))
_SINCE = Prepared(lambda: (
    Student.select(*columns_of(Student), Mentor.name)
    .join(Mentor, JOIN.LEFT_OUTER, on=(Mentor.id == Student.mentor))
    .where(Student.joined_at >= slot("since", Student.joined_at))
    .order_by(Student.id)
))


def _students(db) -> tuple[Student, Student]:
    mentor = Mentor.create(telegram_id=1, name="Anna", group_chat_id=-1, language="en")
    early = Student.create(telegram_id=10, full_name="Early", mentor=mentor, joined_at=BORN)
    late = Student.create(telegram_id=11, full_name="Late", mentor=mentor,
                          joined_at=BORN + dt.timedelta(days=1))
    return early, late


def test_each_run_takes_its_own_values(db):
    early, late = _students(db)
    assert _RENAME.rowcount(name="Aigul", id=early.id) == 1
    assert _RENAME.rowcount(name="Bekzat", id=late.id) == 1
    assert _RENAME.rowcount(name="Nobody", id=999) == 0
    assert [s.full_name for s in Student.select().order_by(Student.id)] == ["Aigul", "Bekzat"]


def test_dates_compare_and_come_back_as_stored(db):
    early, late = _students(db)
    rows = _SINCE.rows(since=BORN + dt.timedelta(hours=1))
    assert [row[0] for row in rows] == [late.id]
    student = instance(Student, rows[0][:-1])
    assert student.joined_at == BORN + dt.timedelta(days=1)
    assert student.mentor_id == late.mentor_id
    assert rows[0][-1] == "Anna"
    assert len(_SINCE.rows(since=BORN)) == 2


def test_an_absent_joined_row_is_none(db):
    assert instance(Mentor, [None] * len(columns_of(Mentor))) is None

