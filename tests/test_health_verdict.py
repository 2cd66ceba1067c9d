"""One health verdict: ``studymate status``, systemd's STATUS= line, ``/healthz`` and the watchdog
judge the bot with the same threshold (``HEARTBEAT_STALE_SECONDS``, 90 s by default).

Before, a heartbeat 90-120 s old made the watchdog restart the bot while ``studymate status``
and systemd (120 s) still called it healthy. Each consumer is asked through its own code path;
supervisord's answers come from a stand-in with the client's methods.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from studymate.cli import status
from studymate.config import Settings
from studymate.ops.alerts import Problem
from studymate.ops.supervisor.run import status_text
from studymate.ops.watchdog.daemon import Watchdog, WatchdogConfig
from studymate.ops.watchdog.reporter import Reporter


class Supervisord:
    """``state``, ``processes`` and ``exits`` as supervisord answers them: bot and watchdog up."""

    def __init__(self, bot_started: float) -> None:
        self.bot_started = bot_started

    def state(self) -> str:
        return "RUNNING"

    def processes(self) -> list[dict[str, Any]]:
        now = time.time()
        return [
            {"name": name, "group": name, "statename": "RUNNING", "pid": 100 + n, "start": start,
             "now": now, "spawnerr": ""}
            for n, (name, start) in enumerate([("bot", self.bot_started), ("watchdog", now - 3600)])
        ]

    def exits(self, since: int = 0) -> list:
        return []


class Nobody:
    def send(self, problem, params, *, key: str, recovery: bool = False) -> bool:
        return True


def _settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(_env_file=None, database_url=database_url, state_dir=tmp_path / "state",
                    log_dir=tmp_path / "log", runtime_dir=tmp_path / "run")


async def _healthz(settings: Settings, database_url: str, last_poll: float) -> int:
    """GET /healthz of the bot's HTTP app (aiohttp's test client), last poll ``last_poll``."""
    from studymate.bot.http_server import create_http_app
    from studymate.bot.infra.metrics import BotMetrics
    from studymate.bot.infra.storage import DatabaseStorage
    from studymate.db.connection import Db, open_database

    db = Db(open_database(database_url, pool_size=1), threads=1)
    runtime = SimpleNamespace(db=db, storage=DatabaseStorage(db), alerts=SimpleNamespace(on_sent=None))
    heartbeat = SimpleNamespace(last_poll=last_poll)
    app = create_http_app(settings, runtime, heartbeat, BotMetrics(runtime, heartbeat))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        response = await client.get("/healthz")
        return response.status
    finally:
        await client.close()
        from studymate.bot.http_server import HEALTH

        app[HEALTH].close()
        db.close()


def _watchdog_finding(settings: Settings, supervisord: Supervisord):
    config = WatchdogConfig(heartbeat_file=settings.heartbeat_file, stale=settings.heartbeat_stale_seconds)
    dog = Watchdog(config, control=supervisord, reporter=Reporter(Nobody()))
    findings, actions = dog.collect(time.time())
    [bot] = [f for f in findings if f.subject == "program:bot"]
    return bot, actions


@pytest.mark.parametrize(("age", "healthy"), [(100, False), (80, True)])
async def test_status_systemd_healthz_and_watchdog_agree_on_a_quiet_bot(tmp_path, database_url, age, healthy):
    settings = _settings(tmp_path, database_url)
    assert settings.heartbeat_stale_seconds == 90
    beat = time.time() - age
    settings.heartbeat_file.parent.mkdir(parents=True)
    settings.heartbeat_file.write_text(f"{beat:.3f}\n")
    os.utime(settings.heartbeat_file, (beat, beat))
    supervisord = Supervisord(bot_started=time.time() - 3600)  # up for an hour, polled, then quiet

    verdict = status.verdict(supervisord, settings)  # studymate status
    line, _settled = status_text(supervisord, status.bot_watch(settings))  # systemd's STATUS=
    finding, actions = _watchdog_finding(settings, supervisord)  # the watchdog
    code = await _healthz(settings, database_url, last_poll=beat)  # the bot's /healthz

    assert verdict.healthy is healthy, verdict.summary()
    assert line.startswith("healthy" if healthy else "UNHEALTHY"), line
    assert code == (200 if healthy else 503)
    assert (finding.kind is None) is healthy and finding.known
    if not healthy:
        assert "bot not polling Telegram (no heartbeat for 100 s)" in line
        assert finding.kind is Problem.NOT_POLLING and 100 <= finding.params["seconds"] <= 102
        assert [(a.verb, a.program) for a in actions] == [("restart", "bot:bot")]
    else:
        assert actions == []


async def test_a_young_bot_gets_the_same_start_up_grace_everywhere(tmp_path, database_url):
    """No heartbeat yet: everyone waits max(HEARTBEAT_STALE_SECONDS, 60 s) from the start."""
    settings = _settings(tmp_path, database_url).model_copy(update={"heartbeat_stale_seconds": 20})
    for started_ago, healthy in [(50, True), (70, False)]:
        supervisord = Supervisord(bot_started=time.time() - started_ago)
        verdict = status.verdict(supervisord, settings)
        line, _ = status_text(supervisord, status.bot_watch(settings))
        finding, _ = _watchdog_finding(settings, supervisord)
        assert verdict.healthy is healthy and line.startswith("healthy" if healthy else "UNHEALTHY")
        assert (finding.kind is Problem.NOT_POLLING) is not healthy
