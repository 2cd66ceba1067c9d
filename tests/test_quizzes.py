"""Quiz authoring rules (services.quiz.authoring) on the backend under test."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import pytest
from quiz_samples import SPEC_EXAMPLE

from studymate.db.models import (
    OutboxMessage,
    Quiz,
    QuizAnswer,
    QuizAttempt,
    QuizQuestion,
    SeasonRating,
    Student,
)
from studymate.services import mentors
from studymate.services.errors import NotFound
from studymate.services.outbox import Outgoing
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz import export as quiz_export
from studymate.services.quiz import questions as quiz_questions
from studymate.services.quiz import schedule as quiz_openings
from studymate.services.quiz.authoring import InvalidStart, SaveMode
from studymate.services.quiz.format import parse_quiz
from studymate.services.quiz.questions import Field, InvalidQuestion, LastQuestion

TZ = ZoneInfo("Asia/Tashkent")
NOW = dt.datetime(2026, 2, 10, 7, 0)  # 12:00 in Tashkent
EXAMPLE = SPEC_EXAMPLE


def parsed(text: str = EXAMPLE, file_name: str = "quiz.txt"):
    return parse_quiz(text, file_name=file_name)


def titled(title: str):
    return parse_quiz(EXAMPLE.replace("Python basics", title), file_name="q.txt")


@pytest.fixture
def mentor(db) -> int:
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-100500, language="ru")
    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-100600, language="en")
    return 1


def student(mentor_id: int, telegram_id: int, **fields) -> Student:
    fields.setdefault("first_name", f"S{telegram_id}")
    return Student.create(telegram_id=telegram_id, mentor=mentor_id, **fields)


def practice(mentor_id: int = 1, source=None, **kw) -> quizzes.QuizInfo:
    kw.setdefault("now", NOW)
    return quizzes.publish(mentor_id, source or parsed(), mode=kw.pop("mode", SaveMode.NEW), ranked=False, **kw).quiz


def notify(quiz: quizzes.QuizInfo, to: quizzes.Announcement) -> Outgoing:
    return Outgoing(to.chat_id, "sendMessage", {"text": f"{to.language}:{quiz.title}"})


def attempt(quiz_id: int, who: Student, *, started: dt.datetime, score: int, total: int,
            finished: bool = True, answers: dict[int, str] | None = None) -> QuizAttempt:
    """An attempt with stored answers (question id → selected letter)."""
    ids = [q.id for q in QuizQuestion.select().where(QuizQuestion.quiz == quiz_id).order_by(QuizQuestion.order)]
    row = QuizAttempt.create(
        student=who, quiz=quiz_id, score=score, total=total, started_at=started,
        finished_at=started + dt.timedelta(minutes=2) if finished else None,
        question_ids=json.dumps(ids),
    )
    for question_id, letter in (answers or {}).items():
        question = QuizQuestion.get_by_id(question_id)
        QuizAnswer.create(attempt=row, question=question_id, selected_answer=letter,
                          is_correct=letter == question.correct_answer)
    return row


# --- publishing ------------------------------------------------------------------------------


def test_practice_quiz_is_stored_with_questions_in_file_order(mentor):
    quiz = practice()
    row = Quiz.get_by_id(quiz.id)
    assert (row.title, row.topic, row.quiz_type, row.max_attempts, row.is_active) == (
        "Python basics", "Python basics", "practice", 999, True)
    assert row.available_from is None and row.notified_at is None
    questions = list(QuizQuestion.select().where(QuizQuestion.quiz == quiz.id).order_by(QuizQuestion.order))
    assert [(q.order, q.correct_answer, q.time_bonus) for q in questions] == [(1, "B", 0), (2, "C", 5), (3, "D", 10)]
    assert "x = [1, 2, 3]\nprint(len(x))" in questions[1].question_text
    assert OutboxMessage.select().count() == 0


def test_ranked_start_now_notifies_every_student_once_in_their_language(mentor):
    student(1, 2001, language="ru")
    student(1, 2002, language="kaa")
    student(1, 2003, blocked_at=NOW)  # known to have blocked the bot: not queued
    student(2, 2004)  # another mentor's student
    published = quizzes.publish(1, parsed(), mode=SaveMode.NEW, ranked=True, now=NOW, notify=notify)
    row = Quiz.get_by_id(published.quiz.id)
    assert (row.quiz_type, row.max_attempts, row.available_from, row.notified_at) == ("ranked", 1, NOW, NOW)
    assert row.available_until - row.available_from == dt.timedelta(hours=48)
    assert published.notified == 2
    sent = {(m.chat_id, json.loads(m.payload)["text"]) for m in OutboxMessage.select()}
    assert sent == {(2001, "ru:Python basics"), (2002, "kaa:Python basics")}
    # The sweeper finds nothing left to announce, and its queue key is the same: never twice.
    assert quiz_openings.claim_openings(now=NOW + dt.timedelta(minutes=1)) == []
    quiz_openings.queue_notifications(row.id, [Outgoing(2001, "sendMessage", {"text": "again"})])
    assert OutboxMessage.select().where(OutboxMessage.chat_id == 2001).count() == 1


def test_scheduled_ranked_quiz_is_announced_by_the_sweeper_when_it_opens(mentor):
    student(1, 2001)
    start = NOW + dt.timedelta(days=1)
    published = quizzes.publish(1, parsed(), mode=SaveMode.NEW, ranked=True, start=start, now=NOW, notify=notify)
    row = Quiz.get_by_id(published.quiz.id)
    assert (row.available_from, row.available_until, row.notified_at) == (start, start + dt.timedelta(hours=48), None)
    assert published.notified == 0 and OutboxMessage.select().count() == 0
    assert quiz_openings.claim_openings(now=start - dt.timedelta(minutes=1)) == []
    [opening] = quiz_openings.claim_openings(now=start)
    assert opening.quiz_id == row.id and opening.students == [(2001, "ru")]


def test_a_start_in_the_past_is_refused(mentor):
    with pytest.raises(InvalidStart):
        quizzes.publish(1, parsed(), mode=SaveMode.NEW, ranked=True, start=NOW, now=NOW)
    assert Quiz.select().count() == 0


def test_duplicates_are_active_quizzes_with_the_same_title_in_any_case(mentor):
    practice(source=titled("Тест по Python"))
    assert quizzes.find_duplicate(1, "тест  по PYTHON").title == "Тест по Python"
    assert quizzes.find_duplicate(2, "Тест по Python") is None  # another mentor's quiz
    archived = practice(source=titled("Old"))
    quizzes.set_active(1, archived.id, False)
    assert quizzes.find_duplicate(1, "old") is None


def test_replace_archives_every_active_quiz_with_that_title(mentor):
    first = practice()
    second = practice(source=titled("python BASICS"))
    other = practice(source=titled("Other"))
    published = quizzes.publish(1, parsed(), mode=SaveMode.REPLACE, ranked=False, now=NOW)
    assert published.archived == 2
    active = {q.title: q.id for q in Quiz.select().where(Quiz.is_active)}
    assert active == {"Other": other.id, "Python basics": published.quiz.id}
    assert not Quiz.get_by_id(first.id).is_active and not Quiz.get_by_id(second.id).is_active


def test_copy_takes_the_first_free_copy_title(mentor):
    practice()
    practice(source=titled("Python basics (copy)"))
    assert quizzes.publish(1, parsed(), mode=SaveMode.COPY, ranked=False, now=NOW).quiz.title == "Python basics (copy 2)"
    copy3 = Quiz.get(Quiz.title == "Python basics (copy 2)")
    quizzes.set_active(1, copy3.id, False)  # archived titles are taken too
    assert quizzes.copy_title(1, "PYTHON basics") == "PYTHON basics (copy 3)"
    long = "Т" * 200
    assert len(quizzes.copy_title(1, long)) == 200 and quizzes.copy_title(1, long).endswith(" (copy)")


# --- scheduling ------------------------------------------------------------------------------

LATE_DECEMBER = dt.datetime(2026, 12, 28, 5, 0)  # 28.12.2026 10:00 in Tashkent


@pytest.mark.parametrize(
    ("typed", "expected_local"),
    [
        ("05.01 10:00", dt.datetime(2027, 1, 5, 10, 0)),  # across New Year: next January
        ("30.12 18:00", dt.datetime(2026, 12, 30, 18, 0)),
        ("1.1 9:05", dt.datetime(2027, 1, 1, 9, 5)),
        (" 28.12  10:30 ", dt.datetime(2026, 12, 28, 10, 30)),
        ("31.12 23.59", dt.datetime(2026, 12, 31, 23, 59)),
        ("05.01.2027 10:00", dt.datetime(2027, 1, 5, 10, 0)),
    ],
)
def test_typed_start_is_the_nearest_local_occurrence(typed, expected_local):
    start = quizzes.parse_start(typed, tz=TZ, now=LATE_DECEMBER)
    assert start == expected_local.replace(tzinfo=TZ).astimezone(dt.UTC).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("typed", "now", "reason"),
    [
        ("tomorrow", LATE_DECEMBER, "format"),
        ("30.12", LATE_DECEMBER, "format"),
        ("31.02 10:00", LATE_DECEMBER, "date"),
        ("29.02 10:00", LATE_DECEMBER, "date"),  # 2027 is not a leap year
        ("10.01 24:00", LATE_DECEMBER, "date"),
        ("28.12 09:59", LATE_DECEMBER, "past"),  # earlier today
        ("20.12 10:00", LATE_DECEMBER, "past"),  # last week, not next December
        ("05.01.2026 10:00", LATE_DECEMBER, "past"),
        ("10.06 10:00", dt.datetime(2026, 6, 15, 5, 0), "past"),
    ],
)
def test_unusable_start_times_are_refused(typed, now, reason):
    with pytest.raises(InvalidStart) as refused:
        quizzes.parse_start(typed, tz=TZ, now=now)
    assert refused.value.reason == reason


def test_leap_day_is_accepted_in_a_leap_year():
    start = quizzes.parse_start("29.02 08:00", tz=TZ, now=dt.datetime(2028, 2, 1))
    assert start == dt.datetime(2028, 2, 29, 3, 0)


# --- lists, stats, archive -------------------------------------------------------------------


def test_lists_are_newest_first_five_per_page(mentor):
    ids = [practice(source=titled(f"Q{n}"), now=NOW + dt.timedelta(minutes=n)).id for n in range(7)]
    quizzes.set_active(1, ids[0], False)
    first = quizzes.quizzes_page(1, archived=False, page=0)
    assert [q.title for q in first.items] == ["Q6", "Q5", "Q4", "Q3", "Q2"]
    assert (first.pages, first.total) == (2, 6)
    assert [q.title for q in quizzes.quizzes_page(1, archived=False, page=9).items] == ["Q1"]
    assert [q.title for q in quizzes.quizzes_page(1, archived=True, page=0).items] == ["Q0"]
    assert quizzes.quizzes_page(2, archived=False, page=0).total == 0
    assert first.items[0].questions == 3 and first.items[0].takers == 0


def test_stats_count_each_students_first_attempt(mentor):
    quiz = practice()
    a = student(1, 2001, full_name="Али Валиев")
    b = student(1, 2002, username="bek")
    attempt(quiz.id, a, started=NOW, score=6, total=10)
    attempt(quiz.id, a, started=NOW + dt.timedelta(hours=1), score=10, total=10)
    attempt(quiz.id, b, started=NOW + dt.timedelta(minutes=5), score=8, total=10)
    attempt(quiz.id, b, started=NOW - dt.timedelta(hours=1), score=1, total=10, finished=False)
    stats = quizzes.quiz_stats(1, quiz.id)
    assert stats.takers == 2 and str(stats.average) == "7.0"
    assert [(e.name, e.score, e.total) for e in stats.top] == [("@bek", 8, 10), ("Али Валиев", 6, 10)]
    assert quizzes.get_quiz(1, quiz.id).takers == 2
    assert str(quizzes.first_attempts_average(quiz.id)) == "7.0"


def test_ranked_stats_count_only_attempts_started_in_the_window(mentor):
    quiz = quizzes.publish(1, parsed(), mode=SaveMode.NEW, ranked=True, now=NOW).quiz
    a, b = student(1, 2001), student(1, 2002)
    attempt(quiz.id, a, started=NOW + dt.timedelta(hours=1), score=2, total=3)
    attempt(quiz.id, b, started=NOW + dt.timedelta(hours=49), score=3, total=3)  # a retake after
    stats = quizzes.quiz_stats(1, quiz.id)
    assert stats.takers == 1 and [e.score for e in stats.top] == [2]


def test_archive_and_restore_are_idempotent(mentor):
    quiz = practice()
    assert not quizzes.set_active(1, quiz.id, False).is_active
    assert not quizzes.set_active(1, quiz.id, False).is_active
    assert quizzes.set_active(1, quiz.id, True).is_active


def test_another_mentors_quiz_is_not_found_and_unchanged(mentor):
    quiz = practice(mentor_id=2)
    question = QuizQuestion.select().where(QuizQuestion.quiz == quiz.id).first()
    calls = [
        lambda: quizzes.get_quiz(1, quiz.id),
        lambda: quizzes.quiz_stats(1, quiz.id),
        lambda: quizzes.set_active(1, quiz.id, False),
        lambda: quiz_export.export_csv(1, quiz.id, tz=TZ),
        lambda: quiz_questions.questions_page(1, quiz.id, 0),
        lambda: quiz_questions.get_question(1, quiz.id, question.id),
        lambda: quiz_questions.add_question(1, quiz.id, text="Q", options=("a", "b", "c", "d"), correct="A"),
        lambda: quiz_questions.update_question(1, quiz.id, question.id, Field.TEXT, "Hacked", tz=TZ),
        lambda: quiz_questions.delete_question(1, quiz.id, question.id, tz=TZ),
        lambda: quiz_questions.get_question(2, quiz.id + 1, question.id),  # right mentor, wrong quiz
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert Quiz.get_by_id(quiz.id).is_active
    assert QuizQuestion.select().where(QuizQuestion.quiz == quiz.id).count() == 3
    assert QuizQuestion.get_by_id(question.id).question_text != "Hacked"


# --- questions -------------------------------------------------------------------------------


def test_added_question_goes_last_and_typed_values_are_checked(mentor):
    quiz = practice()
    QuizQuestion.update(order=7).where(QuizQuestion.quiz == quiz.id, QuizQuestion.order == 3).execute()
    added = quiz_questions.add_question(1, quiz.id, text="  New?  ", options=("a", "b", "c", "d"), correct=" с ")
    row = QuizQuestion.get_by_id(added.id)
    assert (row.order, row.correct_answer, row.question_text, row.time_bonus) == (8, "C", "New?", 0)
    assert added.number == 4
    with pytest.raises(InvalidQuestion) as bad:
        quiz_questions.clean_letter("e")
    assert bad.value.code == "letter"
    with pytest.raises(InvalidQuestion) as bad:
        quiz_questions.clean_option(" A  b ", {"A": "a B"})
    assert (bad.value.code, bad.value.params) == ("duplicate", {"other": "A"})
    with pytest.raises(InvalidQuestion) as bad:
        quiz_questions.clean_option("x" * 501, {})
    assert bad.value.params == {"limit": 500}
    with pytest.raises(InvalidQuestion):
        quiz_questions.add_question(1, quiz.id, text="y" * 3200, options=("a" * 400, "b", "c", "d"), correct="A")


def test_questions_page_numbers_by_position(mentor):
    source = parsed("".join(f"{n}. Q{n}\nA*) a\nB) b\nC) c\nD) d\n" for n in range(1, 8)))
    quiz = practice(source=source)
    page = quiz_questions.questions_page(1, quiz.id, 1)
    assert [(q.number, q.text) for q in page.items] == [(6, "Q6"), (7, "Q7")] and page.pages == 2


def test_editing_the_correct_letter_regrades_stored_answers(mentor):
    quiz = quizzes.publish(1, parsed(), mode=SaveMode.NEW, ranked=True, now=NOW).quiz
    q1, q2, q3 = (q.id for q in QuizQuestion.select().where(QuizQuestion.quiz == quiz.id).order_by(QuizQuestion.order))
    s = student(1, 2001)
    done = attempt(quiz.id, s, started=NOW, score=1, total=3, answers={q1: "A", q2: "C", q3: "-"})
    quiz_questions.update_question(1, quiz.id, q1, Field.CORRECT, "a", tz=TZ)
    assert QuizAttempt.get_by_id(done.id).score == 2
    assert QuizAnswer.get(QuizAnswer.question == q1).is_correct
    rating = SeasonRating.select().where(SeasonRating.student == s.id).order_by(SeasonRating.id).first()
    assert (rating.total_score, rating.total_possible) == (2, 3)
    quiz_questions.update_question(1, quiz.id, q2, Field.B, "new option", tz=TZ)
    assert QuizQuestion.get_by_id(q2).option_b == "new option" and QuizAttempt.get_by_id(done.id).score == 2
    with pytest.raises(InvalidQuestion):
        quiz_questions.update_question(1, quiz.id, q2, Field.A, "NEW  option", tz=TZ)


def test_deleting_a_question_takes_it_out_of_scores_and_renumbers(mentor):
    quiz = quizzes.publish(1, parsed(), mode=SaveMode.NEW, ranked=True, now=NOW).quiz
    q1, q2, q3 = (q.id for q in QuizQuestion.select().where(QuizQuestion.quiz == quiz.id).order_by(QuizQuestion.order))
    s, other = student(1, 2001), student(1, 2002)
    done = attempt(quiz.id, s, started=NOW, score=2, total=3, answers={q1: "B", q2: "C", q3: "A"})
    running = attempt(quiz.id, other, started=NOW, score=0, total=3, finished=False, answers={q1: "B"})
    untouched = quizzes.publish(1, titled("Other"), mode=SaveMode.NEW, ranked=False, now=NOW).quiz
    assert quiz_questions.delete_question(1, quiz.id, q2, tz=TZ) == 2
    assert (QuizAttempt.get_by_id(done.id).score, QuizAttempt.get_by_id(done.id).total) == (1, 2)
    assert QuizAnswer.select().where(QuizAnswer.question == q2).count() == 0
    # An attempt in progress keeps its total: the engine skips the missing question.
    assert (QuizAttempt.get_by_id(running.id).score, QuizAttempt.get_by_id(running.id).total) == (1, 3)
    assert quiz_questions.rescore_attempt(running.id) == (1, 2)
    orders = [(q.id, q.order) for q in QuizQuestion.select().where(QuizQuestion.quiz == quiz.id).order_by(QuizQuestion.order)]
    assert orders == [(q1, 1), (q3, 2)]
    rating = SeasonRating.select().where(SeasonRating.student == s.id).order_by(SeasonRating.id).first()
    assert (rating.total_score, rating.total_possible) == (1, 2)
    assert QuizQuestion.select().where(QuizQuestion.quiz == untouched.id).count() == 3
    quiz_questions.delete_question(1, quiz.id, q1, tz=TZ)
    with pytest.raises(LastQuestion):
        quiz_questions.delete_question(1, quiz.id, q3, tz=TZ)


# --- CSV ----------------------------------------------------------------------------------


def test_csv_export_opens_in_spreadsheets_with_cyrillic_names(mentor):
    quiz = practice(source=titled("Тест: списки"))
    ali = student(1, 2001, full_name="Али Валиев", username="ali", last_name="Валиев")
    eve = student(1, 2002, first_name="=HYPERLINK(1)")
    assert quiz_export.export_csv(1, quiz.id, tz=TZ) is None
    attempt(quiz.id, ali, started=NOW + dt.timedelta(hours=1), score=3, total=3)
    attempt(quiz.id, ali, started=NOW, score=1, total=3)
    attempt(quiz.id, eve, started=NOW, score=0, total=3, finished=False)
    data = quiz_export.export_csv(1, quiz.id, tz=TZ)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == [*quiz_export.CSV_COLUMNS, "q1", "q2", "q3"]
    assert rows[1:] == [  # no stored answers: the answer columns are empty
        ["Тест: списки", "2001", "Али Валиев", "ali", "S2001", "Валиев", "1", "3",
         "2026-02-10T12:00:00+05:00", "2026-02-10T12:02:00+05:00", "", "", ""],
        ["Тест: списки", "2001", "Али Валиев", "ali", "S2001", "Валиев", "3", "3",
         "2026-02-10T13:00:00+05:00", "2026-02-10T13:02:00+05:00", "", "", ""],
    ]
    attempt(quiz.id, eve, started=NOW + dt.timedelta(hours=2), score=2, total=3)
    last = list(csv.reader(io.StringIO(quiz_export.export_csv(1, quiz.id, tz=TZ).decode("utf-8-sig")), delimiter=";"))[-1]
    assert last[4] == "'=HYPERLINK(1)"  # never a formula in Excel
