"""Edits of one question message reach Telegram in the order of the attempt's progress.

Three parties edit an attempt's message: the answer handler (the next question), the sweeper (the
question after a timeout, the countdown redraw, the end) and the cancel. Telegram keeps whatever
edit arrives last, so a countdown redraw of question 3 that was claimed before the student
answered it, but sent after the handler drew question 4, would put question 3 back on screen.

So every edit of an attempt's message goes through its turn here: one edit at a time per
attempt, and never one of an earlier position than this process already drew (the end counts as
the last position). In one process that is enough: an answer whose next question is not drawn
yet draws it after the redraw in flight. The sweeper also checks redraws against the database
right before sending them and drops those whose attempt moved on or ended; another replica can
still move the attempt while a redraw is on its way, so the sweeper looks again after sending
and draws the current question (see ``QuizSweeper.redraw``). The turn is held only for the edit
itself, never while waiting for the database.
"""

from __future__ import annotations

import asyncio
import sys
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

END: Final = sys.maxsize  # the position of the result (or the cancelled notice)


@dataclass
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    drawn: int = 0  # the furthest position drawn so far


Key = tuple[int, int, int]  # (attempt id, chat id, message id)


def key(attempt_id: int, chat_id: int | None, message_id: int | None) -> Key:
    """A turn belongs to an attempt's message: SQLite may give a discarded attempt's id to the
    next attempt, which is always shown in another message."""
    return attempt_id, chat_id or 0, message_id or 0


class Drawer:
    """Per-attempt turns for editing question messages (one per bot process)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._turns: OrderedDict[Key, _Turn] = OrderedDict()
        self._capacity = capacity
        self.dropped = 0  # edits not sent because a later position was drawn (tests, metrics)

    def _turn(self, attempt_id: Key) -> _Turn:
        turn = self._turns.get(attempt_id)
        if turn is None:
            turn = self._turns[attempt_id] = _Turn()
            if len(self._turns) > self._capacity:  # forget the oldest idle attempts
                for old in list(self._turns)[: len(self._turns) - self._capacity]:
                    if not self._turns[old].lock.locked():
                        del self._turns[old]
        else:
            self._turns.move_to_end(attempt_id)
        return turn

    def drawn(self, attempt_id: Key) -> int:
        turn = self._turns.get(attempt_id)
        return turn.drawn if turn is not None else 0

    async def draw(self, attempt_id: Key, position: int, send: Callable[[], Awaitable[object]]) -> bool:
        """Send an edit showing ``position`` (1-based question number, or ``END``) unless a
        later position was drawn already. Returns whether it was sent."""
        turn = self._turn(attempt_id)
        async with turn.lock:
            if position < turn.drawn:
                self.dropped += 1
                return False
            turn.drawn = position
            await send()
            return True
