"""Data records of the fake Bot API server and their Bot API (JSON) renderings.

Everything here is plain in-memory data. The server runs in one asyncio event loop and every
mutation is synchronous (no ``await`` between reading and writing state), so records need no
locks; :class:`Signal` lets coroutines wait for "something changed".
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "CHAT_MEMBER_STATUSES",
    "MEDIA_KINDS",
    "ChatState",
    "ControlError",
    "FakeUser",
    "MemberStatus",
    "Signal",
    "StoredFile",
    "StoredMessage",
    "TelegramError",
    "bad_request",
    "chat_member_to_api",
    "now",
]

MEDIA_KINDS: Final = ("document", "photo", "video", "audio", "voice")
CHAT_MEMBER_STATUSES: Final = ("creator", "administrator", "member", "restricted", "left", "kicked")

_FILE_ID_PREFIX: Final[dict[str, str]] = {
    "document": "BQACAgIAAxkBAAI",
    "photo": "AgACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI",
    "audio": "CQACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
}
_FILE_DIR: Final[dict[str, str]] = {
    "document": "documents",
    "photo": "photos",
    "video": "videos",
    "audio": "music",
    "voice": "voice",
}
_DEFAULT_EXT: Final[dict[str, str]] = {
    "document": "bin",
    "photo": "jpg",
    "video": "mp4",
    "audio": "mp3",
    "voice": "oga",
}


def now() -> int:
    """Unix time in whole seconds, as Telegram's ``date`` fields."""
    return int(time.time())


class TelegramError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code", "description"}``."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            payload["parameters"] = {"retry_after": self.retry_after}
        return payload


def bad_request(reason: str) -> TelegramError:
    """400 ``Bad Request: <reason>``."""
    return TelegramError(400, f"Bad Request: {reason}")


