"""Ratings, seasons and leaderboards.

Times in these tests are written in the school's local time (Asia/Tashkent, UTC+5) and stored
as naive UTC, as the quiz engine does.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from zoneinfo import ZoneInfo

import pytest

from studymate.db.models import (
    AllTimeRating,
    Mentor,
    Quiz,
    QuizAttempt,
    Season,
    SeasonRating,
    Student,
)
from studymate.services import ratings
from studymate.services.ratings import (
    AVG_TENTHS_SQL,
    RATING_TENTHS_SQL,
    alltime_leaderboard,
    compute_rating,
    mentor_board,
    on_attempt_finished,
    recompute_quiz,
    season_for_date,
    season_leaderboard,
    season_rank,
    student_board,
)

TZ = ZoneInfo("Asia/Tashkent")
NO_TEST: frozenset[int] = frozenset()


def utc(local: str) -> dt.datetime:
    """'2026-02-10 14:00' in Tashkent → naive UTC."""
    moment = dt.datetime.fromisoformat(local).replace(tzinfo=TZ)
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


class School:
    """Builds mentors, students, quizzes and finished attempts the way the quiz engine does."""

    def __init__(self, telegram_id: int = 1001, name: str = "Anna") -> None:
        self.mentor = Mentor.create(telegram_id=telegram_id, name=name, group_chat_id=-100500)
        self._quizzes = 0

    def student(self, telegram_id: int, **fields) -> Student:
        fields.setdefault("first_name", f"S{telegram_id}")
        return Student.create(telegram_id=telegram_id, mentor=self.mentor, **fields)

    def quiz(self, opens: str | None = "2026-02-01 09:00", *, ranked: bool = True,
             hours: int = 48, **fields) -> Quiz:
        self._quizzes += 1
        fields.setdefault("title", f"Quiz {self._quizzes}")
        if not ranked:
            return Quiz.create(mentor=self.mentor, quiz_type="practice", **fields)
        start = utc(opens) if opens else None
        return Quiz.create(
            mentor=self.mentor, quiz_type="ranked", max_attempts=1, available_from=start,
            available_until=start + dt.timedelta(hours=hours) if start else None, **fields,
        )

    def take(self, student: Student, quiz: Quiz, score: int, total: int = 10, *,
             at: str | None = None, started: dt.datetime | None = None, minutes: float = 5,
             now: dt.datetime | None = None) -> QuizAttempt:
        """A finished attempt, then the engine's call to the ratings service."""
        if started is None:
            started = utc(at) if at else quiz.available_from + dt.timedelta(hours=1)
        attempt = QuizAttempt.create(
            student=student, quiz=quiz, score=score, total=total, started_at=started,
            finished_at=started + dt.timedelta(minutes=minutes), finish_reason="completed",
        )
        on_attempt_finished(attempt.id, tz=TZ, now=now or attempt.finished_at)
        return attempt


def season_of(mentor: Mentor, month: str) -> Season:
    return Season.get((Season.mentor == mentor) & (Season.start_date == dt.date.fromisoformat(month)))


def rating_row(season: Season, student: Student) -> SeasonRating:
    return SeasonRating.get((SeasonRating.season == season) & (SeasonRating.student == student))


# --- the formula -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quizzes", "score", "possible", "avg", "rating"),
    [
        (2, 19, 20, 95.0, 104.5),  # 95 % over 2 quizzes → 95 × 1.1
        (5, 45, 50, 90.0, 112.5),  # 90 % over 5
        (10, 85, 100, 85.0, 127.5),  # 85 % over 10
        (14, 119, 140, 85.0, 127.5),  # the bonus is capped at 10 quizzes
        (2, 17, 20, 85.0, 93.5),  # 8/10 and 9/10
        (1, 7, 10, 70.0, 73.5),  # a single quiz
        (1, 2, 3, 66.7, 70.0),  # 66.666… → 66.7, × 1.05 = 70.035 → 70.0
        (0, 0, 0, 0.0, 0.0),  # T = 0
    ],
)
def test_formula_worked_examples(quizzes, score, possible, avg, rating):
    result = compute_rating(quizzes, score, possible)
    assert (result.avg_percentage, result.rating) == (avg, rating)


