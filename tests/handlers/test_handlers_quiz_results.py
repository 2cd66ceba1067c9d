"""A student's quiz lists, results, reviews and retakes in process; old buttons and other
people's ids. Moved from the e2e tier; the exam left while the bot was down and the countdown's pace stay there."""

from __future__ import annotations

import datetime as dt
import json

from e2e import STUDENT_ID, button_data, inline_labels, make_school, plain
from inproc import Chat
from test_e2e_quiz_results import TZ, local, press, quiz_list, rating_rows, ru  # both tiers
from test_e2e_quiz_taking import current, make_quiz, open_quiz, tap, wait_text

from studymate.bot.features.quiz.callbacks import AnswerCb, Take, TakeCb
from studymate.db.models import (
    Quiz,
    QuizAnswer,
    QuizAttempt,
    QuizQuestion,
    Student,
    utcnow,
)
from studymate.services import mentors, ratings
from studymate.services.quiz import engine as quiz_engine


async def test_ranked_exam_rules_and_a_quiz_not_open_yet(db, fake, run_bot):
    """Shuffled options and a score-only end; a quiz not open yet."""
    make_school(fake)
    exam = make_quiz("Exam", 3, ranked=True, correct="BCD")
    later = make_quiz("Later", 1, ranked=True)
    opens = utcnow().replace(microsecond=0) + dt.timedelta(days=1)
    Quiz.update(available_from=opens, available_until=opens + dt.timedelta(hours=48), notified_at=None
                ).where(Quiz.id == later.id).execute()
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    chat = Chat(fake, STUDENT_ID)

    # 41: a scheduled quiz is listed under Ranked; tapping it tells when it opens.
    listing = await quiz_list(chat, fake, "🏆")
    later = ru("quiz_list_opens", title="Later", start=local(opens))  # when it opens, at a glance
    assert inline_labels(listing) == [later, "🏆 Exam", ru("btn_practice_short")]
    not_yet = await press(chat, fake, listing, "Later")
    assert not_yet["text"] == plain("quiz_not_started", start=local(opens))
    assert QuizAttempt.select().count() == 0

    # 40: options are shuffled per question; the displayed letter maps to the stored one.
    message = await open_quiz(fake, chat, "🏆", "Exam")
    mid = message["message_id"]
    attempt = QuizAttempt.get()
    order = json.loads(attempt.shuffle_map)
    assert attempt.is_exam and order is not None
    for number, option in ((1, "b1"), (2, "c2"), (3, "a3")):  # the last one is wrong (D)
        message = await wait_text(fake, STUDENT_ID, mid, f"Question {number}\n")
        question = QuizQuestion.get(QuizQuestion.quiz == exam.id, QuizQuestion.order == number)
        shown = "\n".join(f"{shown}) {letter.lower()}{number}"
                          for shown, letter in zip("ABCD", order[str(question.id)], strict=True))
        assert shown in message["text"]
        await tap(fake, chat, message, option)
    result = plain("quiz_exam_mode_result", score=2, total=3)
    done = await wait_text(fake, STUDENT_ID, mid, result.split("\n")[0])
    assert done["text"] == result  # the score, no answers; the way back to the list
    assert inline_labels(done) == [ru("btn_back_to_list")]
    answers = QuizAnswer.select(QuizAnswer, QuizQuestion).join(QuizQuestion).order_by(QuizQuestion.order)
    assert [a.selected_answer for a in answers] == ["B", "C", "A"]  # original letters

    # The ranked list now shows "✅ R — s/t"; it opens the score only; no second attempt.
    listing = await quiz_list(chat, fake, "🏆")
    assert "✅ Exam — 2/3" in inline_labels(listing)
    view = await press(chat, fake, listing, "✅ Exam")
    assert view["text"] == result and inline_labels(view) == [ru("btn_back_to_list")]
    again = await chat.click(mid, TakeCb(action=Take.START, quiz=exam.id).pack())
    assert again["show_alert"] and again["text"] == plain("quiz_max_attempts")
    assert QuizAttempt.select().count() == 1


