"""Webhook delivery of the fake Bot API server.

While a webhook is set, pending updates are POSTed as JSON to its URL (with
``X-Telegram-Bot-Api-Secret-Token`` when a secret was given): like Telegram, up to the
webhook's ``max_connections`` (default 40) at the same time, and one at a time, in order, for
each chat. A 2xx answer confirms the update; anything else is recorded in ``getWebhookInfo``
(``last_error_*``) and retried with a short exponential backoff. Like Telegram, a webhook answer
may carry one bot API call (JSON with a ``method`` field, or aiogram's multipart form); it is
executed as if the bot had made it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Final

import aiohttp
from aiohttp import ClientResponse, ClientSession, ClientTimeout, MultipartReader

from studymate.testing.fake_telegram.bot_api import BotApi
from studymate.testing.fake_telegram.models import Signal, now
from studymate.testing.fake_telegram.params import read_multipart
from studymate.testing.fake_telegram.world import FakeWorld, WebhookConfig

__all__ = ["WebhookDeliverer"]

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
FIRST_RETRY_DELAY: Final = 0.05
MAX_RETRY_DELAY: Final = 2.0
DELIVERY_TIMEOUT: Final = 10.0
IDLE_CHECK_INTERVAL: Final = 1.0

logger = logging.getLogger("studymate.testing.fake_telegram.server.webhook")


class WebhookDeliverer:
    """Background task that pushes pending updates to the configured webhook."""

    def __init__(self, world: FakeWorld, bot_api: BotApi) -> None:
        self.world = world
        self.bot_api = bot_api
        self._task: asyncio.Task[None] | None = None
        self._in_flight: dict[int, asyncio.Task[None]] = {}  # update id -> its delivery
        self._done = Signal()
        self._delay = FIRST_RETRY_DELAY
        self._retry_at = 0.0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="fake-telegram-webhook")

    async def stop(self) -> None:
        task, self._task = self._task, None
        for running in [task, *self._in_flight.values()]:
            if running is not None:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
        self._in_flight.clear()

    async def _run(self) -> None:
        async with ClientSession(timeout=ClientTimeout(total=DELIVERY_TIMEOUT)) as session:
            while not self.world.closing:
                hook = self.world.state.webhook
                if hook is not None:
                    self._start_deliveries(session, hook)
                wait = IDLE_CHECK_INTERVAL
                backoff = self._retry_at - time.monotonic()
                if backoff > 0:
                    wait = min(wait, backoff)
                await _first_of(self.world.updates_signal, self._done, wait)

    def _start_deliveries(self, session: ClientSession, hook: WebhookConfig) -> None:
        """Start POSTs for pending updates: the first pending one of each chat not in flight."""
        if time.monotonic() < self._retry_at:
            return
        seen: set[object] = set()
        for update in self.world.take_updates(None, 100):
            if len(self._in_flight) >= hook.max_connections:
                return
            chat = _chat_of(update)
            if chat in seen:
                continue  # an earlier update of this chat goes first
            seen.add(chat)
            if update["update_id"] in self._in_flight:
                continue
            self._in_flight[update["update_id"]] = asyncio.create_task(
                self._deliver_one(session, hook, update)
            )

    async def _deliver_one(
        self, session: ClientSession, hook: WebhookConfig, update: dict[str, Any]
    ) -> None:
        try:
            delivered = await self._deliver(session, hook, update)
        finally:
            self._in_flight.pop(update["update_id"], None)
        if delivered:
            self._delay, self._retry_at = FIRST_RETRY_DELAY, 0.0
        else:
            self._retry_at = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, MAX_RETRY_DELAY)
        self._done.fire()

    async def _deliver(
        self, session: ClientSession, hook: WebhookConfig, update: dict[str, Any]
    ) -> bool:
        headers = {SECRET_HEADER: hook.secret_token} if hook.secret_token else {}
        try:
            async with session.post(hook.url, json=update, headers=headers) as response:
                if not 200 <= response.status < 300:
                    _record_error(
                        hook,
                        f"Wrong response from the webhook: {response.status} {response.reason}",
                    )
                    return False
                self.world.confirm_update(update["update_id"])
                reply = await _reply_params(response)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            _record_error(hook, f"Connection failed: {type(error).__name__}: {error}")
            return False
        if reply is not None:
            await self._execute_reply(hook, reply)
        return True

    async def _execute_reply(self, hook: WebhookConfig, reply: dict[str, Any]) -> None:
        method = str(reply.pop("method"))
        status, payload = await self.bot_api.execute(hook.token, method, reply)
        if status != 200:
            logger.info("webhook reply %s failed: %s", method, payload.get("description"))


async def _reply_params(response: ClientResponse) -> dict[str, Any] | None:
    """The bot API call carried by a webhook answer, if any."""
    content_type = response.content_type
    if content_type.startswith("multipart/"):
        params = await read_multipart(MultipartReader(response.headers, response.content))
    elif content_type == "application/json":
        try:
            params = await response.json()
        except ValueError:
            return None
    else:
        return None
    if isinstance(params, dict) and isinstance(params.get("method"), str):
        return params
    return None


def _chat_of(update: dict[str, Any]) -> object:
    """The chat an update belongs to (its deliveries keep their order); else the update."""
    for kind in ("message", "edited_message", "callback_query", "my_chat_member"):
        event = update.get(kind)
        if isinstance(event, dict):
            message = event.get("message") if kind == "callback_query" else event
            chat = (message or {}).get("chat") or {}
            if "id" in chat:
                return chat["id"]
            sender = event.get("from") or {}
            if "id" in sender:
                return sender["id"]
    return ("update", update.get("update_id"))


async def _first_of(first: Signal, second: Signal, timeout: float) -> None:
    waits = [asyncio.ensure_future(first.wait(timeout)), asyncio.ensure_future(second.wait(timeout))]
    _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for waiting in pending:
        waiting.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _record_error(hook: WebhookConfig, message: str) -> None:
    hook.last_error_date = now()
    hook.last_error_message = message
    logger.debug("webhook delivery to %s failed: %s", hook.url, message)