def test_avg_is_rounded_before_the_bonus_and_halves_round_up():
    # 13/120 = 10.8333 % → 10.8; × 1.25 = 13.5 (unrounded: 13.5417 → 13.5, same) …
    # 1/6 over 6 quizzes: 16.6667 → 16.7 × 1.3 = 21.71 → 21.7; unrounded 21.6667 → 21.7.
    # 3/7 over 1 quiz: 42.857 → 42.9 × 1.05 = 45.045 → 45.0; unrounded 45.0, same; so search:
    cases = [
        (q, s, t)
        for t in range(1, 60)
        for s in range(t + 1)
        for q in (1, 3, 5, 7)
        if round(round(s / t * 100, 1) * (1 + q / 20), 1) != round(s / t * 100 * (1 + q / 20), 1)
    ]
    q, s, t = cases[0]
    rounded_first = compute_rating(q, s, t).rating
    assert rounded_first != round(s / t * 100 * (1 + q / 20), 1)
    # 10.2 % over 5 quizzes: 10.2 × 1.25 = 12.75 exactly → 12.8 (half up)
    assert compute_rating(5, 51, 500).rating == 12.8
    # 1/80 = 1.25 % → 1.3 (half up), not 1.2
    assert compute_rating(1, 1, 80).avg_percentage == 1.3


def test_sql_and_python_formulas_agree(db):
    """The SQL the recalculation runs rounds exactly like compute_rating, on both backends."""
    rng = random.Random(7)
    combos = [(0, 0, 0), (1, 1, 80), (5, 51, 500), (10, 1999, 2000), (60, 1200, 1200)]
    combos += [(q, rng.randint(0, t), t)
               for q, t in ((rng.randint(1, 70), rng.randint(1, 1400)) for _ in range(300))]
    p = db.param
    rows = " UNION ALL ".join(f"SELECT {p} AS i, {p} AS q, {p} AS s, {p} AS t" for _ in combos)
    sql = (f"SELECT i, avg_t, {RATING_TENTHS_SQL} FROM (SELECT i, q, {AVG_TENTHS_SQL} AS avg_t"
           f" FROM ({rows}) AS x) AS y ORDER BY i")
    args = [v for i, combo in enumerate(combos) for v in (i, *combo)]
    got = [tuple(r[1:]) for r in db.execute_sql(sql, args).fetchall()]
    expected = [(r.avg_tenths, r.rating_tenths) for r in (compute_rating(*c) for c in combos)]
    assert got == expected


# --- seasons and recalculation ---------------------------------------------------------------


def test_season_rating_follows_the_formula(db):
    school = School()
    s = school.student(2001)
    r1, r2 = school.quiz("2026-02-10 09:00"), school.quiz("2026-02-12 09:00")
    first = school.take(s, r1, 8)
    school.take(s, r2, 9)
    row = rating_row(season_of(school.mentor, "2026-02-01"), s)
    assert (row.total_ranked_quizzes, row.total_score, row.total_possible) == (2, 17, 20)
    assert (row.avg_percentage, row.rating_score) == (85.0, 93.5)
    assert row.earliest_attempt_at == first.finished_at


def test_only_valid_ranked_attempts_count(db):
    school = School()
    s = school.student(2001)
    other = School(1002, "Bob")
    practice = school.quiz(ranked=False)
    late = school.quiz("2026-02-02 09:00")
    no_deadline = school.quiz(None)
    archived = school.quiz("2026-02-03 09:00", is_active=False)
    foreign = other.quiz("2026-02-03 09:00")
    edge = school.quiz("2026-02-04 09:00")
    school.take(s, practice, 10, at="2026-02-05 10:00")
    school.take(s, late, 10, at="2026-02-05 10:00")  # after its deadline (opened 02-02 + 48 h)
    school.take(s, no_deadline, 10, at="2026-02-05 10:00")
    school.take(s, foreign, 10)  # counts for Bob's season, not Anna's
    school.take(s, archived, 6)
    # started one minute before the deadline, finished after it: counts
    school.take(s, edge, 4, at="2026-02-06 08:59", minutes=20)
    row = rating_row(season_of(school.mentor, "2026-02-01"), s)
    assert (row.total_ranked_quizzes, row.total_score, row.total_possible) == (2, 10, 20)
    assert rating_row(season_of(other.mentor, "2026-02-01"), s).total_score == 10
    board = alltime_leaderboard(school.mentor.id, test_ids=NO_TEST)
    assert [(r.quizzes, r.avg_percentage) for r in board.items] == [(2, 50.0)]


