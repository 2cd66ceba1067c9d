"""Mentor statistics, on the school's calendar and without
test accounts."""

from __future__ import annotations

import datetime as dt

from test_ratings import TZ, School, generate_school, utc

from studymate.db.models import Download, Material, Question, QuizAttempt, Student, Topic
from studymate.services.stats import mentor_stats
from studymate.services.streaks import local_date, local_midnight_utc

NOW = utc("2026-02-10 15:00")


def material(school: School, title: str, topic: Topic | None = None) -> Material:
    topic = topic or Topic.create(mentor=school.mentor, name=f"Topic {title}")
    return Material.create(topic=topic, title=title, file_id=f"file-{title}")


def download(student: Student, item: Material, at: str) -> None:
    Download.create(student=student, material=item, downloaded_at=utc(at))


def test_mentor_statistics_leave_out_test_accounts(db):
    school = School()
    s, a, tester = school.student(2001), school.student(2002), school.student(2003)
    html = Topic.create(mentor=school.mentor, name="HTML")
    intro, forms, tables, spare = (material(school, t, html) for t in ("Intro", "Forms", "Tables", "Spare"))
    for i in range(5):
        Question.create(mentor=school.mentor, student=s, text=f"q{i}", is_answered=i < 3)
    download(s, intro, "2026-02-10 09:00")
    download(a, intro, "2026-02-10 10:00")
    download(a, forms, "2026-02-10 10:05")
    download(tester, tables, "2026-02-10 11:00")
    download(tester, tables, "2026-02-10 11:01")
    stats = mentor_stats(school.mentor.id, tz=TZ, test_ids=frozenset({2003}), now=NOW)
    assert (stats.students, stats.topics, stats.materials) == (2, 1, 4)
    assert (stats.questions, stats.unanswered) == (5, 2)
    assert (stats.active_today, stats.active_week) == (2, 2)
    # the test account's downloads do not count; never-downloaded materials are not "popular"
    assert [(p.title, p.downloads) for p in stats.popular] == [("Intro", 2), ("Forms", 1)]


def test_today_and_week_start_at_local_midnight(db):
    school = School()
    early, late, old, older = (school.student(2001 + i) for i in range(4))
    item = material(school, "Intro")
    download(early, item, "2026-02-10 00:30")  # today locally, yesterday in UTC
    download(late, item, "2026-02-09 23:30")  # yesterday
    download(old, item, "2026-02-04 00:10")  # six days before today: still in the last 7 days
    download(older, item, "2026-02-03 23:50")  # seven days before: not
    stats = mentor_stats(school.mentor.id, tz=TZ, test_ids=frozenset(), now=NOW)
    assert (stats.active_today, stats.active_week) == (1, 3)


def test_quizzes_count_as_activity_and_other_mentors_do_not(db):
    school, other = School(), School(1002, "Bob")
    s, t, u = school.student(2001), school.student(2002), school.student(2003)
    school.take(s, school.quiz("2026-02-10 09:00"), 5)
    school.take(t, school.quiz(ranked=False), 5, at="2026-02-09 12:00")
    school.take(u, other.quiz("2026-02-10 09:00"), 5)
    download(u, material(other, "Bob's"), "2026-02-10 10:00")
    stats = mentor_stats(school.mentor.id, tz=TZ, test_ids=frozenset({2002}), now=NOW)
    assert (stats.students, stats.active_today, stats.active_week) == (2, 1, 1)
    assert stats.popular == ()


def test_statistics_of_a_generated_school_agree_with_the_attempts(db):
    school, test_ids = generate_school(seed=5, students=30, quizzes=8)
    finished = [
        (a.finished_at, a.student.telegram_id)
        for a in QuizAttempt.select(QuizAttempt, Student).join(Student)
        .where(QuizAttempt.finished_at.is_null(False))
    ]
    now = max(at for at, _ in finished)  # the end of the generated term
    today = local_date(now, TZ)
    stats = mentor_stats(school.mentor.id, tz=TZ, test_ids=test_ids, now=now)
    assert stats.students == Student.select().count() - len(test_ids)

    def active(days_back: int) -> int:
        start = local_midnight_utc(today - dt.timedelta(days=days_back), TZ)
        return len({tg for at, tg in finished if at >= start and tg not in test_ids})

    assert (stats.active_today, stats.active_week) == (active(0), active(6))
    assert stats.active_week > stats.active_today > 0
