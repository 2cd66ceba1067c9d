"""``studymate watchdog``: what the admins are told, and what it does to a broken bot.

Most tests drive one round at a time (:meth:`Watchdog.step`) with a fake clock, a supervisor
double that keeps process infos and exit records like supervisord (with our events plugin)
does, and the real alert service with a sender that records messages. The end-to-end test runs a real supervisord with the real bot polling the
fake Bot API server and the real watchdog, then kills and freezes the bot.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
import signal
import sys
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest
from e2e import ADMIN_ID, TOKEN, bot_env, plain

from studymate.ops.alerts import Alerts, MemoryStore, telegram_alerts
from studymate.ops.health import Exit
from studymate.ops.supervisor.client import SupervisorClient, SupervisorUnavailable
from studymate.ops.supervisor.memory import process_tree
from studymate.ops.supervisor.run import heartbeat_mtime
from studymate.ops.watchdog import checks as health
from studymate.ops.watchdog.checks import Finding, ok, problem
from studymate.ops.watchdog.daemon import FATAL_RETRY, PeriodicCheck, Watchdog, WatchdogConfig
from studymate.ops.watchdog.reporter import (
    ALERT_COOLDOWN,
    REMIND_AFTER,
    AlertsNotifier,
    Reporter,
    guarded_store,
)

BASE = 1_900_000_000.0  # a whole second, so log stamps (1 s resolution) compare cleanly
STALE = 90.0


class Clock:
    def __init__(self) -> None:
        self.now = BASE

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSupervisor:
    """The XML-RPC calls the watchdog makes, over an in-memory process table and exit records."""

    def __init__(self, clock: Clock, names: tuple[str, ...] = ("bot", "watchdog")) -> None:
        self.clock = clock
        self.statename = "RUNNING"
        self.next_pid = 100
        self.procs: dict[str, dict[str, Any]] = {}
        self.exited: list[Exit] = []
        self.calls: list[tuple[str, ...]] = []
        for name in names:
            self.spawn(name, "RUNNING", start=clock() - 1000)

    def spawn(self, name: str, state: str = "STARTING", start: float | None = None) -> None:
        self.next_pid += 1
        self.procs[name] = {
            "name": name, "group": name, "statename": state, "pid": self.next_pid,
            "start": self.clock() if start is None else start, "now": self.clock(), "spawnerr": "",
        }

    def crash(self, name: str, reason: str = "terminated by SIGKILL") -> None:
        self.exited.append(Exit(name, self.clock(), expected=False, reason=reason, seq=len(self.exited) + 1))
        self.spawn(name)

    def set(self, name: str, state: str, **extra: Any) -> None:
        self.procs[name].update(statename=state, **extra)

    # -- the client's interface --
    def state(self) -> str:
        return self.statename

    def processes(self) -> list[dict[str, Any]]:
        return [{**info, "now": self.clock()} for info in self.procs.values()]

    def exits(self, since: int = 0) -> list[Exit]:
        return [item for item in self.exited if item.seq > since]

    def start(self, name: str) -> None:
        self.calls.append(("start", name))
        self.spawn(name.split(":")[-1])

    def stop(self, name: str) -> None:
        self.calls.append(("stop", name))
        self.set(name.split(":")[-1], "STOPPING")

    def signal(self, name: str, signame: str) -> None:
        self.calls.append(("signal", name, signame))

    def info(self, name: str) -> dict[str, Any]:
        info = self.procs[name.split(":")[-1]]
        if info["statename"] == "STOPPING":  # it stops while we look
            info["statename"] = "STOPPED"
            return {**info, "statename": "STOPPING"}
        return info


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, chat_id: int, text: str, *, key: str) -> None:
        self.sent.append((key, text))

    async def close(self) -> None:
        pass


class Recorder(AlertsNotifier):
    """The watchdog's alert service, deduplicating in memory, keeping the English texts it sends."""

    def __init__(self, clock: Clock) -> None:
        self.outbox = RecordingSender()
        super().__init__(lambda: Alerts(store=MemoryStore(clock), sender=self.outbox, admin_ids=[1],
                                        default_language="en", cooldown=ALERT_COOLDOWN))

    @property
    def sent(self) -> list[tuple[str, str]]:
        return self.outbox.sent

    @property
    def keys(self) -> list[str]:
        return [key for key, _ in self.sent]


