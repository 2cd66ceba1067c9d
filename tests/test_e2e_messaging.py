"""Messages to one student and paced, resumable broadcasts."""

from __future__ import annotations

import asyncio
import collections
import signal

import pytest
from e2e import MENTOR_ID, STUDENT_ID, Chat, button_data, inline_labels, make_school, plain

from studymate.db.models import Student

pytestmark = pytest.mark.e2e


def copies(fake, students: int, text: str) -> collections.Counter:
    counter = collections.Counter()
    for n in range(students):
        counter[n] = sum(1 for m in fake.messages(STUDENT_ID + n) if m["outgoing"] and text in (m["text"] or ""))
    return counter


async def start_broadcast(fake, mentor: Chat, text: str, *, count: int) -> dict:
    [picker] = await mentor.send("✉️ Написать ученику")
    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "📢"))
    [prompt] = await mentor.replies(after)
    assert prompt["text"] == plain("write_broadcast_message", "ru", count=count)
    [confirm] = await mentor.send(text)
    assert confirm["text"] == plain("broadcast_confirm", "ru", count=count)
    after = mentor.last_bot_message_id()
    await mentor.click(confirm["message_id"], button_data(confirm, "✅"))
    status, _menu = await mentor.replies(after, expect=2)
    return status


async def wait_status(fake, status_id: int, text: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        current = [m for m in fake.messages(MENTOR_ID) if m["message_id"] == status_id][0]
        if current["text"] == text:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"status is {current['text']!r}, expected {text!r}")


async def test_direct_message_text_and_photo(db, fake, run_bot):
    make_school(fake, students=2, lang="en")
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send("✉️ Написать ученику")
    assert inline_labels(picker) == ["📢 Написать всем (2)", "👤 Student0 (@s0)", "👤 Student1 (@s1)", "❌ Отмена"]
    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "Student0"))
    [prompt] = await mentor.replies(after)
    assert prompt["text"] == plain("write_message_to_student", "ru", name="Student0 (@s0)")
    student = Chat(fake, STUDENT_ID)
    before = student.last_bot_message_id()
    [done] = await mentor.send("Hi <there> & welcome")
    assert done["text"] == plain("message_sent_to_student", "ru", name="Student0 (@s0)")
    [got] = await student.replies(before)
    assert got["text"] == plain("mentor_message", "en", text="Hi <there> & welcome")  # student's language

    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "Student0"))
    await mentor.replies(after)
    before = student.last_bot_message_id()
    await fake.send(MENTOR_ID, photo={"content_base64": "iVBORw0KGgo="}, caption="Homework")
    [photo] = await student.replies(before)
    assert photo["media_type"] == "photo" and "Homework" in photo["text"] and "None" not in photo["text"]


async def test_picker_cancel_deletes_it(db, fake, run_bot):
    make_school(fake, students=1)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send("✉️ Написать ученику")
    answer = await mentor.click(picker["message_id"], button_data(picker, "Отмена"))
    assert answer["text"] == plain("cancelled", "ru")
    assert [m for m in fake.messages(MENTOR_ID) if m["message_id"] == picker["message_id"]][0]["deleted"]


async def test_broadcast_200_with_limits_and_429_exactly_once(db, fake, run_bot):
    make_school(fake, students=200)
    fake.set_limits(per_chat_per_second=1, global_per_second=30, group_per_minute=20)
    bot = await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    status = await start_broadcast(fake, mentor, "Lesson moved", count=200)
    await asyncio.sleep(2.0)
    fake.add_fault("sendMessage", 429, retry_after=1, times=1)
    await wait_status(fake, status["message_id"], plain("broadcast_complete", "ru", sent=200))
    assert set(copies(fake, 200, "Lesson moved").values()) == {1}
    assert bot.proc.returncode is None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
async def test_broadcast_survives_a_restart_halfway(db, fake, run_bot, sig):
    make_school(fake, students=120)
    bot = await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    status = await start_broadcast(fake, mentor, "Exam on Friday", count=120)
    while sum(copies(fake, 120, "Exam on Friday").values()) < 40:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    await bot.stop(sig)
    sent_before = sum(copies(fake, 120, "Exam on Friday").values())
    assert sent_before < 120
    await run_bot()
    await wait_status(fake, status["message_id"], plain("broadcast_complete", "ru", sent=120))
    counts = copies(fake, 120, "Exam on Friday")
    assert min(counts.values()) == 1
    # A graceful stop finishes the message in flight: exactly one copy each. A SIGKILL can
    # interrupt one send whose outcome is unknown; it is sent again rather than lost.
    duplicates = sum(c - 1 for c in counts.values())
    assert duplicates == 0 if sig == signal.SIGTERM else duplicates <= 1


async def test_broadcast_with_blocked_students(db, fake, run_bot):
    make_school(fake, students=200)
    for n in (3, 77, 150):
        fake.set_blocked(STUDENT_ID + n, True)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    status = await start_broadcast(fake, mentor, "Bring notebooks", count=200)
    await wait_status(fake, status["message_id"], plain("broadcast_complete_partial", "ru", sent=197, failed=3))
    blocked = {s.telegram_id for s in Student.select().where(Student.blocked_at.is_null(False))}
    assert blocked == {STUDENT_ID + 3, STUDENT_ID + 77, STUDENT_ID + 150}
    # The next broadcast skips them.
    [picker] = await mentor.send("✉️ Написать ученику")
    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "📢"))
    [prompt] = await mentor.replies(after)
    assert prompt["text"] == plain("write_broadcast_message", "ru", count=197)


async def test_broadcast_cancel_at_confirmation_sends_nothing(db, fake, run_bot):
    make_school(fake, students=3)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send("✉️ Написать ученику")
    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "📢"))
    await mentor.replies(after)
    [confirm] = await mentor.send("Nope")
    await mentor.click(confirm["message_id"], button_data(confirm, "Отмена"))
    again = await mentor.click(confirm["message_id"], button_data(confirm, "✅"))
    assert again["show_alert"]
    await asyncio.sleep(1.0)
    assert sum(copies(fake, 3, "Nope").values()) == 0
