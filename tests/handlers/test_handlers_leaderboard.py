"""Leaderboards in process: the mentor's pages and modes, the student's top 15. Moved from the
e2e tier: handler logic only."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from e2e import (
    MENTOR_ID,
    STUDENT_ID,
    button_data,
    inline_labels,
    keyboard_labels,
    make_school,
    plain,
)
from inproc import Chat

from studymate.db.models import Mentor, Quiz, QuizAttempt, Student, utcnow
from studymate.i18n import t
from studymate.services.ratings import compute_rating, on_attempt_finished

TZ = ZoneInfo("Asia/Tashkent")  # the bot's default TIMEZONE


def ranked_quiz(title: str = "Exam") -> Quiz:
    now = utcnow()
    return Quiz.create(mentor=1, title=title, quiz_type="ranked", max_attempts=1,
                       available_from=now - dt.timedelta(hours=3),
                       available_until=now + dt.timedelta(hours=45), notified_at=now)


def take(student: Student, quiz: Quiz, score: int, total: int = 100, minutes_ago: int = 60) -> None:
    """A finished attempt, as the quiz engine leaves it, then the engine's ratings call."""
    started = utcnow() - dt.timedelta(minutes=minutes_ago)
    attempt = QuizAttempt.create(student=student, quiz=quiz, score=score, total=total,
                                 started_at=started, finished_at=started + dt.timedelta(minutes=5),
                                 finish_reason="completed")
    on_attempt_finished(attempt.id, tz=TZ)


def students() -> list[Student]:
    return list(Student.select().order_by(Student.telegram_id))


def season_line(lang: str) -> str:
    today = utcnow().replace(tzinfo=dt.UTC).astimezone(TZ)
    return plain("leaderboard_season_title", lang, month=t(f"month_{today.month}", lang), year=today.year)


def current(fake, user_id: int, message_id: int) -> dict:
    return [m for m in fake.messages(user_id) if m["message_id"] == message_id][0]


def rating(score: int, quizzes: int = 1, total: int = 100) -> str:
    return f"{compute_rating(quizzes, score, total).rating:.1f}"


async def test_mentor_pages_modes_and_back(db, fake, run_bot):
    """23 ranked students, 10 a page, season ⇄ all time, Back works."""
    make_school(fake, students=24)
    people = students()
    quiz = ranked_quiz()
    for i, student in enumerate(people[:23]):
        student.full_name = f"Student {i:02d}"
        student.save()
        take(student, quiz, 90 - i)
    older = ranked_quiz("Older")  # an earlier month's quiz only counts all time
    older.available_from -= dt.timedelta(days=70)
    older.available_until -= dt.timedelta(days=70)
    older.save()
    take(people[23], older, 100, minutes_ago=70 * 24 * 60)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [board] = await mentor.send("🏆 Рейтинг")
    text = board["text"]
    assert text.startswith(plain("leaderboard_mentor_title"))
    assert season_line("ru") in text
    assert plain("leaderboard_mentor_pagination", total=23, page=1, total_pages=3) in text
    first = plain("leaderboard_mentor_entry", rank=1, name="Student 00", score=rating(90),
                  percentage="90.0", quizzes=1)
    assert first in text and "10. Student 09" in text and "11." not in text
    assert inline_labels(board)[:2] == ["✅ Сезон", "📊 Всё время"]
    assert inline_labels(board)[-1] == "⬅️ Назад"

    mid = board["message_id"]
    await mentor.click(mid, button_data(board, "▶️"))
    page2 = current(fake, MENTOR_ID, mid)
    assert "11. Student 10" in page2["text"] and "20. Student 19" in page2["text"]
    assert plain("leaderboard_mentor_pagination", total=23, page=2, total_pages=3) in page2["text"]

    # All time keeps the page: 24 students now, the one from an older month first.
    await mentor.click(mid, button_data(page2, "📊"))
    alltime = current(fake, MENTOR_ID, mid)
    assert plain("leaderboard_alltime_title") in alltime["text"] and season_line("ru") not in alltime["text"]
    assert plain("leaderboard_mentor_pagination", total=24, page=2, total_pages=3) in alltime["text"]
    assert "11. Student 09" in alltime["text"]
    assert inline_labels(alltime)[:2] == ["📅 Сезон", "✅ Всё время"]
    await mentor.click(mid, button_data(alltime, "◀️"))
    top = current(fake, MENTOR_ID, mid)
    assert "1. @s23 — 105.0 (100.0%" in top["text"]
    answer = await mentor.click(mid, button_data(top, "✅"))  # the shown mode: nothing happens
    assert not answer.get("show_alert")

    after = mentor.last_bot_message_id()
    await mentor.click(mid, button_data(top, "⬅️"))
    [menu] = await mentor.replies(after)
    assert menu["text"] == plain("back_to_menu")
    assert "🏆 Рейтинг" in keyboard_labels(menu)
    assert current(fake, MENTOR_ID, mid)["deleted"]


