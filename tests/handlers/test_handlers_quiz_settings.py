"""Per-quiz settings in the bot, in process: ⚙️ on an upload's preview (the draft changes,
publishing uses it) and on a published quiz's screen (refused once an attempt exists)."""

from __future__ import annotations

import datetime as dt

import pytest
from e2e import MENTOR_ID, button_data, inline_labels, make_school, plain
from inproc import Chat
from quiz_samples import SPEC_QUESTIONS

from studymate.bot.features.quiz.authoring_callbacks import QuizAction, QuizCb
from studymate.bot.features.quiz.settings_callbacks import DraftSettingsCb, QuizSettingsCb, Setting
from studymate.db.models import Quiz, QuizAttempt, Student, utcnow
from studymate.i18n import t
from studymate.services import mentors
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.format import parse_quiz

EXAMPLE = "Тема: Python basics\nSeconds: 30\n\n" + SPEC_QUESTIONS


def ru(key: str, **params) -> str:
    return t(key, "ru", **params)


def current(fake, message_id: int) -> dict:
    return next(m for m in fake.messages(MENTOR_ID) if m["message_id"] == message_id)


async def press(mentor: Chat, fake, message: dict, label: str) -> dict:
    await mentor.click(message["message_id"], button_data(message, label))
    return current(fake, message["message_id"])


def draft_screen(seconds: int, hours: int, questions: str, options: str) -> str:
    return plain("quiz_settings_draft", title="Python basics", seconds=seconds, hours=hours,
                 questions=ru(questions), options=ru(options))


@pytest.fixture
def school(db, fake):
    make_school(fake, students=1)


async def test_draft_settings_change_the_preview_and_the_published_quiz(school, fake, run_bot):
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("📝 Квизы")
    await mentor.click(menu["message_id"], button_data(menu, ru("btn_upload_quiz")))
    after = mentor.last_bot_message_id()
    await fake.send_document(MENTOR_ID, EXAMPLE.encode(), "basics.txt", mime_type="text/plain")
    [preview] = await mentor.replies(after)
    assert ru("btn_quiz_settings") in inline_labels(preview)

    screen = await press(mentor, fake, preview, ru("btn_quiz_settings"))
    assert screen["text"] == draft_screen(30, 48, "quiz_settings_off", "quiz_settings_off")
    assert "✅ " + ru("btn_settings_seconds", seconds=30) in inline_labels(screen)
    screen = await press(mentor, fake, screen, ru("btn_settings_seconds", seconds=60))
    screen = await press(mentor, fake, screen, ru("btn_settings_days", days=7))
    screen = await press(mentor, fake, screen, ru("btn_shuffle_questions", state=ru("quiz_settings_off")))
    assert screen["text"] == draft_screen(60, 168, "quiz_settings_on", "quiz_settings_off")
    assert {"✅ " + ru("btn_settings_seconds", seconds=60), "✅ " + ru("btn_settings_days", days=7)} <= set(
        inline_labels(screen))

    # A typed number: refused outside 5–600, then taken; a new settings screen follows.
    prompt = await press(mentor, fake, screen, ru("btn_settings_type_seconds"))
    assert prompt["text"] == plain("quiz_settings_enter_seconds", min=5, max=600)
    [refused] = await mentor.send("700")
    assert refused["text"] == plain("quiz_settings_seconds_invalid", min=5, max=600)
    back = await press(mentor, fake, prompt, ru("btn_back"))  # changed their mind, then again
    assert back["text"] == draft_screen(60, 168, "quiz_settings_on", "quiz_settings_off")
    await press(mentor, fake, back, ru("btn_settings_type_seconds"))
    [screen] = await mentor.send("75")
    assert screen["text"] == draft_screen(75, 168, "quiz_settings_on", "quiz_settings_off")

    preview = await press(mentor, fake, screen, ru("btn_back"))
    settings_line = plain("quiz_preview_settings", seconds=75, hours=168, shuffle=ru("quiz_shuffle_questions"))
    assert settings_line in preview["text"]
    modes = await press(mentor, fake, preview, ru("btn_save_quiz"))
    start = await press(mentor, fake, modes, ru("btn_publish_ranked"))
    await press(mentor, fake, start, ru("btn_start_now"))
    quiz = Quiz.get()
    assert (quiz.question_seconds, quiz.window_hours, quiz.shuffle_questions, quiz.shuffle_options) == (
        75, 168, True, False)
    assert quiz.available_until - quiz.available_from == dt.timedelta(days=7)


async def test_published_quiz_changes_seconds_and_window_until_an_attempt(school, fake, run_bot):
    quiz = quizzes.publish(1, parse_quiz(EXAMPLE, file_name="a.txt"), mode=SaveMode.NEW, ranked=True).quiz
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("/start")
    await mentor.click(menu["message_id"], QuizCb(action=QuizAction.SHOW, quiz=quiz.id).pack())
    shown = current(fake, menu["message_id"])
    screen = await press(mentor, fake, shown, ru("btn_quiz_settings"))
    assert plain("quiz_settings_open") in screen["text"]
    screen = await press(mentor, fake, screen, ru("btn_settings_seconds", seconds=45))
    screen = await press(mentor, fake, screen, ru("btn_settings_days", days=14))
    row = Quiz.get_by_id(quiz.id)
    assert row.question_seconds == 45 and row.available_until - row.available_from == dt.timedelta(days=14)
    assert "✅ " + ru("btn_settings_days", days=14) in inline_labels(screen)

    # A student starts: the next change is refused with a clear message, nothing changes.
    student = Student.get()
    QuizAttempt.create(student=student, quiz=quiz.id, started_at=utcnow())
    answer = await mentor.click(screen["message_id"], button_data(screen, ru("btn_settings_seconds", seconds=10)))
    assert answer["show_alert"] and answer["text"] == plain("quiz_settings_locked")
    locked = current(fake, screen["message_id"])
    assert plain("quiz_settings_locked") in locked["text"]
    assert inline_labels(locked) == [ru("btn_back")]
    assert Quiz.get_by_id(quiz.id).question_seconds == 45


async def test_settings_buttons_for_another_mentors_quiz_or_an_old_upload_change_nothing(
    school, fake, run_bot
):
    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-2, language="ru")
    foreign = quizzes.publish(2, parse_quiz(EXAMPLE, file_name="x.txt"), mode=SaveMode.NEW, ranked=True).quiz
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("/start")
    crafted = [
        QuizSettingsCb(action=Setting.SHOW, quiz=foreign.id),
        QuizSettingsCb(action=Setting.SECONDS, quiz=foreign.id, value=60),
        QuizSettingsCb(action=Setting.WINDOW, quiz=foreign.id, value=24),
        DraftSettingsCb(action=Setting.SECONDS, draft="deadbeef", value=60),
    ]
    for data in crafted:
        answer = await mentor.click(menu["message_id"], data.pack())
        assert answer["show_alert"] and answer["text"] == plain("callback_not_allowed"), data
    row = Quiz.get_by_id(foreign.id)
    assert row.question_seconds == 30 and row.available_until - row.available_from == dt.timedelta(hours=48)
