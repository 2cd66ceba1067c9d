"""Program output reaches syslog (the journal under systemd) as well as its file in LOG_DIR.

supervisord.conf sets ``stdout_syslog=true`` (supervisor >= 4.2) next to each program's
``stdout_logfile``: supervisord then passes every line to syslog prefixed with the program's
name, and our lean supervisord opens syslog as ``studymate``, so ``journalctl -u studymate``
shows ``studymate[PID]: bot ...``. The first test reads the shipped file as supervisord does;
the second runs our lean supervisord with syslog's C call replaced by a file, which is what
the journal's socket would receive.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studymate.config import Settings
from studymate.ops.supervisor import config as supervisor_config

pytestmark = pytest.mark.backend_agnostic


def test_every_program_logs_to_its_file_and_to_syslog(tmp_path):
    settings = Settings(_env_file=None, state_dir=tmp_path / "state", log_dir=tmp_path / "log",
                        runtime_dir=tmp_path / "run")
    for directory in (settings.state_dir, settings.log_dir, settings.runtime_dir):
        directory.mkdir()
    conf = tmp_path / "run" / "supervisord.conf"
    conf.write_text(supervisor_config.find_template().read_text())
    parsed = supervisor_config.check(conf, supervisor_config.environment(settings))
    programs = {p.name: p for group in parsed.process_group_configs for p in group.process_configs}
    assert set(programs) == {"bot", "watchdog", "backup_schedule", "logrotate"}
    for name, program in programs.items():
        assert program.stdout_syslog is True, name
        assert program.stdout_logfile == f"{tmp_path}/log/{name}.log", name
        assert program.redirect_stderr is True, name  # stderr (the logging output) goes the same way


SUPERVISORD = """
import sys, syslog
out = open(sys.argv[1], "a", encoding="utf-8")
def openlog(ident="", logoption=0, facility=0):
    out.write(f"openlog {ident}\\n"); out.flush()
def send(*args):
    out.write(args[-1] + "\\n"); out.flush()
syslog.openlog, syslog.syslog = openlog, send  # the C calls that would reach /dev/log
from studymate.ops.supervisor.run import main
sys.exit(main(sys.argv[2:]))
"""

CONF = """
[supervisord]
nodaemon=true
logfile={tmp}/supervisord.log
pidfile={tmp}/supervisord.pid

[unix_http_server]
file={tmp}/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:bot]
command={python} -c "import sys; print('polling Telegram', flush=True); print('oops', file=sys.stderr)"
startsecs=0
autorestart=false
redirect_stderr=true
stdout_logfile={tmp}/bot.log
stdout_syslog=true
"""


def test_output_arrives_in_syslog_with_the_program_name_and_in_its_file(tmp_path: Path):
    received = tmp_path / "syslog.txt"
    conf = tmp_path / "supervisord.conf"
    conf.write_text(CONF.format(tmp=tmp_path, python=sys.executable))
    proc = subprocess.Popen(
        [sys.executable, "-c", SUPERVISORD, str(received), str(conf), str(tmp_path / "supervisor.sock")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 20
        while "bot oops" not in (received.read_text() if received.exists() else ""):
            assert proc.poll() is None and time.monotonic() < deadline, received.read_text()
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    lines = received.read_text().splitlines()
    assert lines[0] == "openlog studymate"
    assert "bot polling Telegram" in lines and "bot oops" in lines
    assert (tmp_path / "bot.log").read_text().splitlines() == ["polling Telegram", "oops"]
