"""Spacing of outbox sends: ≤ 25 messages/s for the whole bot, ≤ 1 per chat per ~second.

Telegram's limits are per bot, not per process. ``Pacer`` keeps the schedule in this process
(one bot process); ``SharedPacer`` keeps it in Redis, so 2–8 replicas together stay within the
same 25/s: one Lua script reserves the next slot that is free globally and for the chat,
atomically, with Redis's clock. A 429 pauses every replica. While Redis is down a replica
falls back to its own ``Pacer``, at ``fallback_share`` of the rate.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

PER_SECOND: Final = 25.0
CHAT_INTERVAL: Final = 1.05


class Pacer:
    """Spacing of sends in one process: a global interval and one message per chat per
    ``chat_interval``."""

    def __init__(self, per_second: float = PER_SECOND, chat_interval: float = CHAT_INTERVAL) -> None:
        self.interval = 1.0 / per_second
        self.chat_interval = chat_interval
        self._next_global = 0.0
        self._paused_until = 0.0
        self._next_by_chat: dict[int, float] = {}

    def chat_delay(self, chat_id: int) -> float:
        """How long this chat is still busy (as far as this process knows)."""
        return max(0.0, self._next_by_chat.get(chat_id, 0.0) - time.monotonic())

    async def turn(self, chat_id: int, max_wait: float = math.inf) -> float:
        """Reserve the next global slot that is also free for this chat, and wait for it: 0.0.

        When that slot is more than ``max_wait`` away nothing is reserved and the wait it would
        take is returned (the caller puts the message back for later). Slots follow an ideal
        schedule (not "now + interval"), so timer overshoot does not add up.
        """
        now = time.monotonic()
        start = max(now, self._next_global, self._paused_until, self._next_by_chat.get(chat_id, 0.0))
        if start - now > max_wait:
            return start - now
        self._next_global = start + self.interval
        self._next_by_chat[chat_id] = start + self.chat_interval
        if len(self._next_by_chat) > 10_000:  # forget chats whose slot has long passed
            self._next_by_chat = {c: at for c, at in self._next_by_chat.items() if at > now}
        if start > now:
            await asyncio.sleep(start - now)
        return 0.0

    async def hold_chat(self, chat_id: int, seconds: float) -> None:
        self._next_by_chat[chat_id] = max(self._next_by_chat.get(chat_id, 0.0), time.monotonic() + seconds)

    async def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


# KEYS: global next slot, paused-until, the chat's next slot (µs of Redis time).
# ARGV: interval µs, chat interval µs, max wait µs. Returns {reserved 0/1, wait µs}.
_TURN: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'),
  tonumber(redis.call('GET', KEYS[2]) or '0'), tonumber(redis.call('GET', KEYS[3]) or '0'))
local wait = start - now
if wait > tonumber(ARGV[3]) then return {0, wait} end
local g = start + tonumber(ARGV[1])
local c = start + tonumber(ARGV[2])
redis.call('SET', KEYS[1], string.format('%d', g), 'PX', math.floor((g - now) / 1000) + 1000)
redis.call('SET', KEYS[3], string.format('%d', c), 'PX', math.floor((c - now) / 1000) + 1000)
return {1, wait}
"""
# KEYS: a next-slot key. ARGV: seconds µs from now. Moves the slot later, never earlier.
_HOLD: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local v = now + tonumber(ARGV[1])
if v > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%d', v), 'PX', math.floor((v - now) / 1000) + 1000)
end
return 1
"""


class SharedPacer:
    """The same schedule as :class:`Pacer`, kept in Redis for every replica of the bot."""

    def __init__(
        self,
        redis: Redis,
        *,
        per_second: float = PER_SECOND,
        chat_interval: float = CHAT_INTERVAL,
        prefix: str = "studymate:pacer",
        fallback_share: float = 0.5,
    ) -> None:
        # Here, not at the top: only a bot with Redis makes a SharedPacer and loads redis.
        from studymate.bot.infra.failover import REDIS_ERRORS

        self.redis = redis
        self._errors = REDIS_ERRORS
        self.prefix = prefix
        self.interval_us = int(1_000_000 / per_second)
        self.chat_interval_us = int(chat_interval * 1_000_000)
        self.local = Pacer(per_second * fallback_share, chat_interval)
        self._turn = redis.register_script(_TURN)
        self._hold = redis.register_script(_HOLD)
        self._down = False

    def _failed(self, exc: BaseException) -> None:
        if not self._down:
            logger.warning("shared pacing unavailable (%s): pacing this process alone", exc)
            self._down = True

    def _chat_key(self, chat_id: int) -> str:
        return f"{self.prefix}:chat:{chat_id}"

    def chat_delay(self, chat_id: int) -> float:
        return self.local.chat_delay(chat_id)

    async def turn(self, chat_id: int, max_wait: float = math.inf) -> float:
        limit = min(max_wait, 3600.0)
        try:
            reserved, wait_us = await self._turn(
                keys=[f"{self.prefix}:global", f"{self.prefix}:paused", self._chat_key(chat_id)],
                args=[self.interval_us, self.chat_interval_us, int(limit * 1_000_000)],
            )
        except self._errors as exc:
            self._failed(exc)
            return await self.local.turn(chat_id, max_wait)
        self._down = False
        wait = int(wait_us) / 1_000_000
        if not int(reserved):
            return wait
        # Remembered here too, so chat_delay() (a hint for progress messages) knows it.
        await self.local.hold_chat(chat_id, wait + self.chat_interval_us / 1_000_000)
        if wait > 0:
            await asyncio.sleep(wait)
        return 0.0

    async def _extend(self, key: str, seconds: float) -> None:
        try:
            await self._hold(keys=[key], args=[int(seconds * 1_000_000)])
        except self._errors as exc:
            self._failed(exc)

    async def hold_chat(self, chat_id: int, seconds: float) -> None:
        await self.local.hold_chat(chat_id, seconds)
        await self._extend(self._chat_key(chat_id), seconds)

    async def pause(self, seconds: float) -> None:
        await self.local.pause(seconds)
        await self._extend(f"{self.prefix}:paused", seconds)
