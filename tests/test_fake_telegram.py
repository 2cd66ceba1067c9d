"""The fake Bot API server, driven by a real aiogram ``Bot`` and by its control API."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import signal
import struct
import sys
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.filters import CommandStart
from aiogram.methods import SendMessage
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReactionTypeEmoji,
    ReplyParameters,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from studymate.testing.fake_telegram.server import TEST_TOKEN, FakeTelegram

USER_ID = 4242
BOT_ID = int(TEST_TOKEN.split(":")[0])
REPO_ROOT = Path(__file__).resolve().parents[1]


def tiny_png() -> bytes:
    """A valid 2x1 RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\x00\xff\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def keyboard(*data: str) -> InlineKeyboardMarkup:
    buttons = [[InlineKeyboardButton(text=item, callback_data=item)] for item in data]
    return InlineKeyboardMarkup(inline_keyboard=buttons)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_user(USER_ID, "Ann", username="ann")
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    bot = Bot(TEST_TOKEN, session=session)
    yield bot
    await bot.session.close()


@pytest.fixture
async def http(fake: FakeTelegram) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=fake.base_url) as session:
        yield session


# -- bot side ---------------------------------------------------------------------------------


async def test_get_me_is_a_full_bot_user(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (BOT_ID, True, "studymate_test_bot")
    assert me.first_name and me.can_join_groups is True


async def test_token_and_method_checks(http: aiohttp.ClientSession) -> None:
    async with http.post("/bot123:short/getMe") as response:
        assert response.status == 401
        assert await response.json() == {
            "ok": False,
            "error_code": 401,
            "description": "Unauthorized",
        }
    async with http.post(f"/bot{TEST_TOKEN}/noSuchMethod") as response:
        assert response.status == 404
        assert (await response.json())["description"] == "Not Found"
    async with http.get(f"/bot{TEST_TOKEN}/GETME") as response:
        assert (await response.json())["result"]["id"] == BOT_ID


async def test_json_bodies_are_accepted(fake: FakeTelegram, http: aiohttp.ClientSession) -> None:
    body = {
        "chat_id": USER_ID,
        "text": "json",
        "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]},
    }
    async with http.post(f"/bot{TEST_TOKEN}/sendMessage", json=body) as response:
        result = (await response.json())["result"]
    assert result["reply_markup"] == body["reply_markup"]
    assert fake.messages(USER_ID)[-1]["text"] == "json"


async def test_send_edit_pin_delete_round_trip(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(
        USER_ID, "<b>Hi</b> &amp; welcome", parse_mode="HTML", reply_markup=keyboard("a")
    )
    assert sent.text == "Hi & welcome" and sent.entities and sent.entities[0].type == "bold"
    assert sent.from_user is not None and sent.from_user.id == BOT_ID
    assert sent.chat.first_name == "Ann" and sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "a"

    edited = await bot.edit_message_text(
        "Changed", chat_id=USER_ID, message_id=sent.message_id, reply_markup=keyboard("b")
    )
    assert isinstance(edited, Message) and edited.edit_date is not None
    await bot.edit_message_reply_markup(
        chat_id=USER_ID, message_id=sent.message_id, reply_markup=None
    )
    assert await bot.pin_chat_message(USER_ID, sent.message_id)

    [view] = fake.messages(USER_ID)
    assert view["text"] == "Changed" and view["edit_count"] == 2 and view["reply_markup"] is None
    assert view["pinned"] is True and view["outgoing"] is True and view["from_id"] == BOT_ID

    assert await bot.unpin_chat_message(USER_ID)
    assert await bot.delete_message(USER_ID, sent.message_id)
    [view] = fake.messages(USER_ID)
    assert (view["pinned"], view["deleted"]) == (False, True)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("again", chat_id=USER_ID, message_id=sent.message_id)


async def test_reply_to_message_is_included(fake: FakeTelegram, bot: Bot) -> None:
    incoming = await fake.send_text(USER_ID, "question")
    reply = await bot.send_message(
        USER_ID, "answer", reply_parameters=ReplyParameters(message_id=incoming["message_id"])
    )
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "question"
    assert reply.message_id == incoming["message_id"] + 1
    assert fake.messages(USER_ID)[-1]["reply_to_message_id"] == incoming["message_id"]


async def test_a_reaction_on_a_user_message(fake: FakeTelegram, bot: Bot) -> None:
    incoming = await fake.send_text(USER_ID, "42")
    mid, seq = incoming["message_id"], fake.messages(USER_ID)[-1]["seq"]
    assert await bot.set_message_reaction(USER_ID, mid, [ReactionTypeEmoji(emoji="✍")])
    [view] = fake.messages(USER_ID)
    assert view["reactions"] == ["✍"] and view["seq"] > seq  # a change a wait sees
    with pytest.raises(TelegramBadRequest, match="REACTION_INVALID"):
        await bot.set_message_reaction(USER_ID, mid, [ReactionTypeEmoji(emoji="✅")])
    with pytest.raises(TelegramBadRequest, match="REACTIONS_TOO_MANY"):
        await bot.set_message_reaction(
            USER_ID, mid, [ReactionTypeEmoji(emoji="👍"), ReactionTypeEmoji(emoji="👌")]
        )
    with pytest.raises(TelegramBadRequest, match="message to react not found"):
        await bot.set_message_reaction(USER_ID, mid + 5, [ReactionTypeEmoji(emoji="👍")])
    assert await bot.set_message_reaction(USER_ID, mid, [])
    assert fake.messages(USER_ID)[0]["reactions"] == []


async def test_not_modified(bot: Bot) -> None:
    sent = await bot.send_message(USER_ID, "same", reply_markup=keyboard("x"))
    with pytest.raises(
        TelegramBadRequest, match="message is not modified: specified new message content"
    ):
        await bot.edit_message_text(
            "same", chat_id=USER_ID, message_id=sent.message_id, reply_markup=keyboard("x")
        )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=USER_ID, message_id=sent.message_id, reply_markup=keyboard("x")
        )


@pytest.mark.parametrize(
    ("text", "parse_mode", "error"),
    [
        ("x" * 4097, None, "Bad Request: message is too long"),
        ("   ", None, "Bad Request: message text is empty"),
        ("<div>x</div>", "HTML", 'can\'t parse entities: Unsupported start tag "div"'),
        ("<b>x", "HTML", "can't parse entities: Can't find end tag corresponding to start tag"),
        ("1 < 2", "HTML", "can't parse entities"),
        ("Tom & Jerry", "HTML", "can't parse entities"),
        ("<b>x</i>", "HTML", "can't parse entities: Unmatched end tag"),
        ("Hello.", "MarkdownV2", "can't parse entities: Character '.' is reserved"),
    ],
)
async def test_text_errors(bot: Bot, text: str, parse_mode: str | None, error: str) -> None:
    with pytest.raises(TelegramBadRequest, match=re.escape(error)):
        await bot.send_message(USER_ID, text, parse_mode=parse_mode)


async def test_length_is_measured_after_entity_parsing(bot: Bot) -> None:
    sent = await bot.send_message(USER_ID, "<b>" + "&lt;" * 4096 + "</b>", parse_mode="HTML")
    assert sent.text == "<" * 4096


async def test_markdown_v2_and_user_messages_are_not_editable(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(
        USER_ID, "*Done* \\- see [docs](https://example\\.org)", parse_mode="MarkdownV2"
    )
    assert sent.text == "Done - see docs" and sent.entities
    assert [e.type for e in sent.entities] == ["bold", "text_link"]
    incoming = await fake.send_text(USER_ID, "mine")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("hacked", chat_id=USER_ID, message_id=incoming["message_id"])


async def test_button_data_invalid(bot: Bot) -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="é" * 33)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER_ID, "x", reply_markup=markup)