class Rig:
    def __init__(self, tmp_path: Path, *, checks: list[PeriodicCheck] | None = None,
                 ping=None, state_path: Path | None = None, stale: float = STALE) -> None:
        self.clock = Clock()
        self.sup = FakeSupervisor(self.clock)
        self.notes = Recorder(self.clock)
        self.beat_file = tmp_path / "bot.heartbeat"
        self.pings: list[str] = []
        config = WatchdogConfig(heartbeat_file=self.beat_file, stale=stale, ping_url="http://hc.example/ping/secret-uuid",
                                checks=checks or [])
        self.dog = Watchdog(config, control=self.sup, reporter=Reporter(self.notes, state_path=state_path),
                            clock=self.clock, ping=ping or self.pings.append, sleep=lambda s: None)
        self.beat()

    def beat(self) -> None:
        self.beat_file.write_text("x")
        os.utime(self.beat_file, (self.clock(), self.clock()))

    def rounds(self, count: int, every: float = 15.0, *, beating: bool = False) -> None:
        for _ in range(count):
            self.clock.advance(every)
            if beating:
                self.beat()
            self.dog.step()


def en(key: str, **params: Any) -> str:
    from studymate.i18n import t

    return t(key, "en", **params)


# -- programs and the heartbeat -----------------------------------------------------------------


def test_killed_bot_is_one_alert_then_one_recovery_once_it_polls_again(tmp_path):
    rig = Rig(tmp_path)
    rig.rounds(3, beating=True)
    assert rig.notes.sent == []

    rig.clock.advance(2)
    rig.sup.crash("bot")  # kill -9: supervisor logs it and spawns a new bot at once
    rig.rounds(1)
    assert rig.notes.sent == [("watchdog:program:bot:crashed",
                               en("admin_watchdog_crashed", program="bot", reason="terminated by SIGKILL"))]
    rig.rounds(1)  # still STARTING
    rig.sup.set("bot", "RUNNING")
    rig.rounds(2)  # RUNNING, but it has not polled yet: not a recovery
    assert len(rig.notes.sent) == 1
    rig.rounds(3, beating=True)
    assert rig.notes.sent[1] == ("watchdog:program:bot:crashed:ok", en("admin_watchdog_program_ok", program="bot"))
    assert len(rig.notes.sent) == 2
    assert rig.sup.calls == []  # supervisor restarted it; the watchdog did nothing to it


def test_frozen_bot_is_restarted_with_sigcont_and_restarts_back_off(tmp_path):
    rig = Rig(tmp_path)
    rig.rounds(2, beating=True)
    frozen_at = rig.clock()
    rig.rounds(5)  # 75 s without a heartbeat: still fine
    assert rig.notes.sent == [] and rig.sup.calls == []
    rig.rounds(1)  # 90 s
    rig.rounds(1)  # 105 s: stale
    assert rig.notes.keys == ["watchdog:program:bot:not_polling"]
    assert rig.notes.sent[0][1] == en("admin_watchdog_not_polling", seconds=round(rig.clock() - frozen_at))
    assert rig.sup.calls == [("stop", "bot:bot"), ("signal", "bot:bot", "CONT"), ("start", "bot:bot")]

    # The new bot does not poll either (Telegram unreachable): restarted again, less often.
    rig.sup.set("bot", "RUNNING")
    restarts = []
    for _ in range(80):  # 20 minutes
        before = len(rig.sup.calls)
        rig.rounds(1)
        if len(rig.sup.calls) > before:
            restarts.append(rig.clock())
            rig.sup.set("bot", "RUNNING")
    gaps = [b - a for a, b in zip(restarts, restarts[1:], strict=False)]
    assert len(restarts) >= 3 and gaps == sorted(gaps) and gaps[-1] >= 2 * gaps[0]
    assert rig.notes.keys == ["watchdog:program:bot:not_polling"], "one alert, however many restarts"

    rig.rounds(2, beating=True)
    assert rig.notes.keys[-1] == "watchdog:program:bot:not_polling:ok"
    assert len(rig.notes.sent) == 2


