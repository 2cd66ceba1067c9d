"""A fake Telegram Bot API server for StudyMate's tests, benchmarks and smoke checks.

The real bot (aiogram, its aiohttp session, polling, error mapping) runs unchanged against this
server; only the base URL differs. The contract is in ``docs/testing.md``; in short:

Start it as a process::

    python -m studymate.testing.fake_telegram.server --host 127.0.0.1 --port 8081

It prints ``fake-telegram listening on http://127.0.0.1:8081`` once ready (``--port 0`` picks a
free port and prints it) and runs until SIGTERM/SIGINT, then exits 0. Or start it in-process::

    async with FakeTelegram() as fake:
        bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
        sent = await fake.send_text(42, "/start")
        replies = await fake.wait(42, after_message_id=sent["message_id"])

Bot side, ``/bot<token>/<method>`` (any method name case): tokens must look like
``<digits>:<35+ chars>`` (else 401) and each token is its own bot (id = the digits). Bodies may
be a query string, JSON, a form or multipart (aiogram's encoding). Answers are Telegram's:
``{"ok": true, "result": ...}`` that parses with aiogram's types, or
``{"ok": false, "error_code", "description"[, "parameters": {"retry_after"}]}`` with Telegram's
wording. Implemented: getMe, getUpdates (long poll; offset, limit, timeout, allowed_updates),
setWebhook/deleteWebhook/getWebhookInfo (updates are POSTed to the webhook, getUpdates answers
409 meanwhile), sendMessage, sendDocument/Photo/Video/Audio/Voice (upload or file_id),
editMessageText/Caption/ReplyMarkup, deleteMessage(s), copyMessage, forwardMessage,
pin/unpin/unpinAllChatMessages, answerCallbackQuery, getFile (+ ``GET /file/bot<token>/<path>``),
getChat, getChatMember, getChatMemberCount, sendChatAction, set/get/deleteMyCommands and a few
no-op setters. Unknown methods answer 404 ``Not Found``.

Control side, ``/_control/...`` (JSON; see :mod:`studymate.testing.fake_telegram.control`):
``reset``, ``users``, ``chats/{id}/members``, ``blocked``, ``send``, ``click``,
``chats/{id}/messages``, ``wait``, ``callback_answers``, ``calls``, ``faults``, ``limits``,
``latency``, ``files/{file_id}`` and ``health``. :class:`FakeTelegram` offers the same operations
as Python methods for in-process tests.

Private chat ids equal user ids; group ids are negative. Message ids are per chat and shared by
the user's and the bot's messages. Everything is kept in memory (bounded), in one event loop;
state changes are synchronous, so no locks are needed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import signal
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final, Self

from aiohttp import web

from studymate.testing.fake_telegram.bot_api import TOKEN_RE, BotApi
from studymate.testing.fake_telegram.control import (
    DEFAULT_WAIT_TIMEOUT,
    ControlApi,
    add_control_routes,
)
from studymate.testing.fake_telegram.models import TelegramError
from studymate.testing.fake_telegram.params import read_request_params
from studymate.testing.fake_telegram.webhook import WebhookDeliverer
from studymate.testing.fake_telegram.world import (
    DEFAULT_BOT_FIRST_NAME,
    DEFAULT_BOT_USERNAME,
    FakeWorld,
)

__all__ = ["TEST_TOKEN", "FakeTelegram", "create_app", "main"]

TEST_TOKEN: Final = "123456789:AAFakeTelegramTestTokenForStudyMate0001"
"""A well-formed bot token (bot id 123456789) for tests."""

MAX_REQUEST_BYTES: Final = 64 * 1024 * 1024
SHUTDOWN_TIMEOUT: Final = 2.0

logger = logging.getLogger("studymate.testing.fake_telegram.server")


def create_app(world: FakeWorld) -> web.Application:
    """The aiohttp application serving the bot side and the control side of ``world``."""
    bot_api = BotApi(world)
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    deliverer = WebhookDeliverer(world, bot_api)

    async def handle_bot(request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        try:
            params = await read_request_params(request)
        except TelegramError as error:
            return web.json_response(error.to_payload(), status=error.code)
        status, payload = await bot_api.execute(token, method, params)
        return web.json_response(payload, status=status)

    async def handle_file(request: web.Request) -> web.Response:
        stored = world.find_file_by_path(request.match_info["path"])
        if not TOKEN_RE.match(request.match_info["token"]) or stored is None:
            return web.json_response(TelegramError(404, "Not Found").to_payload(), status=404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    async def on_startup(_: web.Application) -> None:
        deliverer.start()

    async def on_shutdown(_: web.Application) -> None:
        world.close()
        await deliverer.stop()

    app.router.add_route("*", "/bot{token}/{method}", handle_bot)
    app.router.add_get("/file/bot{token}/{path:.+}", handle_file)
    add_control_routes(app, ControlApi(world))
    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    return app


class FakeTelegram:
    """The fake server, in-process: ``async with FakeTelegram() as fake: ...``.

    The helper methods mirror the HTTP control API and answer the same JSON shapes.

    :param host: interface to listen on.
    :param port: TCP port; 0 picks a free one (see :attr:`port` / :attr:`base_url`).
    :param bot_username: username reported by getMe for every token.
    :param bot_first_name: first name reported by getMe.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_first_name: str = DEFAULT_BOT_FIRST_NAME,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.world = FakeWorld(bot_username=bot_username, bot_first_name=bot_first_name)
        self.control = ControlApi(self.world)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening."""
        if self._runner is not None:
            raise RuntimeError("FakeTelegram is already running")
        self.world.closing = False
        runner = web.AppRunner(
            create_app(self.world), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop listening; pending long polls return at once."""
        runner, self._runner = self._runner, None
        if runner is not None:
            self.world.close()
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port``, for ``TelegramAPIServer.from_base``."""
        return f"http://{self.host}:{self.port}"

    # -- control helpers (same semantics and shapes as /_control) -----------------------------

    def reset(self) -> None:
        """Forget everything (update ids keep increasing)."""
        self.control.reset()

    def add_user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """Create or update a user; returns the ``User`` object."""
        body = {
            "id": user_id,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
        }
        user: dict[str, Any] = self.control.add_user(body)["user"]
        return user

    def set_member(
        self,
        chat_id: int,
        user_id: int,
        status: str,
        *,
        until_date: int | None = None,
        custom_title: str | None = None,
    ) -> None:
        """Set a membership answered by getChatMember (makes ``chat_id`` known)."""
        body = {
            "user_id": user_id,
            "status": status,
            "until_date": until_date,
            "custom_title": custom_title,
        }
        self.control.set_member(chat_id, body)

    def set_blocked(self, user_id: int, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: sends to them then answer 403."""
        self.control.set_blocked({"user_id": user_id, "blocked": blocked})

    async def send(self, from_id: int, **body: Any) -> dict[str, Any]:
        """Generic user message, same body as ``POST /_control/send`` (minus ``from_id``)."""
        return self.control.send({"from_id": from_id, **body})

    async def send_text(
        self, from_id: int, text: str, *, reply_to_message_id: int | None = None
    ) -> dict[str, Any]:
        """The user writes ``text``; returns ``{ok, update_id, message_id, chat_id, seq}``."""
        return await self.send(from_id, text=text, reply_to_message_id=reply_to_message_id)

    async def send_document(
        self,
        from_id: int,
        content: bytes,
        file_name: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> dict[str, Any]:
        """The user sends a file as a document."""
        document = {"file_name": file_name, "content_base64": _b64(content), "mime_type": mime_type}
        return await self.send(from_id, document=document, caption=caption)

    async def send_photo(
        self, from_id: int, content: bytes, *, caption: str | None = None
    ) -> dict[str, Any]:
        """The user sends a photo."""
        return await self.send(from_id, photo={"content_base64": _b64(content)}, caption=caption)

    async def click(self, from_id: int, message_id: int, data: str) -> dict[str, Any]:
        """The user presses a button of bot message ``message_id`` in their private chat;
        returns ``{ok, update_id, callback_query_id, button_found, seq}``."""
        return self.control.click({"from_id": from_id, "message_id": message_id, "data": data})

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message of the chat, both directions, in their current state."""
        return self.control.messages(chat_id)

    async def wait(
        self,
        chat_id: int,
        after_message_id: int = 0,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        *,
        since_seq: int | None = None,
    ) -> list[dict[str, Any]]:
        """Wait until the bot sends (after ``after_message_id``) or changes something in the
        chat (after ``since_seq``, default: now); ``[]`` on timeout."""
        return await self.control.wait(chat_id, after_message_id, timeout, since_seq)

    def callback_answers(self, callback_query_id: str | None = None) -> list[dict[str, Any]]:
        """The bot's answers to button presses."""
        return self.control.callback_answers(callback_query_id)

    def calls(self, method: str | None = None, since: float | None = None) -> list[dict[str, Any]]:
        """Logged bot API calls (``t`` is ``time.monotonic()`` at arrival)."""
        return self.control.calls(method, since)

    def add_fault(
        self,
        method: str,
        error_code: int,
        *,
        description: str | None = None,
        retry_after: int | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> dict[str, Any]:
        """Make the next ``times`` calls (or a ``probability`` share) of ``method`` fail."""
        body = {
            "method": method,
            "error_code": error_code,
            "description": description,
            "retry_after": retry_after,
            "times": times,
            "probability": probability,
        }
        fault: dict[str, Any] = self.control.add_fault(body)["fault"]
        return fault

    def clear_faults(self) -> None:
        self.control.clear_faults()

    def set_limits(
        self,
        *,
        per_chat_per_second: int | None = None,
        global_per_second: int | None = None,
        group_per_minute: int | None = None,
    ) -> None:
        """Enforce flood limits (None disables one); replaces the previous limits."""
        body = {
            "per_chat_per_second": per_chat_per_second,
            "global_per_second": global_per_second,
            "group_per_minute": group_per_minute,
        }
        self.control.set_limits(body)

    def set_latency(self, seconds: float, method: str | None = None) -> None:
        """Delay answers of ``method`` (every method when None); 0 removes the delay."""
        self.control.set_latency({"seconds": seconds, "method": method})

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes of a file the bot sent or a user uploaded."""
        return self.control.file(file_id).data


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


# -- command line -------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m studymate.testing.fake_telegram.server",
        description="Fake Telegram Bot API server for tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8081, help="TCP port (0 = any free port)")
    parser.add_argument(
        "--bot-username", default=DEFAULT_BOT_USERNAME, help="username getMe reports"
    )
    parser.add_argument("--log-level", default="WARNING", help="logging level (stderr)")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with FakeTelegram(host=args.host, port=args.port, bot_username=args.bot_username) as fake:
        print(f"fake-telegram listening on {fake.base_url}", flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until SIGTERM/SIGINT; returns the exit status."""
    args = _parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
