"""Grades teachers can trust: cancelled attempts, stale questions, late taps, key changes and
averages (services level, on the backend under test)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import pytest

from studymate.bot.features.quiz.authoring_views import quiz_screen
from studymate.bot.features.quiz.drawing import END, Drawer, key
from studymate.bot.features.quiz.key_change import preview_text
from studymate.db.models import (
    OutboxMessage,
    Quiz,
    QuizAnswer,
    QuizAttempt,
    QuizKeyChange,
    QuizQuestion,
    SeasonRating,
    Student,
)
from studymate.i18n import use_locale
from studymate.services import enrollment, mentors, profile, stats
from studymate.services.enrollment import TelegramProfile
from studymate.services.outbox import Outgoing
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz import countdown as quiz_countdown
from studymate.services.quiz import engine as quiz_engine
from studymate.services.quiz import export as quiz_export
from studymate.services.quiz import key_change
from studymate.services.quiz import questions as quiz_questions
from studymate.services.quiz import results as quiz_results
from studymate.services.quiz.engine import Outcome
from studymate.services.quiz.questions import Field

TZ = ZoneInfo("Asia/Tashkent")
T0 = dt.datetime(2026, 3, 10, 9, 0, 0)  # 14:00 in Tashkent
ALI, BEK, CAN = 2001, 2002, 2003


@pytest.fixture
def school(db) -> None:
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-1, language="en")
    for telegram_id, name in ((ALI, "Ali"), (BEK, "Bek"), (CAN, "Can")):
        enrollment.enroll(TelegramProfile(telegram_id, None, name, ""), mentor_id=1, language="en")
        Student.update(full_name=name).where(Student.telegram_id == telegram_id).execute()


def make_quiz(title: str = "Python", n: int = 3, *, ranked: bool = False, opens: dt.datetime = T0,
              correct: str = "BCDAB") -> Quiz:
    quiz = Quiz.create(
        mentor=1, title=title, quiz_type="ranked" if ranked else "practice",
        max_attempts=1 if ranked else 999,
        available_from=opens if ranked else None,
        available_until=opens + dt.timedelta(hours=48) if ranked else None,
        created_at=opens,
    )
    for i in range(n):
        QuizQuestion.create(quiz=quiz, question_text=f"Q{i + 1}", option_a=f"a{i + 1}",
                            option_b=f"b{i + 1}", option_c=f"c{i + 1}", option_d=f"d{i + 1}",
                            correct_answer=correct[i], order=i + 1)
    return quiz


def start(who: int, quiz: Quiz, now: dt.datetime = T0, **kw) -> quiz_engine.QuestionView:
    view = quiz_engine.start(who, quiz.id, tz=TZ, now=now, **kw)
    assert isinstance(view, quiz_engine.QuestionView), view
    return view


def answer(who: int, view, letter: str, now: dt.datetime) -> quiz_engine.Step:
    return quiz_engine.answer(who, view.attempt_id, view.question_id, letter, tz=TZ, now=now)


def take(who: int, quiz: Quiz, letters: str, now: dt.datetime = T0) -> int:
    """A whole attempt choosing the options originally lettered ``letters`` (an exam shows
    them shuffled)."""
    view = start(who, quiz, now)
    for offset, letter in enumerate(letters, start=1):
        shown = "ABCD"[view.options.index(f"{letter.lower()}{view.number}")]
        step = answer(who, view, shown, now + dt.timedelta(seconds=offset))
        view = step.next
    assert step.finished is not None
    return step.finished.attempt_id


def student_id(telegram_id: int) -> int:
    return Student.get(Student.telegram_id == telegram_id).id


def screen(quiz: Quiz) -> str:
    return quiz_screen(quizzes.quiz_stats(1, quiz.id), TZ)


# --- 1. a cancelled practice quiz is not an attempt ---------------------------------------------


def test_cancel_before_any_answer_leaves_no_attempt(school):
    quiz = make_quiz()
    start(ALI, quiz)
    left = quiz_engine.give_up(ALI, tz=TZ, now=T0 + dt.timedelta(seconds=5))
    assert left.reason == "discarded"
    assert QuizAttempt.select().count() == 0
    assert quizzes.quiz_stats(1, quiz.id).takers == 0
    assert Student.get_by_id(student_id(ALI)).current_streak == 0
    assert quiz_export.export_csv(1, quiz.id, tz=TZ) is None


def test_cancel_part_way_is_kept_as_cancelled_and_counts_nowhere(school):
    quiz = make_quiz()
    view = start(ALI, quiz)
    answer(ALI, view, "B", T0 + dt.timedelta(seconds=2))  # right
    left = quiz_engine.give_up(ALI, tz=TZ, now=T0 + dt.timedelta(seconds=5))
    assert (left.reason, left.answered, left.score, left.total) == ("cancelled", 1, 1, 3)
    attempt = QuizAttempt.get()
    assert attempt.finish_reason == "cancelled" and attempt.finished_at is not None
    # Not in the quiz's statistics, the average, the streak, the profile or "active today".
    assert "Taken" not in screen(quiz) and quizzes.quiz_stats(1, quiz.id).takers == 0
    assert Student.get_by_id(student_id(ALI)).current_streak == 0
    assert profile.profile_stats(student_id(ALI), mentor_id=1).total_quizzes == 0
    assert stats.mentor_stats(1, tz=TZ, test_ids=frozenset(), now=T0).active_today == 0
    # The student's list offers the quiz as not taken; the review shows it marked cancelled.
    [item] = quiz_results.quiz_list(ALI, ranked=False, now=T0).items
    assert item.finished_attempt_id is None
    result = quiz_results.result(ALI, attempt.id, now=T0)
    assert result.cancelled and [line.chosen for line in result.lines] == ["b1"]
    # The mentor's CSV keeps it, marked.
    rows = list(csv.reader(io.StringIO(quiz_export.export_csv(1, quiz.id, tz=TZ).decode("utf-8-sig")),
                           delimiter=";"))
    assert rows[1][6:10] == ["cancelled", "1", "3", "33.3"]


def test_a_cancelled_retake_of_a_closed_ranked_quiz_changes_no_rating(school):
    quiz = make_quiz("Exam", ranked=True)
    take(ALI, quiz, "BCA")  # 2/3 in the window
    rating = SeasonRating.get().rating_score
    after = T0 + dt.timedelta(hours=50)
    view = start(ALI, quiz, after)
    answer(ALI, view, "B", after + dt.timedelta(seconds=1))
    quiz_engine.give_up(ALI, tz=TZ, now=after + dt.timedelta(seconds=2))
    assert SeasonRating.select().count() == 1 and SeasonRating.get().rating_score == rating
    [item] = quiz_results.quiz_list(ALI, ranked=False, now=after).items
    assert (item.score, item.total) == (2, 3)


def test_starting_another_quiz_leaves_a_practice_run_like_cancel(school):
    first, second = make_quiz("One"), make_quiz("Two")
    start(ALI, first)
    start(ALI, second, T0 + dt.timedelta(seconds=3))
    assert [a.quiz_id for a in QuizAttempt.select()] == [second.id]  # the untouched run is gone


# --- 2. no stale question ever comes back --------------------------------------------------------


def test_a_redraw_claimed_before_an_answer_is_not_sent(school):
    quiz = make_quiz()
    view = start(ALI, quiz, chat_id=ALI, message_id=10)
    quiz_countdown.claim_countdowns(5, now=T0)  # first seen
    [claimed] = quiz_countdown.claim_countdowns(5, now=T0 + dt.timedelta(seconds=6))
    assert claimed.number == 1 and quiz_countdown.still_current([claimed]) == {claimed.attempt_id: "en"}
    step = answer(ALI, view, "B", T0 + dt.timedelta(seconds=7))  # the student is faster
    assert step.next.number == 2
    assert quiz_countdown.still_current([claimed]) == {}  # the redraw is dropped
    [newer] = quiz_countdown.moved_on([claimed])
    assert newer.number == 2


async def test_an_edit_never_draws_an_earlier_question_over_a_later_one():
    drawer, sent = Drawer(), []

    def send(what):
        async def go():
            sent.append(what)
        return go

    one, other = key(1, ALI, 10), key(2, ALI, 20)
    assert await drawer.draw(one, 2, send("q2"))
    assert not await drawer.draw(one, 1, send("q1 redraw"))  # claimed earlier, arrived later
    assert await drawer.draw(one, 2, send("q2 redraw"))
    assert await drawer.draw(one, END, send("result"))
    assert not await drawer.draw(one, 3, send("q3"))
    assert await drawer.draw(other, 1, send("other attempt"))
    # SQLite may reuse a discarded attempt's id: the next attempt has its own message.
    assert await drawer.draw(key(1, ALI, 30), 1, send("new attempt, same id"))
    assert sent == ["q2", "q2 redraw", "result", "other attempt", "new attempt, same id"]


def test_a_tap_on_an_answered_question_brings_the_current_one_back(school):
    quiz = make_quiz(n=4)
    q1 = start(ALI, quiz)
    q2 = answer(ALI, q1, "B", T0 + dt.timedelta(seconds=1)).next
    answer(ALI, q2, "C", T0 + dt.timedelta(seconds=2))
    # The screen still shows question 1 (an edit lost in a restart): a tap on it.
    step = answer(ALI, q1, "A", T0 + dt.timedelta(seconds=3))
    assert step.outcome is Outcome.DUPLICATE
    assert (step.next.number, step.next.total, step.next.text) == (3, 4, "Q3")
    assert QuizAnswer.select().count() == 2


# --- 3. a late answer is told the truth -----------------------------------------------------------


def test_a_tap_after_the_deadline_that_the_sweeper_closed_first_is_timed_out(school):
    quiz = make_quiz()
    q1 = start(ALI, quiz)
    # The bot was down: on restart the sweeper closes question 1 before the queued tap.
    [timeout] = quiz_engine.expire_due(tz=TZ, now=q1.deadline + dt.timedelta(seconds=5))
    step = answer(ALI, q1, "B", q1.deadline + dt.timedelta(seconds=6))
    assert step.outcome is Outcome.TIMED_OUT and step.next.number == 2
    assert [a.selected_answer for a in QuizAnswer.select()] == ["-"]
    assert timeout.next.number == 2


# --- 4. a key change is a decision ---------------------------------------------------------------


def outgoing(seen, changes) -> Outgoing:
    scores = ",".join(f"{c.before}->{c.after}" for c in changes)
    return Outgoing(changes[0].chat_id, "sendMessage", {"text": f"{seen.title}:{scores}"})


def test_a_key_change_is_previewed_then_applied_recorded_and_told(school):
    quiz = make_quiz("Exam", ranked=True)
    take(ALI, quiz, "BCA")  # 2/3
    take(BEK, quiz, "BDA")  # 1/3
    q2 = QuizQuestion.get((QuizQuestion.quiz == quiz.id) & (QuizQuestion.order == 2))
    seen = key_change.preview(1, quiz.id, q2.id, "d")
    assert seen.asks and (seen.number, seen.old, seen.new, seen.results) == (2, "C", "D", 2)
    assert [(c.name, c.before, c.after) for c in seen.changes] == [("Ali", 2, 1), ("Bek", 1, 2)]
    assert seen.boards
    with use_locale("en"):
        text = preview_text(seen)
    assert "Ali: 2/3 → 1/3" in text and "Bek: 1/3 → 2/3" in text
    # Nothing changed yet.
    assert QuizQuestion.get_by_id(q2.id).correct_answer == "C"
    assert [a.score for a in QuizAttempt.select().order_by(QuizAttempt.id)] == [2, 1]
    applied = key_change.apply(1, quiz.id, q2.id, "D", expected_old="C", tz=TZ, notify=outgoing,
                               now=T0 + dt.timedelta(hours=1))
    assert applied.notified == 2
    assert [a.score for a in QuizAttempt.select().order_by(QuizAttempt.id)] == [1, 2]
    ratings = {r.student_id: r.total_score for r in SeasonRating.select()}
    assert ratings == {student_id(ALI): 1, student_id(BEK): 2}
    messages = sorted((m.chat_id, json.loads(m.payload)["text"]) for m in OutboxMessage.select())
    assert messages == [(ALI, "Exam:2->1"), (BEK, "Exam:1->2")]
    [record] = key_change.recent(1, quiz.id)
    assert (record.number, record.old, record.new, record.who, record.rescored) == (2, "C", "D", "Anna", 2)
    assert "C → D" in quiz_screen(quizzes.quiz_stats(1, quiz.id), TZ, [record])
    # A second confirmation of the same preview finds the key changed and saves nothing.
    with pytest.raises(key_change.KeyChanged):
        key_change.apply(1, quiz.id, q2.id, "A", expected_old="C", tz=TZ, notify=outgoing)
    assert QuizKeyChange.select().count() == 1 and OutboxMessage.select().count() == 2


def test_a_big_class_preview_is_cut_and_a_question_without_results_needs_no_confirmation(school):
    quiz = make_quiz()
    q3 = QuizQuestion.get((QuizQuestion.quiz == quiz.id) & (QuizQuestion.order == 3))
    assert not key_change.preview(1, quiz.id, q3.id, "A").asks  # nobody answered yet
    for n in range(14):
        telegram_id = 3000 + n
        enrollment.enroll(TelegramProfile(telegram_id, None, f"S{n:02}", ""), mentor_id=1, language="en")
        take(telegram_id, quiz, "BCD", T0 + dt.timedelta(minutes=n))
    seen = key_change.preview(1, quiz.id, q3.id, "A")
    with use_locale("en"):
        text = preview_text(seen)
    assert len(seen.changes) == 14 and not seen.boards
    assert text.count("→") == 11 and "and 4 more" in text  # 10 named + the header line


# --- 5. averages and lists show the graded attempt -------------------------------------------------


def test_an_added_question_does_not_change_the_average_of_earlier_results(school):
    quiz = make_quiz()
    take(ALI, quiz, "BAA")  # 1/3
    take(BEK, quiz, "BAA")  # 1/3
    quiz_questions.add_question(1, quiz.id, text="Q4", options=("a4", "b4", "c4", "d4"), correct="A")
    text = screen(quiz)
    assert "1.0/3" in text and "/4" not in text.split("\n\n")[1]
    take(CAN, quiz, "BCDA", T0 + dt.timedelta(minutes=5))  # 4/4: the counts now differ
    assert quizzes.quiz_stats(1, quiz.id).graded.percent.to_eng_string() == "55.6"
    assert "55.6%" in screen(quiz)


def test_after_a_retake_of_a_closed_ranked_quiz_the_list_shows_the_graded_result(school):
    quiz = make_quiz("Exam", ranked=True)
    graded = take(ALI, quiz, "BAA")  # 1/3 in the window
    after = T0 + dt.timedelta(hours=49)
    retake = take(ALI, quiz, "BCD", after)  # 3/3 as practice
    [item] = quiz_results.quiz_list(ALI, ranked=False, now=after).items
    assert (item.finished_attempt_id, item.score, item.total) == (graded, 1, 3)
    assert quiz_results.latest_finished(ALI, quiz.id) == graded
    rows = list(csv.reader(io.StringIO(quiz_export.export_csv(1, quiz.id, tz=TZ).decode("utf-8-sig")),
                           delimiter=";"))
    assert rows[0][-3:] == ["q1", "q2", "q3"]
    by_status = {row[6]: row for row in rows[1:]}
    assert by_status["graded"][7:10] + by_status["graded"][-3:] == ["1", "3", "33.3", "B", "A", "A"]
    assert by_status["retake"][7:10] + by_status["retake"][-3:] == ["3", "3", "100.0", "B", "C", "D"]
    assert QuizAttempt.get_by_id(retake).finish_reason == "completed"


def test_the_csv_marks_timeouts_and_questions_an_attempt_did_not_have(school):
    quiz = make_quiz()
    view = start(ALI, quiz)
    quiz_engine.expire_due(tz=TZ, now=view.deadline + dt.timedelta(seconds=1))
    view = quiz_engine.current_view(view.attempt_id)
    step = answer(ALI, view, "C", view.deadline - dt.timedelta(seconds=1))
    answer(ALI, step.next, "D", step.next.deadline - dt.timedelta(seconds=1))
    quiz_questions.add_question(1, quiz.id, text="Q4", options=("a", "b", "c", "d"), correct="A")
    rows = list(csv.reader(io.StringIO(quiz_export.export_csv(1, quiz.id, tz=TZ).decode("utf-8-sig")),
                           delimiter=";"))
    assert rows[1][6:10] == ["graded", "2", "3", "66.7"] and rows[1][-4:] == ["-", "C", "D", ""]


def test_editing_the_key_through_update_question_still_regrades(school):
    """The direct path (used when no result would be re-scored) keeps working."""
    quiz = make_quiz()
    take(ALI, quiz, "BCA")
    q3 = QuizQuestion.get((QuizQuestion.quiz == quiz.id) & (QuizQuestion.order == 3))
    quiz_questions.update_question(1, quiz.id, q3.id, Field.CORRECT, "A", tz=TZ)
    assert QuizAttempt.get().score == 3


async def test_the_sweeper_drops_a_claimed_redraw_once_the_student_answered(school, database_url,
                                                                          fake, tmp_path):
    """The race of a load run, made deterministic: the countdown claims question 1, the
    student answers, then the claimed redraw comes to be sent."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from studymate.bot.workers.outbox_sender import OutboxSender
    from studymate.bot.workers.quiz_sweeper import QuizSweeper
    from studymate.config import Settings
    from studymate.db.connection import Db, open_database

    fake.add_user(ALI, "Ali")
    settings = Settings(_env_file=None, database_url=database_url, state_dir=tmp_path,
                        runtime_dir=tmp_path, log_dir=tmp_path, quiz_countdown_seconds=1)
    db = Db(open_database(database_url))
    bot = Bot("123456789:" + "T" * 35, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
    try:
        sweeper = QuizSweeper(db, settings, OutboxSender(db))
        shown = await bot.send_message(ALI, "quiz")
        quiz = make_quiz()
        now = quiz_engine.utcnow()
        view = await db.run(start, ALI, quiz, now, chat_id=ALI, message_id=shown.message_id)
        await db.run(quiz_countdown.claim_countdowns, 1, now=now)
        [claimed] = await db.run(quiz_countdown.claim_countdowns, 1, now=now + dt.timedelta(seconds=1))
        await db.run(answer, ALI, view, "B", now + dt.timedelta(seconds=2))
        assert await sweeper.redraw(bot, [claimed]) == 0
        assert fake.calls("editMessageText") == []  # question 1 never came back
        # The next claim is of question 2, and is sent.
        later = now + dt.timedelta(seconds=4)
        await db.run(quiz_countdown.claim_countdowns, 1, now=later)
        [second] = await db.run(quiz_countdown.claim_countdowns, 1, now=later + dt.timedelta(seconds=1))
        assert second.number == 2 and await sweeper.redraw(bot, [second]) == 1
        assert "Q2" in fake.messages(ALI)[-1]["text"]
    finally:
        await bot.session.close()
        db.close()
