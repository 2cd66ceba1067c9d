"""FSM storage: Redis when set and reachable, else the database.

Never memory. When Redis fails at run time the bot keeps answering from the database storage,
tells the admins once, probes Redis in the background, copies what changed meanwhile back into
Redis and switches back when it answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseEventIsolation,
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError

from studymate.db.connection import Db
from studymate.db.models import FsmRecord, utcnow

logger = logging.getLogger(__name__)

REDIS_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


def _state_name(state: StateType) -> str | None:
    return state.state if isinstance(state, State) else state


# -- database storage ---------------------------------------------------------------------
def _get_record(key: str) -> tuple[str | None, dict[str, Any]]:
    row = FsmRecord.get_or_none(FsmRecord.key == key)
    return (row.state, json.loads(row.data)) if row else (None, {})


def _put(key: str, **fields: Any) -> None:
    fields["updated_at"] = utcnow()
    (
        FsmRecord.insert(key=key, **fields)
        .on_conflict(conflict_target=[FsmRecord.key], update=fields)
        .execute()
    )
    # An empty record is no record: keep the table to users who are mid-flow.
    FsmRecord.delete().where(
        (FsmRecord.key == key) & FsmRecord.state.is_null() & (FsmRecord.data == "{}")
    ).execute()


def _changed_since(since: dt.datetime) -> list[tuple[str, str | None, dict[str, Any]]]:
    rows = FsmRecord.select().where(FsmRecord.updated_at >= since)
    return [(r.key, r.state, json.loads(r.data)) for r in rows]


class DatabaseStorage(BaseStorage):
    """aiogram FSM storage in the ``fsm_record`` table: survives restarts, needs no Redis."""

    def __init__(self, db: Db, key_builder: KeyBuilder | None = None) -> None:
        self.db = db
        self.key_builder = key_builder or DefaultKeyBuilder()

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self.db.run(_put, self._key(key), state=_state_name(state))

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self.db.run(_get_record, self._key(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self.db.run(_put, self._key(key), data=json.dumps(dict(data), ensure_ascii=False))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return (await self.db.run(_get_record, self._key(key)))[1]

    async def changed_since(self, since: dt.datetime) -> list[tuple[str, str | None, dict]]:
        return await self.db.run(_changed_since, since)

    async def close(self) -> None:
        pass  # the database belongs to the application, not to the storage


# -- Redis with failover ------------------------------------------------------------------
class FailoverStorage(BaseStorage):
    """Redis first; the database storage while Redis is unreachable."""

    def __init__(
        self,
        redis: RedisStorage,
        fallback: DatabaseStorage,
        *,
        on_switch: Callable[[bool], Awaitable[None]] | None = None,
        probe_interval: float = 5.0,
    ) -> None:
        self.redis = redis
        self.fallback = fallback
        self.on_switch = on_switch
        self.probe_interval = probe_interval
        self.using_redis = True
        self._degraded_at: dt.datetime | None = None
        self._probe: asyncio.Task[None] | None = None

    @property
    def backend_name(self) -> str:
        return "redis" if self.using_redis else "database"

    async def start(self) -> None:
        """Check Redis once at start-up; begin on the database if it does not answer."""
        try:
            await self.redis.redis.ping()
        except REDIS_ERRORS as exc:
            await self._degrade(exc)

    async def _degrade(self, exc: BaseException) -> None:
        if not self.using_redis:
            return
        self.using_redis = False
        self._degraded_at = utcnow() - dt.timedelta(seconds=1)
        logger.error("Redis unreachable (%s): FSM state now in the database", type(exc).__name__)
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._probe_loop(), name="redis-probe")
        if self.on_switch:
            await self.on_switch(False)

    async def _probe_loop(self) -> None:
        while not self.using_redis:
            await asyncio.sleep(self.probe_interval)
            try:
                await self.redis.redis.ping()
                await self._copy_back()
            except REDIS_ERRORS:
                continue
            self.using_redis = True
            logger.warning("Redis is back: FSM state in Redis again")
            if self.on_switch:
                await self.on_switch(True)

    async def _copy_back(self) -> None:
        """Carry the state users reached during the outage over into Redis."""
        assert self._degraded_at is not None
        redis, sep = self.redis.redis, self.redis.key_builder.separator
        for key, state, data in await self.fallback.changed_since(self._degraded_at):
            # Database keys are the key builder's base key; Redis keys add a part suffix.
            if state:
                await redis.set(f"{key}{sep}state", state)
            else:
                await redis.delete(f"{key}{sep}state")
            if data:
                await redis.set(f"{key}{sep}data", json.dumps(data))
            else:
                await redis.delete(f"{key}{sep}data")

    async def _call(self, name: str, *args: Any) -> Any:
        if self.using_redis:
            try:
                return await getattr(self.redis, name)(*args)
            except REDIS_ERRORS as exc:
                await self._degrade(exc)
        return await getattr(self.fallback, name)(*args)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self._call("set_state", key, state)

    async def get_state(self, key: StorageKey) -> str | None:
        return await self._call("get_state", key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._call("set_data", key, data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return await self._call("get_data", key)

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        with contextlib.suppress(*REDIS_ERRORS):
            await self.redis.close()


class FailoverIsolation(BaseEventIsolation):
    """One update per user at a time: a Redis lock (shared by replicas), else a local lock.

    The Redis lock lives ``lock_timeout`` seconds and is renewed while its update is being
    handled, so a lock left by a killed replica holds that user's next update up for a few
    seconds only (a long one would make their quiz answers late).
    """

    def __init__(
        self, storage: FailoverStorage, *, lock_timeout: float = 3.0, wait_timeout: float = 10.0
    ) -> None:
        self.storage = storage
        self.local = SimpleEventIsolation()
        self.lock_timeout = lock_timeout  # a lock left by a killed process frees itself
        self.wait_timeout = wait_timeout  # then the update goes on with a local lock

    async def _renew(self, lock: Any, done: asyncio.Event) -> None:
        """Extend the lock every third of its life until ``done``. Stopped by the event, not
        cancelled: a Redis command cancelled half-way can stall the connection it used."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.lock_timeout / 3)
                return
            with contextlib.suppress(LockError, *REDIS_ERRORS):
                await lock.reacquire()

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        lock = None
        if self.storage.using_redis:
            name = self.storage.redis.key_builder.build(key, "lock")
            candidate = self.storage.redis.redis.lock(
                name=name, timeout=self.lock_timeout, blocking_timeout=self.wait_timeout
            )
            try:
                if await candidate.acquire():
                    lock = candidate
            except REDIS_ERRORS as exc:
                await self.storage._degrade(exc)
        if lock is None:
            async with self.local.lock(key):
                yield
            return
        done = asyncio.Event()
        renewal = asyncio.create_task(self._renew(lock, done))
        try:
            yield
        finally:
            done.set()
            await renewal
            with contextlib.suppress(LockError, *REDIS_ERRORS):
                await lock.release()

    async def close(self) -> None:
        await self.local.close()


def redis_client(url: str) -> Redis:
    """A client that fails fast, so an outage is noticed in seconds, not minutes."""
    return Redis.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=2,
        health_check_interval=15,
        retry_on_timeout=False,
    )
