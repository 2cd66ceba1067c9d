"""The in-process tier itself: calls are recorded, Telegram's errors reach the bot, admin alerts
land in the fake world, and the background workers step when told to (tests/inproc.py)."""

from __future__ import annotations

import datetime as dt

from e2e import ADMIN_ID, MENTOR_ID, STUDENT_ID, button_data, make_school, plain
from inproc import Chat
from test_e2e_quiz_taking import make_quiz, open_quiz

from studymate.db.models import OutboxMessage, QuizAttempt, utcnow
from studymate.i18n import t


async def test_calls_are_recorded_with_their_parameters(db, fake, run_bot):
    make_school(fake)
    bot = await run_bot()
    calls = await bot.text(MENTOR_ID, "/start")
    [sent] = [c for c in calls if c.method == "sendMessage"]
    assert sent.params["chat_id"] == MENTOR_ID
    assert sent.params["text"] == t("welcome_mentor", "ru", name="Anna")  # HTML as sent
    assert sent.params["parse_mode"] == "HTML"  # the bot's defaults are applied, as on the wire
    assert "keyboard" in sent.params["reply_markup"]
    picker = (await Chat(fake, MENTOR_ID).send("🌐 Язык"))[0]
    tapped = await bot.tap(MENTOR_ID, picker["message_id"], button_data(picker, "English"))
    assert [c.method for c in tapped][0] == "answerCallbackQuery"
    assert bot.calls[-len(tapped):] == tapped


async def test_a_handler_error_reaches_the_user_and_the_admins(db, fake, run_bot):
    make_school(fake)
    await run_bot()
    chat = Chat(fake, MENTOR_ID)
    [picker] = await chat.send("🌐 Язык")
    fake.add_fault("answerCallbackQuery", 400, description="Bad Request: boom", times=1)
    answer = await chat.click(picker["message_id"], button_data(picker, "English"))
    assert answer["text"] == plain("error", "ru") and answer["show_alert"]
    [alert] = [m for m in fake.messages(ADMIN_ID) if m["outgoing"]]
    assert "TelegramBadRequest" in alert["text"] and "Bad Request: boom" in alert["text"]


async def test_the_outbox_is_sent_only_when_drained(db, fake, run_bot):
    make_school(fake, students=3)
    bot = await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send("✉️ Написать ученику")
    await mentor.click(picker["message_id"], button_data(picker, "📢"))
    [confirm] = await mentor.send("Lesson moved")
    await mentor.click(confirm["message_id"], button_data(confirm, "✅"))
    assert OutboxMessage.select().count() == 3 and not fake.messages(STUDENT_ID)
    assert await bot.drain_outbox() == 3
    for n in range(3):
        [got] = [m for m in fake.messages(STUDENT_ID + n) if m["outgoing"]]
        assert "Lesson moved" in got["text"]
    status = [m for m in fake.messages(MENTOR_ID) if m["text"] == plain("broadcast_complete", sent=3)]
    assert status  # the sender's progress report, edited into the status message
    assert await bot.drain_outbox() == 0


async def test_the_sweeper_steps_when_told(db, fake, run_bot):
    make_school(fake)
    make_quiz("Python basics", 2)
    bot = await run_bot()
    chat = Chat(fake, STUDENT_ID)
    q1 = await open_quiz(fake, chat, "📚", "Python basics")
    assert "Question 1" in q1["text"]
    await bot.sweep()  # the deadline is still ahead: nothing changes
    [now] = [m for m in fake.messages(STUDENT_ID) if m["message_id"] == q1["message_id"]]
    assert "Question 1" in now["text"]
    QuizAttempt.update(question_deadline=utcnow() - dt.timedelta(seconds=1)).execute()
    await bot.sweep()
    [now] = [m for m in fake.messages(STUDENT_ID) if m["message_id"] == q1["message_id"]]
    assert "Question 2" in now["text"]


async def test_the_example_in_docs_testing(db, fake, run_bot):
    make_school(fake)
    bot = await run_bot()
    [welcome] = await Chat(fake, MENTOR_ID).send("/start")
    assert welcome["text"] == plain("welcome_mentor", name="Anna")
    assert [c.method for c in await bot.text(MENTOR_ID, "hello")] == ["sendMessage"]
