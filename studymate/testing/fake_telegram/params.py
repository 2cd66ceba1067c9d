"""Request decoding for the fake Bot API server.

Telegram accepts query strings, ``application/json``, ``application/x-www-form-urlencoded`` and
``multipart/form-data`` bodies. aiogram sends forms where every non-string value is a JSON
string (``chat_id=777``, ``reply_markup={"inline_keyboard": ...}``) and uploads files as
multipart parts referenced by ``attach://<name>``. :func:`read_request_params` merges all of it
into one dict; :class:`Params` reads typed values from it the way Telegram would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, hdrs, web

from studymate.testing.fake_telegram.models import bad_request

__all__ = ["Params", "Upload", "read_multipart", "read_request_params"]

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


@dataclass
class Upload:
    """A file part of a multipart request."""

    data: bytes
    file_name: str | None
    content_type: str | None

    def describe(self) -> dict[str, Any]:
        """How the upload appears in the call log (never the bytes)."""
        return {"upload": self.file_name, "size": len(self.data), "content_type": self.content_type}


async def read_request_params(request: web.Request) -> dict[str, Any]:
    """Every parameter of a bot API request, whatever its encoding.

    :raises TelegramError: 400 when a JSON body does not parse.
    """
    params: dict[str, Any] = dict(request.query)
    content_type = request.content_type
    if content_type == "application/json":
        params.update(await _read_json_body(request))
    elif content_type.startswith("multipart/"):
        params.update(await read_multipart(await request.multipart()))
    elif request.can_read_body:
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params


async def _read_json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise bad_request(f"can't parse JSON: {error}") from error
    if not isinstance(body, dict):
        raise bad_request("JSON body must be an object")
    return body


async def read_multipart(reader: MultipartReader) -> dict[str, Any]:
    """Fields of a multipart body; ``attach://name`` references resolve to :class:`Upload`."""
    fields: dict[str, Any] = {}
    uploads: dict[str, Upload] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.filename is not None:
            data = await part.read(decode=True)
            uploads[part.name] = Upload(
                bytes(data), part.filename, part.headers.get(hdrs.CONTENT_TYPE)
            )
        else:
            fields[part.name] = await part.text()
    for key, value in list(fields.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            fields[key] = uploads.pop(value.removeprefix("attach://"), value)
    for name, upload in uploads.items():
        fields.setdefault(name, upload)
    return fields


class Params:
    """Typed, Telegram-like access to decoded request parameters."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = dict(raw)

    def has(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def get_str(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None or isinstance(value, Upload):
            return None
        if isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, dict | list) else str(value)

    def get_int(self, name: str) -> int | None:
        """An integer parameter; 400 when present but not an integer."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f'field "{name}" must be of type Integer') from None

    def get_float(self, name: str) -> float | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type Number') from None

    def get_bool(self, name: str) -> bool:
        value = self.raw.get(name)
        if isinstance(value, bool):
            return value
        if value is None:
            return False
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise bad_request(f'field "{name}" must be of type Boolean')

    def get_json(self, name: str, what: str | None = None) -> Any:
        """A structured parameter sent either natively (JSON body) or as a JSON string."""
        value = self.raw.get(name)
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what or name} JSON object") from None

    def get_file(self, name: str) -> Upload | str | None:
        value = self.raw.get(name)
        if isinstance(value, Upload) or value is None:
            return value
        return str(value)

    def chat_id_value(self) -> int | str | None:
        """``chat_id`` as an int when numeric (for the call log), else as sent."""
        value = self.raw.get("chat_id")
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip()
        return int(text) if text.lstrip("-").isdigit() else text

    def decoded(self) -> dict[str, Any]:
        """Parameters for the call log: JSON strings decoded, uploads described."""
        result: dict[str, Any] = {}
        for key, value in self.raw.items():
            result[key] = _decode_for_log(key, value)
        return result


_INT_KEYS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "duration",
        "width",
        "height",
        "cache_time",
        "max_connections",
        "until_date",
    }
)
_TEXT_KEYS = frozenset({"text", "caption", "callback_query_id", "url", "secret_token", "action"})
_BOOL_VALUES = {"true": True, "false": False}


def _decode_for_log(key: str, value: Any) -> Any:
    if isinstance(value, Upload):
        return value.describe()
    if not isinstance(value, str) or key in _TEXT_KEYS:
        return value
    stripped = value.strip()
    if key in _INT_KEYS and stripped.lstrip("-").isdigit():
        return int(stripped)
    if stripped in _BOOL_VALUES:
        return _BOOL_VALUES[stripped]
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    return value
