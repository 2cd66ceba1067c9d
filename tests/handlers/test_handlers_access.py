"""Enrollment and access, in process (moved from the e2e tier: handler logic only)."""

from __future__ import annotations

import asyncio
import time

import pytest
from e2e import (
    GROUP_ID,
    MENTOR_ID,
    STUDENT_ID,
    button_data,
    keyboard_labels,
    plain,
)
from inproc import Chat

from studymate.db.models import Student
from studymate.services import mentors


def add_mentor(telegram_id=MENTOR_ID, group=GROUP_ID, name="Anna", language="ru"):
    mentors.add_mentor(telegram_id=telegram_id, name=name, group_chat_id=group, language=language)


async def register(fake, user_id, *, lang="ru", first_name="Ali"):
    """First /start of a group member: pick a language, get the student menu."""
    fake.add_user(user_id, first_name, language_code=lang)
    chat = Chat(fake, user_id)
    [picker] = await chat.send("/start")
    after = chat.last_bot_message_id()
    await chat.click(picker["message_id"], button_data(picker, fake_lang_label(lang)))
    return chat, await chat.replies(after)


def fake_lang_label(lang):
    return {"ru": "Русский", "kaa": "Qaraqalpaq", "en": "English"}[lang]


async def test_stranger_gets_picker_then_access_denied_and_nothing_is_stored(db, fake, run_bot):
    add_mentor()
    await run_bot()
    fake.add_user(3001, "Stranger", language_code="en")
    chat = Chat(fake, 3001)
    [picker] = await chat.send("/start")
    assert picker["text"] == plain("choose_language_first", "en")  # Telegram's language
    labels = [b["text"] for row in picker["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["Русский", "Qaraqalpaq", "✅ English"]  # Telegram's language pre-selected
    after = chat.last_bot_message_id()
    answer = await chat.click(picker["message_id"], button_data(picker, "English"))
    assert answer["text"] == plain("language_changed", "en")
    [denied] = await chat.replies(after)
    assert denied["text"] == plain("access_denied", "en")
    assert denied["reply_markup"] is None
    assert Student.select().count() == 0
    # Any feature is refused too, as a message or as an alert.
    [again] = await chat.send("📚 Materials")
    assert again["text"] == plain("access_denied", "en")


async def test_member_becomes_student_in_their_language(db, fake, run_bot):
    add_mentor()
    fake.set_member(GROUP_ID, 2002, "member")
    await run_bot()
    _, [welcome] = await register(fake, 2002, lang="kaa", first_name="Ali")
    assert welcome["text"] == plain("welcome_student", "kaa", name="Anna")
    assert keyboard_labels(welcome)[:2] == ["📚 Materiallar", "📝 Kvizler"]
    student = Student.get(Student.telegram_id == 2002)
    assert (student.first_name, student.last_name, student.language) == ("Ali", "", "kaa")
    assert student.mentor.telegram_id == MENTOR_ID


@pytest.mark.parametrize("status", ["restricted", "left", "kicked"])
async def test_rejected_statuses(db, fake, run_bot, status):
    add_mentor()
    fake.set_member(GROUP_ID, 2002, status)
    await run_bot()
    _, [reply] = await register(fake, 2002)
    assert reply["text"] == plain("access_denied", "ru")
    assert Student.select().count() == 0


async def test_twenty_mentors_checked_concurrently_and_cached(db, fake, run_bot):
    for i in range(20):
        add_mentor(telegram_id=5000 + i, group=-(7000 + i), name=f"M{i}")
    fake.set_member(-7019, STUDENT_ID, "member")  # only the last mentor's group has them
    fake.set_latency(0.1, method="getChatMember")
    await run_bot()
    fake.add_user(STUDENT_ID, "Ali", language_code="ru")
    chat = Chat(fake, STUDENT_ID)
    [picker] = await chat.send("/start")
    after = chat.last_bot_message_id()
    started = time.monotonic()
    await chat.click(picker["message_id"], button_data(picker, "Русский"))
    [welcome] = await chat.replies(after)
    elapsed = time.monotonic() - started
    assert welcome["text"] == plain("welcome_student", "ru", name="M19")
    assert elapsed < 1.0, f"membership check took {elapsed:.2f}s"
    assert len(fake.calls("getChatMember")) == 20
    since = time.monotonic()
    [again] = await chat.send("/start")
    assert again["text"] == plain("welcome_student", "ru", name="M19")
    assert fake.calls("getChatMember", since=since) == []  # inside the TTL: no API call


async def test_student_removed_from_group_loses_access_after_ttl(db, fake, run_bot):
    add_mentor()
    fake.set_member(GROUP_ID, STUDENT_ID, "member")
    await run_bot(STUDYMATE_MEMBERSHIP_CACHE_SECONDS="1")
    chat, _ = await register(fake, STUDENT_ID)
    [hint] = await chat.send("hello")
    assert hint["text"] == plain("unknown_input_hint", "ru")
    fake.set_member(GROUP_ID, STUDENT_ID, "left")
    await asyncio.sleep(1.1)
    [refused] = await chat.send("📚 Материалы")
    assert refused["text"] == plain("access_revoked", "ru")
    assert Student.get(Student.telegram_id == STUDENT_ID).mentor_id is None
    [denied] = await chat.send("/start")
    assert denied["text"] == plain("access_denied", "ru")


async def test_student_of_deactivated_mentor_loses_access(db, fake, run_bot):
    add_mentor()
    fake.set_member(GROUP_ID, STUDENT_ID, "member")
    await run_bot()
    chat, _ = await register(fake, STUDENT_ID)
    mentors.deactivate_mentor(MENTOR_ID)
    [refused] = await chat.send("anything")
    assert refused["text"] == plain("mentor_inactive", "ru")  # the reason, not "join the group"


async def test_student_in_two_groups_stays_with_their_mentor(db, fake, run_bot):
    add_mentor(telegram_id=1001, group=-1, name="First")
    add_mentor(telegram_id=1002, group=-2, name="Second")
    fake.set_member(-2, STUDENT_ID, "member")
    await run_bot(STUDYMATE_MEMBERSHIP_CACHE_SECONDS="0")
    chat, [welcome] = await register(fake, STUDENT_ID)
    assert welcome["text"] == plain("welcome_student", "ru", name="Second")
    fake.set_member(-1, STUDENT_ID, "member")  # now also in the first mentor's group
    [again] = await chat.send("/start")
    assert again["text"] == plain("welcome_student", "ru", name="Second")


async def test_language_switch_keeps_working_and_menus_follow(db, fake, run_bot):
    add_mentor()
    fake.set_member(GROUP_ID, STUDENT_ID, "member")
    await run_bot()
    chat, _ = await register(fake, STUDENT_ID)
    [picker] = await chat.send("🌐 Язык")
    assert picker["text"] == plain("choose_language", "ru")
    after = chat.last_bot_message_id()
    toast = await chat.click(picker["message_id"], button_data(picker, "English"))
    assert toast["text"] == plain("language_changed", "en")
    [changed] = await chat.replies(after)
    assert keyboard_labels(changed)[:2] == ["📚 Materials", "📝 Quizzes"]
    assert Student.get(Student.telegram_id == STUDENT_ID).language == "en"
    [cancelled] = await chat.send("❌ Cancel")
    assert cancelled["text"] == plain("cancelled", "en")
    assert keyboard_labels(cancelled)[:2] == ["📚 Materials", "📝 Quizzes"]


async def test_group_messages_are_ignored(db, fake, run_bot):
    add_mentor()
    fake.set_member(GROUP_ID, MENTOR_ID, "member")
    await run_bot()
    fake.add_user(MENTOR_ID, "Anna")
    await fake.send(MENTOR_ID, text="/start", chat_id=GROUP_ID)
    [private] = await Chat(fake, MENTOR_ID).send("/start")  # handled after the group one
    assert private["text"] == plain("welcome_mentor", "ru", name="Anna")
    assert not [m for m in fake.messages(GROUP_ID) if m["outgoing"]]
