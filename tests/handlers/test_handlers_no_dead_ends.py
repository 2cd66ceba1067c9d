"""Every quiz screen a student reaches has a way on: notices start the quiz, results lead back
to the list or to a retake, scheduled quizzes show when they open, and a review shows code as
code."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from e2e import MENTOR_ID, STUDENT_ID, button_data, inline_labels, make_school, plain
from inproc import Chat
from test_e2e_quiz_taking import current, make_quiz, open_quiz, tap

from studymate.db.models import Quiz, QuizAttempt, QuizQuestion, utcnow
from studymate.i18n import t

TZ = ZoneInfo("Asia/Tashkent")
LETTERS = ["A", "B", "C", "D"]
QUIZ_FILE = "Тема: Basics\n\n1. Which keyword defines a function?\nA) func\nB*) def\nC) lambda\nD) define\n"


def ru(key: str, **params) -> str:
    return t(key, "ru", **params)


def local(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=dt.UTC).astimezone(TZ).strftime("%d.%m %H:%M")


async def press(chat: Chat, fake, message: dict, label: str) -> dict:
    await chat.click(message["message_id"], button_data(message, label))
    return current(fake, chat.user_id, message["message_id"])


async def test_new_ranked_quiz_notice_starts_the_quiz(db, fake, run_bot):
    make_school(fake)
    bot = await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("📝 Квизы")
    await mentor.click(menu["message_id"], button_data(menu, ru("btn_upload_quiz")))
    after = mentor.last_bot_message_id()
    await fake.send_document(MENTOR_ID, QUIZ_FILE.encode(), file_name="basics.txt")
    [preview] = await mentor.replies(after)
    modes = await press(mentor, fake, preview, ru("btn_save_quiz"))
    start = await press(mentor, fake, modes, ru("btn_publish_ranked"))
    await press(mentor, fake, start, ru("btn_start_now"))
    await bot.drain_outbox()

    student = Chat(fake, STUDENT_ID)
    [notice] = await student.replies(0)
    assert inline_labels(notice) == [ru("btn_quiz_start")]
    question = await press(student, fake, notice, "▶️")
    assert inline_labels(question) == LETTERS  # the notice became the first question
    assert QuizAttempt.select().count() == 1


async def test_scheduled_quiz_shows_its_opening_and_its_notice_starts_it(db, fake, run_bot):
    make_school(fake)
    quiz = make_quiz("Later", 1, ranked=True)
    opens = utcnow().replace(microsecond=0) + dt.timedelta(days=1)
    Quiz.update(available_from=opens, notified_at=None).where(Quiz.id == quiz.id).execute()
    bot = await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    student = Chat(fake, STUDENT_ID)
    [menu] = await student.send("📝 Квизы")
    listing = await press(student, fake, menu, "🏆")
    label = ru("quiz_list_opens", title="Later", start=local(opens))
    assert inline_labels(listing)[0] == label
    not_yet = await press(student, fake, listing, "Later")
    assert not_yet["text"] == plain("quiz_not_started", start=local(opens))
    back = await press(student, fake, not_yet, ru("btn_back_to_list"))  # not a dead end
    assert back["text"].startswith(plain("ranked_quizzes_header"))

    Quiz.update(available_from=utcnow() - dt.timedelta(seconds=1)).where(Quiz.id == quiz.id).execute()
    await bot.sweep()
    await bot.drain_outbox()
    [notice] = await student.replies(menu["message_id"])
    assert notice["text"].startswith("🔔") and inline_labels(notice) == [ru("btn_quiz_start")]
    question = await press(student, fake, notice, "▶️")
    assert inline_labels(question) == LETTERS


async def test_practice_result_offers_a_retake_and_the_list(db, fake, run_bot):
    make_school(fake)
    make_quiz("Practice", 1, correct="B")
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    student = Chat(fake, STUDENT_ID)
    question = await open_quiz(fake, student, "📚", "Practice")
    await tap(fake, student, question, "b1")
    done = current(fake, STUDENT_ID, question["message_id"])
    assert inline_labels(done) == [ru("quiz_retake"), ru("btn_back_to_list")]
    listing = await press(student, fake, done, ru("btn_back_to_list"))
    assert listing["text"].startswith(plain("practice_quizzes_header"))
    result = await press(student, fake, listing, "Practice")  # ✅ Practice — 1/1
    assert ru("btn_back_to_list") in inline_labels(result)
    again = await press(student, fake, result, ru("quiz_retake"))
    assert inline_labels(again) == LETTERS


async def test_ranked_result_leads_back_to_the_list(db, fake, run_bot):
    make_school(fake)
    make_quiz("Exam", 1, ranked=True, correct="B")
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    student = Chat(fake, STUDENT_ID)
    question = await open_quiz(fake, student, "🏆", "Exam")
    await tap(fake, student, question, "b1")
    done = current(fake, STUDENT_ID, question["message_id"])
    assert done["text"] == plain("quiz_exam_mode_result", score=1, total=1)
    assert inline_labels(done) == [ru("btn_back_to_list")]
    listing = await press(student, fake, done, ru("btn_back_to_list"))
    result = await press(student, fake, listing, "Exam")
    assert result["text"] == plain("quiz_exam_mode_result", score=1, total=1)
    assert inline_labels(result) == [ru("btn_back_to_list")]


async def test_review_shows_code_blocks_as_code(db, fake, run_bot):
    make_school(fake)
    quiz = make_quiz("Code", 1, correct="B")
    QuizQuestion.update(
        question_text="What does this print?\n```python\nx = [1, 2]\nprint(len(x))\n```"
    ).where(QuizQuestion.quiz == quiz.id).execute()
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    student = Chat(fake, STUDENT_ID)
    question = await open_quiz(fake, student, "📚", "Code")
    await tap(fake, student, question, "b1")
    done = current(fake, STUDENT_ID, question["message_id"])
    assert "```" not in done["text"]
    assert "What does this print?\nx = [1, 2]\nprint(len(x))" in done["text"]
    pre = [e for e in done.get("entities", []) if e["type"] == "pre"]
    assert len(pre) == 1 and pre[0].get("language") == "python"
