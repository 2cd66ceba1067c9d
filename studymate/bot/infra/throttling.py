"""Flood control per user: 0.5 s between messages, 0.3 s between taps.

An event sooner than the interval after the user's last *accepted* event is dropped and adds
a violation; violations 1–3 get a warning, later ones are dropped silently; an accepted event
takes one violation away. State is shared through Redis when present (so replicas agree) and
kept in a bounded in-process table otherwise or while Redis is down.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

IDLE_FORGET_SECONDS: Final = 600
MAX_TRACKED_USERS: Final = 50_000
SPAM_LOG_THRESHOLD: Final = 10

# KEYS: last-accepted marker, violations counter. ARGV: interval ms, idle expiry s.
# Returns 0 when accepted, else the violation count after this drop.
_REDIS_SCRIPT: Final = """
if redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then
  local v = tonumber(redis.call('GET', KEYS[2]) or '0')
  if v > 0 then redis.call('SET', KEYS[2], v - 1, 'EX', ARGV[2]) end
  return 0
end
local n = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return n
"""


@dataclass(slots=True)
class _Entry:
    last_accepted: float
    violations: int = 0


class MemoryThrottle:
    """Bounded: least recently seen users are forgotten first, idle ones after 10 minutes."""

    def __init__(self, *, max_users: int = MAX_TRACKED_USERS) -> None:
        self._entries: OrderedDict[tuple[str, int], _Entry] = OrderedDict()
        self._max_users = max_users

    def hit(self, kind: str, user_id: int, interval: float, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        key = (kind, user_id)
        entry = self._entries.get(key)
        if entry is None or now - entry.last_accepted > IDLE_FORGET_SECONDS:
            self._entries[key] = _Entry(now)
            self._entries.move_to_end(key)
            self._evict()
            return 0
        self._entries.move_to_end(key)
        if now - entry.last_accepted < interval:
            entry.violations += 1
            return entry.violations
        entry.last_accepted = now
        entry.violations = max(0, entry.violations - 1)
        return 0

    def _evict(self) -> None:
        while len(self._entries) > self._max_users:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class Throttle:
    """``await hit(kind, user_id, interval)`` → 0 if accepted, else the violation number."""

    def __init__(self, redis: Redis | None = None, *, prefix: str = "studymate:throttle") -> None:
        self.redis = redis
        self.memory = MemoryThrottle()
        self.prefix = prefix
        self._script = redis.register_script(_REDIS_SCRIPT) if redis is not None else None
        self._errors: tuple[type[BaseException], ...] = ()
        if redis is not None:  # here, not at the top: without Redis, redis is never loaded
            from studymate.bot.infra.failover import REDIS_ERRORS

            self._errors = REDIS_ERRORS

    async def hit(self, kind: str, user_id: int, interval: float) -> int:
        violations = await self._hit(kind, user_id, interval)
        if violations > SPAM_LOG_THRESHOLD:
            logger.warning("user %s is flooding (%s, %d violations)", user_id, kind, violations)
        return violations

    async def _hit(self, kind: str, user_id: int, interval: float) -> int:
        if self._script is not None:
            base = f"{self.prefix}:{kind}:{user_id}"
            try:
                return int(
                    await self._script(
                        keys=[f"{base}:last", f"{base}:violations"],
                        args=[max(1, int(interval * 1000)), IDLE_FORGET_SECONDS],
                    )
                )
            except self._errors:
                pass  # the storage reports the outage; flood control goes on locally
        return self.memory.hit(kind, user_id, interval)
