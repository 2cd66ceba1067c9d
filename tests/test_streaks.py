"""Learning streaks on the school's calendar."""

from __future__ import annotations

import datetime as dt

from test_ratings import TZ, School, utc

from studymate.db.models import QuizAttempt, Student
from studymate.services.ratings import on_attempt_finished
from studymate.services.streaks import local_date, local_midnight_utc, shown_streak, streak_of

MON, TUE, THU = dt.date(2026, 2, 2), dt.date(2026, 2, 3), dt.date(2026, 2, 5)


def stored(student: Student) -> tuple[int, int, dt.date | None]:
    row = Student.get_by_id(student.id)
    return row.current_streak, row.longest_streak, row.last_quiz_date


def test_streak_counts_each_day_once_and_keeps_the_record(db):
    school = School()
    s = school.student(2001)
    practice, ranked = school.quiz(ranked=False), school.quiz("2026-02-02 09:00")
    school.take(s, practice, 5, at="2026-02-02 10:00")
    assert stored(s) == (1, 1, MON)
    school.take(s, ranked, 5, at="2026-02-02 18:00")  # Monday again: unchanged
    assert stored(s) == (1, 1, MON)
    school.take(s, practice, 5, at="2026-02-03 12:00")
    assert stored(s) == (2, 2, TUE)
    school.take(s, practice, 5, at="2026-02-05 12:00")
    assert stored(s) == (1, 2, THU)


def test_days_are_local_days(db):
    """00:30 in Tashkent on Tuesday is Monday in UTC; it is Tuesday for the streak."""
    school = School()
    s = school.student(2001)
    quiz = school.quiz(ranked=False)
    school.take(s, quiz, 5, at="2026-02-02 08:00")
    school.take(s, quiz, 5, at="2026-02-03 00:30")
    assert stored(s) == (2, 2, TUE)
    assert local_date(utc("2026-02-03 00:30"), TZ) == TUE
    assert local_midnight_utc(TUE, TZ) == dt.datetime(2026, 2, 2, 19, 0)


def test_streak_is_shown_truthfully(db):
    school = School()
    s = school.student(2001)
    quiz = school.quiz(ranked=False)
    for day in ("2026-02-02", "2026-02-03", "2026-02-04"):
        school.take(s, quiz, 5, at=f"{day} 12:00")
    on = {day: streak_of(s.id, tz=TZ, now=utc(f"{day} 23:59")) for day in
          ("2026-02-04", "2026-02-05", "2026-02-06")}
    assert (on["2026-02-04"].current, on["2026-02-04"].longest) == (3, 3)
    assert on["2026-02-05"].current == 3 and on["2026-02-05"].active  # can still continue today
    assert (on["2026-02-06"].current, on["2026-02-06"].longest) == (0, 3)  # a day was missed
    assert not on["2026-02-06"].active
    assert stored(s)[0] == 3  # the stored streak restarts at 1 on the next quiz, as in v1
    school.take(s, quiz, 5, at="2026-02-07 12:00")
    assert stored(s) == (1, 3, dt.date(2026, 2, 7))


def test_empty_streak():
    assert shown_streak(0, 0, None, MON) == shown_streak(0, 0, None, THU)
    assert not shown_streak(0, 0, None, MON).active


def test_sweeper_finalised_attempt_counts_for_the_day_it_was_taken(db):
    school = School()
    s = school.student(2001)
    quiz = school.quiz("2026-02-02 09:00")
    school.take(s, school.quiz(ranked=False), 5, at="2026-02-02 10:00")
    late = QuizAttempt.create(student=s, quiz=quiz, score=2, total=10,
                              started_at=utc("2026-02-03 23:50"))
    school.take(s, school.quiz(ranked=False), 5, at="2026-02-05 10:00")  # Thursday: resets
    assert stored(s) == (1, 1, THU)
    # Tuesday's attempt is finalised on Thursday by the sweeper (after a restart)
    late.finished_at, late.finish_reason = utc("2026-02-05 11:00"), "abandoned"
    late.save()
    on_attempt_finished(late.id, tz=TZ, now=utc("2026-02-05 11:00"))
    assert stored(s) == (1, 1, THU)  # an older day never rewrites a newer streak
