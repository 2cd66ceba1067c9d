"""Quiz reminders on three replicas (webhook mode behind nginx, one PostgreSQL, one Redis):
each of 200 students is reminded once although every replica's sweeper finds them due, and a
replica killed with SIGKILL while the reminders go out costs at most the one message it had
on its way to Telegram. PostgreSQL only, like ``test_replicas``."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import time

import pytest
from e2e import MENTOR_ID, STUDENT_ID, make_school, plain
from test_replicas import cluster, nginx_binary  # noqa: F401  (the fixtures)

from studymate.db.models import Quiz, QuizQuestion, Reminder, utcnow
from studymate.services import enrollment

# Replicas share a PostgreSQL database: the SQLite pass deselects this module (conftest).
pytestmark = [pytest.mark.e2e, pytest.mark.services]

STUDENTS = 200


def closing_quiz() -> Quiz:
    mentor_id = enrollment.identify(MENTOR_ID, ttl=0).mentor_id
    now = utcnow()
    quiz = Quiz.create(mentor=mentor_id, title="Closing soon", quiz_type="ranked", max_attempts=1,
                       available_from=now - dt.timedelta(hours=47), available_until=now + dt.timedelta(hours=1),
                       notified_at=now - dt.timedelta(hours=47))
    QuizQuestion.create(quiz=quiz, question_text="Q", option_a="a", option_b="b", option_c="c",
                        option_d="d", correct_answer="B", order=1)
    return quiz


def reminded(fake) -> collections.Counter:
    head = plain("quiz_reminder_notification", "ru", title="T", end="E").split(" T ")[0]
    return collections.Counter({
        n: sum(1 for m in fake.messages(STUDENT_ID + n) if m["outgoing"] and (m["text"] or "").startswith(head))
        for n in range(STUDENTS)
    })


async def test_each_reminder_once_on_three_replicas_with_one_killed(db, fake, cluster):  # noqa: F811
    make_school(fake, students=STUDENTS)
    fake.set_limits(per_chat_per_second=1, global_per_second=30, group_per_minute=20)
    closing_quiz()
    group = await cluster()
    since = time.monotonic()
    deadline = since + 60
    while sum(1 for c in reminded(fake).values() if c) < STUDENTS // 3:
        assert time.monotonic() < deadline, "reminders do not go out"
        await asyncio.sleep(0.1)
    victim = group.replicas[1]
    await victim.kill()  # while the reminders are being sent
    killed_at = sum(1 for c in reminded(fake).values() if c)
    await asyncio.sleep(1.0)
    await victim.start()
    while (copies := reminded(fake)) and min(copies.values()) == 0:
        assert time.monotonic() < deadline + 60, f"{sum(1 for c in copies.values() if not c)} never reminded"
        await asyncio.sleep(0.2)
    await asyncio.sleep(2.0)  # anything sent twice would show up by now
    copies = reminded(fake)
    extra = sum(c - 1 for c in copies.values())
    assert min(copies.values()) == 1 and extra <= 1, collections.Counter(copies.values())
    assert Reminder.select().count() == STUDENTS  # one claim each, whichever replica made it
    print(f"\n{STUDENTS} reminders via 3 replicas, one killed after {killed_at}: "
          f"{time.monotonic() - since:.1f} s, {extra} sent twice")
