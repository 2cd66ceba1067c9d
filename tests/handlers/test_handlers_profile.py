"""👤 Profile in process: setup, validation, view, editing. Moved from the e2e tier: handler
logic only."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from e2e import STUDENT_ID, button_data, inline_labels, keyboard_labels, make_school, plain
from inproc import Chat

from studymate.db.models import Quiz, QuizAttempt, Student, utcnow
from studymate.services.ratings import on_attempt_finished

TZ = ZoneInfo("Asia/Tashkent")


def me() -> Student:
    return Student.get(Student.telegram_id == STUDENT_ID)


def finished(quiz: Quiz, score: int, total: int = 10) -> None:
    started = utcnow() - dt.timedelta(minutes=30)
    attempt = QuizAttempt.create(student=me(), quiz=quiz, score=score, total=total,
                                 started_at=started, finished_at=started + dt.timedelta(minutes=5),
                                 finish_reason="completed")
    on_attempt_finished(attempt.id, tz=TZ)


def view_text(**stats) -> str:
    student = me()
    joined = student.joined_at.replace(tzinfo=dt.UTC).astimezone(TZ).strftime("%d.%m.%Y")
    return plain("profile_view", name=student.full_name, telegram="@s0", joined=joined,
                 language="Русский", mentor="Anna", **stats)


async def test_setup_validates_keeps_the_name_as_typed_and_yields_to_menu_buttons(db, fake, run_bot):
    """Names are kept as typed (trimmed, spaces collapsed); a menu button
    pressed while a name is awaited is a menu press, not a name."""
    make_school(fake)
    await run_bot()
    chat = Chat(fake, STUDENT_ID)
    [setup] = await chat.send("👤 Профиль")
    assert setup["text"] == plain("profile_setup_welcome")
    assert keyboard_labels(setup) == ["✅ Использовать имя из Telegram", "❌ Отмена"]
    [reply] = await chat.send("Al")
    assert reply["text"] == plain("profile_name_too_short")
    [reply] = await chat.send("Ali@")
    assert reply["text"] == plain("profile_name_invalid")
    [reply] = await chat.send("x" * 201)
    assert reply["text"] == plain("profile_name_too_long")
    after = chat.last_bot_message_id()
    await fake.send_photo(STUDENT_ID, b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    [reply] = await chat.replies(after)
    assert reply["text"] == plain("not_text_prompt")  # and still waiting for the name
    [reply] = await chat.send("  али   ВАЛИЕВ ")
    assert reply["text"] == plain("profile_completed", name="Али Валиев")
    assert "🏆 Рейтинг" in keyboard_labels(reply)
    assert (me().full_name, me().profile_completed) == ("Али Валиев", True)

    # Editing: the 🏆 menu button wins over the name input.
    [view] = await chat.send("👤 Профиль")
    assert inline_labels(view) == ["✏️ Изменить ФИО", "🔔 Уведомления"]
    after = chat.last_bot_message_id()
    await chat.click(view["message_id"], button_data(view, "✏️"))
    [prompt] = await chat.replies(after)
    assert prompt["text"] == plain("profile_edit_prompt") and keyboard_labels(prompt) == ["❌ Отмена"]
    [board] = await chat.send("🏆 Рейтинг")
    assert board["text"] == plain("leaderboard_empty")
    assert me().full_name == "Али Валиев"
    [reply] = await chat.send("Ali Valiev")
    assert reply["text"] != plain("profile_updated") and me().full_name == "Али Валиев"


async def test_telegram_name_is_validated_too(db, fake, run_bot):
    """v1 saved the Telegram name without validation."""
    make_school(fake)  # Telegram name "Student0": digits are not a name
    await run_bot()
    chat = Chat(fake, STUDENT_ID)
    await chat.send("👤 Профиль")
    [reply] = await chat.send("✅ Использовать имя из Telegram")
    assert reply["text"] == plain("profile_name_invalid") and not me().profile_completed
    fake.add_user(STUDENT_ID, "Ali", last_name="O'Neil", username="s0")
    await chat.send("👤 Профиль")  # the name Telegram has now
    [reply] = await chat.send("✅ Использовать имя из Telegram")
    assert reply["text"] == plain("profile_completed", name="Ali O'Neil")
    assert (me().full_name, me().profile_completed) == ("Ali O'Neil", True)


async def test_cancel_leaves_the_setup(db, fake, run_bot):
    make_school(fake)
    await run_bot()
    chat = Chat(fake, STUDENT_ID)
    await chat.send("👤 Профиль")
    [reply] = await chat.send("❌ Отмена")
    assert "🏆 Рейтинг" in keyboard_labels(reply)
    [reply] = await chat.send("Ali Valiev")  # no longer a name
    assert reply["text"] != plain("profile_completed", name="Ali Valiev")
    assert not me().profile_completed


async def test_view_statistics_and_edit(db, fake, run_bot):
    """Empty statistics, then 3 quizzes, then a new name."""
    make_school(fake)
    Student.update(full_name="Ali", profile_completed=True).execute()
    await run_bot()
    chat = Chat(fake, STUDENT_ID)
    [view] = await chat.send("👤 Профиль")
    assert view["text"] == view_text(
        total_quizzes=0, total_ranked=0, total_practice=0, avg_percentage="0", best_score=0,
        best_total=0, best_percentage="0", streak_emoji="💤", current_streak=0, longest_streak=0)

    now = utcnow()
    ranked = Quiz.create(mentor=1, title="Exam", quiz_type="ranked", max_attempts=1,
                         available_from=now - dt.timedelta(hours=2),
                         available_until=now + dt.timedelta(hours=46))
    finished(ranked, 8)
    finished(Quiz.create(mentor=1, title="P1", quiz_type="practice"), 5)
    finished(Quiz.create(mentor=1, title="P2", quiz_type="practice"), 9)
    [view] = await chat.send("👤 Профиль")
    assert view["text"] == view_text(
        total_quizzes=3, total_ranked=1, total_practice=2, avg_percentage="73.3", best_score=9,
        best_total=10, best_percentage="90.0", streak_emoji="🔥", current_streak=1,
        longest_streak=1)

    after = chat.last_bot_message_id()
    await chat.click(view["message_id"], button_data(view, "✏️"))
    await chat.replies(after)
    [reply] = await chat.send("A")
    assert reply["text"] == plain("profile_name_too_short")
    [reply] = await chat.send("Ali Valiev")
    assert reply["text"] == plain("profile_updated") and "👤 Профиль" in keyboard_labels(reply)
    assert me().full_name == "Ali Valiev"
