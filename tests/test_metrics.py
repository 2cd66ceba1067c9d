"""``/metrics`` and ``/healthz`` of the bot, and the watchdog's ``/metrics`` (issue 8, part A).

The bot tests run the real ``studymate bot`` process against the fake Bot API server and scrape
its local port like Prometheus would; the health checks that need a broken database or Redis
run in-process against real (unreachable) servers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from e2e import MENTOR_ID, STUDENT_ID, Chat, button_data, make_school, plain
from prometheus_client.parser import text_string_to_metric_families

from studymate import __version__
from studymate.db import migrate

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
DASHBOARD = Path(__file__).resolve().parents[1] / "packaging" / "grafana-dashboard.json"


def dashboard_series(prefix: str) -> set[str]:
    """Series names the Grafana dashboard queries (``studymate_…``, ``process_…``)."""
    import json
    import re

    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [target["expr"] for panel in panels for target in panel.get("targets", [])]
    return {name for expr in exprs for name in re.findall(r"\b(?:studymate|process)_[a-z_]+", expr)
            if name.startswith(prefix)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def get(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}{path}", timeout=aiohttp.ClientTimeout(total=10)) as resp:
            return resp.status, await resp.text()


async def scrape(port: int) -> Samples:
    status, text = await get(port, "/metrics")
    assert status == 200, text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def until(port: int, predicate, what: str, timeout: float = 15.0) -> Samples:
    deadline = time.monotonic() + timeout
    while True:
        samples = await scrape(port)
        if predicate(samples):
            return samples
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        await asyncio.sleep(0.2)


async def health(port: int) -> tuple[int, dict[str, Any]]:
    import json

    status, text = await get(port, "/healthz")
    return status, json.loads(text)


# -- the bot process ------------------------------------------------------------------------------


@pytest.mark.e2e
async def test_bot_series_follow_updates_api_errors_and_the_outbox(db, fake, run_bot):
    make_school(fake, students=2)
    port = free_port()
    await run_bot(STUDYMATE_HTTP_PORT=str(port))
    start = await scrape(port)
    assert value(start, "studymate_build_info", version=__version__) == 1
    assert value(start, "studymate_fsm_storage_backend", backend="database") == 1
    assert value(start, "studymate_fsm_storage_backend", backend="redis") == 0
    assert value(start, "studymate_database_up") == 1
    assert value(start, "studymate_outbox_pending_messages") == 0
    assert value(start, "studymate_quiz_attempts_active") == 0
    assert value(start, "process_resident_memory_bytes") > 10_000_000

    def ok_messages(s: Samples) -> float:
        return value(s, "studymate_updates_total", type="message", outcome="ok")

    # A student's /start: one message update handled, one sendMessage, the poll that brought it.
    student = Chat(fake, STUDENT_ID)
    [welcome] = await student.send("/start")
    assert welcome["text"] == plain("welcome_student", "ru", name="Anna")
    after = await until(port, lambda s: ok_messages(s) == ok_messages(start) + 1, "message/ok counted")
    assert value(after, "studymate_update_duration_seconds_count", type="message") == \
        value(start, "studymate_update_duration_seconds_count", type="message") + 1
    assert value(after, "studymate_telegram_requests_total", method="sendMessage") >= \
        value(start, "studymate_telegram_requests_total", method="sendMessage") + 1
    assert time.time() - value(after, "studymate_last_poll_timestamp_seconds") < 10
    assert time.time() - value(after, "studymate_quiz_sweeper_last_run_timestamp_seconds") < 10

    # A 429 is waited out and retried: the reply still arrives, the error shows with its code.
    fake.add_fault("sendMessage", 429, description="Too Many Requests: retry after 1", retry_after=1)
    [again] = await student.send("/start")
    assert again["text"] == welcome["text"]
    flood = await until(port, lambda s: ok_messages(s) == ok_messages(after) + 1, "second message/ok")
    assert value(flood, "studymate_telegram_errors_total", method="sendMessage", code="429") == 1

    # A 400 breaks the handler: the update ends as an error and the student is told so.
    fake.add_fault("sendMessage", 400, description="Bad Request: message is too long")
    [error] = await student.send("/start")
    assert error["text"] == plain("error", "ru")
    failed = await until(port, lambda s: value(s, "studymate_updates_total", type="message", outcome="error") == 1,
                         "message/error counted")
    assert value(failed, "studymate_telegram_errors_total", method="sendMessage", code="400") == 1

    # A broadcast to both students goes through the outbox: sent counter up by 2, queue empty.
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send("✉️ Написать ученику")
    after_id = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "📢"))
    await mentor.replies(after_id)
    [confirm] = await mentor.send("Exam moved to Friday")
    await mentor.click(confirm["message_id"], button_data(confirm, "✅"))
    sent = await until(port, lambda s: value(s, "studymate_outbox_sent_total") == 2, "two outbox sends", 20)
    assert value(sent, "studymate_outbox_pending_messages") == 0
    assert value(sent, "studymate_updates_total", type="callback_query", outcome="ok") >= 2

    status, body = await health(port)
    assert status == 200, body
    assert body["status"] == "ok" and body["problems"] == []
    assert body["version"] == __version__
    assert body["schema_version"] == migrate.schema_version(db)
    assert body["database"] == "ok" and body["redis"] == "not configured"
    assert body["fsm_storage"] == "database"
    assert body["last_poll_age_seconds"] < 30
    assert dt.datetime.fromisoformat(body["last_poll"]).tzinfo is not None

    served = {name for name, _ in await scrape(port)}
    bot_series = dashboard_series("studymate_") - dashboard_series("studymate_watchdog_")
    assert bot_series and bot_series <= served, f"the dashboard queries {bot_series - served}, not served"


@pytest.mark.e2e
async def test_healthz_turns_503_while_telegram_cannot_be_polled_and_back(db, fake, run_bot):
    make_school(fake, students=1)
    port = free_port()
    await run_bot(STUDYMATE_HTTP_PORT=str(port), STUDYMATE_HEARTBEAT_STALE_SECONDS="4")
    student = Chat(fake, STUDENT_ID)
    await student.send("/start")  # the long poll returns with it: a fresh successful poll
    status, body = await health(port)
    assert status == 200, body

    fake.add_fault("getUpdates", 502, description="Bad Gateway", probability=1.0)
    await fake.send_text(STUDENT_ID, "/start")  # returns the pending long poll; the next ones fail
    deadline = time.monotonic() + 30
    while (await health(port))[0] != 503:
        assert time.monotonic() < deadline, "still 200 with every getUpdates failing"
        await asyncio.sleep(0.3)
    status, body = await health(port)
    assert body["status"] == "unhealthy" and body["problems"] == ["no_updates"]
    assert body["database"] == "ok" and body["last_poll_age_seconds"] >= 4
    samples = await scrape(port)
    assert value(samples, "studymate_telegram_errors_total", method="getUpdates", code="5xx") >= 1

    fake.clear_faults()
    deadline = time.monotonic() + 30
    while (await health(port))[0] != 200:  # aiogram's backoff is at most 5 s; a message ends the poll
        assert time.monotonic() < deadline, "still 503 after Telegram came back"
        await fake.send_text(STUDENT_ID, "/start")
        await asyncio.sleep(1.0)


@pytest.mark.e2e
async def test_a_taken_port_does_not_stop_the_bot(db, fake, run_bot):
    make_school(fake, students=1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bot = await run_bot(STUDYMATE_HTTP_PORT=str(port))
        [welcome] = await Chat(fake, STUDENT_ID).send("/start")
        assert welcome["text"] == plain("welcome_student", "ru", name="Anna")
        assert f"cannot serve /metrics and /healthz on 127.0.0.1:{port}" in bot.log


# -- /healthz with a database or Redis gone (in-process, real unreachable servers) ----------------


def _health(database_url: str, tmp_path: Path, *, redis_url: str = "", last_poll: float | None = None,
            started: float | None = None):
    """The bot's HealthCheck over real storage (the parts of ``services`` it reads)."""
    from aiogram.fsm.storage.redis import RedisStorage

    from studymate.bot.http_server import HealthCheck
    from studymate.bot.infra.failover import FailoverStorage, redis_client
    from studymate.bot.infra.storage import DatabaseStorage
    from studymate.db.connection import Db, open_database

    db = Db(open_database(database_url, pool_size=1), threads=1)
    storage = DatabaseStorage(db)
    if redis_url:
        storage = FailoverStorage(RedisStorage(redis_client(redis_url)), storage)
    services = SimpleNamespace(db=db, storage=storage)
    heartbeat = SimpleNamespace(last_poll=time.time() if last_poll is None else last_poll)
    return HealthCheck(services, heartbeat, stale_after=90, started=started), services