async def test_after_the_deadline_review_pages_and_a_retake_that_does_not_rate(db, fake, run_bot):
    """After the deadline a ranked quiz is practice: listed, reviewed, retaken without rating."""
    make_school(fake)
    correct = "BCDA" * 3
    quiz = make_quiz("Exam", 12, ranked=True, correct=correct)
    opened = utcnow() - dt.timedelta(days=3)
    Quiz.update(available_from=opened, available_until=opened + dt.timedelta(hours=48)).where(
        Quiz.id == quiz.id).execute()
    questions = list(QuizQuestion.select().where(QuizQuestion.quiz == quiz.id).order_by(QuizQuestion.order))
    taken = QuizAttempt.create(
        student=Student.get(Student.telegram_id == STUDENT_ID), quiz=quiz, score=9, total=12,
        started_at=opened + dt.timedelta(hours=1), finished_at=opened + dt.timedelta(hours=1, minutes=5),
        question_ids=json.dumps([q.id for q in questions]), current_index=12, is_exam=True,
        finish_reason="completed",
    )
    for n, question in enumerate(questions):  # 1–9 right, 10–12 wrong
        letter = question.correct_answer if n < 9 else "BA"[question.correct_answer == "B"]
        QuizAnswer.create(attempt=taken, question=question, selected_answer=letter,
                          is_correct=letter == question.correct_answer)
    ratings.on_attempt_finished(taken.id, tz=TZ)
    rated = rating_rows()
    assert rated and all(row[2] == 9 for row in rated)
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    chat = Chat(fake, STUDENT_ID)

    listing = await quiz_list(chat, fake, "🏆")
    assert plain("no_ranked_quizzes") in listing["text"]
    listing = await press(chat, fake, listing, ru("btn_practice_short"))
    assert inline_labels(listing) == ["✅ Exam — 9/12", ru("btn_ranked_short")]
    taken_screen = await press(chat, fake, listing, "✅ Exam")
    assert taken_screen["text"] == plain("quiz_already_taken", score=9, total=12)
    assert inline_labels(taken_screen) == [ru("quiz_view_answers"), ru("quiz_retake"), ru("btn_back_to_list")]

    # View answers: 10 per page, ◀️/▶️, back to the result.
    page = await press(chat, fake, taken_screen, ru("quiz_view_answers"))
    assert page["text"].startswith(plain("quiz_your_result", score=9, total=12) + "\n\n"
                                   + plain("quiz_review_header_page", page=1, total_pages=2))
    assert "Question 10" in page["text"] and "Question 11" not in page["text"]
    assert inline_labels(page) == ["1/2", "▶️", ru("btn_back")]
    page = await press(chat, fake, page, "▶️")
    assert plain("quiz_review_header_page", page=2, total_pages=2) in page["text"]
    assert "Question 1\n" not in page["text"] and "Question 12" in page["text"]
    wrong = plain("quiz_review_wrong", num=12, question="Question 12", answer="b12", correct="a12")
    assert wrong in page["text"]
    assert inline_labels(page) == ["◀️", "2/2", ru("btn_back")]
    page = await press(chat, fake, page, "◀️")
    assert "Question 10" in page["text"]
    back = await press(chat, fake, page, ru("btn_back"))
    assert back["text"] == taken_screen["text"]

    # Retake: options in their stored order, the full review at the end, no rating change.
    message = await press(chat, fake, back, ru("quiz_retake"))
    mid = message["message_id"]
    assert "A) a1\nB) b1\nC) c1\nD) d1" in message["text"]
    retake = QuizAttempt.select().order_by(QuizAttempt.id.desc()).get()
    assert not retake.is_exam and retake.shuffle_map is None
    for i in range(12):
        message = await wait_text(fake, STUDENT_ID, mid, f"Question {i + 1}\n")
        await tap(fake, chat, message, f"{correct[i].lower()}{i + 1}")
    finished = plain("quiz_finished", score=12, total=12, avg="9.0/12")  # first attempts only
    done = await wait_text(fake, STUDENT_ID, mid, finished.split("\n")[0])
    assert done["text"].startswith(finished) and plain("quiz_review_header_page", page=1, total_pages=2) in done["text"]
    assert (QuizAttempt.get_by_id(retake.id).score, QuizAttempt.select().count()) == (12, 2)
    assert rating_rows() == rated  # started after the deadline: leaderboards ignore it


