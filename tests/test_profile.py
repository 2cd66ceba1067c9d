"""Profile: names as people write them, statistics."""

from __future__ import annotations

import datetime as dt

import pytest
from test_ratings import TZ, School, generate_school, utc

from studymate.db.models import Quiz, QuizAttempt, Student
from studymate.services.profile import (
    NameProblem,
    check_full_name,
    load_profile,
    profile_stats,
    save_full_name,
    telegram_name,
)


@pytest.mark.parametrize(
    "name",
    ["O'Neil", "McDonald", "Анна-Мария", "Jean-Luc Picard", "O’Brien", "J. R. R. Tolkien",
     "Gʻulom Oʻktamov", "Ta`jim Ma‘ruf", "Ali", "李小龍", "محمد علی", "Zoë Ŝtefan", "Ерғали Әлі"],
)
def test_real_names_are_kept_as_typed(name):
    assert check_full_name(name) == (check_full_name(name).__class__(name, None))


@pytest.mark.parametrize(
    ("text", "name"),
    [("  али   ВАЛИЕВ ", "Али Валиев"), ("Anna\tMaria\n Smith", "Anna Maria Smith")],
)
def test_spaces_are_trimmed_and_collapsed(text, name):
    check = check_full_name(text)
    assert check.ok and check.name == name


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Al", NameProblem.TOO_SHORT),
        ("  A  ", NameProblem.TOO_SHORT),
        ("", NameProblem.TOO_SHORT),
        ("A" * 201, NameProblem.TOO_LONG),
        ("Ali@", NameProblem.INVALID),
        ("Ali2 Valiev", NameProblem.INVALID),
        ("Ali 😀", NameProblem.INVALID),
        ("ali_valiev", NameProblem.INVALID),
        ("<b>Ali</b>", NameProblem.INVALID),
        ("- - -", NameProblem.INVALID),
        ("Ali -", NameProblem.INVALID),
        ("Ali\u200bValiev", NameProblem.INVALID),
    ],
)
def test_bad_names_are_refused_with_a_reason(text, problem):
    assert check_full_name(text).problem is problem
    assert problem.value.startswith("profile_name_")  # the catalog key of the message


def test_limits_are_counted_in_characters():
    assert check_full_name("А" * 200).ok
    assert check_full_name("Ли").problem is NameProblem.TOO_SHORT
    assert check_full_name("И\u0306ван").name == "Йван"  # combining breve composed (NFC)


def test_setup_refuses_bad_names_and_keeps_a_good_one_as_typed(db):
    school = School()
    s = school.student(2001, first_name="Ali", last_name="")
    assert not load_profile(s.id, tz=TZ).completed
    assert save_full_name(s.id, "Al").problem is NameProblem.TOO_SHORT
    assert save_full_name(s.id, "Ali@").problem is NameProblem.INVALID
    assert not Student.get_by_id(s.id).profile_completed
    assert save_full_name(s.id, "  али   ВАЛИЕВ ").ok
    row = Student.get_by_id(s.id)
    assert (row.full_name, row.profile_completed) == ("Али Валиев", True)


def test_telegram_name_is_validated_too(db):
    school = School()
    emoji = school.student(2001, first_name="😎 Cool", last_name="Guy")
    assert save_full_name(emoji.id, telegram_name("😎 Cool", "Guy")).problem is NameProblem.INVALID
    assert not Student.get_by_id(emoji.id).profile_completed
    assert telegram_name("Ali", "") == "Ali" and telegram_name("", "") == ""
    assert save_full_name(emoji.id, telegram_name("", "")).problem is NameProblem.TOO_SHORT


