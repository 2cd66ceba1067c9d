"""Messages to one student and paced, resumable broadcasts."""

from __future__ import annotations

import asyncio
import collections
import signal

import pytest
from e2e import MENTOR_ID, STUDENT_ID, Chat, button_data, make_school, plain

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
    missed = plain("broadcast_missed", "ru", names="Student3 (@s3), Student77 (@s77), Student150 (@s150)")
    await wait_status(fake, status["message_id"],
                      plain("broadcast_complete_partial", "ru", sent=197, failed=3) + "\n\n" + missed)
    blocked = {s.telegram_id for s in Student.select().where(Student.blocked_at.is_null(False))}
    assert blocked == {STUDENT_ID + 3, STUDENT_ID + 77, STUDENT_ID + 150}
    # The next broadcast skips them.
    [picker] = await mentor.send("✉️ Написать ученику")
    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "📢"))
    [prompt] = await mentor.replies(after)
    blocked_names = plain("broadcast_blocked", "ru", names="Student3 (@s3), Student77 (@s77), Student150 (@s150)")
    assert prompt["text"] == plain("write_broadcast_message", "ru", count=197) + "\n\n" + blocked_names
