"""A SQLite database locked by another process delays the answers, never drops them (issue 16).

Another connection holds ``BEGIN IMMEDIATE`` past the bot's busy timeout (shortened here so the
test takes seconds): every message is answered once the lock goes; held past the retry bound,
every message gets the polite error and the admins one alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time

import pytest
from e2e import ADMIN_ID, STUDENT_ID, Chat, make_school, plain
from test_update_failures import admin_messages, wait_for

from studymate.db.models import database_proxy

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        __import__("conftest").BACKEND != "sqlite", reason="SQLite's write lock"
    ),
]

MESSAGES = 8


@contextlib.contextmanager
def write_locked():
    """Another connection holds the write lock until the block ends."""
    lock = sqlite3.connect(database_proxy.obj.database, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        lock.rollback()
        lock.close()


async def send_all(fake) -> list[int]:
    """Every student says /start once; returns the ids of their messages."""
    return [(await fake.send_text(STUDENT_ID + n, "/start"))["message_id"] for n in range(MESSAGES)]


def replies(fake, n: int, after: int) -> list[str]:
    return [m["text"] for m in fake.messages(STUDENT_ID + n) if m["outgoing"] and m["message_id"] > after]


async def test_every_message_is_answered_once_the_lock_is_released(db, fake, run_bot):
    make_school(fake, students=MESSAGES)
    await run_bot(STUDYMATE_DB_BUSY_TIMEOUT_SECONDS="1")
    await Chat(fake, STUDENT_ID).send("/start")  # the bot is warm
    with write_locked():  # 3 s, three times the busy timeout
        started = time.monotonic()
        sent = await send_all(fake)
        await asyncio.sleep(3.0)
        assert not any(replies(fake, n, sent[n]) for n in range(MESSAGES))  # still waiting
    await wait_for(lambda: all(replies(fake, n, sent[n]) for n in range(MESSAGES)), timeout=15)
    await asyncio.sleep(0.5)
    welcome = plain("welcome_student", "ru", name="Anna")
    assert [replies(fake, n, sent[n]) for n in range(MESSAGES)] == [[welcome]] * MESSAGES
    assert time.monotonic() - started < 15
    assert not [m for m in fake.messages(ADMIN_ID) if m["outgoing"]]


async def test_a_lock_held_past_the_bound_gets_the_polite_error_and_an_alert(db, fake, run_bot):
    make_school(fake, students=MESSAGES)
    await run_bot(STUDYMATE_DB_BUSY_TIMEOUT_SECONDS="0.5", STUDYMATE_DB_LOCKED_RETRY_SECONDS="2")
    await Chat(fake, STUDENT_ID).send("/start")
    with write_locked():
        sent = await send_all(fake)
        # Every database step of an update waits out the bound: generous for a loaded machine.
        await wait_for(lambda: all(replies(fake, n, sent[n]) for n in range(MESSAGES)), timeout=90)
        assert [replies(fake, n, sent[n]) for n in range(MESSAGES)] == [[plain("error", "ru")]] * MESSAGES
    await wait_for(lambda: admin_messages(fake))
    assert "database is locked" in admin_messages(fake)[0]["text"]