def test_view_counts_every_finished_quiz_on_local_days(db):
    school = School()
    s = school.student(2001, username="ali", full_name="Ali Valiev", profile_completed=True,
                       joined_at=dt.datetime(2026, 2, 1, 20, 0))  # 01:00 on Feb 2 local
    school.take(s, school.quiz("2026-02-02 09:00"), 8, at="2026-02-02 10:00")
    school.take(s, school.quiz(ranked=False), 5, at="2026-02-03 10:00")
    school.take(s, school.quiz(ranked=False), 9, at="2026-02-03 11:00")
    profile = load_profile(s.id, tz=TZ, now=utc("2026-02-03 12:00"))
    stats = profile.stats
    assert (stats.total_quizzes, stats.ranked, stats.practice) == (3, 1, 2)
    assert stats.avg_percentage == 73.3
    assert (stats.best_score, stats.best_total, stats.best_percentage) == (9, 10, 90.0)
    assert (profile.streak.current, profile.streak.longest, profile.streak.active) == (2, 2, True)
    assert (profile.full_name, profile.username, profile.mentor_name) == ("Ali Valiev", "ali", "Anna")
    assert profile.joined == dt.date(2026, 2, 2)
    assert save_full_name(s.id, "Ali Valiev").ok


def test_a_student_without_attempts_sees_zeros(db):
    school = School()
    s = school.student(2001)
    profile = load_profile(s.id, tz=TZ)
    stats = profile.stats
    assert (stats.total_quizzes, stats.ranked, stats.practice, stats.avg_percentage) == (0, 0, 0, 0.0)
    assert (stats.best_score, stats.best_total, stats.best_percentage) == (0, 0, 0.0)
    assert (profile.streak.current, profile.streak.longest, profile.streak.active) == (0, 0, False)
    assert load_profile(10**9, tz=TZ) is None


def test_best_is_by_percentage_and_statistics_are_per_mentor(db):
    school = School()
    other = School(1002, "Bob")
    s = school.student(2001)
    school.take(s, school.quiz(ranked=False), 9, total=10, at="2026-02-02 10:00")
    school.take(s, school.quiz(ranked=False), 15, total=20, at="2026-02-02 11:00")
    # a ranked quiz taken only after its window counts as practice
    school.take(s, school.quiz("2026-01-20 09:00"), 1, total=10, at="2026-02-02 12:00")
    school.take(s, other.quiz("2026-02-02 09:00"), 20, total=20)  # Bob's quiz
    stats = profile_stats(s.id, mentor_id=school.mentor.id)
    assert (stats.total_quizzes, stats.ranked, stats.practice) == (3, 0, 3)
    assert (stats.best_score, stats.best_total) == (9, 10)
    assert stats.avg_percentage == 62.5  # 25 / 40
    everything = profile_stats(s.id, mentor_id=None)
    assert (everything.total_quizzes, everything.ranked, everything.best_score) == (4, 1, 20)


def test_profiles_of_a_generated_school_agree_with_the_attempts(db):
    school, _ = generate_school(seed=3, students=25, quizzes=10)
    for student in Student.select():
        attempts = list(
            QuizAttempt.select(QuizAttempt, Quiz).join(Quiz)
            .where((QuizAttempt.student == student) & QuizAttempt.finished_at.is_null(False))
        )
        quizzes = {a.quiz_id for a in attempts}
        ranked = {a.quiz_id for a in attempts if a.quiz.quiz_type == "ranked"
                  and a.started_at < a.quiz.available_until}
        stats = profile_stats(student.id, mentor_id=school.mentor.id)
        assert (stats.total_quizzes, stats.ranked, stats.practice) == (
            len(quizzes), len(ranked), len(quizzes - ranked))
        score, total = sum(a.score for a in attempts), sum(a.total for a in attempts)
        assert abs(stats.avg_percentage - score / total * 100) <= 0.05
        best = max(a.score / a.total for a in attempts)
        assert stats.best_score / stats.best_total == best


@pytest.mark.parametrize(("typed", "stored"), [
    ("  али   ВАЛИЕВ ", "Али Валиев"),
    ("o'neil anna-maria", "O'Neil Anna-Maria"),
    ("ALI VALIEV", "Ali Valiev"),
    ("Ali McLeod", "Ali McLeod"),  # mixed case is the person's own spelling
    ("Gʻulom oʻktamov", "Gʻulom Oʻktamov"),  # Uzbek's letter mark does not start a word
    ("ерғали әлі", "Ерғали Әлі"),
])
def test_names_are_stored_tidy(typed, stored):
    assert check_full_name(typed).name == stored