async def test_unknown_chats(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(999_999, "hello?")
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.get_chat_member(-100555, USER_ID)


async def test_photo_upload_resend_and_download(fake: FakeTelegram, bot: Bot) -> None:
    png = tiny_png()
    first = await bot.send_photo(
        USER_ID, BufferedInputFile(png, "chart.png"), caption="<i>chart</i>", parse_mode="HTML"
    )
    assert first.photo and (first.photo[-1].width, first.photo[-1].height) == (2, 1)
    assert first.caption == "chart"
    file_id = first.photo[-1].file_id

    again = await bot.send_photo(USER_ID, file_id)
    assert again.photo and again.photo[-1].file_id == file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.send_document(USER_ID, file_id)

    file = await bot.get_file(file_id)
    assert file.file_path and file.file_size == len(png)
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == png
    assert fake.file_bytes(file_id) == png
    assert fake.messages(USER_ID)[0]["photo"]["file_id"] == file_id


async def test_document_upload_and_user_document(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_document(USER_ID, BufferedInputFile(b"a,b\n1,2\n", "grades.csv"))
    assert (
        sent.document
        and sent.document.file_name == "grades.csv"
        and sent.document.mime_type == "text/csv"
    )
    incoming = await fake.send_document(USER_ID, b"%PDF-1.4", "hw.pdf", caption="my homework")
    [view] = [m for m in fake.messages(USER_ID) if m["message_id"] == incoming["message_id"]]
    assert view["outgoing"] is False and view["caption"] == "my homework"
    assert fake.file_bytes(view["document"]["file_id"]) == b"%PDF-1.4"


async def test_get_chat_member_statuses(fake: FakeTelegram, bot: Bot) -> None:
    channel = -1001234567890
    expected = {
        "creator": ChatMemberOwner,
        "administrator": ChatMemberAdministrator,
        "member": ChatMemberMember,
        "restricted": ChatMemberRestricted,
        "left": ChatMemberLeft,
        "kicked": ChatMemberBanned,
    }
    for offset, status in enumerate(expected):
        fake.set_member(channel, 100 + offset, status)
    for offset, (status, kind) in enumerate(expected.items()):
        member = await bot.get_chat_member(channel, 100 + offset)
        assert isinstance(member, kind) and member.status == status
        assert member.user.first_name == f"User {100 + offset}"
    nobody = await bot.get_chat_member(channel, USER_ID)
    assert isinstance(nobody, ChatMemberLeft) and nobody.user.first_name == "Ann"
    chat = await bot.get_chat(channel)
    assert chat.type == "supergroup"


# -- updates ----------------------------------------------------------------------------------


async def test_get_updates_long_poll_and_offset(fake: FakeTelegram, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert time.monotonic() - started >= 0.9

    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    sent = await fake.send_text(USER_ID, "/start")
    [update] = await asyncio.wait_for(poll, 2)
    assert update.message is not None and update.message.text == "/start"
    assert update.message.entities and update.message.entities[0].type == "bot_command"

    assert [u.update_id for u in await bot.get_updates()] == [sent["update_id"]]
    assert await bot.get_updates(offset=sent["update_id"] + 1) == []
    await fake.send_text(USER_ID, "ignored")
    assert await bot.get_updates(allowed_updates=["callback_query"]) == []


async def test_a_second_poller_terminates_the_first(bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 2)
    assert await second == []


async def test_polling_dispatcher_receives_text_and_click(fake: FakeTelegram, bot: Bot) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Pick one", reply_markup=keyboard("pick:1", "pick:2"))

    @dispatcher.callback_query(F.data.startswith("pick:"))
    async def pick(query: CallbackQuery) -> None:
        await query.answer("Saved", show_alert=True)
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"You picked {query.data}")

    polling = asyncio.create_task(
        dispatcher.start_polling(
            bot, handle_signals=False, polling_timeout=1, close_bot_session=False
        )
    )
    try:
        sent = await fake.send_text(USER_ID, "/start")
        [menu] = await fake.wait(USER_ID, sent["message_id"], timeout=5)
        assert menu["text"] == "Pick one" and menu["outgoing"]

        clicked = await fake.click(USER_ID, menu["message_id"], "pick:2")
        assert clicked["button_found"] is True
        [changed] = await fake.wait(
            USER_ID, menu["message_id"], timeout=5, since_seq=clicked["seq"]
        )
        assert changed["text"] == "You picked pick:2" and changed["edit_count"] == 1

        [answer] = fake.callback_answers(clicked["callback_query_id"])
        assert (answer["text"], answer["show_alert"]) == ("Saved", True)
    finally:
        await dispatcher.stop_polling()
        await asyncio.wait_for(polling, 5)


async def test_answering_a_callback_twice_fails(fake: FakeTelegram, bot: Bot) -> None:
    menu = await bot.send_message(USER_ID, "menu", reply_markup=keyboard("a"))
    clicked = await fake.click(USER_ID, menu.message_id, "a")
    assert await bot.answer_callback_query(clicked["callback_query_id"], text="ok")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(clicked["callback_query_id"])


async def test_wait_reports_edits_of_older_messages(fake: FakeTelegram, bot: Bot) -> None:
    old = await bot.send_message(USER_ID, "v1")
    await bot.send_message(USER_ID, "later")
    waiting = asyncio.create_task(fake.wait(USER_ID, after_message_id=99, timeout=5))
    await asyncio.sleep(0.05)
    await bot.edit_message_text("v2", chat_id=USER_ID, message_id=old.message_id)
    [changed] = await asyncio.wait_for(waiting, 2)
    assert (changed["message_id"], changed["text"]) == (old.message_id, "v2")
    assert await fake.wait(USER_ID, after_message_id=99, timeout=0.1) == []


# -- faults, blocking, limits, latency ---------------------------------------------------------


async def test_injected_429_is_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_fault("sendMessage", 429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER_ID, "x")
    assert caught.value.retry_after == 3
    assert (await bot.send_message(USER_ID, "y")).text == "y"
    statuses = [call["status"] for call in fake.calls("sendmessage")]
    assert statuses == [429, 200]


async def test_blocked_user_is_forbidden(fake: FakeTelegram, bot: Bot) -> None:
    fake.set_blocked(USER_ID)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER_ID, "hello")
    fake.set_blocked(USER_ID, False)
    assert (await bot.send_message(USER_ID, "hello")).text == "hello"


async def test_flood_limits(fake: FakeTelegram, bot: Bot) -> None:
    fake.set_limits(per_chat_per_second=2)
    await bot.send_message(USER_ID, "1")
    await bot.send_message(USER_ID, "2")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER_ID, "3")
    assert caught.value.retry_after >= 1
    fake.add_user(USER_ID + 1)
    await bot.send_message(USER_ID + 1, "other chat is fine")

    group = -100777
    fake.set_member(group, BOT_ID, "administrator")
    fake.set_limits(group_per_minute=1)
    await bot.send_message(group, "first")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(group, "second")