def test_young_bot_before_its_first_poll_is_not_a_problem(tmp_path):
    rig = Rig(tmp_path)
    rig.sup.spawn("bot", "RUNNING")
    rig.beat_file.unlink()
    rig.rounds(5, every=15.0)  # 75 s < HEARTBEAT_STALE_SECONDS
    assert rig.notes.sent == [] and rig.sup.calls == []

    quick = Rig(tmp_path, stale=6)  # a short limit still leaves a minute to start up
    quick.sup.spawn("bot", "RUNNING")
    quick.beat_file.unlink()
    quick.rounds(11, every=5.0)
    assert quick.notes.sent == []
    quick.rounds(2, every=5.0)
    assert quick.notes.keys == ["watchdog:program:bot:not_polling"]
    quick.sup.set("bot", "RUNNING", start=quick.clock())
    quick.rounds(1, beating=True)
    quick.rounds(1, every=5.0)
    assert quick.notes.keys == ["watchdog:program:bot:not_polling", "watchdog:program:bot:not_polling:ok"]
    quick.rounds(1, every=2.0)  # once it has polled, the short limit applies
    assert len(quick.sup.calls) == 6


def test_crash_loop_is_reported_once_over_the_single_crashes(tmp_path):
    rig = Rig(tmp_path)
    rig.rounds(1, beating=True)
    for _ in range(3):
        rig.clock.advance(5)
        rig.sup.crash("bot", "exit status 1")
        rig.rounds(1)
        rig.sup.set("bot", "RUNNING")
        rig.rounds(1, beating=True)
    assert rig.notes.keys == [
        "watchdog:program:bot:crashed",
        "watchdog:program:bot:crashed:ok",
        # the second crash is within the cooldown of the first: held back, and so is its recovery
        "watchdog:program:bot:crash_loop",
    ]
    assert rig.notes.sent[2][1] == en("admin_watchdog_crash_loop", program="bot", crashes=3, minutes=10)
    rig.rounds(30, beating=True)  # 7.5 min: still within the crash-loop window
    assert len(rig.notes.sent) == 3
    rig.rounds(10, beating=True)
    assert rig.notes.keys[-1] == "watchdog:program:bot:crash_loop:ok" and len(rig.notes.sent) == 4


def test_fatal_program_is_alerted_once_and_started_again_after_a_growing_pause(tmp_path):
    rig = Rig(tmp_path)
    rig.sup.spawn("backup_schedule", "FATAL")
    rig.sup.procs["backup_schedule"]["spawnerr"] = "Exited too quickly (process log may have details)"
    rig.rounds(1, beating=True)
    assert rig.notes.sent == [("watchdog:program:backup_schedule:fatal", en(
        "admin_watchdog_fatal", program="backup_schedule",
        reason="Exited too quickly (process log may have details)", minutes=round(FATAL_RETRY / 60)))]
    starts: list[float] = []
    for _ in range(120):  # 30 minutes of a program that never starts
        before = len(rig.sup.calls)
        rig.rounds(1, beating=True)
        if len(rig.sup.calls) > before:
            starts.append(rig.clock())
            rig.sup.set("backup_schedule", "FATAL")  # and fails again
    assert [c[0] for c in rig.sup.calls] == ["start"] * len(starts)
    assert len(starts) == 2 and starts[1] - starts[0] > 1.9 * FATAL_RETRY
    assert len(rig.notes.sent) == 1, "the same problem is not repeated"


