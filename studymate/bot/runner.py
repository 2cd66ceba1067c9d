"""``studymate bot``: long polling (or a webhook, see bot/webhook.py) with a heartbeat and a
graceful stop.

Polling goes through a durable inbox (bot/durable_polling.py): every update is stored before
Telegram is told it arrived, so even SIGKILL loses none.

On SIGTERM/SIGINT: stop taking updates, let running handlers finish (bounded by
``SHUTDOWN_GRACE_SECONDS``; those not begun are handled at the next start), confirm the stored
updates to Telegram, close storage, database and HTTP session, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import User

from studymate.bot.app import create_bot, create_dispatcher
from studymate.bot.commands import set_commands
from studymate.bot.durable_polling import DurablePolling
from studymate.bot.http_server import create_http_app, start_http, stop_http
from studymate.bot.infra.liveness import Liveness
from studymate.bot.infra.metrics import BotMetrics
from studymate.bot.runtime import Runtime
from studymate.bot.webhook import register_webhook, run_webhook
from studymate.config import Settings
from studymate.ops import bot_lock

logger = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 30.0
HEARTBEAT_WRITE_SECONDS = 1.0  # under load getUpdates returns many times a second
POLLING_TIMEOUT = 25
# Updates handled at once: 50 serve 300 students answering together as fast as 200 did, with
# 7-8 MB less resident at the peak (bench/quiz_load.py).
MAX_CONCURRENT_UPDATES = 50


class Heartbeat(BaseRequestMiddleware):
    """Touches a file after every successful getUpdates: the watchdog's proof of life.

    Not while every update fails (``liveness``): the watchdog then sees the bot stale and
    restarts it, as it would a bot that cannot poll. The file is rewritten at most once a
    second (the watchdog counts its staleness in tens of seconds); ``last_poll`` is exact."""

    def __init__(
        self, path: Path, liveness: Liveness | None = None, *, every: float = HEARTBEAT_WRITE_SECONDS
    ) -> None:
        self.path = path
        self.liveness = liveness
        self.every = every
        self.last_poll = 0.0
        self._written: float | None = None  # time.monotonic() of the last write
        path.parent.mkdir(parents=True, exist_ok=True)

    def beat(self) -> None:
        self.last_poll = time.time()
        if self.liveness is not None and self.liveness.stuck:
            return
        now = time.monotonic()
        if self._written is not None and now - self._written < self.every:
            return
        try:
            self.path.write_text(f"{self.last_poll:.3f}\n")
        except OSError as exc:
            logger.warning("cannot write heartbeat %s: %s", self.path, exc)
            return
        self._written = now

    async def __call__(self, make_request, bot: Bot, method: TelegramMethod):
        response = await make_request(bot, method)
        if isinstance(method, GetUpdates):
            self.beat()
        return response




async def _wait_for_telegram(bot: Bot, stopping: asyncio.Event) -> User | None:
    """getMe until Telegram answers (the VPS may boot before its network); None if stopped.

    A rejected token is a configuration error, not an outage: raise it.
    """
    delay = 1.0
    while not stopping.is_set():
        try:
            return await bot.get_me(request_timeout=10)
        except TelegramUnauthorizedError:
            raise
        except (TelegramAPIError, TimeoutError, OSError) as exc:
            logger.warning("Telegram not reachable (%s); retrying in %.0f s", exc, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)
        delay = min(delay * 2, 30.0)
    return None


async def run_bot(settings: Settings) -> int:
    # Held for the process's life: a restore refuses to swap the database under a running bot.
    guard = await asyncio.to_thread(bot_lock.hold, bot_lock.lock_path(settings))
    try:
        return await _serve(settings)
    finally:
        if guard is not None:
            guard.close()


async def _serve(settings: Settings) -> int:
    bot = create_bot(settings)
    dp: Dispatcher = create_dispatcher(settings)
    runtime: Runtime = dp.workflow_data["runtime"]
    liveness: Liveness = dp.workflow_data["liveness"]
    heartbeat = Heartbeat(settings.heartbeat_file, liveness)
    bot.session.middleware(heartbeat)
    metrics = BotMetrics.attach(dp, bot, heartbeat)
    http_app = create_http_app(settings, runtime, heartbeat, metrics, liveness)  # /metrics, /healthz
    receiver = None
    if settings.telegram_mode == "webhook":  # the webhook path, on the same local port
        receiver = register_webhook(http_app, dp, bot, settings, heartbeat)

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def request_stop(signum: int) -> None:
        if not stopping.is_set():
            logger.info("received %s: stopping", signal.Signals(signum).name)
            stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, request_stop, signum)

    async def beat_forever() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL)
            if time.time() - heartbeat.last_poll < HEARTBEAT_INTERVAL * 2:
                heartbeat.beat()  # the loop is alive and polls recently succeeded

    ticker = asyncio.create_task(beat_forever())
    http = None
    try:
        http = await start_http(
            http_app, settings.http_host, settings.http_port, required=receiver is not None
        )
        me = await _wait_for_telegram(bot, stopping)
        if me is None:
            return 0
        with contextlib.suppress(TelegramAPIError):
            await set_commands(
                bot, default_language=settings.default_language,
                admin_ids=settings.admin_telegram_ids,
            )
        logger.info(
            "bot @%s (id %s) starting (%s), pid %s",
            me.username, me.id, settings.telegram_mode, os.getpid(),
        )
        if receiver is not None:
            await run_webhook(receiver, settings, stopping, check_interval=HEARTBEAT_INTERVAL)
            return 0
        await bot.delete_webhook(drop_pending_updates=False)
        polling = DurablePolling(
            dp, bot, runtime.db, settings,
            polling_timeout=POLLING_TIMEOUT, concurrency=MAX_CONCURRENT_UPDATES,
        )
        await polling.run(stopping)
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await stop_http(http)
        await bot.session.close()
        await asyncio.to_thread(runtime.db.close)
        logger.info("bot stopped")
    return 0
