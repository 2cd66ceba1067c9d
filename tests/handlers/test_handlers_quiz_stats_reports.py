"""The mentor's results to act on, in process: a quiz's 📊 Questions pages and chart photo,
the quiz CSV's answer columns, the leaderboard's ⬇️ CSV and a student's 📄 report."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

from e2e import MENTOR_ID, STUDENT_ID, button_data, inline_labels, make_school, plain
from inproc import Chat
from test_question_stats import columns, decode_png, expected, make_class

from studymate.bot.features.quiz.stats_callbacks import QuizStatsAction, QuizStatsCb
from studymate.bot.features.reports.callbacks import ReportCb, ReportKind
from studymate.db.models import Quiz, QuizAttempt, Student, utcnow
from studymate.i18n import t
from studymate.services import mentors
from studymate.services.quiz import chart
from studymate.services.quiz import export as quiz_export
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


def ru(key: str, **params) -> str:
    return t(key, "ru", **params)


def current(fake, message_id: int) -> dict:
    return next(m for m in fake.messages(MENTOR_ID) if m["message_id"] == message_id)


def table(fake, document: dict) -> list[list[str]]:
    content = fake.file_bytes(document["document"]["file_id"])
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


async def press(chat: Chat, fake, message: dict, label: str) -> dict:
    await chat.click(message["message_id"], button_data(message, label))
    return current(fake, message["message_id"])


async def test_question_pages_chart_and_answer_columns(db, fake, run_bot):
    make_school(fake, students=30)
    plan = make_class(1, 0, questions=12, make_students=False)
    want = expected(plan)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("📝 Квизы")
    listing = await press(mentor, fake, menu, ru("btn_active_quizzes"))
    screen = await press(mentor, fake, listing, "Class quiz")
    assert ru("btn_question_stats") in inline_labels(screen)

    # Page 1 of 2: the class's figures, the question missed most on top.
    page = await press(mentor, fake, screen, ru("btn_question_stats"))
    text = page["text"]
    assert text.startswith(plain("qstats_title", title="Class quiz", attempts=29))
    shares = [e.correct / e.seen for e in want]
    worst = shares.index(min(shares))
    assert plain("qstats_most_missed", num=worst + 1, percent=int(shares[worst] * 100 + 0.5)) in text
    assert plain("qstats_page", page=1, total=2) in text
    for n in range(8):
        e = want[n]
        line = plain("qstats_item", num=n + 1, text=f"Question {n + 1} <b>?</b>",
                     percent=int(e.correct / e.seen * 100 + 0.5), correct=e.correct, seen=e.seen,
                     answer=plan.correct[n])
        assert line in text
        if e.wrong:
            top = max(e.wrong.values())
            key = min(k for k, v in e.wrong.items() if v == top)
            assert plain("qstats_top_wrong", answer=key, option=f"{key.lower()}{n + 1}", count=top) in text
    assert "9. Question 9" not in text
    assert inline_labels(page) == ["1/2", ru("btn_next"), ru("btn_quiz_chart"), ru("btn_back_quiz")]
    page2 = await press(mentor, fake, page, ru("btn_next"))
    assert "9. Question 9" in page2["text"] and "12. Question 12" in page2["text"]
    assert "8. Question 8" not in page2["text"]

    # The chart: a photo whose bars are the shares.
    after = mentor.last_bot_message_id()
    await mentor.click(page2["message_id"], button_data(page2, ru("btn_quiz_chart")))
    [photo] = await mentor.replies(after)
    assert photo["caption"] == plain("qstats_chart_caption", title="Class quiz", attempts=29)
    width, height, rows = decode_png(fake.file_bytes(photo["photo"]["file_id"]))
    assert (photo["photo"]["width"], photo["photo"]["height"]) == (width, height) == chart.size(12)
    bars = columns(rows, chart.TOP + chart.PLOT_HEIGHT)
    assert len(bars) == 12
    assert all(abs(h - s * chart.PLOT_HEIGHT) <= 0.5 for (h, _, _), s in zip(bars, shares, strict=True))

    # Back to the quiz screen; its CSV has one answer column per question.
    back = await press(mentor, fake, page2, ru("btn_back_quiz"))
    assert ru("btn_question_stats") in inline_labels(back)
    after = mentor.last_bot_message_id()
    await mentor.click(back["message_id"], button_data(back, ru("btn_export_results")))
    [document] = await mentor.replies(after)
    rows = table(fake, document)
    assert rows[0] == [*quiz_export.CSV_COLUMNS, *(f"q{n}" for n in range(1, 13))]
    first = {}
    for row in rows[1:]:
        first.setdefault(int(row[1]), row[len(quiz_export.CSV_COLUMNS):])
    ids = {s.id: s.telegram_id for s in Student.select()}
    assert {ids[sid]: [k or "" for k in keys] for sid, keys in plan.first.items()} == first


async def test_question_stats_refusals_and_no_attempts(db, fake, run_bot):
    make_school(fake)
    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-100600, language="en")
    theirs = Quiz.create(mentor=2, title="Bob's", quiz_type="practice")
    mine = Quiz.create(mentor=1, title="Mine", quiz_type="practice")
    bot = await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("📝 Квизы")
    crafted = QuizStatsCb(action=QuizStatsAction.PAGE, quiz=theirs.id).pack()
    assert (await mentor.click(menu["message_id"], crafted))["text"] == plain("callback_not_allowed")
    crafted = QuizStatsCb(action=QuizStatsAction.CHART, quiz=theirs.id).pack()
    assert (await mentor.click(menu["message_id"], crafted))["text"] == plain("callback_not_allowed")
    assert not [c for c in bot.calls if c.method == "sendPhoto"]

    await mentor.click(menu["message_id"], QuizStatsCb(action=QuizStatsAction.PAGE, quiz=mine.id).pack())
    assert current(fake, menu["message_id"])["text"].endswith(plain("qstats_empty"))
    assert ru("btn_quiz_chart") not in inline_labels(current(fake, menu["message_id"]))
    toast = await mentor.click(menu["message_id"], QuizStatsCb(action=QuizStatsAction.CHART, quiz=mine.id).pack())
    assert toast["text"] == plain("qstats_empty")


async def test_leaderboard_csv_season_and_all_time(db, fake, run_bot):
    make_school(fake, students=3)
    people = list(Student.select().order_by(Student.telegram_id))
    Student.update(full_name="=cmd|' /C calc'!A0").where(Student.id == people[2].id).execute()
    quiz = ranked_quiz()
    for student, score in zip(people, (70, 90, 80), strict=True):
        take(student, quiz, score)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [board] = await mentor.send("🏆 Рейтинг")
    assert inline_labels(board)[-2:] == [ru("btn_export_csv"), "⬅️ Назад"]
    after = mentor.last_bot_message_id()
    await mentor.click(board["message_id"], button_data(board, ru("btn_export_csv")))
    [document] = await mentor.replies(after)
    assert document["text"] == plain("report_board_ready", count=3)
    assert document["document"]["file_name"].startswith("leaderboard_20")
    rows = table(fake, document)
    assert rows[0] == ["rank", "student_telegram_id", "full_name", "username", "first_name", "last_name",
                       "rating", "avg_percentage", "ranked_quizzes", "score", "possible"]

    def line(rank, n, name, score):
        return [str(rank), str(STUDENT_ID + n), name, f"s{n}", f"Student{n}", "",
                f"{compute_rating(1, score, 100).rating:.1f}", f"{score:.1f}", "1", str(score), "100"]

    assert rows[1:] == [line(1, 1, "", 90), line(2, 2, "'=cmd|' /C calc'!A0", 80), line(3, 0, "", 70)]

    alltime = await press(mentor, fake, board, "📊")
    after = mentor.last_bot_message_id()
    await mentor.click(alltime["message_id"], button_data(alltime, ru("btn_export_csv")))
    [document] = await mentor.replies(after)
    assert document["document"]["file_name"] == "leaderboard_alltime.csv"
    assert table(fake, document)[1:] == rows[1:]


async def test_student_report_from_the_picker(db, fake, run_bot):
    make_school(fake, students=2)
    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-100600, language="en")
    stranger = Student.create(telegram_id=9999, mentor=2, full_name="Other")
    people = list(Student.select().where(Student.mentor == 1).order_by(Student.telegram_id))
    quiz = ranked_quiz("Exam <1>")
    take(people[0], quiz, 7, total=10, minutes_ago=120)
    practice = Quiz.create(mentor=1, title="Drill", quiz_type="practice")
    take(people[0], practice, 3, total=4, minutes_ago=60)
    take(people[0], practice, 4, total=4, minutes_ago=30)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send("✉️ Написать ученику")
    assert inline_labels(picker) == [
        "📢 Написать всем (2)", "👤 Student0 (@s0)", ru("btn_student_report"), "👤 Student1 (@s1)",
        ru("btn_student_report"), "❌ Отмена"]
    rows = picker["reply_markup"]["inline_keyboard"]
    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], rows[1][1]["callback_data"])
    [document] = await mentor.replies(after)
    assert document["text"] == plain("report_student_ready", count=3)
    assert document["document"]["file_name"] == f"student_{STUDENT_ID}_report.csv"
    report = table(fake, document)
    assert report[0] == ["quiz_title", "quiz_type", "attempt", "score", "total", "percentage", "started_at",
                         "finished_at", "finish_reason"]
    assert [r[:6] + [r[8]] for r in report[1:]] == [
        ["Exam <1>", "ranked", "1", "7", "10", "70.0", "completed"],
        ["Drill", "practice", "1", "3", "4", "75.0", "completed"],
        ["Drill", "practice", "2", "4", "4", "100.0", "completed"],
    ]
    assert all(r[6].endswith("+05:00") for r in report[1:])

    toast = await mentor.click(picker["message_id"], rows[2][1]["callback_data"])
    assert toast["text"] == plain("report_student_empty")
    crafted = ReportCb(kind=ReportKind.STUDENT, student=stranger.id).pack()
    refusal = await mentor.click(picker["message_id"], crafted)
    assert refusal["text"] == plain("student_not_found") and refusal["show_alert"]
    assert mentor.last_bot_message_id() == document["message_id"]
