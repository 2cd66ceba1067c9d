"""Quiz authoring through the real bot: upload, preview, publish, lists, the quiz screen,
archive, questions and CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from e2e import (
    MENTOR_ID,
    STUDENT_ID,
    Chat,
    button_data,
    inline_labels,
    keyboard_labels,
    make_school,
    plain,
)
from quiz_samples import SPEC_QUESTIONS

from studymate.bot.features.quiz.authoring_callbacks import (
    QuizAction,
    QuizCb,
)
from studymate.db.models import Quiz, QuizAttempt, QuizQuestion, Student, utcnow
from studymate.i18n import t
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz import export as quiz_export
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.format import MAX_FILE_BYTES, QuizFormatError, parse_quiz

pytestmark = pytest.mark.e2e
TZ = ZoneInfo("Asia/Tashkent")
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001"
    "0d0a2db40000000049454e44ae426082"
)
QUESTIONS = SPEC_QUESTIONS
EXAMPLE = "Тема: Python basics\n\n" + QUESTIONS
SEVEN = QUESTIONS + "".join(f"\n{n}. Question number {n}?\nA*) yes\nB) no\nC) maybe\nD) never\n" for n in range(4, 8))


def ru(key: str, **params) -> str:
    return t(key, "ru", **params)


def current(fake, message_id: int, chat_id: int = MENTOR_ID) -> dict:
    return next(m for m in fake.messages(chat_id) if m["message_id"] == message_id)


def local(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=dt.UTC).astimezone(TZ).strftime("%d.%m %H:%M")


async def upload(mentor: Chat, fake, content: str | bytes, name: str) -> dict:
    """📝 → 📤 Upload → send the file; returns the bot's answer to the file."""
    [menu] = await mentor.send("📝 Квизы")
    await mentor.click(menu["message_id"], button_data(menu, ru("btn_upload_quiz")))
    return await send_file(mentor, fake, content, name)


async def send_file(mentor: Chat, fake, content: str | bytes, name: str) -> dict:
    after = mentor.last_bot_message_id()
    data = content.encode() if isinstance(content, str) else content
    await fake.send_document(MENTOR_ID, data, name, mime_type="text/plain")
    [reply] = await mentor.replies(after)
    return reply


async def press(mentor: Chat, fake, message: dict, label: str) -> dict:
    """Press the button labelled ``label`` and return the message as it is afterwards."""
    await mentor.click(message["message_id"], button_data(message, label))
    return current(fake, message["message_id"])


async def publish_flow(mentor: Chat, fake, preview: dict, save_label: str, mode_label: str) -> dict:
    modes = await press(mentor, fake, preview, save_label)
    assert modes["text"] == plain("choose_publish_mode")
    return await press(mentor, fake, modes, mode_label)


async def finish(mentor: Chat, fake, message: dict, label: str) -> tuple[dict, dict]:
    """Press the last button of a publish; returns the edited message and the menu after it."""
    after = mentor.last_bot_message_id()
    done = await press(mentor, fake, message, label)
    [ready] = await mentor.replies(after)
    assert ready["text"] == plain("quiz_ready_actions") and ru("btn_quizzes") in keyboard_labels(ready)
    return done, ready


@pytest.fixture
def school(db, fake):
    make_school(fake, students=2)