async def test_old_buttons_of_an_archived_quiz_and_other_peoples_ids(db, fake, run_bot):
    """A practice retake: archived quizzes are gone from old buttons,
    and ids in buttons are checked against the student."""
    make_school(fake, students=2)
    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-2, language="ru")
    practice = make_quiz("Python", 1, correct="B")
    foreign = Quiz.create(mentor=2, title="Foreign", quiz_type="practice")
    QuizQuestion.create(quiz=foreign, question_text="F", option_a="a", option_b="b", option_c="c",
                        option_d="d", correct_answer="A", order=1)
    other = quiz_engine.start(STUDENT_ID + 1, practice.id, tz=TZ, base_seconds=600)  # someone else's
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    chat = Chat(fake, STUDENT_ID)
    message = await open_quiz(fake, chat, "📚", "Python")
    await tap(fake, chat, message, "b1")
    await wait_text(fake, STUDENT_ID, message["message_id"], "1/1")
    # A practice quiz can be retaken: the list shows the latest result, the average the first.
    screen = await press(chat, fake, await quiz_list(chat, fake, "📚"), "✅ Python — 1/1")
    assert inline_labels(screen) == [ru("quiz_view_answers"), ru("quiz_retake"), ru("btn_back_to_list")]
    retake = await press(chat, fake, screen, ru("quiz_retake"))
    await tap(fake, chat, retake, "a1")
    finished = plain("quiz_finished", score=0, total=1, avg="1.0/1")
    await wait_text(fake, STUDENT_ID, retake["message_id"], finished.split("\n")[0])
    old_list = await quiz_list(chat, fake, "📚")
    assert "✅ Python — 0/1" in inline_labels(old_list)
    screen = await press(chat, fake, await quiz_list(chat, fake, "📚"), "✅ Python")

    # Someone else's attempt (review, answer) or another mentor's quiz: refused, nothing changes.
    theirs = quiz_engine.answer(STUDENT_ID + 1, other.attempt_id, other.question_id, "A", tz=TZ)
    crafted = [
        TakeCb(action=Take.REVIEW, attempt=theirs.finished.attempt_id),
        AnswerCb(attempt=other.attempt_id, question=other.question_id, letter="B"),
        TakeCb(action=Take.START, quiz=foreign.id),
        TakeCb(action=Take.VIEW, quiz=foreign.id),
    ]
    for data in crafted:
        answer = await chat.click(screen["message_id"], data.pack())
        assert answer["show_alert"] and answer["text"] == plain("callback_not_allowed"), data
    assert current(fake, STUDENT_ID, screen["message_id"])["text"] == screen["text"]
    assert QuizAnswer.select().where(QuizAnswer.attempt == other.attempt_id).count() == 1
    assert QuizAttempt.select().where(QuizAttempt.quiz == foreign.id).count() == 0

    # The mentor archives the quiz: every old button of it now refuses politely.
    Quiz.update(is_active=False).where(Quiz.id == practice.id).execute()
    for message, label in ((old_list, "✅ Python"), (screen, ru("quiz_view_answers")), (screen, ru("quiz_retake"))):
        answer = await chat.click(message["message_id"], button_data(message, label))
        assert answer["show_alert"] and answer["text"] == plain("quiz_archived_unavailable"), label
        assert current(fake, STUDENT_ID, message["message_id"])["text"] == message["text"]
    mine = QuizAttempt.select().join(Student).where(Student.telegram_id == STUDENT_ID)
    assert mine.count() == 2
    assert plain("no_practice_quizzes") in (await quiz_list(chat, fake, "📚"))["text"]
    Quiz.update(is_active=True).where(Quiz.id == practice.id).execute()
    assert "✅ Python — 0/1" in inline_labels(await quiz_list(chat, fake, "📚"))

    # A stranger's tap on an answer button gets the stranger's refusal.
    fake.add_user(3001, "Stranger")
    stranger = Chat(fake, 3001)
    [picker] = await stranger.send("/start")
    answer = await stranger.click(picker["message_id"], AnswerCb(
        attempt=other.attempt_id, question=other.question_id, letter="A").pack())
    assert answer["show_alert"] and answer["text"] == plain("access_denied")
