"""Long polling through a durable inbox: no update is lost to a crash.

Each getUpdates batch is stored (one insert, ``services.inbox``) before the next getUpdates
confirms it to Telegram, together with the moment it arrived; then it is handled. Once its
handler finished, an update is marked handled (the marks of many updates in one statement,
written as soon as the previous write is done). A start first handles what the previous process
left unhandled, in order, with the original receive times; Telegram delivering again something
already stored changes nothing.

Handling the same update twice must not show twice: updates of one user are handled one after
the other, in the order they arrived, and while the leftovers of a crashed process are handled
again, what their first handling already did at Telegram (the callback query answered, the
message already showing the new text) is no error. Handlers that keep state make a second
handling show the state instead of changing it again (see the quiz handlers).

An update whose turn comes more than ``UPDATE_STALE_SECONDS`` after it arrived (it waited out
a crash) is answered "this came in while the bot was restarting, please try again" instead of
acted on: a student does not find a menu reopening ten minutes after they gave up on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from contextvars import ContextVar
from typing import Final

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    GetUpdates,
    TelegramMethod,
)
from aiogram.types import Update

from studymate.config import Settings
from studymate.db.connection import Db
from studymate.db.models import utcnow
from studymate.i18n import t
from studymate.services import inbox
from studymate.services.enrollment import language_of

logger = logging.getLogger(__name__)

RETRY_MAX: Final = 5.0  # seconds between attempts while Telegram or the database fails
SWEEP_EVERY: Final = 600.0  # seconds between deletions of old handled updates

# True while an update left over by a crashed process is handled again.
replaying: ContextVar[bool] = ContextVar("studymate_replaying", default=False)


class ReplayTolerance(BaseRequestMiddleware):
    """While a leftover update is handled again, what its first handling already did at
    Telegram is no error: the callback query was answered, the message shows that text."""

    async def __call__(self, make_request, bot: Bot, method: TelegramMethod):
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if replaying.get() and _already_done(method, exc.message):
                logger.info("%s of a replayed update was done before", type(method).__name__)
                return True
            raise


def _already_done(method: TelegramMethod, message: str) -> bool:
    message = message.lower()
    if isinstance(method, AnswerCallbackQuery):
        return "query is too old" in message or "query id is invalid" in message
    if isinstance(method, EditMessageText | EditMessageReplyMarkup):
        return "message is not modified" in message
    return False


def _sender(update: Update) -> int | None:
    try:
        user = getattr(update.event, "from_user", None)
    except Exception:  # a kind of update this aiogram does not know
        return None
    return user.id if user is not None else None


def _kind(update: Update) -> str:
    try:
        return update.event_type
    except Exception:
        return "unknown"


def _incoming(update: Update) -> inbox.Incoming:
    return inbox.Incoming(
        update_id=update.update_id,
        user_id=_sender(update),
        kind=_kind(update),
        payload=update.model_dump_json(by_alias=True, exclude_unset=True),
    )


class DurablePolling:
    """getUpdates → store → handle → mark handled, with per-user order and a bounded number of
    handlers at a time."""

    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        db: Db,
        settings: Settings,
        *,
        polling_timeout: int = 25,
        concurrency: int = 50,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.db = db
        self.stale_after = dt.timedelta(seconds=settings.update_stale_seconds)
        self.grace = settings.shutdown_grace_seconds
        # How long a batch may wait for a database that cannot store it (locked, down).
        self.store_patience = settings.db_locked_retry_seconds
        self.default_language = settings.default_language
        self.polling_timeout = polling_timeout
        self.concurrency = concurrency
        self.offset: int | None = None  # every update before it is stored
        self._limit = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._tails: dict[int, asyncio.Task[None]] = {}  # each user's last queued update
        self._handled: list[int] = []
        self._marks_waiting = asyncio.Event()
        self._closing = False
        self._marking = True
        self._last_sweep = 0.0

    # -- running ------------------------------------------------------------------------------
    async def run(self, stopping: asyncio.Event) -> None:
        """Handle the leftovers, poll until ``stopping``, then stop gracefully."""
        dp, bot = self.dp, self.bot
        bot.session.middleware(ReplayTolerance())
        workflow = {**dp.workflow_data, "dispatcher": dp, "bots": [bot]}
        await dp.emit_startup(bot=bot, **workflow)
        marker = asyncio.create_task(self._mark_forever(), name="inbox-marks")
        try:
            await self._replay()
            await self._poll(stopping)
        finally:
            if not await self._drain(self.grace):
                logger.warning("%d updates still running at shutdown", self.running)
            await dp.emit_shutdown(bot=bot, **workflow)
            self._marking = False
            self._marks_waiting.set()
            await marker  # writes the last marks
            await self._confirm()

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def _replay(self) -> None:
        rows, given_up = await self.db.run(inbox.unhandled)
        if given_up:
            logger.error("updates %s were left unhandled by %d starts: given up",
                         given_up, inbox.MAX_REPLAYS)
        if rows:
            logger.info("handling %d updates the previous run left unhandled", len(rows))
        for row in rows:
            try:
                update = Update.model_validate(json.loads(row.payload), context={"bot": self.bot})
            except ValueError:
                logger.exception("stored update %s cannot be read: dropped", row.update_id)
                self._mark(row.update_id)
                continue
            self._dispatch(update, row.received_at, replay=True)

    async def _poll(self, stopping: asyncio.Event) -> None:
        allowed = self.dp.resolve_used_update_types()
        timeout = int((self.bot.session.timeout or 0) + self.polling_timeout)
        stop = asyncio.create_task(stopping.wait())
        delay = 1.0
        try:
            while not stopping.is_set():
                while len(self._tasks) >= self.concurrency:  # let the handlers catch up
                    await asyncio.wait(self._tasks | {stop}, return_when=asyncio.FIRST_COMPLETED)
                    if stopping.is_set():
                        return
                request = asyncio.ensure_future(self.bot(
                    GetUpdates(offset=self.offset, timeout=self.polling_timeout,
                               allowed_updates=allowed),
                    request_timeout=timeout,
                ))
                await asyncio.wait({request, stop}, return_when=asyncio.FIRST_COMPLETED)
                if not request.done():  # stopping: what it brings is not confirmed, so it comes again
                    request.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await request
                    return
                try:
                    updates = request.result()
                except Exception as exc:  # Telegram or the network: keep trying, like aiogram
                    logger.warning("getUpdates failed (%s: %s); retrying in %.0f s",
                                   type(exc).__name__, exc, delay)
                    await _sleep(stopping, delay)
                    delay = min(delay * 2, RETRY_MAX)
                    continue
                delay = 1.0
                if updates and not await self._store(updates, stopping):
                    return
        finally:
            stop.cancel()

    async def _store(self, updates: list[Update], stopping: asyncio.Event) -> bool:
        """Store a batch, then handle the updates not stored before; False if stopped first."""
        received_at = utcnow()
        batch = [_incoming(u) for u in updates]
        delay = 1.0
        waited_since = time.monotonic()
        while True:
            try:
                new = await self.db.run(inbox.store, batch, received_at)
                break
            except Exception:
                if time.monotonic() - waited_since >= self.store_patience:
                    # The database stays out of reach: handle the batch from memory, so each
                    # update is answered (the handlers then give the polite error and alert)
                    # rather than every user waiting in silence. Not durable, as nothing is.
                    logger.error("cannot store %d updates for %.0f s: handling them unstored",
                                 len(batch), self.store_patience, exc_info=True)
                    new = {u.update_id for u in updates}
                    break
                logger.exception("cannot store %d updates; retrying in %.0f s", len(batch), delay)
                if stopping.is_set():
                    return False
                await _sleep(stopping, delay)
                delay = min(delay * 2, RETRY_MAX)
        self.offset = updates[-1].update_id + 1  # the next getUpdates confirms them
        for update in updates:
            if update.update_id in new:
                self._dispatch(update, received_at, replay=False)
            else:
                logger.info("update %s delivered again: already stored", update.update_id)
        return True

    # -- handling -----------------------------------------------------------------------------
    def _dispatch(self, update: Update, received_at: dt.datetime, *, replay: bool) -> None:
        user = _sender(update)
        before = self._tails.get(user) if user is not None else None
        task = asyncio.create_task(
            self._handle(update, received_at, replay, before), name=f"update-{update.update_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if user is not None:
            self._tails[user] = task
            task.add_done_callback(lambda done: self._forget_tail(user, done))

    def _forget_tail(self, user: int, task: asyncio.Task[None]) -> None:
        if self._tails.get(user) is task:
            del self._tails[user]

    async def _handle(
        self, update: Update, received_at: dt.datetime, replay: bool,
        before: asyncio.Task[None] | None,
    ) -> None:
        if before is not None:  # the same user's previous update goes first
            await asyncio.wait({before})
        async with self._limit:
            if self._closing:
                return  # not begun: stays unhandled for the next start
            token = replaying.set(replay)
            try:
                if utcnow() - received_at > self.stale_after:
                    await self._answer_stale(update)
                else:
                    result = await self.dp.feed_update(
                        self.bot, update, received_at=received_at, replayed=replay
                    )
                    if isinstance(result, TelegramMethod):
                        await self.dp.silent_call_request(self.bot, result)
            except Exception:  # the middlewares report handler errors; this is the rest
                logger.exception("update %s failed", update.update_id)
            finally:
                replaying.reset(token)
            self._mark(update.update_id)

    async def _answer_stale(self, update: Update) -> None:
        user = _sender(update)
        logger.info("update %s arrived too long ago: answered, not acted on", update.update_id)
        lang = self.default_language
        if user is not None:
            lang = await self.db.run(language_of, user, self.default_language)
        text = t("update_stale", lang)
        with contextlib.suppress(TelegramAPIError):
            if update.callback_query is not None:
                await self.bot.answer_callback_query(update.callback_query.id, text=text)
            elif update.message is not None and update.message.chat.type == "private":
                await self.bot.send_message(update.message.chat.id, text)

    async def _drain(self, timeout: float) -> bool:
        """Let running handlers finish; those not begun stay for the next start."""
        self._closing = True
        deadline = time.monotonic() + timeout
        while self._tasks:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=left)
        return True

    # -- marks --------------------------------------------------------------------------------
    def _mark(self, update_id: int) -> None:
        self._handled.append(update_id)
        self._marks_waiting.set()

    async def _mark_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._marks_waiting.wait(), SWEEP_EVERY)
            self._marks_waiting.clear()
            flushed = await self._flush()
            if not self._marking:
                return
            if not flushed:
                await asyncio.sleep(1.0)
            if time.monotonic() - self._last_sweep >= SWEEP_EVERY:
                self._last_sweep = time.monotonic()
                try:
                    deleted = await self.db.run(inbox.delete_old)
                except Exception:
                    logger.exception("cannot delete old handled updates")
                else:
                    if deleted:
                        logger.info("deleted %d old handled updates", deleted)

    async def _flush(self) -> bool:
        """Write the marks gathered so far, in one statement; False if it failed (kept)."""
        ids, self._handled = self._handled, []
        if not ids:
            return True
        try:
            await self.db.run(inbox.mark_handled, ids)
        except Exception:
            logger.exception("cannot mark %d updates handled", len(ids))
            self._handled[:0] = ids
            self._marks_waiting.set()
            return False
        return True

    async def _confirm(self) -> None:
        """Tell Telegram everything stored has arrived, so it is not delivered again."""
        if self.offset is None:
            return
        with contextlib.suppress(TelegramAPIError, TimeoutError, OSError):
            await self.bot.get_updates(offset=self.offset, limit=1, timeout=0, request_timeout=5)


async def _sleep(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)

