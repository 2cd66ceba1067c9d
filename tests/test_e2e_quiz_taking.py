"""Taking quizzes through the real bot: answers count once and on time, restarts lose nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal

import pytest
from e2e import STUDENT_ID, Chat, button_data, inline_labels, make_school, plain

from studymate.bot.features.quiz.callbacks import AnswerCb
from studymate.db.models import Quiz, QuizAnswer, QuizAttempt, QuizQuestion, utcnow

pytestmark = pytest.mark.e2e
FAST = {"STUDYMATE_QUIZ_QUESTION_SECONDS": "3", "STUDYMATE_QUIZ_COUNTDOWN_SECONDS": "1"}


def make_quiz(title="Python", n=3, *, ranked=False, correct="BCDAB" * 4) -> Quiz:
    now = utcnow()
    quiz = Quiz.create(
        mentor=1, title=title, quiz_type="ranked" if ranked else "practice",
        max_attempts=1 if ranked else 999,
        available_from=now - dt.timedelta(minutes=1) if ranked else None,
        available_until=now + dt.timedelta(hours=48) if ranked else None,
        notified_at=now if ranked else None,  # published with "start now": students were told
    )
    for i in range(n):
        QuizQuestion.create(quiz=quiz, question_text=f"Question {i + 1}", option_a=f"a{i + 1}",
                            option_b=f"b{i + 1}", option_c=f"c{i + 1}", option_d=f"d{i + 1}",
                            correct_answer=correct[i], order=i + 1)
    return quiz


def current(fake, user_id: int, message_id: int) -> dict:
    return [m for m in fake.messages(user_id) if m["message_id"] == message_id][0]


async def open_quiz(fake, chat: Chat, list_label: str, title: str) -> dict:
    [menu] = await chat.send("📝 Квизы")
    await chat.click(menu["message_id"], button_data(menu, list_label))
    listing = current(fake, chat.user_id, menu["message_id"])
    await chat.click(menu["message_id"], button_data(listing, title))
    return current(fake, chat.user_id, menu["message_id"])


async def tap(fake, chat: Chat, message: dict, option_text: str) -> dict:
    """Press the displayed letter whose option is ``option_text``."""
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            letter = button["text"]
            if f"{letter}) {option_text}" in message["text"]:
                return await chat.click(message["message_id"], button["callback_data"])
    raise AssertionError(f"{option_text!r} not on {message['text']!r}")


async def wait_text(fake, user_id, message_id, needle, timeout=20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        message = current(fake, user_id, message_id)
        if needle in (message["text"] or ""):
            return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared; last: {message['text']!r}")


async def test_practice_run_with_timeout_review_and_pin(db, fake, run_bot):
    make_school(fake)
    make_quiz("Python basics", 3)
    await run_bot(**FAST)
    chat = Chat(fake, STUDENT_ID)
    q1 = await open_quiz(fake, chat, "📚", "Python basics")
    assert "Question 1" in q1["text"] and q1["pinned"]
    assert inline_labels(q1) == ["A", "B", "C", "D"]
    await tap(fake, chat, q1, "b1")
    q2 = await wait_text(fake, STUDENT_ID, q1["message_id"], "Question 2")
    # Nobody answers question 2: after 3 s it is recorded as a timeout and question 3 shows.
    q3 = await wait_text(fake, STUDENT_ID, q1["message_id"], "Question 3", timeout=10)
    assert q2["edit_count"] < q3["edit_count"]
    await tap(fake, chat, q3, "a3")  # wrong (correct is D)
    done = await wait_text(fake, STUDENT_ID, q1["message_id"], "1/3")
    for _ in range(50):  # the unpin follows the final edit
        if not current(fake, STUDENT_ID, q1["message_id"])["pinned"]:
            break
        await asyncio.sleep(0.1)
    assert not current(fake, STUDENT_ID, q1["message_id"])["pinned"]
    assert plain("quiz_time_expired", "ru") in done["text"] and "d3" in done["text"]
    assert [a.selected_answer for a in QuizAnswer.select().order_by(QuizAnswer.id)] == ["B", "-", "A"]
    attempt = QuizAttempt.get()
    assert (attempt.score, attempt.total, attempt.finish_reason) == (1, 3, "completed")


async def test_ranked_quiz_survives_sigkill_on_question_three(db, fake, run_bot):
    make_school(fake)
    quiz = make_quiz("Exam", 5, ranked=True, correct="BCDAB")
    bot = await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="6", STUDYMATE_QUIZ_COUNTDOWN_SECONDS="5")
    chat = Chat(fake, STUDENT_ID)
    message = await open_quiz(fake, chat, "🏆", "Exam")
    mid = message["message_id"]
    await tap(fake, chat, message, "b1")
    message = await wait_text(fake, STUDENT_ID, mid, "Question 2")
    await tap(fake, chat, message, "a2")  # wrong
    message = await wait_text(fake, STUDENT_ID, mid, "Question 3")
    deadline = QuizAttempt.get().question_deadline
    await bot.stop(signal.SIGKILL)
    await asyncio.sleep(2)
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="6", STUDYMATE_QUIZ_COUNTDOWN_SECONDS="5")
    # The old deadline still holds: question 3 times out, question 4 appears.
    message = await wait_text(fake, STUDENT_ID, mid, "Question 4", timeout=20)
    assert utcnow() >= deadline
    await tap(fake, chat, message, "a4")
    message = await wait_text(fake, STUDENT_ID, mid, "Question 5")
    await tap(fake, chat, message, "b5")
    await wait_text(fake, STUDENT_ID, mid, "3/5")
    answers = {a.question.order: a for a in QuizAnswer.select()}
    assert [answers[i].selected_answer for i in range(1, 6)] == ["B", "A", "-", "A", "B"]
    attempt = QuizAttempt.get()
    assert (attempt.score, attempt.total) == (3, 5) and attempt.quiz_id == quiz.id
    assert QuizAnswer.select().where(QuizAnswer.selected_answer == "-").count() == 1


async def test_double_tap_and_stale_buttons_count_once(db, fake, run_bot):
    make_school(fake)
    make_quiz("Python", 3)
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="30")
    chat = Chat(fake, STUDENT_ID)
    q1 = await open_quiz(fake, chat, "📚", "Python")
    attempt = QuizAttempt.get()
    question = QuizQuestion.get(QuizQuestion.order == 1)
    data = AnswerCb(attempt=attempt.id, question=question.id, letter="B").pack()
    first = await fake.click(STUDENT_ID, q1["message_id"], data)
    await asyncio.sleep(0.05)
    second = await fake.click(STUDENT_ID, q1["message_id"], data)
    await wait_text(fake, STUDENT_ID, q1["message_id"], "Question 2")
    await asyncio.sleep(0.5)
    answers = fake.callback_answers()
    texts = {a["callback_query_id"]: a["text"] for a in answers}
    assert texts[second["callback_query_id"]] == plain("quiz_answer_duplicate_current", "ru", current=2, total=3)
    assert texts[first["callback_query_id"]] in (None, "")
    assert QuizAnswer.select().count() == 1 and QuizAttempt.get().current_index == 1


async def test_scheduled_quiz_notifies_students_when_it_opens(db, fake, run_bot):
    make_school(fake, students=3)
    quiz = make_quiz("Later", 1, ranked=True)
    quiz.available_from, quiz.notified_at = utcnow() + dt.timedelta(days=1), None
    quiz.save()
    await run_bot()
    quiz.available_from = utcnow() + dt.timedelta(seconds=2)
    quiz.save()
    chat = Chat(fake, STUDENT_ID)
    [early] = await chat.replies(0, timeout=1) or [None]
    assert early is None  # nothing before it opens
    [notice] = await chat.replies(0, timeout=15)
    assert "Later" in notice["text"]
    await asyncio.sleep(2)
    for n in range(3):
        assert len([m for m in fake.messages(STUDENT_ID + n) if m["outgoing"]]) == 1


async def test_hundred_students_take_one_ranked_quiz_concurrently(db, fake, run_bot):
    make_school(fake, students=100)
    make_quiz("Big exam", 10, ranked=True, correct="BCDAB" * 2)
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="120")
    correct = "BCDAB" * 2

    async def take(n: int) -> None:
        chat = Chat(fake, STUDENT_ID + n)
        message = await open_quiz(fake, chat, "🏆", "Big exam")
        mid = message["message_id"]
        for i in range(10):
            message = await wait_text(fake, chat.user_id, mid, f"Question {i + 1}\n", timeout=60)
            # Student n answers question i correctly when (n + i) is even.
            option = f"{correct[i].lower()}{i + 1}" if (n + i) % 2 == 0 else f"{'a' if correct[i] != 'A' else 'b'}{i + 1}"
            await tap(fake, chat, message, option)
        await wait_text(fake, chat.user_id, mid, "/10", timeout=60)

    await asyncio.gather(*(take(n) for n in range(100)))
    attempts = list(QuizAttempt.select())
    assert len(attempts) == 100
    for attempt in attempts:
        assert attempt.finished_at is not None
        assert QuizAnswer.select().where(QuizAnswer.attempt == attempt).count() == 10
        n = attempt.student.telegram_id - STUDENT_ID
        assert attempt.score == sum(1 for i in range(10) if (n + i) % 2 == 0)
