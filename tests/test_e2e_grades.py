"""Grades teachers can trust, through the real bot: a cancelled practice quiz, a tap on an old
question, a tap after the deadline across a restart, a confirmed key change, the graded result
(issue 13, items 1-5)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time

import pytest
from e2e import MENTOR_ID, STUDENT_ID, Chat, button_data, inline_labels, make_school, plain
from test_e2e_quiz_taking import current, make_quiz, open_quiz, tap, wait_text

from studymate.db.models import (
    OutboxMessage,
    QuizAnswer,
    QuizAttempt,
    QuizQuestion,
    Student,
    utcnow,
)
from studymate.services.quiz import questions as quiz_questions

pytestmark = pytest.mark.e2e


async def press(chat: Chat, fake, message: dict, label: str) -> dict:
    await chat.click(message["message_id"], button_data(message, label))
    return current(fake, chat.user_id, message["message_id"])


async def mentor_screen(fake, title: str) -> tuple[Chat, dict]:
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("📝 Квизы")
    listing = await press(mentor, fake, menu, plain("btn_active_quizzes"))
    return mentor, await press(mentor, fake, listing, title)


async def test_cancel_discards_or_keeps_a_cancelled_attempt_that_counts_nowhere(db, fake, run_bot):
    make_school(fake)
    make_quiz("Python", 3)
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    chat = Chat(fake, STUDENT_ID)
    q1 = await open_quiz(fake, chat, "📚", "Python")
    await chat.send("/cancel")
    assert current(fake, STUDENT_ID, q1["message_id"])["text"] == plain("quiz_left_discarded")
    assert QuizAttempt.select().count() == 0

    q1 = await open_quiz(fake, chat, "📚", "Python")
    await tap(fake, chat, q1, "b1")  # right
    await wait_text(fake, STUDENT_ID, q1["message_id"], "Вопрос 2")
    await chat.send("/cancel")
    left = current(fake, STUDENT_ID, q1["message_id"])
    assert left["text"] == plain("quiz_left_cancelled", answered=1, total=3, score=1)
    assert not left["pinned"]
    review = await press(chat, fake, left, plain("quiz_view_answers"))
    assert review["text"].startswith(plain("quiz_review_cancelled", score=1, total=3))
    assert QuizAttempt.get().finish_reason == "cancelled"
    assert Student.get(Student.telegram_id == STUDENT_ID).current_streak == 0
    _, screen = await mentor_screen(fake, "Python")
    assert plain("quiz_no_attempts") in screen["text"]


async def test_old_and_timed_out_taps_say_why_and_bring_the_current_question_back(db, fake, run_bot):
    make_school(fake)
    make_quiz("Python", 3)
    bot = await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="3", STUDYMATE_QUIZ_COUNTDOWN_SECONDS="60")
    chat = Chat(fake, STUDENT_ID)
    q1 = await open_quiz(fake, chat, "📚", "Python")
    mid = q1["message_id"]
    old_q1 = button_data(q1, "A")
    await tap(fake, chat, q1, "b1")
    q2 = await wait_text(fake, STUDENT_ID, mid, "Вопрос 2")
    # The screen showed question 1 still (say, an edit lost in a restart): a tap on it.
    since = time.monotonic()
    toast = await chat.click(mid, old_q1)
    assert toast["text"] == plain("quiz_answer_duplicate_current", current=2, total=3)

    def redrawn() -> list[str]:
        return [c["params"]["text"] for c in fake.calls("editMessageText", since=since)]

    for _ in range(100):  # question 2 is drawn again alongside the toast
        if any("Вопрос 2/3" in text for text in redrawn()):
            break
        await asyncio.sleep(0.05)
    assert any("Вопрос 2/3" in text for text in redrawn())
    # The bot is down while question 2's time runs out; the student taps it meanwhile.
    old_q2 = button_data(q2, "B")
    await bot.stop()
    await asyncio.sleep(3.5)
    pressed = await fake.click(STUDENT_ID, mid, old_q2)
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="3", STUDYMATE_QUIZ_COUNTDOWN_SECONDS="60")
    for _ in range(200):
        answers = fake.callback_answers(pressed["callback_query_id"])
        if answers:
            break
        await asyncio.sleep(0.05)
    assert answers[-1]["text"] in (plain("quiz_answer_timed_out"),
                                   plain("quiz_answer_timed_out_current", current=3, total=3))
    await wait_text(fake, STUDENT_ID, mid, "Вопрос 3")
    order = {q.id: q.order for q in QuizQuestion.select()}
    assert sorted((order[a.question_id], a.selected_answer) for a in QuizAnswer.select()) == [(1, "B"), (2, "-")]


async def test_a_key_change_is_confirmed_told_to_students_and_recorded(db, fake, run_bot):
    make_school(fake, students=2)
    quiz = make_quiz("Python", 3, correct="BCD")
    attempts = {STUDENT_ID: "BCA", STUDENT_ID + 1: "BDA"}  # 2/3 and 1/3
    ids = [q.id for q in QuizQuestion.select().order_by(QuizQuestion.order)]
    for who, letters in attempts.items():
        Student.update(full_name=f"Name{who}").where(Student.telegram_id == who).execute()
        row = QuizAttempt.create(student=Student.get(Student.telegram_id == who), quiz=quiz,
                                 score=sum(a == b for a, b in zip(letters, "BCD", strict=True)), total=3,
                                 question_ids=json.dumps(ids), finished_at=utcnow(),
                                 finish_reason="completed")
        for question_id, letter, key in zip(ids, letters, "BCD", strict=True):
            QuizAnswer.create(attempt=row, question=question_id, selected_answer=letter, is_correct=letter == key)
    # A 4th question added later does not turn 2/3 and 1/3 into x/4.
    quiz_questions.add_question(1, quiz.id, text="Question 4", options=("a4", "b4", "c4", "d4"), correct="A")
    await run_bot()
    mentor, screen = await mentor_screen(fake, "Python")
    assert "1.5/3" in screen["text"]
    questions = await press(mentor, fake, screen, plain("btn_manage_questions"))
    detail = await press(mentor, fake, questions, "2. ")
    fields = await press(mentor, fake, detail, plain("btn_edit_question"))
    after = mentor.last_bot_message_id()
    await mentor.click(fields["message_id"], button_data(fields, plain("btn_edit_correct")))
    await mentor.replies(after)
    _, ask = await mentor.send("d", expect=2)
    assert f"Name{STUDENT_ID}: 2/3 → 1/3" in ask["text"] and f"Name{STUDENT_ID + 1}: 1/3 → 2/3" in ask["text"]
    assert QuizQuestion.get_by_id(ids[1]).correct_answer == "C"  # nothing saved yet
    saved = await press(mentor, fake, ask, plain("btn_key_change_confirm", new="D"))
    assert saved["text"] == plain("key_change_saved", old="C", new="D", count=2, notified=2)
    assert [a.score for a in QuizAttempt.select().order_by(QuizAttempt.id)] == [1, 2]
    for who, scores in ((STUDENT_ID, "2/3 → 1/3"), (STUDENT_ID + 1, "1/3 → 2/3")):
        told = await Chat(fake, who).replies(0, timeout=10)
        assert told[-1]["text"] == plain("key_change_student", title="Python", number=2, scores=scores)
    assert OutboxMessage.select().count() == 2  # through the outbox, once each
    _, screen = await mentor_screen(fake, "Python")
    assert "2: C → D (Anna" in screen["text"]
    # The CSV marks each row graded and carries the answers.
    after = mentor.last_bot_message_id()
    await mentor.click(screen["message_id"], button_data(screen, plain("btn_export_results")))
    [document] = await mentor.replies(after)
    rows = list(csv.reader(io.StringIO(fake.file_bytes(document["document"]["file_id"]).decode("utf-8-sig")),
                           delimiter=";"))
    assert [(r[6], r[7], r[9], r[-4:]) for r in rows[1:]] == [
        ("graded", "1", "33.3", ["B", "C", "A", ""]), ("graded", "2", "66.7", ["B", "D", "A", ""])]
    assert inline_labels(screen)[0] == plain("btn_archive_quiz")