def test_a_stopping_appliance_and_a_short_stop_are_not_news(tmp_path):
    rig = Rig(tmp_path)
    rig.rounds(1, beating=True)
    rig.sup.statename = "SHUTDOWN"
    rig.sup.set("bot", "STOPPED")
    rig.rounds(10)
    assert rig.notes.sent == []
    rig.sup.statename = "RUNNING"
    rig.rounds(3)  # 45 s STOPPED (an operator's supervisorctl restart)
    rig.sup.spawn("bot", "RUNNING")
    rig.rounds(1, beating=True)
    assert rig.notes.sent == []
    rig.sup.set("bot", "STOPPED")
    rig.rounds(5)
    assert rig.notes.sent == [("watchdog:program:bot:down", en("admin_watchdog_down", program="bot", state="STOPPED"))]
    assert rig.sup.calls == [], "a program someone else stopped is not started behind their back"


def test_unreachable_supervisor_is_reported_after_a_grace_period(tmp_path):
    rig = Rig(tmp_path)

    def unavailable() -> str:
        raise SupervisorUnavailable("no answer on /run/studymate/supervisor.sock")

    rig.sup.state = unavailable
    rig.rounds(3, every=10)
    assert rig.notes.sent == []
    rig.rounds(3, every=10)
    assert rig.notes.keys == ["watchdog:supervisor:supervisor_down"]
    del rig.sup.state
    rig.rounds(1, beating=True)
    assert rig.notes.keys[-1] == "watchdog:supervisor:supervisor_down:ok"

    def busy() -> str:
        raise xmlrpc.client.Fault(6, "SHUTDOWN_STATE")

    rig.sup.state = busy
    rig.rounds(10)
    assert len(rig.notes.sent) == 2


# -- other checks, deduplication and reminders --------------------------------------------------


def scripted(subject_results: list[Finding | None]) -> PeriodicCheck:
    """A check returning the next scripted finding each round (the last one repeats)."""
    script = list(subject_results)

    def run(now: float) -> list[Finding]:
        result = script.pop(0) if len(script) > 1 else script[0]
        return [result] if result is not None else []

    return PeriodicCheck("scripted", 0.0, run)


def test_flapping_database_is_deduplicated_and_held_alerts_are_counted(tmp_path):
    down = problem("database", "database_down", error="connection refused")
    up = ok("database")
    rounds = [down] * 4 + [up] * 4 + [down] * 4 + [up] * 4 + [down] * 50  # a round every 15 s
    rig = Rig(tmp_path, checks=[scripted(rounds)])
    rig.rounds(2, beating=True)
    assert rig.notes.sent == [], "a blip shorter than 30 s is not news"
    rig.rounds(2, beating=True)
    assert rig.notes.keys == ["watchdog:database:database_down"]
    rig.rounds(4, beating=True)
    assert rig.notes.keys[-1] == "watchdog:database:database_down:ok"
    rig.rounds(8, beating=True)  # down and up again within the cooldown: held back, no recovery
    assert len(rig.notes.sent) == 2
    rig.rounds(40, beating=True)  # down again, still within the cooldown
    assert len(rig.notes.sent) == 2
    rig.rounds(5, beating=True)  # cooldown over: told, with what was held back
    assert rig.notes.sent[2][1] == (
        en("admin_watchdog_database_down", error="connection refused") + "\n" + en("admin_watchdog_suppressed", count=2)
    )
    rig.rounds(20, beating=True)
    assert len(rig.notes.sent) == 3


def test_a_persisting_problem_is_repeated_only_after_hours(tmp_path):
    rig = Rig(tmp_path, checks=[scripted([problem("disk:/var", "disk_low", path="/var", free="12 MB", percent=0.1)])])
    rig.rounds(1, beating=True)
    rig.rounds(int(REMIND_AFTER / 600) - 1, every=600, beating=True)
    assert rig.notes.keys == ["watchdog:disk:/var:disk_low"]
    rig.rounds(2, every=600, beating=True)
    assert rig.notes.keys == ["watchdog:disk:/var:disk_low"] * 2


