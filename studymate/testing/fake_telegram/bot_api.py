"""Bot side of the fake Bot API server: ``/bot<token>/<method>`` dispatch and the methods that
are not about messages (getMe, getUpdates, webhooks, callback answers, files, chat members...).

:meth:`BotApi.execute` is the single entry point, used for HTTP requests and for methods a
webhook handler answers inline. Per call it: checks the token (401), finds the method
case-insensitively (404), logs the call, applies the configured latency, injected faults and
flood limits, runs the handler and answers ``{"ok": true, "result": ...}`` or Telegram's error.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time
from collections.abc import Callable
from typing import Any, Final

from studymate.testing.fake_telegram.messages import BotCall, MessageMethods, resolve_chat
from studymate.testing.fake_telegram.models import TelegramError, bad_request
from studymate.testing.fake_telegram.params import Params
from studymate.testing.fake_telegram.reactions import ReactionMethods
from studymate.testing.fake_telegram.traffic import is_message_producing
from studymate.testing.fake_telegram.world import FakeWorld, WebhookConfig

__all__ = ["TOKEN_RE", "BotApi"]

TOKEN_RE: Final = re.compile(r"^\d+:[A-Za-z0-9_-]{35,}$")
MAX_POLL_TIMEOUT: Final = 50.0
MAX_GETFILE_BYTES: Final = 20 * 1024 * 1024
WEBHOOK_CONFLICT: Final = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT: Final = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
QUERY_INVALID: Final = "query is too old and response timeout expired or query ID is invalid"
_CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SECRET_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND_RE: Final = re.compile(r"^[a-z0-9_]{1,32}$")
_NO_OP_METHODS: Final = (
    "logOut",
    "close",
    "setMyDescription",
    "setMyShortDescription",
    "setMyName",
    "setChatMenuButton",
    "setMyDefaultAdministratorRights",
)

Handler = Callable[[BotCall], Any]


class BotApi:
    """Dispatches bot API calls against one :class:`FakeWorld`."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self._handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "answerCallbackQuery": self.answer_callback_query,
            "getFile": self.get_file,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatMemberCount": self.get_chat_member_count,
            "sendChatAction": self.send_chat_action,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            **dict.fromkeys(_NO_OP_METHODS, _always_true),
            **MessageMethods(world).handlers(),
            **ReactionMethods(world).handlers(),
        }
        self._canonical = {name.lower(): name for name in self._handlers}

    def canonical(self, method: str) -> str | None:
        """Telegram's spelling of ``method`` (names are case-insensitive), or None."""
        return self._canonical.get(method.lower())

    async def execute(
        self, token: str, method: str, raw: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """Run one call; returns (HTTP status, JSON payload)."""
        params = Params(raw)
        name = self.canonical(method) or method
        entry = self.world.traffic.log_call(name, params.decoded(), params.chat_id_value())
        try:
            result = await self._run(token, name, params)
        except TelegramError as error:
            self.world.traffic.finish_call(entry, error.code, error.description)
            return error.code, error.to_payload()
        self.world.traffic.finish_call(entry, 200)
        return 200, {"ok": True, "result": result}

    async def _run(self, token: str, method: str, params: Params) -> Any:
        if not TOKEN_RE.match(token):
            raise TelegramError(401, "Unauthorized")
        handler = self._handlers.get(method)
        if handler is None:
            raise TelegramError(404, "Not Found")
        delay = self.world.traffic.latency_for(method)
        if delay > 0:
            await asyncio.sleep(delay)
        fault = self.world.traffic.take_fault(method)
        if fault is not None:
            raise fault
        chat_id = params.chat_id_value()
        rate_chat = chat_id if isinstance(chat_id, int) else None
        counted = is_message_producing(method)
        if counted:
            self.world.traffic.check_limits(rate_chat)
        result = handler(BotCall(method, token, self.world.bot_user(token), params))
        if inspect.isawaitable(result):
            result = await result
        if counted:
            self.world.traffic.record_send(rate_chat)
        return result

    # -- identity and updates -----------------------------------------------------------------

    def get_me(self, call: BotCall) -> dict[str, Any]:
        return {
            **call.bot.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, call: BotCall) -> list[dict[str, Any]]:
        """Long poll: answer as soon as updates exist, or ``[]`` after ``timeout`` seconds."""
        world = self.world
        if world.state.webhook is not None:
            raise TelegramError(409, WEBHOOK_CONFLICT)
        offset = call.params.get_int("offset")
        limit = min(max(call.params.get_int("limit") or 100, 1), 100)
        timeout = min(max(call.params.get_float("timeout") or 0.0, 0.0), MAX_POLL_TIMEOUT)
        allowed = call.params.get_json("allowed_updates", "allowed updates")
        world.set_allowed_updates(allowed if isinstance(allowed, list) else None)
        generation = world.begin_poll()
        deadline = time.monotonic() + timeout
        while True:
            updates = world.take_updates(offset, limit)
            if updates or world.closing:
                return updates
            if generation != world.poll_generation:
                raise TelegramError(409, POLL_CONFLICT)
            if world.state.webhook is not None:
                raise TelegramError(409, WEBHOOK_CONFLICT)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            await world.updates_signal.wait(remaining)

    def set_webhook(self, call: BotCall) -> bool:
        url = (call.params.get_str("url") or "").strip()
        if not url:
            return self.delete_webhook(call)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = call.params.get_str("secret_token")
        if secret is not None and not _SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = call.params.get_int("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        if call.params.get_bool("drop_pending_updates"):
            self.world.drop_pending_updates()
        allowed = call.params.get_json("allowed_updates", "allowed updates")
        self.world.set_allowed_updates(allowed if isinstance(allowed, list) else None)
        self.world.state.webhook = WebhookConfig(
            url=url, token=call.token, secret_token=secret, max_connections=max_connections
        )
        self.world.updates_signal.fire()
        return True

    def delete_webhook(self, call: BotCall) -> bool:
        if call.params.get_bool("drop_pending_updates"):
            self.world.drop_pending_updates()
        self.world.state.webhook = None
        self.world.updates_signal.fire()
        return True

    def get_webhook_info(self, call: BotCall) -> dict[str, Any]:
        return self.world.webhook_info()

    # -- callback queries, files, chats -------------------------------------------------------

    def answer_callback_query(self, call: BotCall) -> bool:
        query_id = call.params.get_str("callback_query_id") or ""
        record = self.world.find_callback_query(query_id)
        if record is None or record.answer is not None:
            raise bad_request(QUERY_INVALID)
        text = call.params.get_str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answer = {
            "text": text,
            "show_alert": call.params.get_bool("show_alert"),
            "url": call.params.get_str("url"),
            "cache_time": call.params.get_int("cache_time"),
            "t": time.monotonic(),
        }
        return True

    def get_file(self, call: BotCall) -> dict[str, Any]:
        stored = self.world.find_file(call.params.get_str("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > MAX_GETFILE_BYTES:
            raise bad_request("file is too big")
        return stored.to_file_api()

    def get_chat(self, call: BotCall) -> dict[str, Any]:
        return self.world.chat_full_api(resolve_chat(self.world, call, sending=False))

    def get_chat_member(self, call: BotCall) -> dict[str, Any]:
        chat = resolve_chat(self.world, call, sending=False)
        user_id = call.params.get_int("user_id")
        if user_id is None:
            raise bad_request("invalid user_id specified")
        return self.world.member_api(chat, user_id, call.bot.id)

    def get_chat_member_count(self, call: BotCall) -> int:
        chat = resolve_chat(self.world, call, sending=False)
        if chat.type == "private":
            return 2
        present = ("creator", "administrator", "member", "restricted")
        return sum(1 for m in chat.members.values() if m.status in present)

    def send_chat_action(self, call: BotCall) -> bool:
        resolve_chat(self.world, call, sending=True)
        if call.params.get_str("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # -- commands -----------------------------------------------------------------------------

    def set_my_commands(self, call: BotCall) -> bool:
        commands = call.params.get_json("commands", "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be an Array of at most 100 BotCommand")
        for command in commands:
            _check_command(command)
        language = call.params.get_str("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            # The Bot API takes two-letter ISO 639-1 codes only ("kaa" has none).
            raise bad_request("invalid language code specified")
        self.world.state.commands[_commands_key(call)] = commands
        return True

    def get_my_commands(self, call: BotCall) -> list[dict[str, Any]]:
        return self.world.state.commands.get(_commands_key(call), [])

    def delete_my_commands(self, call: BotCall) -> bool:
        self.world.state.commands.pop(_commands_key(call), None)
        return True


def _always_true(call: BotCall) -> bool:
    return True


def _check_command(command: Any) -> None:
    if not isinstance(command, dict):
        raise bad_request("can't parse BotCommand JSON object")
    name = command.get("command")
    description = command.get("description")
    if not isinstance(name, str) or not _COMMAND_RE.match(name):
        raise bad_request("BOT_COMMAND_INVALID")
    if not isinstance(description, str) or not 1 <= len(description) <= 256:
        raise bad_request("command description must be 1-256 characters")


def _commands_key(call: BotCall) -> str:
    scope = call.params.get_json("scope", "scope")
    scope_key = json.dumps(
        scope if isinstance(scope, dict) else {"type": "default"}, sort_keys=True
    )
    return f"{scope_key}:{call.params.get_str('language_code') or ''}"