class ControlError(Exception):
    """A malformed control-API call; answered as ``{"ok": false, "error": ...}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Signal:
    """A "something changed" notification for long-polling coroutines.

    A change may name what changed (a chat): it then wakes only the coroutines waiting on that
    key, and those waiting on anything. Hundreds of simulated students each wait on their own
    chat; waking all of them for every edit made the fake server, not the bot, the busiest
    program of a load test."""

    def __init__(self) -> None:
        self._events: dict[Hashable, asyncio.Event] = {}

    def fire(self, key: Hashable = None) -> None:
        """Wake the current waiters on ``key`` and on anything; with no key, every waiter."""
        if key is None:
            events, self._events = list(self._events.values()), {}
        else:
            events = [e for e in (self._events.pop(key, None), self._events.pop(None, None)) if e]
        for event in events:
            event.set()

    async def wait(self, timeout: float, key: Hashable = None) -> bool:
        """Wait for the next :meth:`fire` of ``key`` (any, when None) up to ``timeout`` seconds;
        False on timeout."""
        event = self._events.get(key)
        if event is None:
            event = self._events[key] = asyncio.Event()
        try:
            async with asyncio.timeout(max(timeout, 0.0)):
                await event.wait()
        except TimeoutError:
            return False
        return True


@dataclass
class FakeUser:
    """A Telegram user (or the bot itself)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    is_premium: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for name in ("last_name", "username", "language_code"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.is_premium:
            data["is_premium"] = True
        return data


@dataclass
class StoredFile:
    """A file known to the server: uploaded by the bot or sent by a user."""

    kind: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    duration: int = 0
    title: str | None = None
    performer: str | None = None
    serial: int = 0
    file_id: str = ""
    file_unique_id: str = ""
    file_path: str = ""

    def __post_init__(self) -> None:
        token = secrets.token_urlsafe(24)
        self.file_id = self.file_id or f"{_FILE_ID_PREFIX[self.kind]}{self.serial}_{token}"
        self.file_unique_id = self.file_unique_id or f"AQAD{secrets.token_urlsafe(9)}"
        ext = _extension(self.file_name) or _DEFAULT_EXT[self.kind]
        self.file_path = self.file_path or f"{_FILE_DIR[self.kind]}/file_{self.serial}.{ext}"

    @property
    def size(self) -> int:
        return len(self.data)

    def to_api(self) -> dict[str, Any]:
        """The Bot API object (a ``PhotoSize`` for photos)."""
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.kind in ("photo", "video"):
            data.update(width=self.width, height=self.height)
        if self.kind in ("video", "audio", "voice"):
            data["duration"] = self.duration
        if self.kind in ("document", "video", "audio") and self.file_name:
            data["file_name"] = self.file_name
        if self.kind != "photo" and self.mime_type:
            data["mime_type"] = self.mime_type
        if self.kind == "audio":
            data.update(
                {k: v for k, v in (("title", self.title), ("performer", self.performer)) if v}
            )
        return data

    def info(self) -> dict[str, Any]:
        """The control-API view: every attribute except the bytes."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": self.size,
            "file_path": self.file_path,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
        }

    def to_file_api(self) -> dict[str, Any]:
        """The ``File`` object answered by getFile."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


def _extension(file_name: str | None) -> str | None:
    if not file_name or "." not in file_name:
        return None
    ext = file_name.rsplit(".", 1)[1]
    return ext if ext.isalnum() and len(ext) <= 8 else None


@dataclass
class StoredMessage:
    """One message in a chat, sent by a user (incoming) or by the bot (outgoing)."""

    chat_id: int
    message_id: int
    sender_id: int
    outgoing: bool
    date: int = field(default_factory=now)
    text: str | None = None
    raw_text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    raw_caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    media: StoredFile | None = None
    reply_to_message_id: int | None = None
    forward_origin: dict[str, Any] | None = None
    edit_count: int = 0
    edit_date: int | None = None
    pinned: bool = False
    pin_seq: int = 0
    deleted: bool = False
    change_seq: int = 0
    reactions: list[str] = field(default_factory=list)  # the bot's (setMessageReaction)

    @property
    def inline_markup(self) -> dict[str, Any] | None:
        """The markup Telegram shows on the message (inline keyboards only)."""
        markup = self.reply_markup
        return markup if markup and "inline_keyboard" in markup else None

    def content_key(self) -> tuple[Any, ...]:
        """What "message is not modified" compares."""
        return (self.text, self.entities, self.caption, self.caption_entities, self.inline_markup)

    def view(self) -> dict[str, Any]:
        """The control-API view of the message's current state."""
        media_kind = self.media.kind if self.media else None
        data: dict[str, Any] = {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "from_id": self.sender_id,
            "outgoing": self.outgoing,
            "date": self.date,
            "text": self.text if self.text is not None else self.caption,
            "caption": self.caption,
            "raw_text": self.raw_text if self.raw_text is not None else self.raw_caption,
            "parse_mode": self.parse_mode,
            "entities": self.entities or self.caption_entities,
            "reply_markup": self.reply_markup,
            "media_type": media_kind,
        }
        for kind in MEDIA_KINDS:
            data[kind] = self.media.info() if self.media and kind == media_kind else None
        data.update(
            reply_to_message_id=self.reply_to_message_id,
            forwarded=self.forward_origin is not None,
            edit_count=self.edit_count,
            edit_date=self.edit_date,
            pinned=self.pinned,
            deleted=self.deleted,
            reactions=list(self.reactions),
            seq=self.change_seq,
        )
        return data


@dataclass
class MemberStatus:
    """A user's status in a group/channel as set through the control API."""

    status: str
    until_date: int = 0
    custom_title: str | None = None


@dataclass
class ChatState:
    """A chat: private (id = user id) or group/supergroup/channel (negative id)."""

    id: int
    type: str
    title: str | None = None
    members: dict[int, MemberStatus] = field(default_factory=dict)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    last_message_id: int = 0

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id


_ADMIN_RIGHTS: Final = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
    "can_post_messages",
    "can_edit_messages",
    "can_pin_messages",
    "can_manage_topics",
)
_RESTRICTED_RIGHTS: Final = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
    "can_edit_tag",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)


def chat_member_to_api(user: dict[str, Any], membership: MemberStatus) -> dict[str, Any]:
    """A ``ChatMember`` object of the right subtype for ``membership.status``."""
    status = membership.status
    data: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        data["is_anonymous"] = False
    elif status == "administrator":
        data.update(can_be_edited=False, is_anonymous=False)
        data.update(dict.fromkeys(_ADMIN_RIGHTS, True))
    elif status == "restricted":
        data.update(is_member=True, until_date=membership.until_date)
        data.update(dict.fromkeys(_RESTRICTED_RIGHTS, False))
    elif status == "kicked":
        data["until_date"] = membership.until_date
    if membership.custom_title and status in ("creator", "administrator"):
        data["custom_title"] = membership.custom_title
    return data
