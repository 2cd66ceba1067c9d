"""FSM state is durable: it survives a restart on Redis and on the database, and a Redis outage."""

from __future__ import annotations

import asyncio
import uuid

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from studymate.bot.infra.failover import FailoverStorage, redis_client
from studymate.bot.infra.storage import DatabaseStorage
from studymate.db.connection import Db, open_database


def key(user: int = 2001) -> StorageKey:
    return StorageKey(bot_id=int(uuid.uuid4().int % 10**9), chat_id=user, user_id=user)


async def test_database_storage_survives_restart(database_url):
    k = key()
    first = Db(open_database(database_url))
    storage = DatabaseStorage(first)
    await storage.set_state(k, "QuestionStates:waiting_question")
    await storage.set_data(k, {"question": "Когда экзамен?", "n": 1})
    first.close()

    second = Db(open_database(database_url))  # a new process would open it like this
    again = DatabaseStorage(second)
    assert await again.get_state(k) == "QuestionStates:waiting_question"
    assert await again.get_data(k) == {"question": "Когда экзамен?", "n": 1}
    await again.set_state(k, None)
    await again.set_data(k, {})
    assert await again.get_state(k) is None and await again.get_data(k) == {}
    second.close()


async def test_redis_storage_survives_restart(redis_url, database_url):
    k = key()
    db = Db(open_database(database_url))
    storage = FailoverStorage(RedisStorage(redis_client(redis_url)), DatabaseStorage(db))
    await storage.start()
    await storage.set_state(k, "ProfileStates:editing_full_name")
    await storage.close()
    again = FailoverStorage(RedisStorage(redis_client(redis_url)), DatabaseStorage(db))
    await again.start()
    assert again.using_redis
    assert await again.get_state(k) == "ProfileStates:editing_full_name"
    await again.set_state(k, None)
    await again.close()
    db.close()


async def test_redis_outage_degrades_to_database_and_comes_back(private_redis, database_url):
    switches: list[bool] = []

    async def on_switch(up: bool) -> None:
        switches.append(up)

    k = key()
    db = Db(open_database(database_url))
    storage = FailoverStorage(
        RedisStorage(redis_client(private_redis.url)), DatabaseStorage(db),
        on_switch=on_switch, probe_interval=0.2,
    )
    await storage.start()
    await storage.set_state(k, "step:one")

    private_redis.stop()
    await storage.set_state(k, "step:two")  # Redis is gone: answered from the database
    await storage.set_data(k, {"draft": "kept"})
    assert not storage.using_redis and switches == [False]
    assert await storage.get_state(k) == "step:two"

    private_redis.start()  # an empty Redis: nothing survived in it
    for _ in range(50):
        if storage.using_redis:
            break
        await asyncio.sleep(0.1)
    assert storage.using_redis and switches == [False, True]
    # What users did during the outage was carried over into Redis.
    assert await storage.get_state(k) == "step:two"
    assert await storage.get_data(k) == {"draft": "kept"}
    await storage.close()
    db.close()


async def test_unreachable_redis_at_start_uses_database(database_url):
    db = Db(open_database(database_url))
    storage = FailoverStorage(
        RedisStorage(redis_client("redis://127.0.0.1:1/0")), DatabaseStorage(db), probe_interval=60
    )
    await storage.start()
    assert storage.backend_name == "database"
    k = key()
    await storage.set_state(k, "x")
    assert await storage.get_state(k) == "x"
    await storage.close()
    db.close()
