"""People and languages, through the real bot and the fake server: the first screen speaks the
user's language, admins who are neither mentors nor students are first-class, and each refusal
says the right thing."""

from __future__ import annotations

import asyncio
import time

import pytest
from e2e import ADMIN_ID, GROUP_ID, MENTOR_ID, STUDENT_ID, Chat, button_data, keyboard_labels, plain

from studymate.services import mentors

pytestmark = pytest.mark.e2e


def bot_message(fake, chat_id, message_id):
    return next(m for m in fake.messages(chat_id) if m["message_id"] == message_id)


async def edited_to(fake, chat_id, message_id, text, timeout=10.0):
    """The message once the bot has edited it to ``text`` (the edit follows the toast)."""
    deadline = time.monotonic() + timeout
    while (message := bot_message(fake, chat_id, message_id))["text"] != text:
        if time.monotonic() > deadline:
            return message
        await asyncio.sleep(0.05)
    return message


@pytest.mark.parametrize(("telegram_lang", "lang"), [("en", "en"), ("kaa", "kaa"), ("qq", "kaa")])
async def test_first_screen_speaks_the_telegram_language(db, fake, run_bot, telegram_lang, lang):
    mentors.add_mentor(telegram_id=MENTOR_ID, name="Anna", group_chat_id=GROUP_ID, language="ru")
    fake.set_member(GROUP_ID, STUDENT_ID, "member")
    fake.add_user(STUDENT_ID, "Ali", language_code=telegram_lang)
    await run_bot()
    chat = Chat(fake, STUDENT_ID)
    [picker] = await chat.send("/start")
    assert picker["text"] == plain("choose_language_first", lang)


async def test_unknown_telegram_language_falls_back_to_the_default(db, fake, run_bot):
    fake.add_user(3005, "Hans", language_code="de")
    await run_bot(DEFAULT_LANGUAGE="en")
    [picker] = await Chat(fake, 3005).send("/start")
    assert picker["text"] == plain("choose_language_first", "en")


async def test_the_picker_is_edited_into_the_chosen_language(db, fake, run_bot):
    mentors.add_mentor(telegram_id=MENTOR_ID, name="Anna", group_chat_id=GROUP_ID, language="ru")
    fake.set_member(GROUP_ID, STUDENT_ID, "member")
    fake.add_user(STUDENT_ID, "Ali", language_code="ru")
    await run_bot()
    chat = Chat(fake, STUDENT_ID)
    [picker] = await chat.send("/start")
    after = chat.last_bot_message_id()
    await chat.click(picker["message_id"], button_data(picker, "English"))
    [welcome] = await chat.replies(after)
    assert welcome["text"] == plain("welcome_student", "en", name="Anna")
    edited = bot_message(fake, STUDENT_ID, picker["message_id"])
    assert edited["text"] == plain("language_chosen", "en", language="English")
    assert not (edited.get("reply_markup") or {}).get("inline_keyboard")
    # The 🌐 menu's picker too: it no longer reads in the old language after the choice.
    [again] = await chat.send(plain("btn_language", "en"))
    await chat.click(again["message_id"], button_data(again, "Qaraqalpaq"))
    chosen = plain("language_chosen", "kaa", language="Qaraqalpaq")
    edited = await edited_to(fake, STUDENT_ID, again["message_id"], chosen)
    assert edited["text"] == chosen


async def test_an_admin_who_is_no_mentor_gets_an_admin_welcome_in_their_language(db, fake, run_bot):
    fake.add_user(ADMIN_ID, "Admin", language_code="ru")
    await run_bot()
    chat = Chat(fake, ADMIN_ID)
    [picker] = await chat.send("/start")
    after = chat.last_bot_message_id()
    await chat.click(picker["message_id"], button_data(picker, "English"))
    [welcome] = await chat.replies(after)
    assert welcome["text"] == plain("welcome_admin", "en")  # not "only for group members"
    assert keyboard_labels(welcome) == [plain("btn_language", "en")]
    # The choice is kept: the next /start and /admin answer in English, no picker again.
    [again] = await chat.send("/start")
    assert again["text"] == plain("welcome_admin", "en")
    [help_] = await chat.send("/admin")
    assert help_["text"] == plain("admin_help", "en")


async def test_alerts_reach_an_admin_in_the_language_they_chose(db, fake, run_bot):
    mentors.add_mentor(telegram_id=MENTOR_ID, name="Anna", group_chat_id=GROUP_ID, language="ru")
    fake.add_user(MENTOR_ID, "Anna")
    fake.add_user(ADMIN_ID, "Admin", language_code="ru")
    await run_bot()
    admin = Chat(fake, ADMIN_ID)
    [picker] = await admin.send("/start")
    after = admin.last_bot_message_id()
    await admin.click(picker["message_id"], button_data(picker, "English"))
    await admin.replies(after)
    after = admin.last_bot_message_id()
    mentor = Chat(fake, MENTOR_ID)
    [menu_picker] = await mentor.send("🌐 Язык")
    fake.add_fault("answerCallbackQuery", 400, description="Bad Request: boom", times=1)
    await mentor.click(menu_picker["message_id"], button_data(menu_picker, "Русский"))
    [alert] = await admin.replies(after)
    english = plain("admin_alert_error", "en", user_id=MENTOR_ID, username="—",
                    error="TelegramBadRequest: x", update_type="CallbackQuery")
    assert alert["text"].split("\n")[0] == english.split("\n")[0]