def test_redis_alerts_share_keys_with_the_bot(tmp_path):
    rig = Rig(tmp_path, checks=[scripted([problem("redis", "redis_down", error="refused")] * 3 + [ok("redis")])])
    rig.rounds(4, beating=True)
    assert rig.notes.keys == ["redis_down", "redis_back"]


def test_told_problems_survive_a_watchdog_restart(tmp_path):
    state = tmp_path / "state" / "watchdog-state.json"
    first = Rig(tmp_path, checks=[scripted([problem("backup", "backup_old", hours=50, last="x")])], state_path=state)
    first.rounds(1, beating=True)
    assert first.notes.keys == ["watchdog:backup:backup_old"]
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    second = Rig(tmp_path, checks=[scripted([ok("backup", last="2026-01-02 03:04")])], state_path=state)
    second.rounds(1, beating=True)
    assert second.notes.sent == [("watchdog:backup:backup_old:ok", en("admin_watchdog_backup_ok", last="2026-01-02 03:04"))]


def test_dead_mans_switch_is_pinged_only_while_healthy_and_never_logs_the_url(tmp_path, caplog):
    calls: list[str] = []
    results = [ok("database")] * 8 + [problem("database", "database_down", error="x")] * 12 + [ok("database")] * 20

    def ping(url: str) -> None:
        calls.append(url)
        if len(calls) == 2:
            raise OSError("Connection refused")

    rig = Rig(tmp_path, checks=[scripted(results)], ping=ping)
    with caplog.at_level(logging.INFO):
        rig.rounds(8, beating=True)  # 2 minutes healthy: one ping a minute
        assert len(calls) == 2
        rig.rounds(12, beating=True)  # unhealthy
        assert len(calls) == 2
        rig.rounds(8, beating=True)
    assert len(calls) >= 3 and set(calls) == {"http://hc.example/ping/secret-uuid"}
    assert "health-check ping to hc.example failed" in caplog.text
    assert "secret-uuid" not in caplog.text


def test_disk_backup_and_error_checks(tmp_path):
    gib = 1024**3
    low = health.check_disks([tmp_path], min_free_mb=500, min_free_percent=10,
                             usage=lambda p: (100 * gib, 99.7 * gib, 0.3 * gib))
    assert [f.kind for f in low] == ["disk_low"] and low[0].params["percent"] == 0.3
    big = health.check_disks([tmp_path, tmp_path / "sub" / "missing"], min_free_mb=500, min_free_percent=10,
                             usage=lambda p: (1000 * gib, 950 * gib, 50 * gib))
    assert [f.kind for f in big] == ["disk_low"], "5% free of a big disk is still low; one file system, one finding"
    fine = health.check_disks([tmp_path], min_free_mb=500, min_free_percent=10, usage=lambda p: (10 * gib, 5 * gib, 5 * gib))
    assert [f.kind for f in fine] == [None]

    now = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    tz = dt.timezone(dt.timedelta(hours=5))
    args = {"max_age_hours": 36, "now": now, "tz": tz}
    assert health.check_backup(None, watching_since=now - dt.timedelta(minutes=5), **args).known is False
    assert health.check_backup(None, watching_since=now - dt.timedelta(hours=2), **args).kind == "backup_none"
    old = health.check_backup(now - dt.timedelta(hours=40), watching_since=now, **args)
    assert (old.kind, old.params) == ("backup_old", {"hours": 40, "last": "2026-02-28 01:00"})
    assert health.check_backup(now - dt.timedelta(hours=20), watching_since=now, **args).kind is None

    # The bot's error counter, read from its /metrics about once a minute (no log is read).
    now = time.time()

    def reading(total: float, last: str = "aiogram.dispatcher: Failed to fetch updates", started: float = now - 900):
        return health.BotErrors(total=total, started=started, last=last)

    leak = reading(46, last=f"studymate.bot: token {TOKEN} leaked")
    rate = health.ErrorRate()
    assert health.check_errors(rate, reading(40), max_errors=6, now=now - 660).kind is None  # 40 before we watched
    assert health.check_errors(rate, reading(45), max_errors=6, now=now - 60).kind is None
    found = health.check_errors(rate, leak, max_errors=6, now=now)
    assert found.kind == "errors" and found.params["count"] == 6
    assert TOKEN not in found.params["last"] and "<redacted-token>" in found.params["last"]
    assert health.check_errors(rate, leak, max_errors=6, now=now + 600).kind is None, "10 minutes later"
    again = health.ErrorRate()
    again.add(now - 660, reading(40))
    again.add(now - 60, reading(45))
    assert health.check_errors(again, leak, max_errors=7, now=now).kind is None
    assert health.check_errors(again, None, max_errors=1, now=now).kind is None  # the bot is silent: unknown
    restarted = health.check_errors(again, reading(3, started=now - 5), max_errors=7, now=now + 1)
    assert restarted.kind == "errors" and restarted.params["count"] == 9, "a new bot process counts from 0"

    # The reason of the newest unexpected exit is what the admins read; expected exits are no crash.
    exits = [Exit("bot", 1.0, expected=False, reason="terminated by SIGKILL"),
             Exit("bot", 2.0, expected=False, reason="exit status 1"),
             Exit("logrotate", 3.0, expected=True, reason="exit status 0")]
    from studymate.ops.health import crash_times
    assert crash_times(exits) == {"bot": [1.0, 2.0]}


