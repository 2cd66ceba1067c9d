"""Notifications in process: the 🔔 screen, quiz reminders with a working ▶️ Start button,
reminders turned off, and a reminder held through quiet hours."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from e2e import STUDENT_ID, button_data, inline_labels, make_school, plain
from inproc import Chat
from test_e2e_quiz_taking import make_quiz, open_quiz

from studymate.db.models import OutboxMessage, Student, utcnow

TZ = ZoneInfo("Asia/Tashkent")


def closing_soon(title: str, *, within: dt.timedelta = dt.timedelta(hours=1)):
    """A ranked quiz that is open and closes within the reminder's two hours."""
    quiz = make_quiz(title, 2, ranked=True)
    quiz.available_until = utcnow() + within
    quiz.save()
    return quiz


def reminders_to(fake, user_id: int) -> list[dict]:
    head = plain("quiz_reminder_notification", "ru", title="T", end="E").split(" T ")[0]
    return [m for m in fake.messages(user_id) if m["outgoing"] and (m["text"] or "").startswith(head)]


async def open_notifications(fake, user_id: int) -> dict:
    Student.update(profile_completed=True, full_name="Student").where(Student.telegram_id == user_id).execute()
    chat = Chat(fake, user_id)
    [profile] = await chat.send("👤 Профиль")
    await chat.click(profile["message_id"], button_data(profile, "🔔"))
    return [m for m in fake.messages(user_id) if m["outgoing"]][-1]


async def test_notifications_screen_toggles_are_stored_and_shown(db, fake, run_bot):
    make_school(fake)
    await run_bot()
    screen = await open_notifications(fake, STUDENT_ID)
    assert screen["text"].startswith(plain("notifications_screen", "ru", quiet="x").split("\n")[0])
    assert inline_labels(screen)[:4] == [
        "✅ " + plain("notif_new_quizzes"), "✅ " + plain("notif_reminders"),
        "✅ " + plain("notif_materials"), "🔕 " + plain("notif_streak"),
    ]
    chat = Chat(fake, STUDENT_ID)
    await chat.click(screen["message_id"], button_data(screen, plain("notif_streak")))
    await chat.click(screen["message_id"], button_data(screen, plain("notif_reminders")))
    shown = [m for m in fake.messages(STUDENT_ID) if m["message_id"] == screen["message_id"]][0]
    assert inline_labels(shown)[1] == "🔕 " + plain("notif_reminders")
    assert inline_labels(shown)[3] == "✅ " + plain("notif_streak")


async def test_one_reminder_with_a_working_start_button_none_when_taken_or_turned_off(db, fake, run_bot):
    make_school(fake, students=3)
    reminded, turned_off, took = STUDENT_ID, STUDENT_ID + 1, STUDENT_ID + 2
    bot = await run_bot()
    screen = await open_notifications(fake, turned_off)
    await Chat(fake, turned_off).click(screen["message_id"], button_data(screen, plain("notif_reminders")))
    quiz = closing_soon("Algebra")
    await open_quiz(fake, Chat(fake, took), "🏆", "Algebra")  # started before the reminder
    await bot.sweep()
    await bot.drain_outbox()
    [reminder] = reminders_to(fake, reminded)
    assert reminders_to(fake, turned_off) == [] and reminders_to(fake, took) == []
    assert "Algebra" in reminder["text"]
    # Looking again (a restart, another replica) sends nothing more.
    assert await bot.runtime.sweeper.notices.step(force=True) == 0
    await bot.drain_outbox()
    assert len(reminders_to(fake, reminded)) == 1
    # ▶️ Start starts the quiz on the reminder itself, as the list's button does.
    await Chat(fake, reminded).click(reminder["message_id"], button_data(reminder, "▶️"))
    started = [m for m in fake.messages(reminded) if m["message_id"] == reminder["message_id"]][0]
    assert "Question 1" in started["text"]
    assert quiz.attempts.count() == 2


async def test_a_reminder_due_in_quiet_hours_arrives_when_they_end(db, fake, run_bot):
    make_school(fake)
    local = dt.datetime.now(TZ).replace(second=0, microsecond=0)
    start, end = local - dt.timedelta(hours=1), local + dt.timedelta(minutes=30)
    bot = await run_bot(STUDYMATE_QUIET_HOURS=f"{start:%H:%M}-{end:%H:%M}")
    closing_soon("Night quiz", within=dt.timedelta(hours=1))
    await bot.sweep()
    assert await bot.drain_outbox() == 0 and reminders_to(fake, STUDENT_ID) == []
    [held] = OutboxMessage.select()
    assert held.next_attempt_at == end.astimezone(dt.UTC).replace(tzinfo=None)
    # The clock reaches the end of the quiet hours.
    OutboxMessage.update(next_attempt_at=utcnow()).execute()
    await bot.drain_outbox()
    [reminder] = reminders_to(fake, STUDENT_ID)
    await Chat(fake, STUDENT_ID).click(reminder["message_id"], button_data(reminder, "▶️"))
    started = [m for m in fake.messages(STUDENT_ID) if m["message_id"] == reminder["message_id"]][0]
    assert "Question 1" in started["text"]

