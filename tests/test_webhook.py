"""Webhook mode of one ``studymate bot`` (STUDYMATE_TELEGRAM_MODE=webhook), the fake server posting to it.

It sets and checks the webhook itself, serves only POSTs carrying the secret token, answers
at once, handles a delivery repeated by Telegram (or nginx) once, and on SIGTERM refuses new
updates with 503 while it lets the running handlers finish.
"""

from __future__ import annotations

import asyncio
import signal
import time

import aiohttp
import pytest
from e2e import STUDENT_ID, Chat, bot_env, make_school

from studymate.testing.cluster import SECRET_HEADER, WEBHOOK_SECRET, Replica, free_port, webhook_env

pytestmark = pytest.mark.e2e

PATH = "/tg/hook"


@pytest.fixture
async def replica(db, fake, database_url, redis_url, tmp_path):
    port = free_port()
    env = bot_env(fake=fake, database_url=database_url, tmp_path=tmp_path, STUDYMATE_REDIS_URL=redis_url,
                  STUDYMATE_SHUTDOWN_GRACE_SECONDS="5",
                  **webhook_env(f"http://127.0.0.1:{port}{PATH}", port))
    bot = Replica(0, env, tmp_path)
    yield bot
    await bot.kill()


async def post(replica: Replica, body: object, secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with aiohttp.ClientSession() as session:
        async with session.post(replica.base + PATH, json=body, headers=headers) as response:
            return response.status


def start_update(update_id: int, message_id: int) -> dict:
    user = {"id": STUDENT_ID, "is_bot": False, "first_name": "Student0", "username": "s0"}
    return {"update_id": update_id, "message": {
        "message_id": message_id, "date": int(time.time()), "text": "/start", "from": user,
        "chat": {"id": STUDENT_ID, "type": "private", "first_name": "Student0"},
    }}


async def test_sets_the_webhook_checks_the_secret_and_handles_a_repeat_once(fake, replica):
    make_school(fake, students=1)
    since = time.monotonic()
    await replica.start()
    [call] = fake.calls("setWebhook", since=since)
    params = call["params"]
    assert params["url"] == f"http://127.0.0.1:{replica.port}{PATH}"
    assert params["secret_token"] == WEBHOOK_SECRET and params["drop_pending_updates"] is False
    assert {"message", "callback_query"} <= set(params["allowed_updates"])
    assert fake.calls("getWebhookInfo", since=call["t"])  # read back at start
    assert fake.world.state.webhook.url == params["url"]

    student = Chat(fake, STUDENT_ID)
    [welcome] = await student.send("/start")
    assert "Anna" in welcome["text"]  # the welcome, through the webhook

    assert await post(replica, start_update(900_001, 9001), None) == 401
    assert await post(replica, start_update(900_001, 9001), "not-the-secret") == 403
    assert await post(replica, {"no": "update"}, WEBHOOK_SECRET) == 400
    before = len([m for m in fake.messages(STUDENT_ID) if m["outgoing"]])
    # Telegram retries an update whose answer got lost; nginx may pass it to another replica.
    assert await post(replica, start_update(900_002, 9002), WEBHOOK_SECRET) == 200
    assert await post(replica, start_update(900_002, 9002), WEBHOOK_SECRET) == 200
    await student.replies(student.last_bot_message_id(), timeout=2, expect=99)  # let both run
    after = [m for m in fake.messages(STUDENT_ID) if m["outgoing"]]
    assert len(after) == before + 1

    status, body = await replica.get("/healthz")
    assert status == 200 and '"redis": "ok"' in body
    assert await replica.stop() == 0


async def test_sigterm_refuses_new_updates_and_finishes_running_ones(fake, replica):
    make_school(fake, students=1)
    await replica.start()
    fake.set_latency(2.0, "sendMessage")  # the handler's reply is slow
    since = time.monotonic()
    await fake.send_text(STUDENT_ID, "/start")
    while not fake.calls("sendMessage", since=since):  # the handler is running  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    replica.proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.3)
    assert await post(replica, start_update(900_003, 9003), WEBHOOK_SECRET) == 503
    assert await asyncio.wait_for(replica.proc.wait(), 15) == 0
    replies = [m for m in fake.messages(STUDENT_ID) if m["outgoing"]]
    assert len(replies) == 1  # the running handler's reply went out; the refused one did not
