"""The in-memory world of the fake Bot API server: users, chats, messages, files, updates.

One :class:`FakeWorld` holds everything the bot and the tests can observe. Its methods are
synchronous, so each one is atomic inside the server's single event loop; coroutines that need
to wait for a change (long polls) wait on :attr:`FakeWorld.updates_signal` or
:attr:`FakeWorld.messages_signal`.

The world is shared by every token: tests drive one bot at a time, so updates created through
the control API go to whichever bot polls. Update ids keep increasing across :meth:`reset` so a
polling bot's ``offset`` never hides new updates.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Final

from studymate.testing.fake_telegram.models import (
    ChatState,
    FakeUser,
    MemberStatus,
    Signal,
    StoredFile,
    StoredMessage,
    chat_member_to_api,
)
from studymate.testing.fake_telegram.traffic import Traffic

__all__ = ["CallbackQueryRecord", "FakeWorld", "WebhookConfig"]

MAX_PENDING_UPDATES: Final = 100_000
MAX_MESSAGES_PER_CHAT: Final = 20_000
MAX_FILE_BYTES: Final = 512 * 1024 * 1024
MAX_CALLBACK_QUERIES: Final = 50_000
DEFAULT_BOT_USERNAME: Final = "studymate_test_bot"
DEFAULT_BOT_FIRST_NAME: Final = "StudyMate Test Bot"
_OPT_IN_UPDATE_TYPES: Final = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)


@dataclass
class WebhookConfig:
    """The webhook set by ``setWebhook``; ``token`` is the bot that set it."""

    url: str
    token: str
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class CallbackQueryRecord:
    """A button press created by the control API and, later, the bot's answer to it."""

    id: str
    from_id: int
    chat_id: int
    message_id: int
    data: str
    answer: dict[str, Any] | None = None

    def view(self) -> dict[str, Any]:
        answer = self.answer or {}
        return {
            "callback_query_id": self.id,
            "from_id": self.from_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answer is not None,
            "text": answer.get("text"),
            "show_alert": answer.get("show_alert", False),
            "url": answer.get("url"),
            "cache_time": answer.get("cache_time"),
            "t": answer.get("t"),
        }