async def test_mentor_board_in_english_empty_season_and_test_accounts(db, fake, run_bot):
    """Labels in the mentor's language; an empty season still offers all time; test accounts
    are on neither board."""
    make_school(fake, students=3)
    Mentor.update(language="en").execute()
    a, b, c = students()
    older = ranked_quiz("Older")
    older.available_from -= dt.timedelta(days=70)
    older.available_until -= dt.timedelta(days=70)
    older.save()
    for student, score in ((a, 100), (b, 80), (c, 60)):
        take(student, older, score, minutes_ago=70 * 24 * 60)
    await run_bot(STUDYMATE_TEST_STUDENT_IDS=str(a.telegram_id))
    mentor = Chat(fake, MENTOR_ID)
    [board] = await mentor.send("🏆 Leaderboard")
    assert plain("leaderboard_mentor_title", "en") in board["text"]
    assert season_line("en") in board["text"] and plain("leaderboard_empty", "en") in board["text"]
    assert inline_labels(board) == ["✅ Season", "📊 All time", "⬅️ Back"]
    mid = board["message_id"]
    answer = await mentor.click(mid, button_data(board, "📊"))
    assert not answer.get("show_alert")
    alltime = current(fake, MENTOR_ID, mid)
    assert plain("leaderboard_alltime_title", "en") in alltime["text"]
    assert plain("leaderboard_mentor_pagination", "en", total=2, page=1, total_pages=1) in alltime["text"]
    assert "1. @s1 — 84.0 (80.0%, quizzes: 1)" in alltime["text"] and "@s0" not in alltime["text"]
    assert inline_labels(alltime) == ["📅 Season", "✅ All time", "⬇️ CSV", "⬅️ Back"]


async def test_student_top_15_with_animals_and_own_row(db, fake, run_bot):
    """Medals, animals that belong to people, "YOU", the separator."""
    make_school(fake, students=20)
    people = students()
    me = people[0]  # 2001
    quiz = ranked_quiz()
    # People are rated in this order; ranks differ: the 3rd to be rated is first on the board.
    order = [people[5], people[6], people[7], me] + [p for p in people[1:] if p not in people[5:8]]
    scores = {people[7].id: 100, me.id: 99}
    for i, student in enumerate(order):
        take(student, quiz, scores.get(student.id, 90 - i))
    await run_bot()
    [board] = await Chat(fake, STUDENT_ID).send("🏆 Рейтинг")
    lines = board["text"].splitlines()
    assert lines[0] == plain("leaderboard_title") and lines[1] == season_line("ru")
    entries = [line for line in lines[3:] if line]
    assert entries[0] == plain("leaderboard_entry", medal="🥇", name=t("animal_eagle"), score=rating(100))
    assert entries[1] == plain("leaderboard_you", medal="🥈", score=rating(99))
    assert entries[2] == plain("leaderboard_entry", medal="🥉", name=t("animal_fox"), score=rating(90))
    assert entries[3] == plain("leaderboard_separator_top3")
    assert entries[4] == plain("leaderboard_entry", medal="4.", name=t("animal_bear"), score=rating(89))
    assert len(entries) == 16 and entries[-1].startswith("15. ")
    assert plain("leaderboard_your_rank", rank=2, score=rating(99)) not in board["text"]
    assert "Student" not in board["text"] and "@s" not in board["text"]


async def test_student_below_the_top_sees_their_rank(db, fake, run_bot):
    make_school(fake, students=25)
    people = students()
    me = people[0]
    quiz = ranked_quiz()
    ranked = people[1:23] + [me] + people[23:]  # I am 23rd
    for i, student in enumerate(ranked):
        take(student, quiz, 95 - i)
    await run_bot()
    [board] = await Chat(fake, STUDENT_ID).send("🏆 Рейтинг")
    entries = [line for line in board["text"].splitlines()[3:] if line]
    assert entries[-1] == plain("leaderboard_your_rank", rank=23, score=rating(73))
    assert entries[-2].startswith("15. ") and plain("leaderboard_you_label") not in board["text"]


async def test_student_empty_board_and_practice_does_not_rate(db, fake, run_bot):
    """Only practice results → the board is empty."""
    make_school(fake)
    practice = Quiz.create(mentor=1, title="Practice", quiz_type="practice")
    take(students()[0], practice, 9, total=10)
    await run_bot()
    [board] = await Chat(fake, STUDENT_ID).send("🏆 Рейтинг")
    assert board["text"] == plain("leaderboard_empty")