def test_all_time_rows_span_months_and_mentors_separately(db):
    """One AllTimeRating row per (mentor, student) over every month; no extra season."""
    school, other = School(), School(1002, "Bob")
    s = school.student(2001)
    school.take(s, school.quiz("2026-01-20 09:00"), 8)
    school.take(s, school.quiz("2026-02-10 09:00"), 9)
    other.take(s, other.quiz("2026-02-11 09:00"), 3)
    row = AllTimeRating.get((AllTimeRating.mentor == school.mentor) & (AllTimeRating.student == s))
    assert (row.total_ranked_quizzes, row.total_score, row.total_possible) == (2, 17, 20)
    assert (row.avg_percentage, row.rating_score) == (85.0, 93.5)
    assert AllTimeRating.select().count() == 2
    assert [s.start_date.month for s in Season.select().where(Season.mentor == school.mentor)
            .order_by(Season.start_date)] == [1, 2]
    board = alltime_leaderboard(school.mentor.id, test_ids=NO_TEST)
    assert [(r.student_id, r.rating, r.quizzes) for r in board.items] == [(s.id, 93.5, 2)]
    # the stored double equals the Python float (a REAL column would not, and ranks would differ)
    assert AllTimeRating.select().where(AllTimeRating.rating_score == 93.5).count() == 1
    assert SeasonRating.select().where(SeasonRating.rating_score == 94.5).count() == 1


def test_practice_quizzes_do_not_rate(db):
    school = School()
    s = school.student(2001)
    school.take(s, school.quiz(ranked=False), 9, at="2026-02-05 10:00")
    assert SeasonRating.select().count() == 0 and AllTimeRating.select().count() == 0
    board = student_board(s.id, tz=TZ, test_ids=NO_TEST, now=utc("2026-02-05 11:00"))
    assert board.rows == () and board.your_rank is None


def test_attempt_started_after_local_midnight_counts_in_the_new_month(db):
    """00:30 local on March 1 is still February in UTC; it belongs to March."""
    school = School()
    s = school.student(2001)
    quiz = school.quiz("2026-02-28 09:00")
    school.take(s, quiz, 7, at="2026-03-01 00:30", now=utc("2026-03-01 00:36"))
    march = season_of(school.mentor, "2026-03-01")
    assert rating_row(march, s).rating_score == 73.5
    assert not Season.select().where(Season.start_date == dt.date(2026, 2, 1)).exists()
    assert march.is_active and march.end_date == dt.date(2026, 3, 31)
    board = student_board(s.id, tz=TZ, test_ids=NO_TEST, now=utc("2026-03-01 00:40"))
    assert board.season.id == march.id and board.your_rank == 1
    # and 23:59 local on Feb 28 stays in February
    t = school.student(2002)
    school.take(t, quiz, 5, at="2026-02-28 23:59", now=utc("2026-03-01 00:40"))
    feb = season_of(school.mentor, "2026-02-01")
    assert rating_row(feb, t).rating_score == 52.5 and not feb.is_active