async def _close(checker, services) -> None:
    checker.close()
    await services.storage.close()
    await asyncio.to_thread(services.db.close)


async def test_healthz_is_503_for_a_stale_poll_and_a_database_that_is_gone(database_url, tmp_path):
    checker, services = _health(database_url, tmp_path)
    try:
        status, body = await checker.check()
        assert (status, body["status"], body["database"]) == (200, "ok", "ok")
        assert body["schema_version"] is not None

        checker.heartbeat.last_poll = time.time() - 120  # 2 minutes without a successful poll
        status, body = await checker.check()
        assert (status, body["problems"]) == (503, ["no_updates"])
        assert body["last_poll_age_seconds"] >= 120

        checker.heartbeat.last_poll = 0.0  # never polled: fine while young, not after the limit
        checker.started = time.time()
        assert (await checker.check())[0] == 200
        checker.started = time.time() - 100
        assert (await checker.check())[1]["problems"] == ["never_polled"]
    finally:
        await _close(checker, services)

    gone = [f"sqlite:///{tmp_path / 'removed' / 'studymate.db'}", "postgresql://postgres@127.0.0.1:1/studymate"]
    for url in gone:  # a deleted SQLite file; a PostgreSQL server that refuses connections
        checker, services = _health(url, tmp_path)
        try:
            started = time.monotonic()
            status, body = await checker.check()
            assert (status, body["database"], body["problems"]) == (503, "down", ["database"]), url
            assert body["schema_version"] is None
            assert time.monotonic() - started < 5
        finally:
            await _close(checker, services)
    assert not (tmp_path / "removed" / "studymate.db").exists()


