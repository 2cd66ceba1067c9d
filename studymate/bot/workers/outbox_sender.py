"""The paced sender of the outbox: ≤ 25 messages/s overall, ≤ 1/s per chat, honours 429.

One loop per bot process claims due rows (``services.outbox``), sends each with the Bot API
method it names, records the outcome, and keeps the mentor's status message current. A 429
pauses every send for ``retry_after``; 403 marks the student blocked; other 4xx fail the row;
network and 5xx errors are retried with backoff. On stop it finishes the message in flight.

With several replicas the pacing is shared through Redis (``bot.pacing.SharedPacer``), so the
25/s hold for the bot as a whole, and a claimed row is sent only while its lease still covers
the send: a row whose turn would come too late goes back to the queue instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import logging
import math
import time
from typing import Final

from aiogram import Bot, methods
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from studymate.bot.infra.flood import handles_flood_itself
from studymate.bot.infra.pacing import Pacer, SharedPacer
from studymate.db.connection import Db
from studymate.db.models import utcnow
from studymate.i18n import t
from studymate.services import messaging, outbox
from studymate.services.enrollment import language_of
from studymate.services.outbox import BatchProgress, Claimed, Outgoing

logger = logging.getLogger(__name__)

ALLOWED_METHODS: Final = {
    "sendMessage": methods.SendMessage,
    "copyMessage": methods.CopyMessage,
    "sendDocument": methods.SendDocument,
    "sendPhoto": methods.SendPhoto,
    "editMessageText": methods.EditMessageText,
}
PROGRESS_EVERY: Final = 5
SEND_TIMEOUT: Final = 10  # seconds; well inside the outbox lease
IDLE_POLL_SECONDS: Final = 1.0
MAX_SLOT_WAIT: Final = 2.0  # a chat busy for longer is retried later, not waited for
# A claimed row must be *started* while its lease covers the whole send: else another replica
# may take it over (and send it too) while this one still waits for its turn.
SEND_BUDGET: Final = outbox.LEASE_SECONDS - SEND_TIMEOUT - 2


async def send(bot: Bot, outgoing: Outgoing) -> None:
    """Send one message as the outbox would, but now (direct replies to one person)."""
    await bot(ALLOWED_METHODS[outgoing.method](chat_id=outgoing.chat_id, **outgoing.params))


class OutboxSender:
    def __init__(
        self,
        db: Db,
        *,
        per_second: float = 25.0,
        default_language: str = "ru",
        batch: int = 25,
        pacer: Pacer | SharedPacer | None = None,
    ) -> None:
        self.db = db
        self.pacer = pacer or Pacer(per_second)
        self.default_language = default_language
        self.batch = batch
        self._wakeup = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._reported: dict[int, float] = {}
        self.sent = 0  # messages delivered by this process (studymate_outbox_sent_total)

    def start(self, bot: Bot) -> None:
        self._task = asyncio.create_task(self._run(bot), name="outbox-sender")

    def wake(self) -> None:
        self._wakeup.set()

    async def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except TimeoutError:
                logger.warning("outbox sender did not stop in %.0f s", timeout)

    async def _run(self, bot: Bot) -> None:
        handles_flood_itself.set(True)  # this task paces and reschedules on 429 by itself
        for batch_id in await self.db.run(outbox.complete_unfinished_batches):
            await self._report(bot, batch_id)
        while not self._stop.is_set():
            if not await self.step(bot):
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), IDLE_POLL_SECONDS)

    async def step(self, bot: Bot) -> int:
        """Claim the due messages and send them; how many were claimed (0: nothing due).
        The loop's one turn; in-process tests call it directly instead of starting the loop."""
        claimed_at = time.monotonic()
        try:
            rows = await self.db.run(outbox.claim_due, self.batch)
        except Exception:
            logger.exception("outbox: cannot claim messages")
            return 0
        for index, row in enumerate(rows):
            if self._stop.is_set():
                await self._release(rows[index:])
                break
            try:
                await self._deliver(bot, row, claimed_at)
            except Exception:  # one bad row must not stop the sender
                logger.exception("outbox: message %s failed unexpectedly", row.id)
                await self.db.run(outbox.mark_failed, row.id, "internal error")
        return len(rows)

    async def _release(self, rows: list[Claimed]) -> None:
        """Rows claimed but not started: back to the queue, attempt not counted."""
        for row in rows:
            await self.db.run(outbox.retry_later, row.id, utcnow(), count_attempt=False)

    async def _deliver(self, bot: Bot, row: Claimed, claimed_at: float) -> None:
        budget = claimed_at + SEND_BUDGET - time.monotonic()
        delay = await self.pacer.turn(row.chat_id, max_wait=min(MAX_SLOT_WAIT, budget)) if budget > 0 else 0.1
        if delay > 0:  # this chat (or the whole bot) is busy: do not hold the queue for it
            at = utcnow() + dt.timedelta(seconds=delay)
            await self.db.run(outbox.retry_later, row.id, at, count_attempt=False)
            return
        method = ALLOWED_METHODS[row.method](chat_id=row.chat_id, **row.params)
        try:
            await bot(method, request_timeout=SEND_TIMEOUT)
        except TelegramRetryAfter as exc:
            logger.warning("outbox: flood wait %s s", exc.retry_after)
            await self.pacer.pause(exc.retry_after)
            at = utcnow() + dt.timedelta(seconds=exc.retry_after)
            await self.db.run(outbox.retry_later, row.id, at, count_attempt=False)
            return
        except TelegramForbiddenError as exc:
            await self.db.run(outbox.mark_failed, row.id, exc.message, blocked=True)
        except TelegramBadRequest as exc:
            await self.db.run(outbox.mark_failed, row.id, exc.message)
        except (TelegramNetworkError, TelegramServerError, TimeoutError, OSError) as exc:
            if row.attempts >= outbox.MAX_ATTEMPTS:
                await self.db.run(outbox.mark_failed, row.id, f"gave up: {exc}")
            else:
                at = utcnow() + dt.timedelta(seconds=2**row.attempts)
                await self.db.run(outbox.retry_later, row.id, at)
            return
        else:
            await self.db.run(outbox.mark_sent, row.id)
            self.sent += 1
        if row.batch_id is not None:
            await self._report(bot, row.batch_id)

    async def _report(self, bot: Bot, batch_id: int) -> None:
        state: BatchProgress = await self.db.run(outbox.progress, batch_id)
        complete = state.done >= state.total
        if state.finished:
            return
        if state.status_message_id is None or state.status_chat_id is None:
            if complete:
                await self.db.run(outbox.finish_batch, batch_id)
            return
        due = state.done % PROGRESS_EVERY == 0 and self.pacer.chat_delay(state.status_chat_id) == 0
        if not (complete or due):
            return
        lang = await self.db.run(language_of, state.status_chat_id, self.default_language)
        if not complete:
            text = t("sending_broadcast", lang, sent=state.sent, total=state.total)
        elif state.failed:
            text = t("broadcast_complete_partial", lang, sent=state.sent, failed=state.failed)
        else:
            text = t("broadcast_complete", lang, sent=state.sent)
        if complete and state.kind == "broadcast":
            if missed := await self.db.run(messaging.missed_names, batch_id):
                names = html.escape(", ".join(missed), quote=False)
                text = f"{text}\n\n{t('broadcast_missed', lang, names=names)}"
        for _ in range(3 if complete else 1):  # progress may be skipped; the final count not
            # Progress only when the mentor's chat is free right now (another replica may
            # just have updated it): never hold the claimed rows up for it.
            if await self.pacer.turn(state.status_chat_id, max_wait=math.inf if complete else 0.0):
                return
            try:
                await bot.edit_message_text(
                    text=text, chat_id=state.status_chat_id, message_id=state.status_message_id
                )
                break
            except TelegramRetryAfter as exc:
                # The mentor's own chat is busy (they are using the bot): try again later.
                await self.pacer.hold_chat(state.status_chat_id, exc.retry_after)
            except (TelegramBadRequest, TelegramForbiddenError) as exc:
                logger.info("outbox: status message not updated: %s", exc.message)
                break
        if complete:
            # Only after the final count was shown: a crash before this reports it at restart.
            await self.db.run(outbox.finish_batch, batch_id)
