"""``status --json``, ``backup list --json``, ``restart PROGRAM`` and the exit codes they share.

Exit codes as LSB init scripts and ``systemctl`` use them: 0 ok, 1 unhealthy or refused,
2 usage or configuration, 3 not running, 130 interrupted. A real supervisord runs the log
rotator (the one program that needs neither a token nor a database).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studymate.cli import exitcodes
from studymate.ops.supervisor.client import SupervisorClient, SupervisorUnavailable

pytestmark = pytest.mark.backend_agnostic


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "STUDYMATE_ENV_FILE": os.devnull,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'state' / 'studymate.db'}",
        "STUDYMATE_STATE_DIR": str(tmp_path / "state"),
        "STUDYMATE_LOG_DIR": str(tmp_path / "log"),
        "STUDYMATE_RUNTIME_DIR": str(tmp_path / "run"),
        "BACKUP_DIR": str(tmp_path / "backups"),
        **extra,
    }


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "studymate", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_nothing_running_is_exit_3_for_status_and_restart(tmp_path):
    env = env_for(tmp_path)
    status = cli(env, "status")
    assert status.returncode == exitcodes.NOT_RUNNING == 3
    assert status.stdout == "" and "supervisor is not running" in status.stderr
    as_json = cli(env, "status", "--json")
    assert as_json.returncode == 3
    payload = json.loads(as_json.stdout)
    assert (payload["running"], payload["healthy"]) == (False, False) and "supervisor.sock" in payload["error"]
    restart = cli(env, "restart", "bot")
    assert restart.returncode == 3 and "supervisor is not running" in restart.stderr
    usage = cli(env, "restart", "mailer")
    assert usage.returncode == exitcodes.CONFIG == 2 and "invalid choice" in usage.stderr


@pytest.fixture
def rotator(tmp_path):
    """``studymate supervise --programs logrotate``, answering on its socket."""
    env = env_for(tmp_path, STUDYMATE_LOG_ROTATE_INTERVAL="60")
    proc = subprocess.Popen([sys.executable, "-m", "studymate", "supervise", "--programs", "logrotate"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    client = SupervisorClient(tmp_path / "run" / "supervisor.sock", timeout=5)
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, "supervise exited"
        try:
            if client.info("logrotate")["statename"] == "RUNNING":
                break
        except SupervisorUnavailable:
            pass
        assert time.monotonic() < deadline, "logrotate never RUNNING"
        time.sleep(0.2)
    yield env, client
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def test_status_json_and_restart_through_supervisor(rotator):
    env, client = rotator
    healthy = cli(env, "status", "--json")
    assert healthy.returncode == 0, healthy.stderr
    report = json.loads(healthy.stdout)
    assert report["healthy"] is True and report["summary"] == "healthy: 1/1 programs RUNNING"
    [program] = report["programs"]
    assert (program["name"], program["state"], program["crashes"], program["problem"]) == (
        "logrotate", "RUNNING", 0, None)
    assert program["pid"] == client.info("logrotate")["pid"] and program["rss_mb"] > 0
    assert report["memory"]["processes"] >= 2

    before = client.info("logrotate")["pid"]
    restarted = cli(env, "restart", "logrotate")
    assert restarted.returncode == 0, restarted.stderr
    assert restarted.stdout.strip() == "logrotate: RUNNING"
    assert client.info("logrotate")["pid"] not in (0, before)
    assert client.exits() == [], "a restart asked for is no crash"

    refused = cli(env, "restart", "bot")  # not in this supervisord's configuration
    assert refused.returncode == 1 and "refused" in refused.stderr

    client.stop("logrotate:logrotate", wait=True)
    stopped = cli(env, "status", "--json")
    assert stopped.returncode == 1
    assert json.loads(stopped.stdout)["healthy"] is False, stopped.stdout
    assert cli(env, "status").returncode == 1


def test_backup_list_json(tmp_path):
    env = env_for(tmp_path)
    assert json.loads(cli(env, "backup", "list", "--json").stdout)["backups"] == []
    assert cli(env, "migrate").returncode == 0
    made = cli(env, "backup", "run")
    assert made.returncode == 0, made.stderr
    listed = cli(env, "backup", "list", "--json")
    assert listed.returncode == 0
    report = json.loads(listed.stdout)
    [backup] = report["backups"]
    assert backup["engine"] == "sqlite" and backup["verified"] is True and backup["problem"] is None
    assert backup["name"] in made.stdout and backup["size"] > 0 and backup["taken"].endswith("+00:00")
    assert report["backup_dir"] == str(tmp_path / "backups") and report["leftovers"] == []


def test_ctrl_c_is_exit_130(monkeypatch, tmp_path):
    from studymate.cli import main as cli_main
    from studymate.cli import status

    def interrupted(args, settings):
        raise KeyboardInterrupt

    monkeypatch.setattr(status, "run", interrupted)
    for name, value in env_for(tmp_path).items():
        monkeypatch.setenv(name, value)
    assert cli_main.main(["status"]) == exitcodes.INTERRUPTED == 130