# -- Telegram delivery ------------------------------------------------------------------------------


def _settings(database_url: str, fake, tmp_path: Path):
    from studymate.config import Settings

    return Settings(
        _env_file=None, bot_token=TOKEN, admin_telegram_ids=[ADMIN_ID], telegram_api_url=fake.base_url,
        database_url=database_url, state_dir=tmp_path / "state", log_dir=tmp_path / "log",
        runtime_dir=tmp_path / "run",
    )


def _admin_texts(fake) -> list[str]:
    return [m["text"] for m in fake.messages(ADMIN_ID) if m["outgoing"]]


def _notifier(settings, guarded: health.GuardedDb) -> AlertsNotifier:
    return AlertsNotifier(lambda: telegram_alerts(settings, guarded_store(guarded), cooldown=ALERT_COOLDOWN))


async def test_alerts_reach_admins_in_their_language_and_are_deduplicated_in_the_database(fake, db, database_url, tmp_path):
    from studymate.db.connection import open_database
    from studymate.db.models import AlertLog
    from studymate.ops.alerts import Problem
    from studymate.services import mentors

    mentors.add_mentor(telegram_id=ADMIN_ID, name="Admin", group_chat_id=-100, language="en")
    fake.add_user(ADMIN_ID, "Admin")
    guarded = health.GuardedDb(open_database(database_url, pool_size=1))
    params = {"path": "/", "free": "12 MB", "percent": 0.1}
    key = "watchdog:disk:/:disk_low"
    try:
        notifier = _notifier(_settings(database_url, fake, tmp_path), guarded)
        send = lambda: notifier.send(Problem.DISK_LOW, params, key=key)  # noqa: E731
        assert await asyncio.to_thread(send) is True
        assert await asyncio.to_thread(send) is False
        notifier = _notifier(_settings(database_url, fake, tmp_path), guarded)  # a restarted watchdog
        send = lambda: notifier.send(Problem.DISK_LOW, params, key=key)  # noqa: E731
        assert await asyncio.to_thread(send) is False  # still knows, from the database
        row = await asyncio.to_thread(guarded.call, AlertLog.get, AlertLog.key == key)
    finally:
        guarded.close()
    assert _admin_texts(fake) == [plain("admin_watchdog_disk_low", "en", **params)]
    assert row.suppressed == 2


