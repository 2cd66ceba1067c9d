"""The bot's HTTP session against the fake Bot API server: calls without files go as JSON
bodies, uploads as multipart, and both arrive intact."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendDocument, SendMessage
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from studymate.bot.infra.session import JsonSession
from studymate.testing.fake_telegram.server import TEST_TOKEN, FakeTelegram

USER_ID = 4242


def _markup(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=d.upper(), callback_data=d)] for d in data]
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_user(USER_ID, "Ann")
        yield server


@pytest.fixture
async def wire(fake: FakeTelegram) -> AsyncIterator[tuple[Bot, list[tuple[str, str]]]]:
    """A bot as the app builds it, and the (method, Content-Type) of every request it sends."""
    seen: list[tuple[str, str]] = []

    async def on_headers(_s: Any, _c: Any, params: aiohttp.TraceRequestHeadersSentParams) -> None:
        seen.append((params.url.path.rsplit("/", 1)[-1], params.headers.get("Content-Type", "")))

    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(on_headers)
    trace.freeze()
    session = JsonSession(api=TelegramAPIServer.from_base(fake.base_url))
    client = await session.create_session()
    client._trace_configs.append(trace)  # observe what goes over the wire
    bot = Bot(
        TEST_TOKEN,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    yield bot, seen
    await session.close()


async def test_plain_calls_go_as_json_and_arrive_intact(fake: FakeTelegram, wire) -> None:
    bot, seen = wire
    sent = await bot.send_message(USER_ID, "<b>Q1</b> 2 &lt; 3 «ok»", reply_markup=_markup("a", "b"))
    stored = fake.messages(USER_ID)[-1]
    assert stored["text"] == "Q1 2 < 3 «ok»"  # the default parse mode reached the server
    assert stored["entities"][0]["type"] == "bold"
    assert [[b["callback_data"] for b in row] for row in stored["reply_markup"]["inline_keyboard"]] == [["a"], ["b"]]
    edited = await bot.edit_message_text(
        "Q2", chat_id=USER_ID, message_id=sent.message_id, reply_markup=_markup("c")
    )
    assert edited.text == "Q2"
    assert fake.messages(USER_ID)[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "c"
    # false survives as JSON false
    await bot.send_message(USER_ID, "quiet", disable_notification=False, message_thread_id=None)
    assert fake.messages(USER_ID)[-1]["text"] == "quiet"
    with pytest.raises(TelegramBadRequest):  # errors still come back as aiogram's exceptions
        await bot.edit_message_text("x", chat_id=USER_ID, message_id=999_999)
    assert {method: kind for method, kind in seen} == {
        "sendMessage": "application/json", "editMessageText": "application/json",
    }


async def test_uploads_stay_multipart(fake: FakeTelegram, wire) -> None:
    bot, seen = wire
    data = b"%PDF-1.4 tiny\n" * 10
    message = await bot.send_document(
        USER_ID, BufferedInputFile(data, filename="notes.pdf"), caption="<i>Week 1</i>",
        reply_markup=_markup("open"),
    )
    assert message.document is not None and message.document.file_name == "notes.pdf"
    assert fake.file_bytes(message.document.file_id) == data
    stored = fake.messages(USER_ID)[-1]
    assert stored["caption"] == "Week 1"
    assert stored["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "open"
    # the same file again by its id: no upload, so JSON
    await bot.send_document(USER_ID, message.document.file_id)
    assert [kind.split(";")[0] for _, kind in seen] == ["multipart/form-data", "application/json"]


def test_json_body_matches_what_the_form_would_carry() -> None:
    session = JsonSession()
    bot = Bot(TEST_TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    body = session.build_json(bot, SendMessage(
        chat_id=1, text="hi", reply_markup=_markup("a"), disable_notification=False,
    ))
    params = json.loads(body)
    assert params == {
        "chat_id": 1, "text": "hi", "parse_mode": "HTML", "disable_notification": False,
        "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    }
    upload = SendDocument(chat_id=1, document=BufferedInputFile(b"x", filename="x.txt"))
    assert session.build_json(bot, upload) is None