async def test_latency(fake: FakeTelegram, bot: Bot) -> None:
    fake.set_latency(0.3, "sendMessage")
    started = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - started < 0.25
    started = time.monotonic()
    await bot.send_message(USER_ID, "slow")
    assert time.monotonic() - started >= 0.3


# -- webhooks ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on a free local port; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_webhook_delivery_retry_and_conflict(fake: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        if len(received) == 1:
            return web.Response(status=500)
        return web.json_response(
            {"method": "sendMessage", "chat_id": USER_ID, "text": "from webhook"}
        )

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with serve(app) as base_url:
        assert await bot.set_webhook(f"{base_url}/hook", secret_token="s3cret")
        with pytest.raises(
            TelegramConflictError, match="can't use getUpdates method while webhook is active"
        ):
            await bot.get_updates()
        sent = await fake.send_text(USER_ID, "hi")
        [reply] = await fake.wait(USER_ID, sent["message_id"], timeout=5)
        assert reply["text"] == "from webhook"
        assert [secret for secret, _ in received] == ["s3cret", "s3cret"]
        assert received[1][1]["update_id"] == sent["update_id"]
        info = await bot.get_webhook_info()
        assert info.url == f"{base_url}/hook" and info.pending_update_count == 0
        assert info.last_error_message and "500" in info.last_error_message
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates() == []


