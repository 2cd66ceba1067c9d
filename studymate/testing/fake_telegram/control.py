"""Control side of the fake Bot API server: what tests and benchmarks call (``/_control/...``).

:class:`ControlApi` implements every operation on plain JSON-like dicts; the in-process
:class:`~studymate.testing.fake_telegram.server.FakeTelegram` helpers and the HTTP routes added by
:func:`add_control_routes` both call it, so the two can never drift apart.

Conventions: bodies are JSON. ``POST``/``DELETE`` answer an object with ``"ok": true``; ``GET``
endpoints that list things answer a JSON array. A malformed call answers
``{"ok": false, "error": "..."}`` with status 400 (404 for an unknown file).

=====================================  ===========================================================
call                                   answer
=====================================  ===========================================================
GET    /_control/health                ``{ok}``
POST   /_control/reset                 ``{ok}`` (update ids keep increasing)
POST   /_control/users                 ``{ok, user: User}``; body ``{id, first_name?, last_name?,
                                       username?, language_code?, is_premium?}``
GET    /_control/users                 ``[User + {blocked}]``
POST   /_control/chats/{id}/members    ``{ok, chat_id, user_id, status}``; body ``{user_id, status,
                                       until_date?, custom_title?, chat_type?, chat_title?}``
POST   /_control/blocked               ``{ok, user_id, blocked}``; body ``{user_id, blocked}``
POST   /_control/send                  ``{ok, update_id, message_id, chat_id, seq}``; body
                                       ``{from_id, text}`` or ``{from_id, <kind>: {content_base64,
                                       file_name?, mime_type?, duration?, width?, height?},
                                       caption?}`` with kind document/photo/video/audio/voice;
                                       optional ``reply_to_message_id``, ``chat_id`` (a known group)
POST   /_control/click                 ``{ok, update_id, callback_query_id, button_found, seq}``;
                                       body ``{from_id, message_id, data, chat_id?}``
GET    /_control/chats/{id}/messages   ``[MessageView]`` oldest first, both directions
GET    /_control/wait                  ``[MessageView]`` (``[]`` on timeout); query ``chat_id,
                                       after_message_id=0, timeout=10, since_seq?``
GET    /_control/callback_answers      ``[{callback_query_id, from_id, chat_id, message_id, data,
                                       answered, text, show_alert, url, cache_time, t}]``
GET    /_control/calls                 ``[{method, params, t, status, chat_id, duration,
                                       description?}]``; query ``method?, since?``
GET    /_control/faults                ``[Fault]``
POST   /_control/faults                ``{ok, fault: Fault, faults: [Fault]}``; Fault is
                                       ``{method, error_code, description, retry_after, times,
                                       probability}``
DELETE /_control/faults                ``{ok, faults: []}``
GET    /_control/limits                ``{per_chat_per_second, global_per_second,
                                       group_per_minute}``
POST   /_control/limits                ``{ok, limits: {...}}`` (replaces; null/omitted = off)
GET    /_control/latency               ``{"*" | method-lowercase: seconds}``
POST   /_control/latency               ``{ok, latency: {...}}``; body ``{method?, seconds}``
GET    /_control/files/{file_id}       the raw bytes (Content-Type = the file's mime type)
=====================================  ===========================================================

``MessageView`` is :meth:`StoredMessage.view`: ``chat_id, message_id, from_id, outgoing (true =
sent by the bot), date, text (the caption for media), caption, raw_text (as sent, with markup),
parse_mode, entities, reply_markup, media_type, document, photo, video, audio, voice (file info
``{file_id, file_unique_id, file_name, mime_type, file_size, file_path, width, height,
duration}`` or null), reply_to_message_id, forwarded, edit_count, edit_date, pinned, deleted,
seq``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from aiohttp import web

from studymate.testing.fake_telegram.markup import bot_command_entities
from studymate.testing.fake_telegram.messages import guess_mime_type, image_size
from studymate.testing.fake_telegram.models import (
    CHAT_MEMBER_STATUSES,
    MEDIA_KINDS,
    ChatState,
    ControlError,
    FakeUser,
    MemberStatus,
    StoredFile,
    StoredMessage,
)
from studymate.testing.fake_telegram.world import FakeWorld

__all__ = ["ControlApi", "add_control_routes"]

DEFAULT_WAIT_TIMEOUT: Final = 10.0
MAX_WAIT_TIMEOUT: Final = 300.0
_GROUP_TYPES: Final = ("group", "supergroup", "channel")
_DEFAULT_MIME: Final = {"voice": "audio/ogg", "video": "video/mp4", "audio": "audio/mpeg"}


class ControlApi:
    """Test-side operations on a :class:`FakeWorld` (users act, tests observe)."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def reset(self) -> dict[str, Any]:
        self.world.reset()
        return {"ok": True}

    # -- users, chats, memberships ------------------------------------------------------------

    def add_user(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update a user; answers ``{"ok": true, "user": User}``."""
        user_id = _require_int(body, "id")
        if user_id <= 0:
            raise ControlError("user ids are positive")
        user = FakeUser(
            id=user_id,
            first_name=_optional_str(body, "first_name") or f"User {user_id}",
            last_name=_optional_str(body, "last_name"),
            username=_optional_str(body, "username"),
            language_code=_optional_str(body, "language_code"),
            is_premium=bool(body.get("is_premium", False)),
        )
        return {"ok": True, "user": self.world.put_user(user).to_api()}

    def users(self) -> list[dict[str, Any]]:
        return [
            {**user.to_api(), "blocked": self.world.is_blocked(user.id)}
            for user in self.world.state.users.values()
        ]

    def set_member(self, chat_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Set ``user_id``'s status in ``chat_id`` (this makes the chat known)."""
        user_id = _require_int(body, "user_id")
        status = body.get("status")
        if status not in CHAT_MEMBER_STATUSES:
            raise ControlError(f"status must be one of {', '.join(CHAT_MEMBER_STATUSES)}")
        chat_type = _optional_str(body, "chat_type")
        if chat_type is not None and (chat_id > 0 or chat_type not in _GROUP_TYPES):
            raise ControlError(f"chat_type must be one of {', '.join(_GROUP_TYPES)} (negative ids)")
        if chat_id < 0:
            self.world.group_chat(chat_id, chat_type, _optional_str(body, "chat_title"))
        membership = MemberStatus(
            status=str(status),
            until_date=_optional_int(body, "until_date") or 0,
            custom_title=_optional_str(body, "custom_title"),
        )
        self.world.set_member(chat_id, user_id, membership)
        return {"ok": True, "chat_id": chat_id, "user_id": user_id, "status": status}

    def set_blocked(self, body: Mapping[str, Any]) -> dict[str, Any]:
        user_id = _require_int(body, "user_id")
        blocked = body.get("blocked", True)
        if not isinstance(blocked, bool):
            raise ControlError("blocked must be a boolean")
        self.world.set_blocked(user_id, blocked)
        return {"ok": True, "user_id": user_id, "blocked": blocked}

    # -- users acting -------------------------------------------------------------------------

    def send(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A user sends a message to the bot; answers ``{ok, update_id, message_id, chat_id, seq}``."""
        from_id = _require_int(body, "from_id")
        self.world.ensure_user(from_id)
        self.world.set_blocked(from_id, False)  # writing to a bot unblocks it
        chat = self._user_chat(from_id, _optional_int(body, "chat_id"))
        message = StoredMessage(chat_id=chat.id, message_id=0, sender_id=from_id, outgoing=False)
        message.reply_to_message_id = self._reply_target(chat, body)
        self._fill_content(message, body)
        self.world.add_message(chat, message)
        update_id = self.world.push_update("message", self.world.message_api(message))
        return {
            "ok": True,
            "update_id": update_id,
            "message_id": message.message_id,
            "chat_id": chat.id,
            "seq": self.world.change_seq,
        }

    def click(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A user presses an inline button under a bot message; answers
        ``{ok, update_id, callback_query_id, button_found, seq}``."""
        from_id = _require_int(body, "from_id")
        message_id = _require_int(body, "message_id")
        data = body.get("data")
        if not isinstance(data, str):
            raise ControlError("data must be a string")
        user = self.world.ensure_user(from_id)
        chat = self._user_chat(from_id, _optional_int(body, "chat_id"))
        message = chat.messages.get(message_id)
        if message is None or message.deleted or not message.outgoing:
            raise ControlError(f"no bot message {message_id} in chat {chat.id}")
        record = self.world.new_callback_query(from_id, chat.id, message_id, data)
        payload = {
            "id": record.id,
            "from": user.to_api(),
            "message": self.world.message_api(message),
            "chat_instance": str(abs(chat.id) * 7919 % 10**18),
            "data": data,
        }
        update_id = self.world.push_update("callback_query", payload)
        return {
            "ok": True,
            "update_id": update_id,
            "callback_query_id": record.id,
            "button_found": _has_button(message, data),
            "seq": self.world.change_seq,
        }

    def _user_chat(self, from_id: int, chat_id: int | None) -> ChatState:
        if chat_id is None or chat_id == from_id:
            return self.world.private_chat(from_id)
        chat = self.world.find_chat(chat_id)
        if chat is None or chat.type == "private":
            raise ControlError(f"unknown group chat {chat_id}; set a membership first")
        return chat

    @staticmethod
    def _reply_target(chat: ChatState, body: Mapping[str, Any]) -> int | None:
        reply_to = _optional_int(body, "reply_to_message_id")
        if reply_to is not None and reply_to not in chat.messages:
            raise ControlError(f"no message {reply_to} in chat {chat.id}")
        return reply_to

    def _fill_content(self, message: StoredMessage, body: Mapping[str, Any]) -> None:
        text = body.get("text")
        kinds = [kind for kind in MEDIA_KINDS if body.get(kind) is not None]
        if isinstance(text, str) and text and not kinds:
            message.text, message.raw_text = text, text
            message.entities = bot_command_entities(text)
            return
        if len(kinds) != 1 or text is not None:
            raise ControlError(f"send needs either text or one of {', '.join(MEDIA_KINDS)}")
        spec = body[kinds[0]]
        if not isinstance(spec, Mapping):
            raise ControlError(f"{kinds[0]} must be an object")
        message.media = self._user_file(kinds[0], spec)
        caption = body.get("caption", spec.get("caption"))
        if isinstance(caption, str) and caption:
            message.caption = message.raw_caption = caption

    def _user_file(self, kind: str, spec: Mapping[str, Any]) -> StoredFile:
        try:
            content = base64.b64decode(str(spec.get("content_base64", "")), validate=True)
        except (binascii.Error, ValueError) as error:
            raise ControlError(f"{kind}.content_base64 is not valid base64") from error
        file_name = _optional_str(spec, "file_name")
        width, height = (image_size(content) if kind == "photo" else None) or (0, 0)
        return self.world.store_file(
            kind,
            content,
            file_name=file_name if kind != "photo" else None,
            mime_type=_optional_str(spec, "mime_type")
            or guess_mime_type(file_name, None)
            or _DEFAULT_MIME.get(kind),
            width=_optional_int(spec, "width") or width,
            height=_optional_int(spec, "height") or height,
            duration=_optional_int(spec, "duration") or 0,
            title=_optional_str(spec, "title"),
            performer=_optional_str(spec, "performer"),
        )

    # -- observing ----------------------------------------------------------------------------

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message of the chat (both directions, deleted ones flagged), oldest first."""
        chat = self.world.state.chats.get(chat_id)
        return [m.view() for m in chat.messages.values()] if chat else []

    async def wait(
        self,
        chat_id: int,
        after_message_id: int = 0,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        since_seq: int | None = None,
    ) -> list[dict[str, Any]]:
        """Bot messages after ``after_message_id`` plus messages the bot changes from now on.

        :param since_seq: count changes after this ``seq`` (as answered by ``send``/``click``)
            instead of after the moment of the call, so an edit that raced ahead is not missed.
        :return: the messages as soon as there are any; ``[]`` after ``timeout`` seconds.
        """
        world = self.world
        since = world.change_seq if since_seq is None else since_seq
        deadline = time.monotonic() + min(max(timeout, 0.0), MAX_WAIT_TIMEOUT)
        while True:
            changed = world.changed_messages(chat_id, after_message_id, since)
            if changed or world.closing:
                return [m.view() for m in changed]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            await world.messages_signal.wait(remaining, chat_id)

    def callback_answers(self, callback_query_id: str | None = None) -> list[dict[str, Any]]:
        """The bot's answers to button presses (only answered queries are listed)."""
        records = self.world.state.callback_queries.values()
        return [
            r.view() for r in records if r.answer is not None and callback_query_id in (None, r.id)
        ]

    def calls(self, method: str | None = None, since: float | None = None) -> list[dict[str, Any]]:
        return self.world.traffic.calls_view(method, since)

    def file(self, file_id: str) -> StoredFile:
        stored = self.world.find_file(file_id)
        if stored is None:
            raise ControlError(f"unknown file {file_id}", status=404)
        return stored

    # -- traffic shaping ----------------------------------------------------------------------

    def add_fault(self, body: Mapping[str, Any]) -> dict[str, Any]:
        fault = self.world.traffic.add_fault(body)
        return {"ok": True, "fault": fault.to_dict(), "faults": self.faults()}

    def faults(self) -> list[dict[str, Any]]:
        return [fault.to_dict() for fault in self.world.traffic.faults]

    def clear_faults(self) -> dict[str, Any]:
        self.world.traffic.faults.clear()
        return {"ok": True, "faults": []}

    def set_limits(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return {"ok": True, "limits": self.world.traffic.set_limits(body).to_dict()}

    def set_latency(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return {"ok": True, "latency": self.world.traffic.set_latency(body)}


def _has_button(message: StoredMessage, data: str) -> bool:
    markup = message.inline_markup or {}
    rows = markup.get("inline_keyboard", [])
    return any(button.get("callback_data") == data for row in rows for button in row)


def _require_int(body: Mapping[str, Any], name: str) -> int:
    value = _optional_int(body, name)
    if value is None:
        raise ControlError(f"{name} is required")
    return value


def _optional_int(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ControlError(f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(f"{name} must be an integer") from None


def _optional_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ControlError(f"{name} must be a string")
    return value


# -- HTTP ---------------------------------------------------------------------------------------

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_control_routes(app: web.Application, control: ControlApi) -> None:
    """Mount the ``/_control`` endpoints of the contract on ``app``."""
    routes = _ControlRoutes(control)
    table: list[tuple[str, str, RouteHandler]] = [
        ("GET", "/_control/health", routes.health),
        ("POST", "/_control/reset", routes.reset),
        ("POST", "/_control/users", routes.add_user),
        ("GET", "/_control/users", routes.users),
        ("POST", "/_control/chats/{chat_id}/members", routes.set_member),
        ("GET", "/_control/chats/{chat_id}/messages", routes.messages),
        ("POST", "/_control/blocked", routes.set_blocked),
        ("POST", "/_control/send", routes.send),
        ("POST", "/_control/click", routes.click),
        ("GET", "/_control/wait", routes.wait),
        ("GET", "/_control/callback_answers", routes.callback_answers),
        ("GET", "/_control/calls", routes.calls),
        ("GET", "/_control/faults", routes.faults),
        ("POST", "/_control/faults", routes.add_fault),
        ("DELETE", "/_control/faults", routes.clear_faults),
        ("GET", "/_control/limits", routes.limits),
        ("POST", "/_control/limits", routes.set_limits),
        ("GET", "/_control/latency", routes.latency),
        ("POST", "/_control/latency", routes.set_latency),
        ("GET", "/_control/files/{file_id}", routes.file),
    ]
    for method, path, handler in table:
        app.router.add_route(method, path, _guarded(handler))


def _guarded(handler: RouteHandler) -> RouteHandler:
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ControlError as error:
            return web.json_response({"ok": False, "error": error.message}, status=error.status)

    return wrapper


class _ControlRoutes:
    """Thin HTTP adapters around :class:`ControlApi`."""

    def __init__(self, control: ControlApi) -> None:
        self.control = control

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def reset(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.reset())

    async def add_user(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.add_user(await _json_body(request)))

    async def users(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.users())

    async def set_member(self, request: web.Request) -> web.Response:
        chat_id = _path_int(request, "chat_id")
        return web.json_response(self.control.set_member(chat_id, await _json_body(request)))

    async def messages(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.messages(_path_int(request, "chat_id")))

    async def set_blocked(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.set_blocked(await _json_body(request)))

    async def send(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.send(await _json_body(request)))

    async def click(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.click(await _json_body(request)))

    async def wait(self, request: web.Request) -> web.Response:
        query = request.query
        chat_id = _require_int(query, "chat_id")
        after = _optional_int(query, "after_message_id") or 0
        timeout = _query_float(query, "timeout", DEFAULT_WAIT_TIMEOUT)
        since_seq = _optional_int(query, "since_seq")
        return web.json_response(await self.control.wait(chat_id, after, timeout, since_seq))

    async def callback_answers(self, request: web.Request) -> web.Response:
        query_id = request.query.get("callback_query_id") or None
        return web.json_response(self.control.callback_answers(query_id))

    async def calls(self, request: web.Request) -> web.Response:
        method = request.query.get("method") or None
        since = _query_float(request.query, "since", None)
        return web.json_response(self.control.calls(method, since))

    async def faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.faults())

    async def add_fault(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.add_fault(await _json_body(request)))

    async def clear_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.clear_faults())

    async def limits(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.world.traffic.limits.to_dict())

    async def set_limits(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.set_limits(await _json_body(request)))

    async def latency(self, request: web.Request) -> web.Response:
        return web.json_response(dict(self.control.world.traffic.latency))

    async def set_latency(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.set_latency(await _json_body(request)))

    async def file(self, request: web.Request) -> web.Response:
        stored = self.control.file(request.match_info["file_id"])
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise ControlError(f"body is not valid JSON: {error}") from error
    if not isinstance(body, dict):
        raise ControlError("body must be a JSON object")
    return body


def _path_int(request: web.Request, name: str) -> int:
    return _require_int(request.match_info, name)


def _query_float(query: Mapping[str, str], name: str, default: float | None) -> Any:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ControlError(f"{name} must be a number") from None