def test_a_new_month_starts_an_empty_season_and_retires_the_old(db):
    school = School()
    s, t = school.student(2001), school.student(2002)
    school.take(s, school.quiz("2026-02-20 09:00"), 9)
    feb = season_of(school.mentor, "2026-02-01")
    assert feb.is_active and feb.name == "Февраль 2026"
    before = rating_row(feb, s).rating_score
    # the first leaderboard view in March creates the March season and retires February
    board = mentor_board(school.mentor.id, tz=TZ, test_ids=NO_TEST, now=utc("2026-03-01 08:00"))
    assert board.season.month == 3 and board.page.total == 0
    assert season_of(school.mentor, "2026-03-01").is_active
    assert not season_of(school.mentor, "2026-02-01").is_active
    assert rating_row(feb, s).rating_score == before
    school.take(t, school.quiz("2026-03-02 09:00"), 5)
    march = mentor_board(school.mentor.id, tz=TZ, test_ids=NO_TEST, now=utc("2026-03-02 12:00"))
    assert [r.student_id for r in march.page.items] == [t.id]
    assert Season.select().where(Season.is_active).count() == 1


def test_season_creation_is_idempotent(db):
    school = School()
    first = season_for_date(school.mentor.id, dt.date(2026, 2, 14), tz=TZ)
    again = season_for_date(school.mentor.id, dt.date(2026, 2, 1), tz=TZ)
    assert first == again and Season.select().count() == 1


def test_two_finishes_at_the_same_instant_across_the_month_boundary(db):
    """Concurrent finishes create one season per month, and both ratings are right."""
    school = School()
    quiz = school.quiz("2026-02-28 09:00")
    a, b = school.student(2001), school.student(2002)
    ids = []
    for student, score in ((a, 8), (b, 6)):
        attempt = QuizAttempt.create(
            student=student, quiz=quiz, score=score, total=10, started_at=utc("2026-03-01 00:30"),
            finished_at=utc("2026-03-01 00:40"), finish_reason="completed",
        )
        ids.append(attempt.id)
    # a February season exists and is active, so both also retire it concurrently
    season_for_date(school.mentor.id, dt.date(2026, 2, 1), tz=TZ, now=utc("2026-02-28 12:00"))
    barrier, errors = threading.Barrier(2), []
    lock = "IMMEDIATE" if not hasattr(db, "close_all") else None

    def finish(attempt_id: int) -> None:
        try:
            db.connect(reuse_if_open=True)
            barrier.wait(timeout=10)
            with db.atomic(lock) if lock else db.atomic():
                on_attempt_finished(attempt_id, tz=TZ, now=utc("2026-03-01 00:40"))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=finish, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    march = Season.select().where(Season.start_date == dt.date(2026, 3, 1))
    assert march.count() == 1
    assert [s.start_date.month for s in Season.select().where(Season.is_active)] == [3]
    assert rating_row(march.get(), a).rating_score == 84.0
    assert rating_row(march.get(), b).rating_score == 63.0


def test_sweeper_finalisation_is_counted_once(db):
    school = School()
    s = school.student(2001)
    quiz = school.quiz("2026-02-10 09:00")
    attempt = QuizAttempt.create(student=s, quiz=quiz, score=3, total=10,
                                 started_at=utc("2026-02-10 10:00"))
    assert on_attempt_finished(attempt.id, tz=TZ) is None  # not finished yet: nothing happens
    attempt.finished_at, attempt.finish_reason = utc("2026-02-10 10:15"), "abandoned"
    attempt.save()
    for _ in range(2):
        effects = on_attempt_finished(attempt.id, tz=TZ, now=utc("2026-02-10 10:15"))
        assert effects.rating.rating == 31.5 and effects.day == dt.date(2026, 2, 10)
    assert Student.get_by_id(s.id).current_streak == 1