async def test_webhook_with_aiogram_request_handler(fake: FakeTelegram, bot: Bot) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> SendMessage:
        return message.answer(f"echo: {message.text}")  # answered in the webhook response

    app = web.Application()
    handler = SimpleRequestHandler(
        dispatcher, bot, handle_in_background=False, secret_token="s3cret"
    )
    handler.register(app, path="/hook")
    async with serve(app) as base_url:
        await bot.set_webhook(f"{base_url}/hook", secret_token="s3cret")
        sent = await fake.send_text(USER_ID, "ping")
        [reply] = await fake.wait(USER_ID, sent["message_id"], timeout=5)
        assert reply["text"] == "echo: ping" and reply["outgoing"] is True
        await bot.delete_webhook()


# -- HTTP control API -------------------------------------------------------------------------


async def test_http_control_api(fake: FakeTelegram, bot: Bot, http: aiohttp.ClientSession) -> None:
    async def post(path: str, body: dict[str, Any]) -> Any:
        async with http.post(path, json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def get(path: str, **query: Any) -> Any:
        async with http.get(path, params={k: str(v) for k, v in query.items()}) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    user = await post("/_control/users", {"id": 77, "first_name": "Bo", "language_code": "uk"})
    assert user["user"]["language_code"] == "uk"
    await post("/_control/chats/-1009/members", {"user_id": 77, "status": "member"})
    assert (await bot.get_chat_member(-1009, 77)).status == "member"

    photo = {"content_base64": base64.b64encode(tiny_png()).decode()}
    sent = await post("/_control/send", {"from_id": 77, "photo": photo, "caption": "look"})
    assert set(sent) >= {"update_id", "message_id", "chat_id", "seq"}
    [update] = await bot.get_updates()
    assert update.message and update.message.photo and update.message.caption == "look"

    t0 = time.monotonic()
    menu = await bot.send_message(77, "menu", reply_markup=keyboard("go"))
    clicked = await post(
        "/_control/click", {"from_id": 77, "message_id": menu.message_id, "data": "go"}
    )
    await bot.answer_callback_query(clicked["callback_query_id"], text="ok")
    [answer] = await get(
        "/_control/callback_answers", callback_query_id=clicked["callback_query_id"]
    )
    assert answer["text"] == "ok" and answer["show_alert"] is False

    messages = await get("/_control/chats/77/messages")
    assert [m["outgoing"] for m in messages] == [False, True]
    assert messages[0]["photo"]["width"] == 2 and messages[1]["reply_markup"]["inline_keyboard"]
    async with http.get(f"/_control/files/{messages[0]['photo']['file_id']}") as response:
        assert await response.read() == tiny_png()

    waited = await get("/_control/wait", chat_id=77, after_message_id=sent["message_id"], timeout=1)
    assert [m["text"] for m in waited] == ["menu"]
    assert (
        await get("/_control/wait", chat_id=77, after_message_id=menu.message_id, timeout=0.1) == []
    )

    calls = await get("/_control/calls", method="sendMessage", since=t0)
    assert [(c["method"], c["chat_id"], c["status"]) for c in calls] == [("sendMessage", 77, 200)]
    assert calls[0]["params"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "go"

    await post("/_control/faults", {"method": "getMe", "error_code": 502, "times": 2})
    async with http.delete("/_control/faults") as response:
        assert (await response.json())["faults"] == []
    await post("/_control/blocked", {"user_id": 77, "blocked": True})
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(77, "x")
    limits = await post("/_control/limits", {"global_per_second": 5})
    assert limits["limits"]["global_per_second"] == 5
    latency = await post("/_control/latency", {"seconds": 0.01})
    assert latency["latency"] == {"*": 0.01}

    await post("/_control/reset", {})
    assert await get("/_control/chats/77/messages") == []
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(77, "gone")


async def test_http_control_errors(http: aiohttp.ClientSession) -> None:
    async with http.post(
        "/_control/click", json={"from_id": USER_ID, "message_id": 5, "data": "x"}
    ) as response:
        assert response.status == 400 and (await response.json())["ok"] is False
    async with http.post("/_control/send", json={"text": "no sender"}) as response:
        assert response.status == 400
    async with http.get("/_control/files/nope") as response:
        assert response.status == 404


# -- command line -----------------------------------------------------------------------------


async def test_cli_prints_address_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "studymate.testing.fake_telegram.server",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        match = re.fullmatch(r"fake-telegram listening on (http://127\.0\.0\.1:(\d+))\n", line)
        assert match and int(match.group(2)) > 0
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{match.group(1)}/bot{TEST_TOKEN}/getMe") as response:
                assert (await response.json())["result"]["is_bot"] is True
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
