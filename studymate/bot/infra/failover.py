"""FSM storage with Redis: the database for every write, Redis a copy that answers the reads.

Each database row has a version raised by every write, and Redis keeps the version it copied
and never takes an older one, so whichever store a write went to, the last write is what Redis
converges to. When Redis fails at run time the bot keeps answering from the database, tells the
admins once, probes Redis in the background, copies the rows that changed meanwhile into Redis
(a student who left a form during the outage does not find it again) and switches back when it
answers again.

Its own module, imported only by a bot with ``STUDYMATE_REDIS_URL`` set: redis and aiogram's
Redis storage cost ~4 MB resident that a bot without Redis does not pay.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any

from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StateType, StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError

from studymate.bot.infra.storage import DatabaseStorage, Record
from studymate.db.models import utcnow

logger = logging.getLogger(__name__)

REDIS_ERRORS = (RedisError, OSError, asyncio.TimeoutError)

# Copy one database row into Redis unless Redis already holds that version or a newer one.
# KEYS: state, data, version; ARGV: version, state ('' = none), data as JSON ('' = empty).
_MIRROR_SCRIPT = """
local seen = tonumber(redis.call('GET', KEYS[3]) or '0')
if seen >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[3], ARGV[1])
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
if ARGV[3] == '' then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], ARGV[3]) end
return 1
"""

# A write committed to the database this long before an outage was noticed may have missed
# Redis (its Redis call was still timing out): the copy after the outage starts that early.
OUTAGE_MARGIN = dt.timedelta(seconds=60)


class FailoverStorage(BaseStorage):
    """The database for every write, Redis (a versioned copy) for reads while it answers."""

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
        self.using_redis = True  # reads from Redis
        self._mirroring = True  # writes copied into Redis (again before reads switch back)
        self._degraded_at: dt.datetime | None = None
        self._probe: asyncio.Task[None] | None = None
        self._mirror_script = redis.redis.register_script(_MIRROR_SCRIPT)

    @property
    def backend_name(self) -> str:
        return "redis" if self.using_redis else "database"

    async def start(self) -> None:
        """Check Redis once at start-up; begin on the database if it does not answer."""
        try:
            await self.redis.redis.ping()
        except REDIS_ERRORS as exc:
            await self._degrade(exc)
            return
        if removed := await self.fallback.forget_unversioned():
            logger.info("%d FSM rows of an older version left to Redis", removed)

    async def _degrade(self, exc: BaseException) -> None:
        self._mirroring = False
        if not self.using_redis:
            return
        self.using_redis = False
        self._degraded_at = utcnow() - OUTAGE_MARGIN
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
                self._mirroring = True  # writes from now on reach Redis; the copy does the rest
                await self._copy_back()
            except REDIS_ERRORS:
                self._mirroring = False
                continue
            if not self._mirroring:  # a write failed to reach Redis during the copy
                continue
            self.using_redis = True
            logger.warning("Redis is back: FSM state in Redis again")
            if self.on_switch:
                await self.on_switch(True)

    async def _copy_back(self) -> None:
        """Carry the state users reached during the outage over into Redis."""
        assert self._degraded_at is not None
        for key, record in await self.fallback.changed_since(self._degraded_at):
            await self._to_redis(key, record)

    async def _to_redis(self, key: str, record: Record) -> None:
        # Database keys are the key builder's base key; Redis keys add a part suffix.
        sep = self.redis.key_builder.separator
        state, data, version = record
        await self._mirror_script(
            keys=[f"{key}{sep}state", f"{key}{sep}data", f"{key}{sep}version"],
            args=[version, state or "", "" if data == "{}" else data],
        )

    async def _mirror(self, key: StorageKey, record: Record) -> None:
        if not self._mirroring:
            return
        try:
            await self._to_redis(self.fallback._key(key), record)
        except REDIS_ERRORS as exc:
            await self._degrade(exc)

    async def _read(self, name: str, key: StorageKey) -> Any:
        if self.using_redis:
            try:
                return await getattr(self.redis, name)(key)
            except REDIS_ERRORS as exc:
                await self._degrade(exc)
        return await getattr(self.fallback, name)(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self._mirror(key, await self.fallback.write_state(key, state))

    async def get_state(self, key: StorageKey) -> str | None:
        return await self._read("get_state", key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._mirror(key, await self.fallback.write_data(key, data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return await self._read("get_data", key)

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
