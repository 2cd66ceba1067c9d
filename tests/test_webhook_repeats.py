"""Webhook mode acts once on a repeated delivery, with Redis, without it and through its outage,
and a body that is not an update is a 400."""

from __future__ import annotations

import datetime as dt

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from e2e import STUDENT_ID, Chat, bot_env, make_school
from test_webhook import PATH, post, start_update

from studymate.bot.webhook import SeenUpdates, WebhookReceiver
from studymate.db.connection import Db, open_database
from studymate.db.models import WebhookUpdate, utcnow
from studymate.testing.cluster import SECRET_HEADER, WEBHOOK_SECRET, Replica, free_port, webhook_env


async def test_an_update_id_is_accepted_once_across_replicas(database_url):
    database = open_database(database_url)
    first, second = Db(database), Db(database)  # two replicas' connections
    a, b = SeenUpdates(first, bot_id=42), SeenUpdates(second, bot_id=42)
    assert await a.first_delivery(7) is True
    assert await b.first_delivery(7) is False  # the other replica
    assert await a.first_delivery(7) is False
    assert await SeenUpdates(first, bot_id=43).first_delivery(7) is True  # another bot
    WebhookUpdate.update(accepted_at=utcnow() - dt.timedelta(hours=2)).execute()
    b._pruned = -1e9  # as if its last sweep was long ago
    assert await b.first_delivery(8) is True
    assert WebhookUpdate.select().count() == 1  # the old ids are gone
    first.close()
    second.close()


def replica_env(fake, database_url, tmp_path, **extra) -> dict[str, str]:
    port = free_port()
    return bot_env(fake=fake, database_url=database_url, tmp_path=tmp_path,
                   **webhook_env(f"http://127.0.0.1:{port}{PATH}", port), **extra)


def replies(fake) -> int:
    return len([m for m in fake.messages(STUDENT_ID) if m["outgoing"]])


async def settle(fake) -> None:
    student = Chat(fake, STUDENT_ID)
    await student.replies(student.last_bot_message_id(), timeout=1.5, expect=99)


@pytest.mark.e2e
async def test_without_redis_a_repeated_delivery_acts_once(db, fake, database_url, tmp_path):
    make_school(fake)
    replica = await Replica(0, replica_env(fake, database_url, tmp_path), tmp_path).start()
    try:
        for _ in range(3):
            assert await post(replica, start_update(900_010, 9010), WEBHOOK_SECRET) == 200
        await settle(fake)
        assert replies(fake) == 1
    finally:
        await replica.kill()


@pytest.mark.e2e
async def test_a_delivery_repeated_during_a_redis_outage_acts_once(db, fake, database_url, tmp_path, private_redis):
    make_school(fake)
    env = replica_env(fake, database_url, tmp_path, REDIS_URL=private_redis.url)
    replica = await Replica(0, env, tmp_path).start()
    try:
        assert await post(replica, start_update(900_020, 9020), WEBHOOK_SECRET) == 200
        await settle(fake)
        assert replies(fake) == 1
        private_redis.stop()
        for _ in range(2):
            assert await post(replica, start_update(900_020, 9020), WEBHOOK_SECRET) == 200
        await settle(fake)
        assert replies(fake) == 1
    finally:
        await replica.kill()


@pytest.mark.parametrize("update_id", ["1e400", "1.5", "-1", "true", "\"7\"", "99999999999999999999999"])
async def test_an_update_id_that_is_not_an_integer_is_a_400(update_id):
    receiver = WebhookReceiver(None, None, secret="s3cret", heartbeat=None, seen=None)
    receiver.accepting = True
    app = web.Application()
    app.router.add_post(PATH, receiver.handle)
    async with TestClient(TestServer(app)) as client:
        body = '{"update_id": ' + update_id + ', "message": {}}'
        response = await client.post(PATH, data=body, headers={SECRET_HEADER: "s3cret"})
        assert response.status == 400
