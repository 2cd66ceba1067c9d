"""The bot's error rate comes from its own counter, read from its ``/metrics`` (no log parsing).

The real bot runs against the fake Bot API server; a handler that fails (a 400 on sendMessage)
logs an error, which the bot counts. The watchdog's reader sees the count and the last error
(redacted), and its rate check turns enough of them into one ``errors`` finding.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from e2e import STUDENT_ID, TOKEN, Chat, make_school, plain

from studymate.ops.alerts import Problem
from studymate.ops.watchdog import checks

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_watchdog_reads_the_bots_error_counter(db, fake, run_bot):
    make_school(fake, students=1)
    port = free_port()
    await run_bot(STUDYMATE_HTTP_PORT=str(port))
    url = f"http://127.0.0.1:{port}/metrics"
    first = await asyncio.to_thread(checks.scrape_bot_errors, url)
    assert first is not None and first.total == 0 and first.last == "" and first.started > 0
    rate = checks.ErrorRate()
    assert checks.check_errors(rate, first, max_errors=1, now=time.time()).kind is None

    fake.add_fault("sendMessage", 400, description=f"Bad Request: token {TOKEN} is too long")
    [error] = await Chat(fake, STUDENT_ID).send("/start")
    assert error["text"] == plain("error", "ru")

    deadline = time.monotonic() + 10
    while (reading := await asyncio.to_thread(checks.scrape_bot_errors, url)).total < 1:
        assert time.monotonic() < deadline, reading
        await asyncio.sleep(0.2)
    assert reading.started == first.started
    assert "handler failed" in reading.last and TOKEN not in reading.last
    found = checks.check_errors(rate, reading, max_errors=1, now=time.time())
    assert found.kind is Problem.ERRORS and found.params["count"] == reading.total - first.total
    assert checks.scrape_bot_errors(f"http://127.0.0.1:{free_port()}/metrics") is None  # nobody there