def test_recompute_after_score_and_deadline_changes(db):
    """Question edits (scores) and deadline changes reach the ratings."""
    school = School()
    quiz = school.quiz("2026-02-27 09:00")
    other = school.quiz("2026-02-20 09:00")
    a, b, c = school.student(2001), school.student(2002), school.student(2003)
    school.take(a, quiz, 8, at="2026-02-27 10:00")
    school.take(b, quiz, 6, at="2026-02-28 20:00")
    school.take(c, quiz, 5, at="2026-03-01 02:00", now=utc("2026-03-01 02:10"))  # March
    school.take(a, other, 10)
    feb, march = season_of(school.mentor, "2026-02-01"), season_of(school.mentor, "2026-03-01")
    # a question is deleted: the engine rescored every attempt to 9 questions
    QuizAttempt.update(total=9).where(QuizAttempt.quiz == quiz).execute()
    assert recompute_quiz(quiz.id, tz=TZ) == 2
    assert rating_row(feb, a).total_possible == 19 and rating_row(feb, b).avg_percentage == 66.7
    assert rating_row(march, c).avg_percentage == 55.6
    # the deadline moves earlier: b and c started after it, a did not
    quiz.available_until = utc("2026-02-28 12:00")
    quiz.save()
    recompute_quiz(quiz.id, tz=TZ)
    assert rating_row(feb, b).rating_score == 0 and rating_row(march, c).rating_score == 0
    assert rating_row(feb, a).total_ranked_quizzes == 2
    assert [r.student_id for r in season_leaderboard(feb.id, test_ids=NO_TEST).items] == [a.id]
    # and back later again
    quiz.available_until = utc("2026-03-02 12:00")
    quiz.save()
    recompute_quiz(quiz.id, tz=TZ)
    assert rating_row(feb, b).rating_score == 70.0 and rating_row(march, c).rating_score == 58.4


# --- leaderboards ----------------------------------------------------------------------------


def test_ties_break_by_first_finish_then_id_and_all_time_by_average(db):
    school = School()
    x, y, z = school.student(2001), school.student(2002), school.student(2003)
    r1, r2 = school.quiz("2026-02-10 09:00"), school.quiz("2026-02-12 09:00")
    # y and x both 93.5 in the season; x's first valid attempt finished earlier
    school.take(y, r1, 8, at="2026-02-10 11:00")
    school.take(x, r1, 9, at="2026-02-10 10:00")
    school.take(y, r2, 9, at="2026-02-12 10:00")
    school.take(x, r2, 8, at="2026-02-12 11:00")
    feb = season_of(school.mentor, "2026-02-01")
    assert [r.student_id for r in season_leaderboard(feb.id, test_ids=NO_TEST).items] == [x.id, y.id]
    assert season_rank(feb.id, y.id, test_ids=NO_TEST) == 2
    # identical times → lower student id first
    SeasonRating.update(earliest_attempt_at=utc("2026-02-10 10:05")).execute()
    assert [r.student_id for r in season_leaderboard(feb.id, test_ids=NO_TEST).items] == [x.id, y.id]
    assert season_rank(feb.id, x.id, test_ids=NO_TEST) == 1
    # all time: z has the same rating 93.5 with a higher average on one quiz?  93.5 = 89.0 × 1.05
    # → 89 % needs 100 questions: z scores 89/100 on one quiz: avg 89.0 > 85.0 → z first.
    r3 = school.quiz("2026-02-14 09:00")
    school.take(z, r3, 89, total=100, at="2026-02-14 10:00")
    alltime = alltime_leaderboard(school.mentor.id, test_ids=NO_TEST)
    assert [(r.student_id, r.rating, r.avg_percentage, r.quizzes) for r in alltime.items] == [
        (z.id, 93.5, 89.0, 1), (x.id, 93.5, 85.0, 2), (y.id, 93.5, 85.0, 2),
    ]
    # while the season puts z (latest first attempt) last among the 93.5s
    assert [r.student_id for r in season_leaderboard(feb.id, test_ids=NO_TEST).items] == [
        x.id, y.id, z.id,
    ]


def _rated_school(count: int, me_rank: int) -> tuple[School, list[Student], Student]:
    """``count`` students with distinct ratings; S (2001) ends up at rank ``me_rank``."""
    school = School()
    quiz = school.quiz("2026-02-10 09:00")
    others = [school.student(3000 + i) for i in range(count - 1)]
    scores = list(range(100, 100 - count, -1))  # out of 100, all distinct
    me = school.student(2001)
    ordered = others[: me_rank - 1] + [me] + others[me_rank - 1:]
    for i, (student, score) in enumerate(zip(ordered, scores, strict=True)):
        school.take(student, quiz, score, total=100, at=f"2026-02-10 10:{i:02d}")
    return school, ordered, me