@pytest.mark.services
async def test_healthz_reports_redis_down_but_stays_200(database_url, private_redis, tmp_path):
    checker, services = _health(database_url, tmp_path, redis_url=private_redis.url)
    try:
        status, body = await checker.check()
        assert (status, body["redis"], body["fsm_storage"]) == (200, "ok", "redis")
        private_redis.stop()
        status, body = await checker.check()
        assert (status, body["redis"], body["problems"]) == (200, "down", [])
    finally:
        await _close(checker, services)


# -- the database figures -------------------------------------------------------------------------


def test_snapshot_counts_the_queue_live_attempts_and_the_oldest_missed_deadline(db):
    from zoneinfo import ZoneInfo

    from studymate.db.models import Quiz, QuizQuestion
    from studymate.services import enrollment, mentors, monitoring, outbox
    from studymate.services.enrollment import TelegramProfile
    from studymate.services.outbox import Outgoing
    from studymate.services.quiz import engine as quiz_engine

    assert monitoring.snapshot() == monitoring.Snapshot(0, 0, 0.0)
    mentors.add_mentor(telegram_id=MENTOR_ID, name="Anna", group_chat_id=-1, language="ru")
    mentor_id = enrollment.identify(MENTOR_ID, ttl=0).mentor_id
    quiz = Quiz.create(mentor=mentor_id, title="Python", quiz_type="practice")
    QuizQuestion.create(quiz=quiz, question_text="Q", option_a="a", option_b="b", option_c="c",
                        option_d="d", correct_answer="A", order=1)
    t0 = dt.datetime(2026, 3, 10, 9, 0, 0)
    for n in range(2):
        enrollment.enroll(TelegramProfile(STUDENT_ID + n, None, f"S{n}", ""), mentor_id=mentor_id, language="ru")
        quiz_engine.start(STUDENT_ID + n, quiz.id, tz=ZoneInfo("UTC"), now=t0 + dt.timedelta(seconds=10 * n),
                          base_seconds=20)
    outbox.enqueue([Outgoing(STUDENT_ID, "sendMessage", {"text": "hi"})] * 3, kind="test")

    # The first deadline passed 25 s ago, the second 15 s ago: the lag is the older one.
    figures = monitoring.snapshot(now=t0 + dt.timedelta(seconds=45))
    assert figures == monitoring.Snapshot(outbox_pending=3, quiz_attempts_active=2, quiz_overdue_seconds=25.0)
    assert monitoring.snapshot(now=t0 + dt.timedelta(seconds=5)).quiz_overdue_seconds == 0.0