async def test_upload_errors_preview_pages_and_practice_publish(school, fake, run_bot):
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("📝 Квизы")
    assert menu["text"] == plain("quiz_management_header")
    assert inline_labels(menu) == [ru("btn_active_quizzes"), ru("btn_archived_quizzes"), ru("btn_upload_quiz")]
    await mentor.click(menu["message_id"], button_data(menu, ru("btn_upload_quiz")))
    assert current(fake, menu["message_id"])["text"] == plain("upload_quiz")

    [prompt] = await mentor.send("here it comes")
    assert prompt["text"] == plain("quiz_send_txt_file")
    reply = await send_file(mentor, fake, b"PK\x03\x04", "quiz.docx")
    assert reply["text"] == plain("quiz_file_not_txt", name="quiz.docx")
    # The specific problem is named, nothing is stored, the mentor may retry.
    broken = EXAMPLE.replace("D) error\n", "E) error\n")  # options may be 2 to 8, but none skipped
    with pytest.raises(QuizFormatError) as expected:
        parse_quiz(broken, file_name="x.txt")
    reply = await send_file(mentor, fake, broken, "x.txt")
    assert reply["text"] == plain("quiz_parse_error") + "\n\n" + plain(expected.value.key, **expected.value.params)
    assert expected.value.params["question"] == 2 and expected.value.params["option"] == "D"
    downloads = len(fake.calls("getFile"))
    reply = await send_file(mentor, fake, b"1" * (MAX_FILE_BYTES + 1), "huge.txt")
    assert reply["text"].endswith(plain("quiz_error_file_too_large", limit=MAX_FILE_BYTES // 1024))
    assert len(fake.calls("getFile")) == downloads  # refused before downloading it
    assert Quiz.select().count() == 0

    # Three questions of 3,400 characters still fit a page (compacted), the preview too.
    long_file = "Тема: " + "T" * 100 + "\n\n" + "".join(
        f"{n}. {'word ' * 600}\nA*) {'a' * 100}\nB) {'b' * 100}\nC) {'c' * 100}\nD) {'d' * 100}\n"
        for n in range(1, 4))
    preview = await send_file(mentor, fake, long_file, "long.txt")
    assert preview["text"].startswith(plain("quiz_preview", title="T" * 100, topic="T" * 100, count=3, preview="").rstrip())
    page = await press(mentor, fake, preview, ru("btn_view_all_questions"))
    assert len(page["text"]) <= 4096 and page["text"].count("✅ Правильный: A") == 3 and "…" in page["text"]
    after = mentor.last_bot_message_id()
    cancelled = await press(mentor, fake, page, ru("btn_back_to_preview"))
    cancelled = await press(mentor, fake, cancelled, ru("btn_cancel_quiz"))
    assert cancelled["text"] == plain("cancelled") and (await mentor.replies(after))[0]["text"] == plain("quiz_ready_actions")
    [menu] = await mentor.send("📝 Квизы")
    await mentor.click(menu["message_id"], button_data(menu, ru("btn_upload_quiz")))

    # No topic line → the file name is the title, topic "-"; 7 questions make 3 pages.
    preview = await send_file(mentor, fake, SEVEN, "week3.txt")
    assert preview["text"].startswith(plain("quiz_preview", title="week3", topic="-", count=7, preview="").rstrip())
    assert "A) func\nB) def\nC) lambda\nD) define" in preview["text"]
    assert inline_labels(preview) == [ru("btn_view_all_questions"), ru("btn_quiz_settings"), ru("btn_save_quiz"), ru("btn_cancel_quiz")]
    page = await press(mentor, fake, preview, ru("btn_view_all_questions"))
    assert page["text"].startswith(plain("quiz_all_questions_header", current=1, total=3))
    assert [line for line in page["text"].split("\n") if line.startswith("✅")] == [
        "✅ Правильный: B", "✅ Правильный: C", "✅ Правильный: D"]
    assert inline_labels(page) == ["1/3", "▶️", ru("btn_back_to_preview")]
    page = await press(mentor, fake, page, "▶️")
    page = await press(mentor, fake, page, "▶️")
    assert "7. Question number 7?" in page["text"] and "6." not in page["text"]
    assert inline_labels(page) == ["◀️", "3/3", ru("btn_back_to_preview")]
    back = await press(mentor, fake, page, ru("btn_back_to_preview"))
    assert back["text"] == preview["text"]

    modes = await press(mentor, fake, back, ru("btn_save_quiz"))
    done, _ = await finish(mentor, fake, modes, ru("btn_publish_practice"))
    assert done["text"] == plain("quiz_published_practice", title="week3")
    quiz = Quiz.get()
    assert (quiz.title, quiz.topic, quiz.quiz_type, quiz.max_attempts, quiz.is_active) == ("week3", None, "practice", 999, True)
    rows = list(QuizQuestion.select().where(QuizQuestion.quiz == quiz.id).order_by(QuizQuestion.order))
    assert [(q.order, q.correct_answer, q.time_bonus) for q in rows[:3]] == [(1, "B", 0), (2, "C", 5), (3, "D", 10)]
    assert len(rows) == 7 and "x = [1, 2, 3]\nprint(len(x))" in rows[1].question_text
    assert not [m for m in fake.messages(STUDENT_ID) if m["outgoing"]]  # practice: nobody is told


async def test_quiz_screen_stats_archive_and_csv_export(school, fake, run_bot):
    ten = "Тема: Списки\n\n" + "".join(f"{n}. Вопрос {n}?\nA*) да\nB) нет\nC) может\nD) никогда\n" for n in range(1, 11))
    quiz = quizzes.publish(1, parse_quiz(ten, file_name="x.txt"), mode=SaveMode.NEW, ranked=False).quiz
    empty = quizzes.publish(1, parse_quiz(EXAMPLE, file_name="x.txt"), mode=SaveMode.NEW, ranked=False).quiz
    a = Student.get(Student.telegram_id == STUDENT_ID)
    b = Student.get(Student.telegram_id == STUDENT_ID + 1)
    Student.update(full_name="Али Валиев").where(Student.id == a.id).execute()
    base = utcnow() - dt.timedelta(days=1)
    for who, minutes, score, finished in ((a, 0, 6, True), (b, 5, 8, True), (a, 60, 10, True), (b, 90, 0, False)):
        started = base + dt.timedelta(minutes=minutes)
        QuizAttempt.create(student=who, quiz=quiz.id, score=score, total=10, started_at=started,
                           finished_at=started + dt.timedelta(minutes=3) if finished else None)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("📝 Квизы")
    listing = await press(mentor, fake, menu, ru("btn_active_quizzes"))
    assert listing["text"] == plain("active_quizzes_header")
    label = "📚 Списки • " + ru("quiz_list_counts", questions=10, attempts=2)
    assert inline_labels(listing) == [
        "📚 Python basics • " + ru("quiz_list_counts", questions=3, attempts=0), label,
        ru("btn_archived_short"), ru("btn_upload_quiz"), ru("btn_back")]

    # First attempts only (A 6/10, not the 10/10 retake; B 8/10).
    screen = await press(mentor, fake, listing, label)
    stats = plain("quiz_results", title="Списки", attempts=2, avg="7.0/10", top="1. @s1 — 8/10\n2. Али Валиев — 6/10")
    assert screen["text"] == stats + "\n\n" + plain("quiz_details_practice", questions=10)
    assert inline_labels(screen) == [
        ru("btn_archive_quiz"), ru("btn_manage_questions"), ru("btn_question_stats"), ru("btn_quiz_settings"), ru("btn_export_results"),
        ru("btn_export_gift"), ru("btn_back")]

    # Archive and restore, the screen (with its "—", once mojibake in v1) re-rendered each time.
    answer = await mentor.click(screen["message_id"], button_data(screen, ru("btn_archive_quiz")))
    screen = current(fake, screen["message_id"])
    assert answer["text"] == plain("quiz_archived") and not Quiz.get_by_id(quiz.id).is_active
    assert inline_labels(screen)[0] == ru("btn_unarchive_quiz") and "1. @s1 — 8/10" in screen["text"]
    assert screen["text"].endswith(plain("quiz_details_archived"))
    answer = await mentor.click(screen["message_id"], button_data(screen, ru("btn_unarchive_quiz")))
    assert answer["text"] == plain("quiz_unarchived") and Quiz.get_by_id(quiz.id).is_active

    # Every finished attempt, oldest first, readable with Cyrillic names.
    after = mentor.last_bot_message_id()
    await mentor.click(screen["message_id"], button_data(screen, ru("btn_export_results")))
    [document] = await mentor.replies(after)
    assert document["document"]["file_name"] == f"quiz_{quiz.id}_results.csv"
    assert document["text"] == plain("quiz_export_ready")
    content = fake.file_bytes(document["document"]["file_id"])
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == [*quiz_export.CSV_COLUMNS, *(f"q{n}" for n in range(1, 11))]
    assert [(r[1], r[2], r[6], r[7]) for r in rows[1:]] == [
        (str(STUDENT_ID), "Али Валиев", "graded", "6"), (str(STUDENT_ID + 1), "", "graded", "8"),
        (str(STUDENT_ID), "Али Валиев", "retake", "10")]
    answer = await mentor.click(screen["message_id"], QuizCb(action=QuizAction.EXPORT, quiz=empty.id).pack())
    assert answer["text"] == plain("quiz_export_empty")