def test_student_top_15_with_animals_that_belong_to_people(db):
    school, ordered, me = _rated_school(20, 2)
    now = utc("2026-02-11 09:00")
    board = student_board(me.id, tz=TZ, test_ids=NO_TEST, now=now)
    assert len(board.rows) == 15 and [r.rank for r in board.rows] == list(range(1, 16))
    assert [r.is_you for r in board.rows][:3] == [False, True, False]
    assert board.your_rank == 2 and not board.show_your_rank
    assert board.season.month == 2 and board.season.year == 2026
    # animals belong to people: the n-th rated student of the season keeps animal n
    animals = {r.rank: (r.animal_index, r.animal_number) for r in board.rows}
    assert animals[1] == (0, 1) and animals[3] == (2, 1)
    assert board.rows[0].animal_key == "animal_fox" and board.rows[2].animal_key == "animal_eagle"
    assert len(set(animals.values())) == 15
    # someone from rank 3 overtakes rank 1 with a second quiz: their animal moves with them
    climber = ordered[2]
    school.take(climber, school.quiz("2026-02-11 09:00"), 100, total=100)
    after = student_board(me.id, tz=TZ, test_ids=NO_TEST, now=now)
    assert (after.rows[0].animal_index, after.rows[0].animal_number) == animals[3]


def test_a_student_below_the_top_15_sees_their_rank(db):
    school, ordered, me = _rated_school(25, 23)
    board = student_board(me.id, tz=TZ, test_ids=NO_TEST, now=utc("2026-02-11 09:00"))
    assert len(board.rows) == 15 and not any(r.is_you for r in board.rows)
    assert board.your_rank == 23 and board.show_your_rank and board.your_rating == 81.9  # 78 % × 1.05
    # the 16th student of the season gets the first animal again, with number 2
    sixteenth = ordered[15]
    row = SeasonRating.get(SeasonRating.student == sixteenth)
    assert ratings._animals(row.season_id, [row.id]) == {row.id: 15}


def test_mentor_board_pages_of_real_names(db):
    school = School()
    quiz = school.quiz("2026-02-10 09:00")
    students = [school.student(3000 + i, full_name=f"Student {i:02d}") for i in range(23)]
    for i, student in enumerate(students):
        school.take(student, quiz, 90 - i, total=100)
    now = utc("2026-02-11 09:00")
    board = mentor_board(school.mentor.id, tz=TZ, test_ids=NO_TEST, now=now)
    assert board.mode == "season" and (board.season.month, board.season.year) == (2, 2026)
    assert (board.page.total, board.page.page, board.page.pages) == (23, 0, 3)
    first = board.page.items[0]
    assert (first.rank, first.name, first.rating, first.avg_percentage, first.quizzes) == (
        1, "Student 00", 94.5, 90.0, 1,
    )
    page2 = mentor_board(school.mentor.id, page=1, tz=TZ, test_ids=NO_TEST, now=now).page
    assert [r.rank for r in page2.items] == list(range(11, 21))
    last = mentor_board(school.mentor.id, page=9, tz=TZ, test_ids=NO_TEST, now=now).page
    assert (last.page, [r.name for r in last.items]) == (2, ["Student 20", "Student 21", "Student 22"])
    alltime = mentor_board(school.mentor.id, mode="alltime", page=2, tz=TZ, test_ids=NO_TEST)
    assert alltime.season is None and [r.rank for r in alltime.page.items] == [21, 22, 23]


def test_display_names_follow_the_rule(db):
    assert ratings.display_name("Ali Valiev", "ali", "A", "V", 1) == "Ali Valiev"
    assert ratings.display_name("", "ali", "A", "V", 1) == "@ali"
    assert ratings.display_name("", None, "Ali", "", 1) == "Ali"
    assert ratings.display_name("", None, "", "", 2001) == "2001"


