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
    """A ranked quiz open for two days that closes within the reminder's two hours."""
    quiz = make_quiz(title, 2, ranked=True)
    quiz.available_from = utcnow() - dt.timedelta(hours=47)
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



async def test_mentor_digest_lists_old_unanswered_questions_with_reply_buttons(db, fake, run_bot):
    from e2e import MENTOR_ID

    from studymate.db.models import Question

    make_school(fake)
    asker = Student.get(Student.telegram_id == STUDENT_ID)
    two_days_ago = utcnow() - dt.timedelta(days=2)
    old = Question.create(mentor=1, student=asker, student_telegram_id=STUDENT_ID,
                          text="Why <is> the sky blue?", created_at=two_days_ago)
    Question.create(mentor=1, student=asker, student_telegram_id=STUDENT_ID, text="fresh")
    bot = await run_bot(STUDYMATE_DIGEST_TIME="00:00")  # due whenever the test runs
    await bot.sweep()
    await bot.drain_outbox()
    [digest] = [m for m in fake.messages(MENTOR_ID) if m["outgoing"]]
    assert digest["text"] == plain("mentor_digest", "ru", count=1) + "\n\n1. Why <is> the sky blue?"
    assert inline_labels(digest) == [plain("btn_reply_to", "ru", num=1)]
    assert await bot.runtime.sweeper.notices.step(force=True) == 0  # once a day
    await Chat(fake, MENTOR_ID).click(digest["message_id"], button_data(digest, "💬"))
    prompt = [m for m in fake.messages(MENTOR_ID) if m["outgoing"]][-1]
    assert prompt["text"] == plain("write_reply", "ru", text=old.text)


async def test_streak_nudge_only_for_students_who_asked_for_it(db, fake, run_bot):
    make_school(fake, students=2)
    yesterday = dt.datetime.now(TZ).date() - dt.timedelta(days=1)
    Student.update(current_streak=4, last_quiz_date=yesterday).execute()
    bot = await run_bot(STUDYMATE_NUDGE_TIME="00:00")
    screen = await open_notifications(fake, STUDENT_ID)
    await Chat(fake, STUDENT_ID).click(screen["message_id"], button_data(screen, plain("notif_streak")))
    await bot.sweep()
    await bot.drain_outbox()
    nudge_text = plain("streak_nudge", "ru", streak=4)
    [nudge] = [m for m in fake.messages(STUDENT_ID) if m["text"] == nudge_text]
    assert [m for m in fake.messages(STUDENT_ID + 1) if m["text"] == nudge_text] == []
    await Chat(fake, STUDENT_ID).click(nudge["message_id"], button_data(nudge, "📝"))
    listing = [m for m in fake.messages(STUDENT_ID) if m["message_id"] == nudge["message_id"]][0]
    assert listing["text"].startswith(plain("practice_quizzes_header", "ru"))
