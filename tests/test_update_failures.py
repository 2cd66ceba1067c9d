"""A failure anywhere in an update's handling is answered and reported, FSM storage included,
and a bot whose every update fails stops proving it is alive (issue 16)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import pytest
from e2e import ADMIN_ID, MENTOR_ID, STUDENT_ID, Chat, button_data, make_school, plain
from test_metrics import free_port, get

from studymate.db.models import database_proxy

pytestmark = pytest.mark.e2e


def admin_messages(fake) -> list[dict]:
    return [m for m in fake.messages(ADMIN_ID) if m["outgoing"]]


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


@contextlib.contextmanager
def fsm_table_gone():
    """Every read of the FSM storage fails (the table is renamed away) until the block ends."""
    database_proxy.obj.execute_sql("ALTER TABLE fsm_record RENAME TO fsm_record_away")
    try:
        yield
    finally:
        database_proxy.obj.execute_sql("ALTER TABLE fsm_record_away RENAME TO fsm_record")


async def test_fsm_storage_failure_gets_the_polite_error_and_one_alert(db, fake, run_bot):
    make_school(fake)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send("🌐 Язык")
    with fsm_table_gone():
        [reply] = await mentor.send("/start")
        assert reply["text"] == plain("error", "ru")
        answer = await mentor.click(picker["message_id"], button_data(picker, "English"))
        assert answer["show_alert"] and answer["text"] == plain("error", "ru")
        await wait_for(lambda: admin_messages(fake))
        await asyncio.sleep(0.5)
    [alert] = admin_messages(fake)  # the same failure twice: one alert
    assert "fsm_record" in alert["text"] and str(MENTOR_ID) in alert["text"]
    [back] = await mentor.send("/start")
    assert back["text"] == plain("welcome_mentor", "ru", name="Anna")


async def health(port: int) -> dict:
    return json.loads((await get(port, "/healthz"))[1])


async def test_every_update_failing_stops_the_heartbeat_until_one_succeeds(db, fake, run_bot, tmp_path):
    make_school(fake)
    port = free_port()
    await run_bot(STUDYMATE_HTTP_PORT=str(port), STUDYMATE_HEARTBEAT_STALE_SECONDS="2")
    heartbeat = tmp_path / "run" / "bot.heartbeat"
    student = Chat(fake, STUDENT_ID)
    await student.send("/start")
    assert "updates_failing" not in (await health(port))["problems"]
    with fsm_table_gone():
        started = time.monotonic()
        while "updates_failing" not in (body := await health(port))["problems"]:
            assert time.monotonic() - started < 10, body
            [reply] = await student.send("/start")  # polls go on, every update fails
            assert reply["text"] == plain("error", "ru")
            await asyncio.sleep(0.3)
        assert body["status"] == "unhealthy"
        written = heartbeat.stat().st_mtime
        for _ in range(3):
            await student.send("/start")
            await asyncio.sleep(0.2)
        assert heartbeat.stat().st_mtime == written  # the watchdog will see it stale
    [welcome] = await student.send("/start")
    assert welcome["text"] == plain("welcome_student", "ru", name="Anna")
    assert "updates_failing" not in (await health(port))["problems"]
    await student.send("/start")  # ends the long poll that was waiting: the next beat is written
    await wait_for(lambda: heartbeat.stat().st_mtime > written)