async def test_alerts_still_go_out_while_the_database_is_down(fake, tmp_path):
    fake.add_user(ADMIN_ID, "Admin")
    from studymate.db.connection import open_database
    from studymate.ops.alerts import Problem

    url = "postgresql://nobody@127.0.0.1:1/gone"
    guarded = health.GuardedDb(open_database(url, pool_size=1), timeout=3)
    try:
        found = await asyncio.to_thread(health.check_database, guarded)
        assert found.kind == "database_down" and "refused" in found.params["error"]
        notifier = _notifier(_settings(url, fake, tmp_path), guarded)
        send = lambda: notifier.send(Problem.DATABASE_DOWN, found.params, key="watchdog:database:database_down")  # noqa: E731
        assert await asyncio.to_thread(send) is True
        assert await asyncio.to_thread(send) is False
    finally:
        guarded.close()
    assert _admin_texts(fake) == [plain("admin_watchdog_database_down", "ru", **found.params)]


async def test_missing_sqlite_file_is_reported_not_created(tmp_path):
    from studymate.db.connection import open_database

    path = tmp_path / "state" / "studymate.db"
    guarded = health.GuardedDb(open_database(f"sqlite:///{path}"))
    try:
        found = await asyncio.to_thread(health.check_database, guarded)
    finally:
        guarded.close()
    assert found.kind == "database_down" and "does not exist" in found.params["error"]
    assert not path.exists()


# -- the process ------------------------------------------------------------------------------------


async def test_daemon_stops_on_sigterm_at_once_and_never_loads_aiogram(tmp_path):
    env = {"PATH": os.environ["PATH"], "STUDYMATE_ENV_FILE": os.devnull, "STUDYMATE_RUNTIME_DIR": str(tmp_path / "run"),
           "STUDYMATE_STATE_DIR": str(tmp_path / "state"), "STUDYMATE_LOG_DIR": str(tmp_path / "log"), "STUDYMATE_WATCHDOG_INTERVAL": "30"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-X", "importtime", "-m", "studymate", "watchdog", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    err = b""
    while b"watching every 30 s" not in err:
        line = await asyncio.wait_for(proc.stderr.readline(), 20)
        assert line, err.decode()
        err += line
    await asyncio.sleep(0.5)  # in its wait between rounds
    stopped = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, rest = await asyncio.wait_for(proc.communicate(), 10)
    took = time.monotonic() - stopped
    err += rest
    assert proc.returncode == 0 and took < 3, err.decode()[-2000:]
    assert out == b"", "stdout is not used"
    imported = [line.split("|")[-1].strip() for line in err.decode().splitlines() if line.startswith("import time:")]
    assert "studymate.ops.watchdog.daemon" in imported and not [m for m in imported if m.startswith("aiogram")]


# -- the appliance: real supervisord, real bot, real watchdog --------------------------------------


class Appliance:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.sock = Path(env["STUDYMATE_RUNTIME_DIR"]) / "supervisor.sock"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *args: str) -> None:
        with (self.cwd / "supervise.out").open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "studymate", "supervise", *args, env=self.env, cwd=self.cwd,
                stdout=out, stderr=asyncio.subprocess.STDOUT,
            )

    def logs(self, name: str) -> str:
        path = Path(self.env["STUDYMATE_LOG_DIR"]) / name
        return path.read_text(errors="replace") if path.exists() else ""

    def program(self, name: str) -> dict[str, Any]:
        try:
            infos = SupervisorClient(self.sock, timeout=2).processes()
        except SupervisorUnavailable:
            return {}
        return next((i for i in infos if i["name"] == name), {})

    async def until(self, what: str, predicate, timeout: float) -> float:
        started = time.monotonic()
        while not predicate():
            assert self.proc is not None and self.proc.returncode is None, self.logs("supervisord.log")
            assert time.monotonic() - started < timeout, (
                f"{what}: not within {timeout} s\n--- watchdog.log\n{self.logs('watchdog.log')[-3000:]}"
                f"\n--- supervisord.log\n{self.logs('supervisord.log')[-2000:]}"
            )
            await asyncio.sleep(0.2)
        return time.monotonic() - started

    async def terminate(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), 40)
        return self.proc.returncode

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            for pid in process_tree([self.proc.pid]):
                os.kill(pid, signal.SIGKILL)
            await self.proc.wait()


