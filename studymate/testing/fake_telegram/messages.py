"""Message methods of the fake Bot API server: send*, edit*, delete, pin, copy and forward.

Validation follows Telegram: text is parsed for its ``parse_mode`` before its length is checked
(4096 characters for texts, 1024 for captions), inline keyboards are checked button by button,
and the error descriptions are Telegram's.
"""

from __future__ import annotations

import dataclasses
import mimetypes
import struct
from dataclasses import dataclass
from typing import Any, Final

from studymate.testing.fake_telegram.markup import MarkupError, ParsedText, parse_text
from studymate.testing.fake_telegram.models import (
    ChatState,
    FakeUser,
    StoredFile,
    StoredMessage,
    TelegramError,
    bad_request,
    now,
)
from studymate.testing.fake_telegram.params import Params, Upload
from studymate.testing.fake_telegram.world import FakeWorld

__all__ = ["BotCall", "MessageMethods", "resolve_chat"]

MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_UPLOAD_BYTES: Final = 50 * 1024 * 1024
NOT_MODIFIED: Final = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_BUTTON_ACTIONS: Final = frozenset(
    {
        "callback_data",
        "url",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_IMAGE_MAGIC: Final = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"GIF8", b"RIFF", b"BM")


@dataclass
class BotCall:
    """One bot API call: the method, the caller's bot identity and the parameters."""

    method: str
    token: str
    bot: FakeUser
    params: Params


def resolve_chat(world: FakeWorld, call: BotCall, *, sending: bool) -> ChatState:
    """The chat named by ``chat_id``.

    :param sending: the call posts into the chat, so a user who blocked the bot (or a group
        that removed it) answers 403.
    :raises TelegramError: 400 ``chat not found`` for unknown chats.
    """
    raw = call.params.chat_id_value()
    if raw is None:
        raise bad_request("chat_id is empty")
    chat = world.find_chat(raw) if isinstance(raw, int) else _chat_by_username(world, raw)
    if chat is None:
        raise bad_request("chat not found")
    if sending:
        _check_can_post(world, chat, call.bot.id)
    return chat


def _chat_by_username(world: FakeWorld, name: str) -> ChatState | None:
    username = name.removeprefix("@").lower()
    for user in world.state.users.values():
        if (user.username or "").lower() == username:
            return world.private_chat(user.id)
    return None


def _check_can_post(world: FakeWorld, chat: ChatState, bot_id: int) -> None:
    if chat.type == "private":
        if world.is_blocked(chat.id):
            raise TelegramError(403, "Forbidden: bot was blocked by the user")
        return
    membership = chat.members.get(bot_id)
    if membership is not None and membership.status == "kicked":
        raise TelegramError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
    if membership is not None and membership.status == "left":
        raise TelegramError(403, f"Forbidden: bot is not a member of the {chat.type} chat")


class MessageMethods:
    """Handlers of the message-producing and message-changing methods."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def handlers(self) -> dict[str, Any]:
        handlers: dict[str, Any] = {
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageMedia": self.edit_message_media,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "pinChatMessage": self.pin_chat_message,
            "unpinChatMessage": self.unpin_chat_message,
            "unpinAllChatMessages": self.unpin_all_chat_messages,
            "copyMessage": self.copy_message,
            "forwardMessage": self.forward_message,
        }
        for kind in ("document", "photo", "video", "audio", "voice"):
            handlers[f"send{kind.capitalize()}"] = self._media_sender(kind)
        return handlers

    # -- sending ------------------------------------------------------------------------------

    def send_message(self, call: BotCall) -> dict[str, Any]:
        chat = resolve_chat(self.world, call, sending=True)
        reply_to = self._reply_to(call.params, chat)
        markup = parse_reply_markup(call.params)
        parsed = self._text(call.params)
        message = StoredMessage(
            chat_id=chat.id,
            message_id=0,
            sender_id=call.bot.id,
            outgoing=True,
            text=parsed.text,
            raw_text=call.params.get_str("text"),
            entities=parsed.entities,
            parse_mode=call.params.get_str("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self._post(chat, message)

    def _media_sender(self, kind: str) -> Any:
        def send_media(call: BotCall) -> dict[str, Any]:
            chat = resolve_chat(self.world, call, sending=True)
            reply_to = self._reply_to(call.params, chat)
            markup = parse_reply_markup(call.params)
            media = self._input_file(call.params, kind)
            message = StoredMessage(
                chat_id=chat.id,
                message_id=0,
                sender_id=call.bot.id,
                outgoing=True,
                media=media,
                parse_mode=call.params.get_str("parse_mode"),
                reply_markup=markup,
                reply_to_message_id=reply_to,
            )
            self._set_caption(message, call.params)
            return self._post(chat, message)

        return send_media

    def _post(self, chat: ChatState, message: StoredMessage) -> dict[str, Any]:
        self.world.add_message(chat, message)
        self.world.touch(message)
        return self.world.message_api(message)

    def _text(self, params: Params) -> ParsedText:
        parsed = formatted(params, "text", "entities")
        if parsed is None or not parsed.text.strip():
            raise bad_request("message text is empty")
        if len(parsed.text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return parsed

    def _set_caption(self, message: StoredMessage, params: Params) -> None:
        message.caption, message.caption_entities, message.raw_caption = caption_fields(params)

    def _reply_to(self, params: Params, chat: ChatState) -> int | None:
        reply = params.get_json("reply_parameters", "reply parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.get_int("reply_to_message_id")
            allow_missing = params.get_bool("allow_sending_without_reply")
        if not isinstance(message_id, int):
            return None
        target = chat.messages.get(message_id)
        if target is not None and not target.deleted:
            return message_id
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")

    def _input_file(self, params: Params, kind: str) -> StoredFile:
        value = params.get_file(kind)
        if value is None or value == "":
            raise bad_request(f"there is no {kind} in the request")
        if isinstance(value, Upload):
            return self._store_upload(value, kind, params)
        if value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        stored = self.world.find_file(value)
        if stored is None or stored.kind != kind:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    def _store_upload(self, upload: Upload, kind: str, params: Params) -> StoredFile:
        if len(upload.data) > MAX_UPLOAD_BYTES:
            raise TelegramError(413, "Request Entity Too Large")
        if not upload.data:
            raise bad_request("file must be non-empty")
        width, height = params.get_int("width") or 0, params.get_int("height") or 0
        if kind == "photo":
            size = image_size(upload.data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
        return self.world.store_file(
            kind,
            upload.data,
            file_name=upload.file_name if kind != "photo" else None,
            mime_type=guess_mime_type(upload.file_name, upload.content_type),
            width=width,
            height=height,
            duration=params.get_int("duration") or 0,
            title=params.get_str("title"),
            performer=params.get_str("performer"),
        )

    # -- editing ------------------------------------------------------------------------------

    def edit_message_text(self, call: BotCall) -> dict[str, Any]:
        message = self._editable(call)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        parsed = self._text(call.params)
        markup = parse_reply_markup(call.params)
        _ensure_modified(message, markup, text=parsed.text, entities=parsed.entities)
        message.text, message.entities = parsed.text, parsed.entities
        message.raw_text = call.params.get_str("text")
        message.parse_mode = call.params.get_str("parse_mode")
        return self._finish_edit(message, markup)

    def edit_message_caption(self, call: BotCall) -> dict[str, Any]:
        message = self._editable(call)
        if message.media is None:
            raise bad_request("there is no caption in the message to edit")
        caption, entities, raw = caption_fields(call.params)
        markup = parse_reply_markup(call.params)
        _ensure_modified(message, markup, caption=caption, caption_entities=entities)
        message.caption, message.caption_entities, message.raw_caption = caption, entities, raw
        message.parse_mode = call.params.get_str("parse_mode")
        return self._finish_edit(message, markup)

    def edit_message_media(self, call: BotCall) -> dict[str, Any]:
        """A media message gets other media (with its own caption); a text message cannot.
        The new media is a file id or an upload attached by ``attach://name``."""
        message = self._editable(call)
        media = call.params.get_json("media", "media")
        if not isinstance(media, dict) or not isinstance(media.get("type"), str):
            raise bad_request("can't parse InputMedia: media is not an object")
        if message.media is None:
            raise bad_request("there is no media in the message to edit")
        kind = media["type"]
        if kind not in ("photo", "video", "audio", "document", "animation"):
            raise bad_request("can't parse InputMedia: unsupported media type")
        reference = media.get("media")
        if isinstance(reference, str) and reference.startswith("attach://"):
            reference = call.params.get_file(reference.removeprefix("attach://"))
        fields = {kind: reference, "caption": media.get("caption"),
                  "parse_mode": media.get("parse_mode"), "caption_entities": media.get("caption_entities")}
        inner = Params({name: value for name, value in fields.items() if value is not None})
        stored = self._input_file(inner, kind)
        caption, entities, raw = caption_fields(inner)
        markup = parse_reply_markup(call.params)
        same_media = message.media is not None and message.media.file_unique_id == stored.file_unique_id
        if same_media:
            _ensure_modified(message, markup, caption=caption, caption_entities=entities)
        message.media = stored
        message.caption, message.caption_entities, message.raw_caption = caption, entities, raw
        message.parse_mode = inner.get_str("parse_mode")
        return self._finish_edit(message, markup)

    def edit_message_reply_markup(self, call: BotCall) -> dict[str, Any]:
        message = self._editable(call)
        markup = parse_reply_markup(call.params)
        _ensure_modified(message, markup)
        return self._finish_edit(message, markup)

    def _editable(self, call: BotCall) -> StoredMessage:
        if call.params.has("inline_message_id") and not call.params.has("chat_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = resolve_chat(self.world, call, sending=False)
        message_id = call.params.get_int("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.outgoing:
            raise bad_request("message can't be edited")
        return message

    def _finish_edit(self, message: StoredMessage, markup: dict[str, Any] | None) -> dict[str, Any]:
        message.reply_markup = markup
        message.edit_count += 1
        message.edit_date = now()
        self.world.touch(message)
        return self.world.message_api(message)

    # -- deleting and pinning -----------------------------------------------------------------

    def delete_message(self, call: BotCall) -> bool:
        chat = resolve_chat(self.world, call, sending=False)
        message = chat.messages.get(call.params.get_int("message_id") or 0)
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        self._delete(message)
        return True

    def delete_messages(self, call: BotCall) -> bool:
        chat = resolve_chat(self.world, call, sending=False)
        ids = call.params.get_json("message_ids", "message identifiers")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message identifiers are not specified")
        for message_id in ids:
            message = chat.messages.get(message_id) if isinstance(message_id, int) else None
            if message is not None and not message.deleted:
                self._delete(message)
        return True

    def _delete(self, message: StoredMessage) -> None:
        message.deleted = True
        message.pinned = False
        self.world.touch(message)

    def pin_chat_message(self, call: BotCall) -> bool:
        chat = resolve_chat(self.world, call, sending=False)
        message = chat.messages.get(call.params.get_int("message_id") or 0)
        if message is None or message.deleted:
            raise bad_request("message to pin not found")
        self.world.pin(message, True)
        return True

    def unpin_chat_message(self, call: BotCall) -> bool:
        chat = resolve_chat(self.world, call, sending=False)
        message_id = call.params.get_int("message_id")
        if message_id is None:
            message = self.world.latest_pinned(chat)
        else:
            message = chat.messages.get(message_id)
            if message is None or message.deleted:
                raise bad_request("message to unpin not found")
        if message is not None and message.pinned:
            self.world.pin(message, False)
        return True

    def unpin_all_chat_messages(self, call: BotCall) -> bool:
        chat = resolve_chat(self.world, call, sending=False)
        for message in chat.messages.values():
            if message.pinned:
                self.world.pin(message, False)
        return True

    # -- copying and forwarding ---------------------------------------------------------------

    def copy_message(self, call: BotCall) -> dict[str, Any]:
        chat, source = self._source_and_target(call, "message to copy not found")
        copy = self._clone(call, source, chat)
        copy.reply_markup = parse_reply_markup(call.params)
        copy.reply_to_message_id = self._reply_to(call.params, chat)
        if call.params.get_str("caption") is not None and copy.media is not None:
            copy.parse_mode = call.params.get_str("parse_mode")
            self._set_caption(copy, call.params)
        self._post(chat, copy)
        return {"message_id": copy.message_id}

    def forward_message(self, call: BotCall) -> dict[str, Any]:
        chat, source = self._source_and_target(call, "message to forward not found")
        forward = self._clone(call, source, chat)
        forward.forward_origin = {
            "type": "user",
            "date": source.date,
            "sender_user": self.world.user_api(source.sender_id),
        }
        return self._post(chat, forward)

    def _source_and_target(self, call: BotCall, not_found: str) -> tuple[ChatState, StoredMessage]:
        chat = resolve_chat(self.world, call, sending=True)
        source_chat = self.world.find_chat(call.params.get_int("from_chat_id") or 0)
        if source_chat is None:
            raise bad_request("chat not found")
        source = source_chat.messages.get(call.params.get_int("message_id") or 0)
        if source is None or source.deleted:
            raise bad_request(not_found)
        return chat, source

    @staticmethod
    def _clone(call: BotCall, source: StoredMessage, chat: ChatState) -> StoredMessage:
        return StoredMessage(
            chat_id=chat.id,
            message_id=0,
            sender_id=call.bot.id,
            outgoing=True,
            text=source.text,
            raw_text=source.raw_text,
            entities=list(source.entities),
            caption=source.caption,
            raw_caption=source.raw_caption,
            caption_entities=list(source.caption_entities),
            parse_mode=source.parse_mode,
            media=source.media,
        )


def _ensure_modified(message: StoredMessage, markup: dict[str, Any] | None, **changes: Any) -> None:
    """400 ``message is not modified`` when the edit would change nothing visible."""
    proposed = dataclasses.replace(message, reply_markup=markup, **changes)
    if proposed.content_key() == message.content_key():
        raise bad_request(NOT_MODIFIED)


def caption_fields(params: Params) -> tuple[str | None, list[dict[str, Any]], str | None]:
    """(caption, caption_entities, raw caption) of a call; an empty caption means none."""
    parsed = formatted(params, "caption", "caption_entities")
    if parsed is None or parsed.text == "":
        return None, [], None
    if len(parsed.text) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return parsed.text, parsed.entities, params.get_str("caption")


def formatted(params: Params, text_field: str, entities_field: str) -> ParsedText | None:
    """Parse ``text_field`` with ``parse_mode`` (or take explicit ``entities_field``)."""
    raw = params.get_str(text_field)
    if raw is None:
        return None
    mode = params.get_str("parse_mode")
    try:
        parsed = parse_text(raw, mode)
    except MarkupError as error:
        raise bad_request(f"can't parse entities: {error}") from None
    explicit = params.get_json(entities_field, "entities")
    if not (mode or "").strip() and isinstance(explicit, list):
        parsed.entities = explicit
    return parsed


def parse_reply_markup(params: Params) -> dict[str, Any] | None:
    """``reply_markup`` as a normalized dict, validated like Telegram does."""
    markup = params.get_json("reply_markup", "reply keyboard markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    normalized: dict[str, Any] = _without_nulls(markup)
    if "inline_keyboard" in normalized:
        _check_inline_keyboard(normalized["inline_keyboard"])
    return normalized


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            _check_inline_button(button)


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not _BUTTON_ACTIONS.intersection(button):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
        raise bad_request("BUTTON_URL_INVALID")


def guess_mime_type(file_name: str | None, content_type: str | None) -> str | None:
    """Telegram derives ``mime_type`` from the file name; fall back to the part's type."""
    guessed = mimetypes.guess_type(file_name)[0] if file_name else None
    if guessed:
        return guessed
    if content_type and content_type != "application/octet-stream":
        return content_type
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG/GIF/JPEG/WebP/BMP image; (0, 0) when only the magic is known."""
    if not data.startswith(_IMAGE_MAGIC):
        return None
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"GIF8") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data) or (0, 0)
    if data.startswith(b"RIFF") and data[8:12] != b"WEBP":
        return None
    return 0, 0


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        length = int.from_bytes(data[index + 2 : index + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        index += 2 + length
    return None
