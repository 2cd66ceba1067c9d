"""A Redis outage never brings back a conversation the user has left: whichever store the last
write went to, that write is what the user finds when Redis answers again."""

from __future__ import annotations

import asyncio
import uuid

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from studymate.bot.infra.failover import FailoverStorage, redis_client
from studymate.bot.infra.storage import DatabaseStorage
from studymate.db.connection import Db, open_database

ASKING = "QuestionStates:waiting_question"


def key(user: int = 2001) -> StorageKey:
    return StorageKey(bot_id=int(uuid.uuid4().int % 10**9), chat_id=user, user_id=user)


async def until(condition, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


def failover(url: str, db: Db) -> FailoverStorage:
    return FailoverStorage(RedisStorage(redis_client(url)), DatabaseStorage(db), probe_interval=0.2)


async def test_state_left_while_redis_stalled_stays_left(private_redis, database_url):
    db = Db(open_database(database_url))
    storage = failover(private_redis.url, db)
    await storage.start()
    k = key()
    await storage.set_state(k, ASKING)
    await storage.set_data(k, {"draft": "x"})

    private_redis.freeze()  # stalled, not emptied: the old state is still in it
    await storage.get_state(k)  # the next update notices (a read times out)
    assert not storage.using_redis
    await storage.set_state(k, None)  # /start: the student moves on
    await storage.set_data(k, {})
    assert await storage.get_state(k) is None

    private_redis.thaw()
    await until(lambda: storage.using_redis)
    assert await storage.get_state(k) is None  # not the old "ask a question" form
    assert await storage.get_data(k) == {}
    await storage.close()
    db.close()


async def test_a_second_outage_does_not_bring_back_the_first_ones_state(private_redis, database_url):
    db = Db(open_database(database_url))
    storage = failover(private_redis.url, db)
    await storage.start()
    k = key()
    private_redis.freeze()
    await storage.get_state(k)
    assert not storage.using_redis
    await storage.set_state(k, ASKING)  # reached during the first outage
    private_redis.thaw()
    await until(lambda: storage.using_redis)
    assert await storage.get_state(k) == ASKING
    await storage.set_state(k, None)  # left while Redis was up

    private_redis.freeze()
    await storage.get_state(k)
    assert not storage.using_redis
    assert await storage.get_state(k) is None
    private_redis.thaw()
    await until(lambda: storage.using_redis)
    assert await storage.get_state(k) is None
    await storage.close()
    db.close()


async def test_a_form_goes_on_through_an_outage(private_redis, database_url):
    db = Db(open_database(database_url))
    storage = failover(private_redis.url, db)
    await storage.start()
    k = key()
    await storage.set_state(k, ASKING)
    await storage.set_data(k, {"draft": "x"})
    private_redis.freeze()
    assert await storage.get_state(k) == ASKING  # answered from the database
    assert not storage.using_redis
    assert await storage.get_data(k) == {"draft": "x"}
    await storage.close()
    private_redis.thaw()
    db.close()
