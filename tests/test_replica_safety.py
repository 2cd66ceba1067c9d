"""What each bot replica runs, run by several at once (issue 8, item 4).

Threads with their own database connections stand in for replicas: they start together (a
barrier) and each runs the service in its own transaction, as ``Db.run`` does. On PostgreSQL
this exercises ``FOR UPDATE SKIP LOCKED`` and the advisory lock; on SQLite the IMMEDIATE
transactions that admit one writer at a time. Pacing and per-user locks are shared through
Redis and tested with several clients, one per "replica".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from studymate.bot.infra.failover import FailoverIsolation, FailoverStorage, redis_client
from studymate.bot.infra.pacing import SharedPacer
from studymate.bot.infra.storage import DatabaseStorage
from studymate.db.connection import Db, transaction
from studymate.db.models import OutboxMessage, Quiz, QuizAttempt, QuizQuestion, Student
from studymate.ops.alerts import claim_alert
from studymate.services import enrollment, mentors, outbox
from studymate.services.enrollment import TelegramProfile
from studymate.services.outbox import Outgoing
from studymate.services.quiz import countdown as quiz_countdown
from studymate.services.quiz import engine as quiz_engine
from studymate.services.quiz import schedule as quiz_openings

TZ = ZoneInfo("Asia/Tashkent")
REPLICAS = 4
NOW = dt.datetime(2026, 3, 10, 9, 0, 0)


def together(database, fn, *, replicas: int = REPLICAS) -> list:
    """Run ``fn`` once per replica, all at the same moment, each in its own transaction."""
    barrier = threading.Barrier(replicas)

    def replica():
        database.connect(reuse_if_open=True)
        try:
            barrier.wait()
            with transaction(database):
                return fn()
        finally:
            database.close()

    with ThreadPoolExecutor(replicas) as pool:
        return [f.result() for f in [pool.submit(replica) for _ in range(replicas)]]


def school(students: int) -> tuple[Quiz, list[Student]]:
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-1, language="ru")
    for n in range(students):
        enrollment.enroll(TelegramProfile(2001 + n, None, f"S{n}", ""), mentor_id=1, language="en")
    quiz = Quiz.create(mentor=1, title="Exam", quiz_type="ranked", max_attempts=1,
                       available_from=NOW - dt.timedelta(minutes=5),
                       available_until=NOW + dt.timedelta(hours=2))
    for k in range(1, 4):
        QuizQuestion.create(quiz=quiz, question_text=f"Q{k}", option_a="a", option_b="b",
                            option_c="c", option_d="d", correct_answer="B", order=k)
    return quiz, list(Student.select().order_by(Student.id))


def started(quiz: Quiz, students: list[Student], at: dt.datetime) -> list[int]:
    ids = []
    for n, student in enumerate(students):
        view = quiz_engine.start(student.telegram_id, quiz.id, tz=TZ, now=at,
                                 chat_id=student.telegram_id, message_id=10 + n)
        ids.append(view.attempt_id)
    return ids


def test_outbox_rows_are_claimed_by_one_sender_each(db):
    messages = [Outgoing(3000 + n, "sendMessage", {"text": f"m{n}"}) for n in range(300)]
    with transaction(db):
        outbox.enqueue(messages, kind="broadcast")
    barrier = threading.Barrier(REPLICAS)

    def replica() -> list[int]:
        """Claims batches of 10, one transaction each, until nothing is due."""
        db.connect(reuse_if_open=True)
        try:
            barrier.wait()
            mine = []
            while True:
                with transaction(db):
                    rows = [r.id for r in outbox.claim_due(10)]
                if not rows:
                    return mine
                mine += rows
        finally:
            db.close()

    with ThreadPoolExecutor(REPLICAS) as pool:
        claims = [f.result() for f in [pool.submit(replica) for _ in range(REPLICAS)]]
    taken = Counter(row for claim in claims for row in claim)
    assert len(taken) == 300 and set(taken.values()) == {1}
    assert OutboxMessage.select().where(OutboxMessage.status == "sending").count() == 300


def test_each_overdue_question_times_out_once(db):
    quiz, students = school(40)
    ids = started(quiz, students, NOW)
    later = NOW + dt.timedelta(seconds=25)  # past the first question's 20 s
    results = together(db, lambda: quiz_engine.expire_due(tz=TZ, now=later))
    moved = Counter(step.next.attempt_id for steps in results for step in steps)
    assert sorted(moved) == sorted(ids) and set(moved.values()) == {1}
    assert {a.current_index for a in QuizAttempt.select()} == {1}


def test_each_expired_session_ends_once(db):
    quiz, students = school(40)
    started(quiz, students, NOW)
    after_session = NOW + dt.timedelta(hours=1)
    results = together(db, lambda: quiz_engine.expire_due(tz=TZ, now=after_session))
    ended = Counter(step.finished.attempt_id for steps in results for step in steps)
    assert len(ended) == 40 and set(ended.values()) == {1}  # one "finished" message each
    assert QuizAttempt.select().where(QuizAttempt.finished_at.is_null()).count() == 0


def test_each_countdown_redraw_is_claimed_once(db):
    quiz, students = school(30)
    started(quiz, students, NOW)
    QuizAttempt.update(question_deadline=NOW + dt.timedelta(minutes=5)).execute()
    first = together(db, lambda: quiz_countdown.claim_countdowns(2.0, now=NOW))
    assert all(views == [] for views in first)  # just drawn: nothing to redraw yet
    due = NOW + dt.timedelta(seconds=2.5)
    results = together(db, lambda: quiz_countdown.claim_countdowns(2.0, now=due))
    redrawn = Counter(view.attempt_id for views in results for view in views)
    assert len(redrawn) == 30 and set(redrawn.values()) == {1}
    soon = due + dt.timedelta(seconds=1)
    assert all(v == [] for v in together(db, lambda: quiz_countdown.claim_countdowns(2.0, now=soon)))


def test_a_quiz_opening_is_announced_once(db):
    quiz, students = school(25)
    Quiz.update(notified_at=None, available_from=NOW).where(Quiz.id == quiz.id).execute()

    def notice(opening, chat_id, lang):
        return Outgoing(chat_id, "sendMessage", {"text": f"{opening.title} is open"})

    opened = together(db, lambda: quiz_openings.open_due(notice, now=NOW + dt.timedelta(seconds=1)))
    assert sorted(opened) == [0] * (REPLICAS - 1) + [1]
    chats = Counter(m.chat_id for m in OutboxMessage.select())
    assert len(chats) == 25 and set(chats.values()) == {1}


def test_one_replica_sends_an_alert(db):
    results = together(db, lambda: claim_alert("redis_down", cooldown=600, per_minute=5))
    assert sorted(results, key=lambda r: r is None) == [0] + [None] * (REPLICAS - 1)


async def test_shared_pacing_keeps_the_whole_bot_within_25_per_second(redis_url):
    clients = [redis_client(redis_url) for _ in range(3)]
    pacers = [SharedPacer(client, per_second=25, prefix=f"studymate:test-pacer:{time.time_ns()}")
              for client in clients]
    for pacer in pacers[1:]:
        pacer.prefix = pacers[0].prefix

    async def replica(pacer, first_chat):
        moments = []
        for n in range(20):
            assert await pacer.turn(first_chat + n) == 0.0
            moments.append(time.monotonic())
        return moments

    try:
        moments = sorted(sum(await asyncio.gather(
            *(replica(p, 10_000 * (i + 1)) for i, p in enumerate(pacers))), []))
        busiest = max(sum(1 for m in moments if start <= m < start + 1.0) for start in moments)
        assert busiest <= 26, busiest  # 25 slots in a second, + a boundary
        assert moments[-1] - moments[0] >= 59 / 25 - 0.1

        # One chat: another replica's turn for it waits for the chat's interval; a replica
        # that may not wait that long gets the wait back and reserves nothing.
        await pacers[0].turn(42)
        assert 0.9 < await pacers[1].turn(42, max_wait=0.0) <= 1.06
        begun = time.monotonic()
        assert await pacers[2].turn(42) == 0.0
        assert time.monotonic() - begun > 0.9

        # A 429 seen by one replica pauses them all.
        await pacers[0].pause(1.0)
        begun = time.monotonic()
        await pacers[1].turn(7)
        assert time.monotonic() - begun > 0.9
    finally:
        for client in clients:
            await client.aclose()


async def test_a_user_lock_left_by_a_killed_replica_frees_in_seconds(db, redis_url):
    def isolation() -> FailoverIsolation:
        storage = FailoverStorage(RedisStorage(redis_client(redis_url)), DatabaseStorage(Db(db)))
        return FailoverIsolation(storage, lock_timeout=1.0)

    key = StorageKey(bot_id=1, chat_id=5, user_id=5)
    first, second = isolation(), isolation()
    order = []

    async def long_handler():
        async with first.lock(key):
            order.append("first in")
            await asyncio.sleep(2.5)  # longer than the lock's life: it is renewed meanwhile
            order.append("first out")

    async def next_update():
        await asyncio.sleep(0.2)
        async with second.lock(key):
            order.append("second in")

    await asyncio.gather(long_handler(), next_update())
    assert order == ["first in", "first out", "second in"]

    # A replica killed while handling leaves its lock: nobody renews it, it expires.
    name = first.storage.redis.key_builder.build(key, "lock")
    assert await first.storage.redis.redis.set(name, "dead-replica", px=1000)
    begun = time.monotonic()
    async with second.lock(key):
        waited = time.monotonic() - begun
    assert 0.5 < waited < 2.0
    for side in (first, second):
        await side.storage.close()