def test_test_accounts_are_excluded_everywhere(db):
    school = School()
    quiz = school.quiz("2026-02-10 09:00")
    s = school.student(2001)  # the test account, best score
    a, b = school.student(2002), school.student(2003)
    school.take(s, quiz, 10)
    school.take(a, quiz, 9)
    school.take(b, quiz, 8)
    test = frozenset({2001})
    now = utc("2026-02-11 09:00")
    season = mentor_board(school.mentor.id, tz=TZ, test_ids=test, now=now).page
    alltime = mentor_board(school.mentor.id, mode="alltime", tz=TZ, test_ids=test).page
    assert [r.student_id for r in season.items] == [a.id, b.id] and season.total == 2
    assert [r.student_id for r in alltime.items] == [a.id, b.id] and alltime.total == 2
    feb = season_of(school.mentor, "2026-02-01")
    assert season_rank(feb.id, a.id, test_ids=test) == 1  # the test account above does not count
    assert season_rank(feb.id, s.id, test_ids=test) is None
    assert rating_row(feb, s).rating_score == 105.0  # still computed, only hidden
    view = student_board(b.id, tz=TZ, test_ids=test, now=now)
    assert [r.rank for r in view.rows] == [1, 2] and view.your_rank == 2 and view.rows[1].is_you
    mine = student_board(s.id, tz=TZ, test_ids=test, now=now)
    assert mine.your_rank is None and not any(r.is_you for r in mine.rows)


def test_empty_boards(db):
    school = School()
    now = utc("2026-02-11 09:00")
    board = mentor_board(school.mentor.id, page=3, tz=TZ, test_ids=NO_TEST, now=now)
    assert (board.page.items, board.page.total, board.page.page, board.page.pages) == ([], 0, 0, 1)
    assert alltime_leaderboard(school.mentor.id, test_ids=NO_TEST).total == 0
    orphan = Student.create(telegram_id=9, first_name="X")
    assert student_board(orphan.id, tz=TZ, test_ids=NO_TEST, now=now) is None


# --- a generated school: everything agrees with a reference computed from the raw rows --------


def _reference(mentor: Mentor, test_ids: frozenset[int]) -> tuple[dict, list]:
    """Season ratings per (month, student) and the all-time order, in plain Python."""
    attempts = (
        QuizAttempt.select(QuizAttempt, Quiz, Student)
        .join(Quiz).switch(QuizAttempt).join(Student)
        .where((Quiz.mentor == mentor) & (Quiz.quiz_type == "ranked")
               & QuizAttempt.finished_at.is_null(False))
    )
    seasons: dict[tuple[dt.date, int], list[QuizAttempt]] = {}
    alltime: dict[int, list[QuizAttempt]] = {}
    for a in attempts:
        month = a.started_at.replace(tzinfo=dt.UTC).astimezone(TZ).date().replace(day=1)
        valid = a.quiz.available_until is not None and a.started_at < a.quiz.available_until
        bucket = seasons.setdefault((month, a.student_id), [])
        if valid:
            bucket.append(a)
            if a.student.telegram_id not in test_ids:
                alltime.setdefault(a.student_id, []).append(a)

    def rate(valid: list[QuizAttempt]):
        return compute_rating(len({a.quiz_id for a in valid}), sum(a.score for a in valid),
                              sum(a.total for a in valid))

    season_ref = {
        key: (rate(valid), min((a.finished_at for a in valid), default=None))
        for key, valid in seasons.items()
    }
    order = sorted(
        ((sid, rate(valid), min(a.finished_at for a in valid)) for sid, valid in alltime.items()
         if sum(a.total for a in valid) > 0),
        key=lambda r: (-r[1].rating_tenths, -r[1].avg_tenths, -r[1].quizzes, r[2], r[0]),
    )
    return season_ref, order


def generate_school(seed: int = 1, students: int = 60, quizzes: int = 14) -> tuple[School, frozenset[int]]:
    """Three months of ranked and practice quizzes, late attempts, test accounts, ties."""
    with Student._meta.database.atomic():
        return _generate_school(random.Random(seed), students, quizzes)


