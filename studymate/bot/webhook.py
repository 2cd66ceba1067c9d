"""Webhook mode (``TELEGRAM_MODE=webhook``): Telegram, through nginx, POSTs the updates.

Several identical replicas may serve the same ``WEBHOOK_URL``; each calls setWebhook with the
same URL at start (harmless) and reads it back with getWebhookInfo. A POST must carry the
``X-Telegram-Bot-Api-Secret-Token`` header (401 without it, 403 when wrong); it is answered at
once and its update handled in the background, so one slow handler never holds Telegram's
delivery queue.

Delivery is at most once per update: the update id is remembered in the database when it is
accepted (with or without Redis, and through a Redis outage), and a repeated delivery (Telegram
retrying after a lost answer, nginx passing a POST on to the next replica) is confirmed and
dropped. An update accepted by a replica that is then killed
with SIGKILL before its handler ran is lost; the student taps again. A graceful stop (SIGTERM)
answers 503 to new POSTs (nginx passes them to another replica, Telegram retries), lets the
running handlers finish and only then stops the sender and the sweeper.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
import time
from typing import Any, Final, Protocol

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods import TelegramMethod
from aiohttp import web
from peewee import PeeweeException

from studymate.config import ConfigError, Settings
from studymate.db.connection import Db
from studymate.db.models import utcnow
from studymate.services import webhook_updates

logger = logging.getLogger(__name__)

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
PRUNE_EVERY: Final = 60.0  # seconds between sweeps of old accepted update ids
MAX_CONCURRENT_UPDATES: Final = 50  # as in polling, see bot/runner.py
BEAT_EVERY: Final = 1.0  # seconds; the heartbeat file is written at most this often
SET_RETRY_MAX: Final = 30.0


class Beating(Protocol):
    def beat(self) -> None: ...


class SeenUpdates:
    """Update ids already accepted by some replica, in the database they all share."""

    def __init__(self, db: Db, bot_id: int) -> None:
        self.db = db
        self.bot_id = bot_id
        self._pruned = 0.0

    async def first_delivery(self, update_id: int) -> bool:
        first = await self.db.run(webhook_updates.accept, self.bot_id, update_id)
        now = time.monotonic()
        if now - self._pruned >= PRUNE_EVERY:
            self._pruned = now
            await self.db.run(webhook_updates.forget_old)
        return first

    async def close(self) -> None:
        pass  # the database belongs to the application


class WebhookReceiver:
    """The aiohttp handler of the webhook path; handles each update in a background task."""

    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        *,
        secret: str,
        heartbeat: Beating,
        seen: SeenUpdates,
        concurrency: int = MAX_CONCURRENT_UPDATES,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self._secret = secret.encode()
        self.heartbeat = heartbeat
        self.seen = seen
        self.accepting = False  # until the dispatcher has started; again False when stopping
        self._limit = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_beat = 0.0

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def handle(self, request: web.Request) -> web.Response:
        received_at = utcnow()  # quiz deadlines are judged against this, not the handling
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return web.Response(status=401, text="secret token missing")
        if not secrets.compare_digest(given.encode(errors="replace"), self._secret):
            logger.warning("webhook POST with a wrong secret token from %s", request.remote)
            return web.Response(status=403, text="wrong secret token")
        if not self.accepting:
            return web.Response(status=503, text="stopping", headers={"Retry-After": "1"})
        try:
            update: dict[str, Any] = await request.json()
            update_id = update["update_id"]
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400, text="not an update")
        # Exactly a 64-bit id: not 1.5, not true, not 1e400 (a float infinity once it is parsed).
        if type(update_id) is not int or not 0 <= update_id < 2**63:
            return web.Response(status=400, text="not an update")
        try:
            first = await self.seen.first_delivery(update_id)
        except PeeweeException as exc:  # Telegram delivers it again later
            logger.warning("update %s not accepted: database unavailable (%s)", update_id, exc)
            return web.Response(status=503, text="database unavailable", headers={"Retry-After": "5"})
        if first:
            task = asyncio.create_task(
                self._handle(update, received_at), name=f"update-{update_id}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            logger.info("update %s delivered again: already accepted, dropped", update_id)
        now = time.monotonic()
        if now - self._last_beat >= BEAT_EVERY:
            self._last_beat = now
            self.heartbeat.beat()
        return web.json_response({})

    async def _handle(self, update: dict[str, Any], received_at: dt.datetime) -> None:
        async with self._limit:
            try:
                result = await self.dp.feed_raw_update(self.bot, update, received_at=received_at)
                if isinstance(result, TelegramMethod):
                    await self.dp.silent_call_request(self.bot, result)
            except Exception:  # the middlewares report handler errors; this is the rest
                logger.exception("update %s failed", update.get("update_id"))

    async def drain(self, timeout: float) -> bool:
        """Refuse new updates and wait for the running ones; False if ``timeout`` passed."""
        self.accepting = False
        deadline = time.monotonic() + timeout
        while self._tasks:  # a POST that was past the check when draining began adds one
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=left)
        return True


def register_webhook(
    app: web.Application, dp: Dispatcher, bot: Bot, settings: Settings, heartbeat: Beating
) -> WebhookReceiver:
    """Add the webhook route (the path of ``WEBHOOK_URL``) to ``app``; call before it starts."""
    settings.require_webhook()
    assert settings.webhook_secret is not None
    receiver = WebhookReceiver(
        dp, bot, secret=settings.webhook_secret.get_secret_value(), heartbeat=heartbeat,
        seen=SeenUpdates(dp.workflow_data["runtime"].db, bot.id),
    )
    app.router.add_post(settings.webhook_path, receiver.handle)
    return receiver


async def set_webhook(bot: Bot, dp: Dispatcher, settings: Settings) -> None:
    """setWebhook, then getWebhookInfo to check Telegram kept it. Every replica does this."""
    assert settings.webhook_secret is not None
    try:
        await bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=dp.resolve_used_update_types(),
            drop_pending_updates=False,
            request_timeout=10,
        )
    except TelegramBadRequest as exc:  # e.g. "bad webhook: An HTTPS URL must be provided"
        raise ConfigError(f"STUDYMATE_WEBHOOK_URL was rejected by Telegram: {exc.message}") from None
    info = await bot.get_webhook_info(request_timeout=10)
    if info.url != settings.webhook_url:
        raise RuntimeError(f"Telegram reports webhook {info.url!r} after setWebhook")
    if info.last_error_message:
        logger.warning("Telegram's last webhook delivery failed: %s", info.last_error_message)
    logger.info("webhook set: %s (%d updates waiting)", info.url, info.pending_update_count)


async def _wait(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)


async def _set_until_done(bot: Bot, dp: Dispatcher, settings: Settings, stopping: asyncio.Event) -> None:
    delay = 1.0
    while not stopping.is_set():
        try:
            await set_webhook(bot, dp, settings)
            return
        except (TelegramAPIError, TimeoutError, OSError, RuntimeError) as exc:
            logger.warning("cannot set the webhook (%s); retrying in %.0f s", exc, delay)
        await _wait(stopping, delay)
        delay = min(delay * 2, SET_RETRY_MAX)


async def _keep(
    bot: Bot, dp: Dispatcher, settings: Settings, heartbeat: Beating,
    stopping: asyncio.Event, interval: float,
) -> None:
    """Every ``interval``: getWebhookInfo; set the webhook again if it changed; beat."""
    while not stopping.is_set():
        await _wait(stopping, interval)
        if stopping.is_set():
            return
        try:
            info = await bot.get_webhook_info(request_timeout=10)
            if info.url != settings.webhook_url:
                logger.warning("webhook is %r, not ours: setting it again", info.url)
                await set_webhook(bot, dp, settings)
        except (TelegramAPIError, TimeoutError, OSError, RuntimeError) as exc:
            logger.warning("webhook check failed: %s", exc)
            continue
        heartbeat.beat()  # Telegram answers and this loop is alive


async def run_webhook(
    receiver: WebhookReceiver,
    settings: Settings,
    stopping: asyncio.Event,
    *,
    check_interval: float = 30.0,
) -> None:
    """Start the dispatcher, take updates until ``stopping``, then stop gracefully."""
    dp, bot = receiver.dp, receiver.bot
    workflow = {**dp.workflow_data, "dispatcher": dp, "bots": [bot]}
    await dp.emit_startup(bot=bot, **workflow)
    try:
        receiver.accepting = True
        await _set_until_done(bot, dp, settings, stopping)
        receiver.heartbeat.beat()
        await _keep(bot, dp, settings, receiver.heartbeat, stopping, check_interval)
    finally:
        if not await receiver.drain(settings.shutdown_grace_seconds):
            logger.warning("%d updates still running at shutdown", receiver.running)
        await dp.emit_shutdown(bot=bot, **workflow)
        await receiver.seen.close()
