"""The bot survives bad input, errors, floods, SIGTERM and a Redis outage (issue 2)."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
from e2e import ADMIN_ID, GROUP_ID, MENTOR_ID, STUDENT_ID, TOKEN, Chat, button_data, plain

from studymate.db.models import Student
from studymate.services import mentors

pytestmark = pytest.mark.e2e


def admin_messages(fake) -> list[dict]:
    return [m for m in fake.messages(ADMIN_ID) if m["outgoing"]]


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


@pytest.fixture
def school(db, fake):
    mentors.add_mentor(telegram_id=MENTOR_ID, name="Anna", group_chat_id=GROUP_ID, language="ru")
    fake.add_user(MENTOR_ID, "Anna")
    fake.add_user(ADMIN_ID, "Admin")
    fake.set_member(GROUP_ID, STUDENT_ID, "member")
    fake.add_user(STUDENT_ID, "Ali", username="ali_01")


async def test_handler_error_tells_user_and_each_admin_once_escaped(school, fake, run_bot):
    await run_bot()
    chat = Chat(fake, MENTOR_ID)
    [picker] = await chat.send("🌐 Язык")
    fake.add_fault("answerCallbackQuery", 400, description='Bad Request: <query> & "stuff" is odd', times=1)
    answer = await chat.click(picker["message_id"], button_data(picker, "English"))
    assert answer["text"] == plain("error", "ru") and answer["show_alert"]
    await wait_for(lambda: admin_messages(fake))
    [alert] = admin_messages(fake)
    assert 'Bad Request: <query> & "stuff" is odd' in alert["text"]  # escaped, so delivered
    assert "TelegramBadRequest" in alert["text"] and str(MENTOR_ID) in alert["text"]


async def test_fifty_errors_in_a_minute_give_bounded_alerts(school, fake, run_bot):
    await run_bot()
    chat = Chat(fake, MENTOR_ID)
    [picker] = await chat.send("🌐 Язык")
    fake.add_fault("answerCallbackQuery", 400, description="Bad Request: boom", times=200)
    for _ in range(50):
        await fake.click(MENTOR_ID, picker["message_id"], button_data(picker, "English"))
    await wait_for(lambda: len(fake.calls("answerCallbackQuery")) >= 100, timeout=30)
    await asyncio.sleep(1.0)
    assert 1 <= len(admin_messages(fake)) <= 5


async def test_throttling_scenario_57(school, fake, run_bot):
    await run_bot(STUDYMATE_THROTTLE_MESSAGE_SECONDS="0.5", STUDYMATE_THROTTLE_CALLBACK_SECONDS="0.3")
    chat = Chat(fake, MENTOR_ID)
    after = chat.last_bot_message_id()
    for text in ("1", "2", "3", "4", "5", "6"):  # a burst well inside 0.5 s
        await fake.send_text(MENTOR_ID, text)
    await chat.replies(after, expect=4)
    await asyncio.sleep(0.5)
    replies = [m["text"] for m in fake.messages(MENTOR_ID) if m["outgoing"] and m["message_id"] > after]
    assert replies == [
        plain("unknown_input_hint", "ru"),
        plain("throttle_warning_1", "ru"),
        plain("throttle_warning_2", "ru"),
        plain("throttle_warning_3", "ru"),
    ]  # the 5th and 6th were dropped silently
    await asyncio.sleep(0.6)
    [picker] = await chat.send("🌐 Язык")
    data = button_data(picker, "English")
    await chat.click(picker["message_id"], data)
    second = await chat.click(picker["message_id"], data)
    assert second["show_alert"] and second["text"] == plain("throttle_warning_1", "en")


async def test_sigterm_while_handlers_run_exits_cleanly_and_loses_nothing(school, fake, run_bot):
    bot = await run_bot()
    fake.set_latency(3.0, method="getChatMember")
    chat = Chat(fake, STUDENT_ID)
    [picker] = await chat.send("/start")
    after = chat.last_bot_message_id()
    await fake.click(STUDENT_ID, picker["message_id"], button_data(picker, "Русский"))
    await wait_for(lambda: fake.calls("getChatMember"))  # the handler is now waiting on Telegram
    started = time.monotonic()
    code = await bot.stop(signal.SIGTERM, timeout=10)
    elapsed = time.monotonic() - started
    assert code == 0 and elapsed < 10, bot.log
    assert "Traceback" not in bot.log
    assert TOKEN.split(":")[1] not in bot.log  # the token's secret never reaches the log
    [welcome] = await chat.replies(after, timeout=1)
    assert welcome["text"] == plain("welcome_student", "ru", name="Anna")
    assert Student.get(Student.telegram_id == STUDENT_ID).mentor.telegram_id == MENTOR_ID
    # A restart does not handle the same update twice.
    fake.set_latency(0, method="getChatMember")
    await run_bot()
    await asyncio.sleep(1.0)
    assert len([m for m in fake.messages(STUDENT_ID) if m["outgoing"]]) == 2


async def test_redis_outage_keeps_answering_and_alerts_once(school, fake, run_bot, private_redis):
    await run_bot(STUDYMATE_REDIS_URL=private_redis.url)
    chat = Chat(fake, MENTOR_ID)
    [hello] = await chat.send("/start")
    assert hello["text"] == plain("welcome_mentor", "ru", name="Anna")
    private_redis.stop()
    for _ in range(3):
        [reply] = await chat.send("/start", timeout=15)
        assert reply["text"] == plain("welcome_mentor", "ru", name="Anna")
    await wait_for(lambda: admin_messages(fake))
    assert [m["text"] for m in admin_messages(fake)] == [plain("admin_alert_redis_down", "ru")]
    private_redis.start()
    await wait_for(lambda: len(admin_messages(fake)) == 2, timeout=20)
    assert admin_messages(fake)[-1]["text"] == plain("admin_alert_redis_back", "ru")
    [after] = await chat.send("/start")
    assert after["text"] == plain("welcome_mentor", "ru", name="Anna")


@pytest.mark.parametrize("storage", ["database", "redis"])
async def test_form_state_survives_a_bot_restart(db, fake, run_bot, redis_url, storage):
    from e2e import make_school

    from studymate.db.models import Question

    make_school(fake)
    env = {"STUDYMATE_REDIS_URL": redis_url} if storage == "redis" else {}
    bot = await run_bot(**env)
    student = Chat(fake, STUDENT_ID)
    [prompt] = await student.send("❓ Задать вопрос")
    assert prompt["text"] == plain("write_question", "ru")
    assert await bot.stop(signal.SIGTERM) == 0
    await run_bot(**env)
    [sent] = await student.send("Сохранился ли вопрос?")  # the form goes on after the restart
    assert sent["text"] == plain("question_sent", "ru")
    assert Question.get().text == "Сохранился ли вопрос?"