def _generate_school(rng: random.Random, students: int, quizzes: int) -> tuple[School, frozenset[int]]:
    school = School()
    people = [school.student(5000 + i, full_name=f"P{i}") for i in range(students)]
    test_ids = frozenset(p.telegram_id for p in people[::9])
    opens = dt.datetime(2026, 1, 20, 9, 0)
    for q in range(quizzes):
        start = opens + dt.timedelta(days=5 * q, hours=rng.randint(0, 12))
        quiz = school.quiz(start.isoformat(sep=" ")[:16], ranked=q % 5 != 4)
        total = rng.choice((5, 10, 20))
        for person in people:
            roll = rng.random()
            if roll < 0.15:
                continue
            offset = dt.timedelta(hours=rng.uniform(0, 47.9) if roll < 0.9 else rng.uniform(48, 70))
            score = rng.choice((total, total - 1, rng.randint(0, total)))
            school.take(person, quiz, score, total, started=utc(start.isoformat(sep=" ")) + offset)
    return school, test_ids


def test_generated_school_everything_agrees(db):
    school, test_ids = generate_school()
    season_ref, alltime_ref = _reference(school.mentor, test_ids)
    now = utc("2026-03-31 12:00")
    # stored season ratings equal the reference, for every (season, student)
    stored = {
        (r.season.start_date, r.student_id): r
        for r in SeasonRating.select(SeasonRating, Season).join(Season)
    }
    assert set(stored) == set(season_ref)
    for key, (rating, earliest) in season_ref.items():
        row = stored[key]
        assert (row.total_ranked_quizzes, row.total_score, row.total_possible) == (
            rating.quizzes, rating.score, rating.possible)
        assert (row.avg_percentage, row.rating_score) == (rating.avg_percentage, rating.rating)
        assert row.earliest_attempt_at == earliest
    # the all-time board pages equal the reference order
    pages, page = [], 0
    while True:
        board = alltime_leaderboard(school.mentor.id, test_ids=test_ids, page=page)
        pages += board.items
        if page + 1 >= board.pages:
            break
        page += 1
    assert [(r.student_id, r.rating, r.avg_percentage, r.quizzes) for r in pages] == [
        (sid, rt.rating, rt.avg_percentage, rt.quizzes) for sid, rt, _ in alltime_ref
    ]
    assert [r.rank for r in pages] == list(range(1, len(pages) + 1))
    # every season: the mentor list, each student's rank and each student's view agree
    for season in Season.select():
        listed, page = [], 0
        while True:
            board = season_leaderboard(season.id, test_ids=test_ids, page=page)
            listed += board.items
            if page + 1 >= board.pages:
                break
            page += 1
        assert len(listed) == board.total
        expected = sorted(
            ((sid, rt, e) for (month, sid), (rt, e) in season_ref.items()
             if month == season.start_date and rt.rating_tenths > 0
             and Student.get_by_id(sid).telegram_id not in test_ids),
            key=lambda r: (-r[1].rating_tenths, r[2], r[0]),
        )
        assert [r.student_id for r in listed] == [sid for sid, _, _ in expected]
        positions = {r.student_id: r.rank for r in listed}
        for student in Student.select():
            assert season_rank(season.id, student.id, test_ids=test_ids) == positions.get(student.id)
        if season.start_date == dt.date(2026, 3, 1):
            for student in Student.select():
                view = student_board(student.id, tz=TZ, test_ids=test_ids, now=now)
                assert [r.rank for r in view.rows] == [r.rank for r in listed[:15]]
                assert [r.rating for r in view.rows] == [r.rating for r in listed[:15]]
                assert view.your_rank == positions.get(student.id)
                assert [r.is_you for r in view.rows] == [
                    r.student_id == student.id for r in listed[:15]]
                assert len({(r.animal_index, r.animal_number) for r in view.rows}) == len(view.rows)
    # a full rebuild changes nothing
    before = {k: (r.rating_score, r.earliest_attempt_at) for k, r in stored.items()}
    ratings.recompute_mentor(school.mentor.id, tz=TZ, now=now)
    after = {
        (r.season.start_date, r.student_id): (r.rating_score, r.earliest_attempt_at)
        for r in SeasonRating.select(SeasonRating, Season).join(Season)
    }
    assert after == before
    assert [r.student_id for r in alltime_leaderboard(
        school.mentor.id, test_ids=test_ids, per_page=1000).items] == [s for s, _, _ in alltime_ref]
