"""Crashes are known from supervisord's process-state events, not from its log.

A real supervisord (our lean process, with the events plugin of supervisord.conf) runs a
program that exits with status 3 a second after it started (after ``startsecs``, so supervisor
restarts it forever and it never goes FATAL) and one that exits 0, an expected exit code. The
log level hides what the log would say: at ``critical`` not a single "exited:" line is written.
The watchdog still tells the admins of the crash, then of the crash loop, and ``studymate
status`` counts the crashes; the expected exits count for nothing.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_watchdog import Recorder

from studymate.ops.health import crash_times, summarize
from studymate.ops.supervisor.client import SupervisorClient, SupervisorUnavailable
from studymate.ops.watchdog.daemon import Watchdog, WatchdogConfig
from studymate.ops.watchdog.reporter import Reporter

pytestmark = pytest.mark.backend_agnostic

CONF = """
[supervisord]
nodaemon=true
logfile={tmp}/supervisord.log
loglevel={level}
pidfile={tmp}/supervisord.pid
childlogdir={tmp}

[unix_http_server]
file={tmp}/supervisor.sock
chmod=0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[rpcinterface:studymate]
supervisor.rpcinterface_factory = studymate.ops.supervisor.events:make_rpcinterface

[program:crasher]
command={python} -c "import time, sys; time.sleep(1.2); sys.exit(3)"
startsecs=1
startretries=100
autorestart=true
stdout_logfile={tmp}/crasher.log

[program:finisher]
command={python} -c "import time; time.sleep(1.2)"
startsecs=1
autorestart=true
stdout_logfile={tmp}/finisher.log
"""


@pytest.mark.parametrize("level", ["warn", "critical"])
def test_crashes_are_seen_whatever_the_log_says(tmp_path: Path, level: str):
    conf = tmp_path / "supervisord.conf"
    conf.write_text(CONF.format(tmp=tmp_path, level=level, python=sys.executable))
    sock = tmp_path / "supervisor.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "studymate.ops.supervisor", str(conf), str(sock)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
    )
    client = SupervisorClient(sock, timeout=5)
    notes = Recorder(time.time)
    dog = Watchdog(WatchdogConfig(heartbeat_file=tmp_path / "bot.heartbeat"), control=client,
                   reporter=Reporter(notes))
    try:
        kinds: list[str] = []
        deadline = time.monotonic() + 40
        while "watchdog:program:crasher:crash_loop" not in notes.keys:
            assert proc.poll() is None and time.monotonic() < deadline, notes.keys
            try:
                findings = dog.step()
            except SupervisorUnavailable:
                findings = []
            kinds += [f.kind.kind for f in findings if f.subject == "program:crasher" and f.kind]
            time.sleep(0.3)
        exits = client.exits()
        assert {(e.name, e.expected) for e in exits} == {("crasher", False), ("finisher", True)}
        assert {e.reason for e in exits if e.name == "crasher"} == {"exit status 3"}
        verdict = summarize(client.state(), client.processes(), exits=crash_times(exits), stale_after=90)
        crasher = next(p for p in verdict.programs if p.name == "crasher")
        finisher = next(p for p in verdict.programs if p.name == "finisher")
        assert crasher.crashes >= 3 and crasher.problem and not verdict.healthy  # crash loop, or restarting
        assert finisher.crashes == 0, "an expected exit is no crash"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert "crashed" in kinds
    assert notes.keys[0] == "watchdog:program:crasher:crashed"
    assert notes.keys[-1] == "watchdog:program:crasher:crash_loop"
    assert "exit status 3" in notes.sent[0][1]
    assert not [key for key in notes.keys if "finisher" in key]
    log = (tmp_path / "supervisord.log").read_text()
    if level == "critical":
        assert "exited:" not in log, "nothing to read in the log"
