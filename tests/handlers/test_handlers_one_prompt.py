"""Entering a form step sends one prompt, the one that carries the ❌ Cancel keyboard: not an
edited menu saying one thing and a second message saying another."""

from __future__ import annotations

from e2e import MENTOR_ID, button_data, keyboard_labels, make_school, plain
from inproc import Chat

from studymate.i18n import t
from studymate.services import materials

SENT = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendDocument", "sendPhoto"}


def ru(key: str, **params) -> str:
    return t(key, "ru", **params)


async def tap_counting(bot, chat: Chat, message: dict, label: str) -> tuple[list[str], list[dict]]:
    """Press ``label``; the Bot API methods that showed the mentor something, and the new messages."""
    after = chat.last_bot_message_id()
    calls = await bot.tap(chat.user_id, message["message_id"], button_data(message, label))
    shown = [call.method for call in calls if call.method in SENT]
    return shown, await chat.replies(after)


def unchanged(fake, message: dict) -> bool:
    now = next(m for m in fake.messages(message["chat_id"]) if m["message_id"] == message["message_id"])
    return now["text"] == message["text"]


async def test_new_topic_is_one_prompt_with_the_cancel_keyboard(db, fake, run_bot):
    make_school(fake)
    materials.create_topic(1, "Python")
    bot = await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [choose] = await mentor.send("📤 Загрузить")
    shown, [prompt] = await tap_counting(bot, mentor, choose, ru("create_new_topic"))
    assert shown == ["sendMessage"]
    assert prompt["text"] == plain("enter_topic_name")
    assert keyboard_labels(prompt) == [ru("btn_cancel")]
    assert unchanged(fake, choose)
    [done] = await mentor.send("Algebra")
    assert done["text"] == plain("topic_created", name="Algebra")


async def test_upload_to_a_topic_is_one_prompt_naming_the_topic_and_the_file_kinds(db, fake, run_bot):
    make_school(fake)
    materials.create_topic(1, "Python")
    bot = await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [choose] = await mentor.send("📤 Загрузить")
    shown, [prompt] = await tap_counting(bot, mentor, choose, "Python")
    assert shown == ["sendMessage"]
    assert prompt["text"] == plain("send_file", name="Python")
    assert "Python" in prompt["text"] and "голосовое" in prompt["text"]  # the kinds it takes
    assert keyboard_labels(prompt) == [ru("btn_cancel")]
    assert unchanged(fake, choose)