# -- the watchdog ---------------------------------------------------------------------------------


@pytest.mark.backend_agnostic
def test_watchdog_counts_checks_restarts_and_alerts(tmp_path):
    from test_watchdog import Rig

    from studymate.ops.watchdog.metrics import WatchdogMetrics

    rig = Rig(tmp_path)
    metrics = WatchdogMetrics()
    rig.dog.metrics = metrics
    rig.dog.reporter.notifier = metrics.counting(rig.dog.reporter.notifier)

    def sample(name: str, **labels: str) -> float:
        return metrics.registry.get_sample_value(name, labels) or 0.0

    rig.rounds(2, beating=True)
    assert sample("studymate_watchdog_check_ok", subject="program:bot") == 1
    assert sample("studymate_watchdog_rounds_total") == 2
    assert sample("studymate_watchdog_last_round_timestamp_seconds") == rig.clock()

    rig.rounds(7)  # the bot stops polling: stale after 90 s, restarted, one alert
    assert sample("studymate_watchdog_check_ok", subject="program:bot") == 0
    assert sample("studymate_watchdog_restarts_total", program="bot", action="restart") == 1
    assert sample("studymate_watchdog_alerts_total", type="alert", kind="not_polling") == 1
    served = {s.name for family in metrics.registry.collect() for s in family.samples}
    wanted = dashboard_series("studymate_watchdog_") | {"process_resident_memory_bytes"}
    assert wanted <= served, f"the dashboard queries {wanted - served}, not served"

    rig.sup.set("bot", "RUNNING")
    rig.rounds(2, beating=True)
    assert sample("studymate_watchdog_check_ok", subject="program:bot") == 1
    assert sample("studymate_watchdog_alerts_total", type="recovery", kind="not_polling") == 1
    assert sample("studymate_watchdog_alerts_total", type="alert", kind="not_polling") == 1


@pytest.mark.backend_agnostic
async def test_watchdog_process_serves_its_metrics_and_stops_at_once(tmp_path):
    port = free_port()
    env = {"PATH": os.environ["PATH"], "STUDYMATE_ENV_FILE": os.devnull, "STUDYMATE_RUNTIME_DIR": str(tmp_path / "run"),
           "STUDYMATE_STATE_DIR": str(tmp_path / "state"), "STUDYMATE_LOG_DIR": str(tmp_path / "log"), "STUDYMATE_WATCHDOG_INTERVAL": "1",
           "STUDYMATE_WATCHDOG_HTTP_PORT": str(port), "STUDYMATE_DISK_MIN_FREE_MB": "0", "STUDYMATE_DISK_MIN_FREE_PERCENT": "0.001"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "studymate", "watchdog", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        err = b""
        while b"watching every" not in err:
            line = await asyncio.wait_for(proc.stderr.readline(), 20)
            assert line, err.decode()
            err += line
        deadline = time.monotonic() + 15
        while True:
            samples = await scrape(port)
            if value(samples, "studymate_watchdog_rounds_total") >= 2:
                break
            assert time.monotonic() < deadline, samples
            await asyncio.sleep(0.3)
        # No supervisord in this test: that is a problem; the disk is fine.
        assert value(samples, "studymate_watchdog_check_ok", subject="supervisor") == 0
        disks = [v for (name, labels), v in samples.items()
                 if name == "studymate_watchdog_check_ok" and dict(labels)["subject"].startswith("disk:")]
        assert disks and all(v == 1 for v in disks)
        stopped = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(proc.communicate(), 10)
        assert proc.returncode == 0 and time.monotonic() - stopped < 3, (err + rest).decode()[-2000:]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