@pytest.mark.e2e
async def test_appliance_killed_and_frozen_bot(fake, database_url, tmp_path):
    stranger = 777
    fake.add_user(ADMIN_ID, "Admin")
    fake.add_user(stranger, "Passer-by")
    env = bot_env(fake=fake, database_url=database_url, tmp_path=tmp_path,
                  STUDYMATE_WATCHDOG_INTERVAL="1", STUDYMATE_HEARTBEAT_STALE_SECONDS="6",
                  STUDYMATE_DISK_MIN_FREE_MB="0", STUDYMATE_DISK_MIN_FREE_PERCENT="0")
    beat_file = Path(env["STUDYMATE_RUNTIME_DIR"]) / "bot.heartbeat"
    app = Appliance(env, tmp_path)

    async def chatter() -> None:  # updates every second, so the bot's long polls return (and beat)
        while True:
            await fake.send_text(stranger, "hello")
            await asyncio.sleep(1.0)

    def polling() -> bool:
        info = app.program("bot")
        beat = heartbeat_mtime(beat_file)
        return info.get("statename") == "RUNNING" and beat is not None and beat >= info["start"]

    crashed = plain("admin_watchdog_crashed", program="bot", reason="terminated by SIGKILL")
    back = plain("admin_watchdog_program_ok", program="bot")
    not_polling = re.compile(re.escape(plain("admin_watchdog_not_polling", seconds=999)).replace("999", r"\d+"))
    talker = asyncio.create_task(chatter())
    try:
        await app.start("--programs", "watchdog,bot")
        await app.until("the bot polls", polling, 40)
        await asyncio.sleep(1)
        assert _admin_texts(fake) == [], "a healthy start is not news"

        # kill -9: supervisor restarts the bot; the admin hears of it once, and once of its return.
        old = app.program("bot")["pid"]
        os.kill(old, signal.SIGKILL)
        took = await app.until("alert and recovery", lambda: len(_admin_texts(fake)) >= 2, 40)
        assert _admin_texts(fake) == [crashed, back]
        assert app.program("bot")["pid"] != old
        print(f"\nkill -9: alert and recovery after {took:.1f} s")

        # SIGSTOP: the heartbeat goes stale, the watchdog restarts the bot through supervisor.
        await app.until("uptime past the stale limit", lambda: time.time() - app.program("bot")["start"] > 7, 20)
        frozen = app.program("bot")["pid"]
        os.kill(frozen, signal.SIGSTOP)
        restarted = await app.until(
            "a new bot", lambda: app.program("bot").get("pid") not in (frozen, 0, None), 120)
        polled = await app.until("the new bot polls", polling, 60)
        told = await app.until("recovery", lambda: len(_admin_texts(fake)) >= 4, 30)
        texts = _admin_texts(fake)
        assert not_polling.fullmatch(texts[2]) and texts[3] == back and len(texts) == 4, texts
        log = app.logs("supervisord.log")
        assert "stopped: bot (exit status 0)" in log, "SIGCONT let the frozen bot stop cleanly"
        assert not process_tree([frozen])
        print(f"SIGSTOP: new bot after {restarted:.1f} s, polling {polled:.1f} s later, "
              f"recovery told {told:.1f} s after that")

        await asyncio.sleep(1)
        assert len(_admin_texts(fake)) == 4, "no more messages"
    finally:
        talker.cancel()
        try:
            assert await app.terminate() == 0
            assert "stopped: watchdog (exit status 0)" in app.logs("supervisord.log")
        finally:
            await app.kill()
