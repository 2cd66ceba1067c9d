"""Flood control rules, in memory and shared through Redis."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from studymate.bot.infra.throttling import MemoryThrottle, Throttle


def test_memory_rules():
    throttle = MemoryThrottle()
    assert throttle.hit("msg", 1, 0.5, now=0.0) == 0
    assert throttle.hit("msg", 1, 0.5, now=0.2) == 1  # dropped: first warning
    assert throttle.hit("msg", 1, 0.5, now=0.3) == 2
    assert throttle.hit("msg", 1, 0.5, now=0.4) == 3
    assert throttle.hit("msg", 1, 0.5, now=0.45) == 4  # silent from here on
    assert throttle.hit("msg", 1, 0.5, now=0.6) == 0  # accepted: 0.6 s after the last accepted
    assert throttle.hit("msg", 1, 0.5, now=0.7) == 4  # counter went down by one only
    assert throttle.hit("cb", 1, 0.3, now=0.7) == 0  # callbacks are counted separately
    assert throttle.hit("msg", 2, 0.5, now=0.7) == 0  # and users are independent


def test_memory_is_bounded():
    throttle = MemoryThrottle(max_users=100)
    for user in range(1000):
        throttle.hit("msg", user, 0.5, now=float(user))
    assert len(throttle) == 100


async def test_redis_shared_between_instances(redis_url):
    client_a, client_b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    prefix = f"test:{uuid.uuid4().hex}"
    a, b = Throttle(client_a, prefix=prefix), Throttle(client_b, prefix=prefix)
    try:
        assert await a.hit("msg", 7, 5.0) == 0
        assert await b.hit("msg", 7, 5.0) == 1  # the other replica sees the same user
        assert await a.hit("msg", 7, 5.0) == 2
        assert await a.hit("msg", 8, 5.0) == 0
    finally:
        await client_a.aclose()
        await client_b.aclose()


async def test_redis_down_falls_back_to_memory():
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    throttle = Throttle(dead)
    assert await throttle.hit("msg", 1, 5.0) == 0
    assert await throttle.hit("msg", 1, 5.0) == 1
    await dead.aclose()
