"""PostgreSQL work runs on the event loop's thread, in greenlets that give way while they wait
for the server: the bot keeps serving others meanwhile, every run has its own connection and
transaction, and a caller that gives up does not cut a transaction in half.

PostgreSQL only: the module runs in the PostgreSQL pass (conftest's POSTGRES_ONLY).
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from peewee import OperationalError

from studymate.db import green
from studymate.db.connection import Db, open_database
from studymate.db.models import Mentor, database_proxy


class Ticker:
    """Counts how often the event loop gets round to it: a blocked loop does not."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.ticks += 1

    def stop(self) -> int:
        self._task.cancel()
        return self.ticks


def sleep_on_server(seconds: float) -> None:
    database_proxy.execute_sql("SELECT pg_sleep(%s)", (seconds,))


def add_mentor(telegram_id: int, then_wait: float = 0.0) -> None:
    Mentor.create(telegram_id=telegram_id, name=f"M{telegram_id}", group_chat_id=-telegram_id)
    if then_wait:
        sleep_on_server(then_wait)


def mentors() -> list[int]:
    return sorted(m.telegram_id for m in Mentor.select())


async def test_the_loop_goes_on_while_a_query_waits_for_the_server(bot_db):
    ticker = Ticker()
    await bot_db.run(sleep_on_server, 0.5)
    assert ticker.stop() >= 10  # about 50; a loop blocked for the query would count 0 or 1


async def test_runs_side_by_side_each_have_their_own_transaction(bot_db):
    adding = asyncio.create_task(bot_db.run(add_mentor, 1, 0.5))
    await asyncio.sleep(0.2)
    assert await bot_db.run(mentors) == []  # not committed yet, on another connection
    await adding
    assert await bot_db.run(mentors) == [1]


async def test_more_runs_than_slots_wait_their_turn_on_the_slots_connections(bot_db):
    def backend() -> int:
        sleep_on_server(0.05)
        return database_proxy.execute_sql("SELECT pg_backend_pid()").fetchone()[0]

    backends = await asyncio.gather(*(bot_db.run(backend) for _ in range(8)))
    assert len(set(backends)) <= 2


async def test_a_caller_that_gives_up_does_not_cut_the_transaction_short(bot_db):
    adding = asyncio.create_task(bot_db.run(add_mentor, 2, 0.4))
    await asyncio.sleep(0.1)
    adding.cancel()
    with pytest.raises(asyncio.CancelledError):
        await adding
    for _ in range(100):  # up to 5 s
        if await bot_db.run(mentors) == [2]:
            break
        await asyncio.sleep(0.05)
    assert await bot_db.run(mentors) == [2]  # the work ran to its end and committed
    # and gave its slot back: both slots serve again
    await asyncio.gather(*(bot_db.run(add_mentor, n, 0.05) for n in (3, 4, 5)))
    assert await bot_db.run(mentors) == [2, 3, 4, 5]


async def test_a_server_that_never_answers_fails_the_connection_in_time(monkeypatch):
    """A host that takes the connection but never answers (the server hung, a half-dead
    network) fails the work within the connect timeout, on the loop and in a thread alike,
    and the loop serves others meanwhile."""
    monkeypatch.setattr(green, "CONNECT_TIMEOUT", 0.3)
    silent = socket.create_server(("127.0.0.1", 0))  # the kernel accepts; nobody answers
    port = silent.getsockname()[1]
    db = Db(open_database(f"postgresql://postgres@127.0.0.1:{port}/silent", pool_size=1), threads=1)
    try:
        ticker = Ticker()
        started = time.monotonic()
        with pytest.raises(OperationalError, match="no answer"):
            await db.run(mentors)
        assert time.monotonic() - started < 5  # two tries of 0.3 s; libpq alone would wait 10 s each
        assert ticker.stop() >= 20
        with pytest.raises(OperationalError, match="no answer"):
            await asyncio.to_thread(lambda: db.database.connect())
    finally:
        db.close()
        silent.close()


async def test_closing_waits_for_work_in_progress(bot_db):
    adding = asyncio.create_task(bot_db.run(add_mentor, 6, 0.3))
    await asyncio.sleep(0.1)
    await asyncio.to_thread(bot_db.close)  # as the bot closes it at the end
    assert adding.done() and adding.exception() is None
    assert await bot_db.run(mentors) == [6]


def test_work_cut_off_by_the_loop_ending_leaves_its_slot_usable(database_url, end_other_sessions):
    """When the loop ends under a run still waiting for the server, its transaction never
    commits, and the next loop's work gets the slot with a connection of its own."""
    db = Db(open_database(database_url, pool_size=1), threads=1)

    async def walk_away() -> None:
        asyncio.ensure_future(db.run(add_mentor, 8, 5))
        await asyncio.sleep(0.3)  # the insert is done, the wait on the server is not

    async def later() -> list[int]:
        return await db.run(mentors)

    try:
        asyncio.run(walk_away())
        assert asyncio.run(later()) == []
    finally:
        db.close()
        end_other_sessions()  # the bot's process would end here, and its sessions with it

