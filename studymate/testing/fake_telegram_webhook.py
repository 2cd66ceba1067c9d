"""Webhook delivery of the fake Bot API server.

While a webhook is set, pending updates are POSTed one at a time, in order, as JSON to its URL
(with ``X-Telegram-Bot-Api-Secret-Token`` when a secret was given). A 2xx answer confirms the
update; anything else is recorded in ``getWebhookInfo`` (``last_error_*``) and retried with a
short exponential backoff. Like Telegram, a webhook answer may carry one bot API call (JSON with
a ``method`` field, or aiogram's multipart form); it is executed as if the bot had made it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final

import aiohttp
from aiohttp import ClientResponse, ClientSession, ClientTimeout, MultipartReader

from studymate.testing.fake_telegram_bot_api import BotApi
from studymate.testing.fake_telegram_models import now
from studymate.testing.fake_telegram_params import read_multipart
from studymate.testing.fake_telegram_world import FakeWorld, WebhookConfig

__all__ = ["WebhookDeliverer"]

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
FIRST_RETRY_DELAY: Final = 0.05
MAX_RETRY_DELAY: Final = 2.0
DELIVERY_TIMEOUT: Final = 10.0
IDLE_CHECK_INTERVAL: Final = 1.0

logger = logging.getLogger("studymate.testing.fake_telegram.webhook")


class WebhookDeliverer:
    """Background task that pushes pending updates to the configured webhook."""

    def __init__(self, world: FakeWorld, bot_api: BotApi) -> None:
        self.world = world
        self.bot_api = bot_api
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="fake-telegram-webhook")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        delay = FIRST_RETRY_DELAY
        async with ClientSession(timeout=ClientTimeout(total=DELIVERY_TIMEOUT)) as session:
            while not self.world.closing:
                hook = self.world.state.webhook
                update = self.world.next_webhook_update() if hook else None
                if hook is None or update is None:
                    await self.world.updates_signal.wait(IDLE_CHECK_INTERVAL)
                    continue
                if await self._deliver(session, hook, update):
                    delay = FIRST_RETRY_DELAY
                    continue
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)

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


def _record_error(hook: WebhookConfig, message: str) -> None:
    hook.last_error_date = now()
    hook.last_error_message = message
    logger.debug("webhook delivery to %s failed: %s", hook.url, message)