@dataclass
class _Registry:
    """Everything :meth:`FakeWorld.reset` forgets."""

    users: dict[int, FakeUser] = field(default_factory=dict)
    bots: dict[int, FakeUser] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    chats: dict[int, ChatState] = field(default_factory=dict)
    files: OrderedDict[str, StoredFile] = field(default_factory=OrderedDict)
    file_bytes: int = 0
    updates: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=MAX_PENDING_UPDATES)
    )
    allowed_updates: list[str] | None = None
    callback_queries: OrderedDict[str, CallbackQueryRecord] = field(default_factory=OrderedDict)
    webhook: WebhookConfig | None = None
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class FakeWorld:
    """All state of one fake Bot API server."""

    def __init__(
        self,
        *,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_first_name: str = DEFAULT_BOT_FIRST_NAME,
    ) -> None:
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.updates_signal = Signal()
        self.messages_signal = Signal()
        self.traffic = Traffic()
        self.closing = False
        self.poll_generation = 0
        self.change_seq = 0
        self._last_update_id = 0
        self._serial = 0
        self._pin_seq = 0
        self.state = _Registry()

    def reset(self) -> None:
        """Forget users, chats, messages, files, updates, webhook and traffic settings."""
        self.state = _Registry()
        self.traffic.reset()
        self.updates_signal.fire()
        self.messages_signal.fire()

    def close(self) -> None:
        """Make every long poll return now (server shutdown)."""
        self.closing = True
        self.updates_signal.fire()
        self.messages_signal.fire()

    def next_serial(self) -> int:
        self._serial += 1
        return self._serial

    # -- users and bots -----------------------------------------------------------------------

    def bot_user(self, token: str) -> FakeUser:
        """The bot identity of ``token`` (id = the digits before ``:``)."""
        bot_id = int(token.split(":", 1)[0])
        bot = self.state.bots.get(bot_id)
        if bot is None:
            bot = FakeUser(
                id=bot_id,
                first_name=self.bot_first_name,
                username=self.bot_username,
                is_bot=True,
            )
            self.state.bots[bot_id] = bot
        return bot

    def put_user(self, user: FakeUser) -> FakeUser:
        self.state.users[user.id] = user
        return user

    def ensure_user(self, user_id: int) -> FakeUser:
        """The user ``user_id``, created with a synthetic name when unknown."""
        user = self.state.users.get(user_id)
        return user if user is not None else self.put_user(FakeUser(user_id, f"User {user_id}"))

    def user_api(self, user_id: int) -> dict[str, Any]:
        """A ``User`` object for any id (synthesized when unknown)."""
        known = self.state.users.get(user_id) or self.state.bots.get(user_id)
        return (known or FakeUser(user_id, f"User {user_id}")).to_api()

    def is_blocked(self, user_id: int) -> bool:
        return user_id in self.state.blocked

    def set_blocked(self, user_id: int, blocked: bool) -> None:
        if blocked:
            self.state.blocked.add(user_id)
        else:
            self.state.blocked.discard(user_id)

    # -- chats --------------------------------------------------------------------------------

    def find_chat(self, chat_id: int) -> ChatState | None:
        """A known chat; private chats are known once their user is."""
        chat = self.state.chats.get(chat_id)
        if chat is None and chat_id > 0 and chat_id in self.state.users:
            chat = self.private_chat(chat_id)
        return chat

    def private_chat(self, user_id: int) -> ChatState:
        chat = self.state.chats.get(user_id)
        if chat is None:
            chat = ChatState(id=user_id, type="private")
            self.state.chats[user_id] = chat
        return chat

    def group_chat(
        self, chat_id: int, chat_type: str | None = None, title: str | None = None
    ) -> ChatState:
        chat = self.state.chats.get(chat_id)
        if chat is None:
            default_type = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
            chat = ChatState(id=chat_id, type=chat_type or default_type, title=title)
            self.state.chats[chat_id] = chat
        chat.type = chat_type or chat.type
        chat.title = title or chat.title or f"Chat {chat_id}"
        return chat

    def set_member(self, chat_id: int, user_id: int, membership: MemberStatus) -> None:
        chat = self.private_chat(chat_id) if chat_id > 0 else self.group_chat(chat_id)
        chat.members[user_id] = membership

    def chat_api(self, chat: ChatState) -> dict[str, Any]:
        """The ``Chat`` object embedded in messages."""
        data: dict[str, Any] = {"id": chat.id, "type": chat.type}
        if chat.type != "private":
            data["title"] = chat.title or f"Chat {chat.id}"
            return data
        user = self.user_api(chat.id)
        data.update({k: user[k] for k in ("first_name", "last_name", "username") if k in user})
        return data

    def chat_full_api(self, chat: ChatState) -> dict[str, Any]:
        """The ``ChatFullInfo`` object answered by getChat."""
        data = self.chat_api(chat)
        data.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        pinned = self.latest_pinned(chat)
        if pinned is not None:
            data["pinned_message"] = self.message_api(pinned)
        return data

    def member_api(self, chat: ChatState, user_id: int, bot_id: int) -> dict[str, Any]:
        """The ``ChatMember`` of ``user_id`` (``left`` when no membership was set)."""
        membership = chat.members.get(user_id)
        if membership is None:
            in_private = chat.type == "private" and user_id in (chat.id, bot_id)
            membership = MemberStatus("member" if in_private else "left")
        return chat_member_to_api(self.user_api(user_id), membership)

    # -- messages -----------------------------------------------------------------------------

    def add_message(self, chat: ChatState, message: StoredMessage) -> StoredMessage:
        """Store ``message`` in ``chat`` under the chat's next message id."""
        message.chat_id = chat.id
        message.message_id = chat.next_message_id()
        chat.messages[message.message_id] = message
        if len(chat.messages) > MAX_MESSAGES_PER_CHAT:
            del chat.messages[next(iter(chat.messages))]
        return message

    def touch(self, message: StoredMessage) -> None:
        """Record that the bot created or changed ``message`` (wakes control ``wait``)."""
        self.change_seq += 1
        message.change_seq = self.change_seq
        self.messages_signal.fire(message.chat_id)

    def pin(self, message: StoredMessage, pinned: bool) -> None:
        if pinned:
            self._pin_seq += 1
            message.pin_seq = self._pin_seq
        message.pinned = pinned
        self.touch(message)

    def latest_pinned(self, chat: ChatState) -> StoredMessage | None:
        pinned = [m for m in chat.messages.values() if m.pinned and not m.deleted]
        return max(pinned, key=lambda m: m.pin_seq, default=None)

    def changed_messages(
        self, chat_id: int, after_message_id: int, since_seq: int
    ) -> list[StoredMessage]:
        """Bot messages newer than ``after_message_id`` plus messages changed after ``since_seq``."""
        chat = self.state.chats.get(chat_id)
        if chat is None:
            return []
        return [
            m
            for m in chat.messages.values()
            if (m.outgoing and m.message_id > after_message_id) or m.change_seq > since_seq
        ]

    def message_api(self, message: StoredMessage, *, with_reply: bool = True) -> dict[str, Any]:
        """The Bot API ``Message`` object for ``message``'s current state."""
        chat = self.state.chats[message.chat_id]
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self.user_api(message.sender_id),
            "chat": self.chat_api(chat),
            "date": message.date,
        }
        if message.forward_origin is not None:
            data["forward_origin"] = message.forward_origin
        reply = chat.messages.get(message.reply_to_message_id or 0)
        if with_reply and reply is not None and not reply.deleted:
            data["reply_to_message"] = self.message_api(reply, with_reply=False)
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        data.update(_content_api(message))
        return data

    # -- files --------------------------------------------------------------------------------

    def store_file(self, kind: str, content: bytes, **meta: Any) -> StoredFile:
        """Keep an uploaded file (evicting the oldest ones past the memory budget)."""
        stored = StoredFile(kind=kind, data=content, serial=self.next_serial(), **meta)
        self.state.files[stored.file_id] = stored
        self.state.file_bytes += stored.size
        while self.state.file_bytes > MAX_FILE_BYTES and len(self.state.files) > 1:
            _, oldest = self.state.files.popitem(last=False)
            self.state.file_bytes -= oldest.size
        return stored

    def find_file(self, file_id: str) -> StoredFile | None:
        return self.state.files.get(file_id)

    def find_file_by_path(self, file_path: str) -> StoredFile | None:
        return next((f for f in self.state.files.values() if f.file_path == file_path), None)

    # -- updates ------------------------------------------------------------------------------

    def push_update(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue an update of ``kind`` (e.g. ``message``) and wake pollers; returns its id."""
        self._last_update_id += 1
        self.state.updates.append({"update_id": self._last_update_id, kind: payload})
        self.updates_signal.fire()
        return self._last_update_id

    def set_allowed_updates(self, allowed: list[str] | None) -> None:
        """Remember ``allowed_updates`` (None keeps the previous setting, as Telegram does)."""
        if allowed is not None:
            self.state.allowed_updates = list(allowed)

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        kind = next(k for k in update if k != "update_id")
        allowed = self.state.allowed_updates
        if not allowed:
            return kind not in _OPT_IN_UPDATE_TYPES
        return kind in allowed

    def take_updates(self, offset: int | None, limit: int) -> list[dict[str, Any]]:
        """getUpdates: confirm updates before ``offset``, return up to ``limit`` allowed ones."""
        queue = self.state.updates
        if offset is not None and offset < 0:
            for _ in range(max(0, len(queue) + offset)):
                queue.popleft()
        elif offset is not None:
            while queue and queue[0]["update_id"] < offset:
                queue.popleft()
        kept = [u for u in queue if self._is_allowed(u)]
        if len(kept) != len(queue):
            self.state.updates = deque(kept, maxlen=MAX_PENDING_UPDATES)
        return kept[:limit]

    def next_webhook_update(self) -> dict[str, Any] | None:
        updates = self.take_updates(None, 1)
        return updates[0] if updates else None

    def confirm_update(self, update_id: int) -> None:
        """Drop a delivered update (webhook mode)."""
        queue = self.state.updates
        self.state.updates = deque(
            (u for u in queue if u["update_id"] != update_id), maxlen=MAX_PENDING_UPDATES
        )

    def drop_pending_updates(self) -> None:
        self.state.updates.clear()

    def begin_poll(self) -> int:
        """A new getUpdates call terminates the previous one (409), as on Telegram."""
        self.poll_generation += 1
        self.updates_signal.fire()
        return self.poll_generation

    # -- callback queries ---------------------------------------------------------------------

    def new_callback_query(
        self, from_id: int, chat_id: int, message_id: int, data: str
    ) -> CallbackQueryRecord:
        record = CallbackQueryRecord(
            id=str(secrets.randbelow(9 * 10**18) + 10**18),
            from_id=from_id,
            chat_id=chat_id,
            message_id=message_id,
            data=data,
        )
        queries = self.state.callback_queries
        queries[record.id] = record
        if len(queries) > MAX_CALLBACK_QUERIES:
            queries.popitem(last=False)
        return record

    def find_callback_query(self, query_id: str) -> CallbackQueryRecord | None:
        return self.state.callback_queries.get(query_id)

    def webhook_info(self) -> dict[str, Any]:
        """The ``WebhookInfo`` object."""
        hook = self.state.webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates),
        }
        if hook is None:
            return info
        info["max_connections"] = hook.max_connections
        info["ip_address"] = "127.0.0.1"
        if self.state.allowed_updates:
            info["allowed_updates"] = list(self.state.allowed_updates)
        if hook.last_error_date is not None:
            info.update(
                last_error_date=hook.last_error_date, last_error_message=hook.last_error_message
            )
        return info


def _content_api(message: StoredMessage) -> dict[str, Any]:
    """Text, media, caption and markup fields of a ``Message``."""
    data: dict[str, Any] = {}
    if message.text is not None:
        data["text"] = message.text
        if message.entities:
            data["entities"] = message.entities
    media = message.media
    if media is not None:
        data[media.kind] = [media.to_api()] if media.kind == "photo" else media.to_api()
    if message.caption is not None:
        data["caption"] = message.caption
        if message.caption_entities:
            data["caption_entities"] = message.caption_entities
    if message.inline_markup is not None:
        data["reply_markup"] = message.inline_markup
    return data
