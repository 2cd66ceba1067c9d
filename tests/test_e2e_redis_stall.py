"""A stalled Redis (frozen, data kept) that comes back does not bring back a form the student left."""

from __future__ import annotations

import asyncio
import time

import pytest
from e2e import ADMIN_ID, MENTOR_ID, STUDENT_ID, Chat, make_school, plain

from studymate.db.models import Question

pytestmark = pytest.mark.e2e


async def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_casual_message_after_redis_returns_is_not_a_question(db, fake, run_bot, private_redis):
    make_school(fake)
    await run_bot(REDIS_URL=private_redis.url)
    student = Chat(fake, STUDENT_ID)
    [prompt] = await student.send("❓ Задать вопрос")
    assert prompt["text"] == plain("write_question", "ru")

    private_redis.freeze()
    [welcome, *_] = await student.send("/start", timeout=20)  # the student moves on
    assert welcome["text"] != plain("question_sent", "ru")
    back = plain("admin_alert_redis_back", "ru")
    private_redis.thaw()
    await wait_for(lambda: any(m["text"] == back for m in fake.messages(ADMIN_ID) if m["outgoing"]))

    mentor_before = Chat(fake, MENTOR_ID).last_bot_message_id()
    [reply] = await student.send("привет")
    assert reply["text"] != plain("question_sent", "ru")
    assert Question.select().count() == 0
    assert Chat(fake, MENTOR_ID).last_bot_message_id() == mentor_before
