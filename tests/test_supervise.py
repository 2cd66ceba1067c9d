"""``studymate supervise`` and ``studymate status`` with a real supervisord and the real bot.

The bot polls the in-process fake Bot API server, so everything that talks to it runs without
blocking this event loop (asyncio subprocesses, asyncio sleeps).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import stat
import sys
import time
from pathlib import Path

import pytest
from e2e import TOKEN, CliResult, bot_env, studymate_cli

from studymate.cli.main import build_parser
from studymate.ops.health import Exit, crash_times, summarize
from studymate.ops.supervisor import config as supervisor_config
from studymate.ops.supervisor.client import SupervisorClient, SupervisorUnavailable
from studymate.ops.supervisor.config import find_template, select_programs, stop_budget
from studymate.ops.supervisor.memory import process_tree

pytestmark = pytest.mark.e2e
STALE = 120.0  # HEARTBEAT_STALE_SECONDS for the verdicts below

UNIT_FILE = Path(__file__).resolve().parents[1] / "systemd" / "studymate.service"
ENTRY_SCRIPT = Path(__file__).resolve().parents[1] / "packaging" / "entry.py"  # the binary's


def _registered(*words: str) -> bool:
    """Is ``studymate WORDS...`` a command of this build (other programs land separately)?"""
    parser = build_parser()
    for word in words:
        subparsers = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subparsers or word not in subparsers[0].choices:
            return False
        parser = subparsers[0].choices[word]
    return True


class Supervise:
    """A ``studymate supervise`` process and the CLI around it."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.run_dir = Path(env["STUDYMATE_RUNTIME_DIR"])
        self.log_dir = Path(env["STUDYMATE_LOG_DIR"])
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *args: str) -> Supervise:
        out = (self.cwd / "supervise.out").open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "studymate", "supervise", *args,
            env=self.env, cwd=self.cwd, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )
        out.close()
        return self

    @property
    def output(self) -> str:
        return (self.cwd / "supervise.out").read_text(errors="replace")

    async def status(self) -> CliResult:
        return await studymate_cli(self.env, self.cwd, "status")

    async def wait_healthy(self, timeout: float = 40.0) -> CliResult:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None and self.proc.returncode is None, self.output
            result = await self.status()
            if result.returncode == 0:
                return result
            assert time.monotonic() < deadline, f"never healthy:\n{result.stdout}\n{self.output}"
            await asyncio.sleep(0.3)

    async def wait_answering(self, timeout: float = 20.0) -> None:
        client = SupervisorClient(self.run_dir / "supervisor.sock", timeout=1.0)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.pid()
                return
            except SupervisorUnavailable:
                assert time.monotonic() < deadline, self.output
                await asyncio.sleep(0.1)

    def programs(self) -> dict[str, dict]:
        client = SupervisorClient(self.run_dir / "supervisor.sock")
        return {info["name"]: info for info in client.processes()}

    async def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), timeout)
        return self.proc.returncode

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            pids = process_tree([self.proc.pid])
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            await self.proc.wait()


@pytest.fixture
async def appliance(fake, database_url, tmp_path):
    env = bot_env(fake=fake, database_url=database_url, tmp_path=tmp_path)
    env["STUDYMATE_LOG_ROTATE_INTERVAL"] = "1"
    started = Supervise(env, tmp_path)
    yield started
    await started.kill()


def _rows(status_stdout: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in status_stdout.splitlines()[1:] if line.strip()}


async def _wait_polling(fake, since: float, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not fake.calls("getUpdates", since=since):
        assert time.monotonic() < deadline, "the supervised bot does not poll"
        await asyncio.sleep(0.1)


async def test_supervised_bot_restarts_after_kill_and_sigterm_stops_in_order(appliance, fake, tmp_path):
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.setblocking(False)
    appliance.env["NOTIFY_SOCKET"] = str(notify_path)
    since = time.monotonic()
    await appliance.start("--programs", "bot,logrotate")

    healthy = await appliance.wait_healthy()
    rows = _rows(healthy.stdout)
    assert rows["bot"][1] == "RUNNING" and rows["logrotate"][1] == "RUNNING"
    assert "healthy: 2/2 programs RUNNING" in healthy.stdout
    assert re.search(r"^memory: \d+\.\d MB resident \(supervisord \+ 2 programs, \d+ processes\), "
                     r"\d+\.\d MB PSS", healthy.stdout, re.M)
    await _wait_polling(fake, since)
    message = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(notify, 4096), 10)
    assert message.startswith(b"READY=1\nSTATUS=healthy")  # systemd learns we are up
    notify.close()

    # supervisord is the process systemd started (its MainPID), not a child of it.
    assert SupervisorClient(appliance.run_dir / "supervisor.sock").pid() == appliance.proc.pid

    # What the operator's files look like: private, and no token in the config.
    sock = appliance.run_dir / "supervisor.sock"
    assert stat.S_IMODE(sock.stat().st_mode) == 0o700
    conf = appliance.run_dir / "supervisord.conf"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    assert TOKEN not in conf.read_text() and TOKEN.split(":")[1] not in conf.read_text()
    assert stat.S_IMODE((appliance.log_dir / "bot.log").stat().st_mode) == 0o600

    # kill -9: supervisor starts a new bot; status is unhealthy until it is up again.
    old_pid = appliance.programs()["bot"]["pid"]
    killed_at = time.monotonic()
    os.kill(old_pid, signal.SIGKILL)
    await asyncio.sleep(0.3)
    during = await appliance.status()
    assert during.returncode == 1, during.stdout
    assert _rows(during.stdout)["bot"][1] in ("STARTING", "BACKOFF", "EXITED")
    assert "UNHEALTHY" in during.stdout
    assert _rows(during.stdout)["bot"][4] == "1"  # one crash seen in the last 10 minutes
    await _wait_polling(fake, killed_at + 0.5)  # a new bot works ...
    new_pid = appliance.programs()["bot"]["pid"]
    assert new_pid not in (0, old_pid)  # ... in a new process
    children = [info["pid"] for info in appliance.programs().values()]

    started = time.monotonic()
    assert await appliance.terminate(timeout=20) == 0
    took = time.monotonic() - started
    log = (appliance.log_dir / "supervisord.log").read_text()
    stops = re.findall(r"stopped: (\w+) \((.*)\)", log.split("received SIGTERM")[-1])
    assert stops == [("bot", "exit status 0"), ("logrotate", "exit status 0")], log
    assert "not expected" not in log.split("received SIGTERM")[-1]
    assert not process_tree(children)  # none of them is left behind
    assert not sock.exists()
    print(f"\nstop after SIGTERM took {took:.1f} s (budget {stop_budget(conf.read_text())} s)")


@pytest.mark.skipif(
    not (_registered("watchdog") and _registered("backup", "schedule")),
    reason="`studymate watchdog` or `studymate backup schedule` is not registered yet",
)
async def test_full_appliance_runs_every_program(appliance, fake):
    await appliance.start()
    healthy = await appliance.wait_healthy(timeout=60)
    rows = _rows(healthy.stdout)
    assert set(rows) >= {"bot", "watchdog", "backup_schedule", "logrotate"}
    print("\n" + healthy.stdout)
    # The appliance's memory (issue 6): RSS counts shared pages once per process, PSS once.
    memory = re.search(r"^memory: ([\d.]+) MB resident \(supervisord \+ 4 programs, (\d+) processes\), "
                       r"([\d.]+) MB PSS", healthy.stdout, re.M)
    assert memory, healthy.stdout
    rss, processes, pss = float(memory[1]), int(memory[2]), float(memory[3])
    assert processes >= 5 and 0 < pss < rss
    programs_pss = [float(rows[name][-2]) for name in ("bot", "watchdog", "backup_schedule", "logrotate")]
    assert all(p > 0 for p in programs_pss) and sum(programs_pss) < pss  # + supervisord's share
    assert pss < 200, healthy.stdout  # the target: under 200 MB for the whole appliance
    assert await appliance.terminate(timeout=60) == 0
    log = (appliance.log_dir / "supervisord.log").read_text()
    order = [log.index(f"stopped: {name} ") for name in ("bot", "backup_schedule", "logrotate", "watchdog")]
    assert order == sorted(order)


FROZEN = f"""
import sys
sys.frozen = True  # a PyInstaller build: it starts its own entry script again as supervisord
from studymate.ops.supervisor import config, run
config.studymate_command = lambda: [sys.executable, "-m", "studymate"]  # children: not frozen
run.lean_command = lambda: [sys.executable, {str(ENTRY_SCRIPT)!r}, run.LEAN_SUPERVISORD]
from studymate.cli.main import main
sys.exit(main(["supervise", "--programs", "logrotate"]))
"""


def _mapped_files(pid: int) -> set[str]:
    return {line.split()[-1] for line in Path(f"/proc/{pid}/maps").read_text().splitlines()
            if len(line.split()) == 6}


async def test_frozen_build_runs_a_lean_supervisord_in_the_same_process(appliance):
    out = (appliance.cwd / "supervise.out").open("wb")
    appliance.proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FROZEN, env=appliance.env, cwd=appliance.cwd,
        stdout=out, stderr=asyncio.subprocess.STDOUT,
    )
    out.close()
    healthy = await appliance.wait_healthy()
    assert "healthy: 1/1 programs RUNNING" in healthy.stdout
    client = SupervisorClient(appliance.run_dir / "supervisor.sock")
    pid = client.pid()
    assert pid == appliance.proc.pid  # still systemd's MainPID ...
    loaded = _mapped_files(pid)
    assert not [f for f in loaded if "pydantic_core" in f or "psycopg2" in f]  # ... and lean
    assert await appliance.terminate() == 0
    assert "stopped: logrotate (exit status 0)" in appliance.output


async def test_supervise_refuses_a_database_behind_the_code(fake, tmp_path):
    env = bot_env(fake=fake, database_url=f"sqlite:///{tmp_path / 'new.db'}", tmp_path=tmp_path)
    result = await studymate_cli(env, tmp_path, "supervise")
    assert result.returncode == 2
    assert "run 'studymate migrate' first" in result.stderr
    assert not (tmp_path / "run" / "supervisor.sock").exists()


async def test_supervise_refuses_a_second_instance_and_unknown_programs(appliance):
    await appliance.start("--programs", "logrotate")
    await appliance.wait_answering()
    second = await studymate_cli(appliance.env, appliance.cwd, "supervise", "--programs", "logrotate")
    assert second.returncode == 1 and "already running" in second.stderr
    unknown = await studymate_cli(appliance.env, appliance.cwd, "supervise", "--programs", "nope")
    assert unknown.returncode == 2 and "unknown program(s) nope" in unknown.stderr
    assert await appliance.terminate() == 0


async def test_status_without_supervisor_says_so_in_one_line(tmp_path):
    env = {"PATH": os.environ["PATH"], "STUDYMATE_ENV_FILE": os.devnull, "STUDYMATE_RUNTIME_DIR": str(tmp_path)}
    result = await studymate_cli(env, tmp_path, "status")
    assert result.returncode == 3  # LSB/systemctl: not running
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert "supervisor is not running" in result.stderr


def test_rendered_config_subset_paths_and_stop_budget(tmp_path):
    from studymate.config import Settings

    settings = Settings(
        _env_file=None, state_dir=tmp_path / "st%te", log_dir=tmp_path / "log",
        runtime_dir=tmp_path / "run",
    )
    for directory in (settings.state_dir, settings.log_dir, settings.runtime_dir):
        directory.mkdir()
    text = find_template().read_text()
    assert supervisor_config.template_programs(text) == ["watchdog", "logrotate", "backup_schedule", "bot"]
    rendered = select_programs(text, ["bot"])
    assert "[program:bot]" in rendered and "[program:watchdog]" not in rendered
    conf = tmp_path / "run" / "supervisord.conf"
    conf.write_text(rendered)
    env = supervisor_config.environment(settings, command=["/opt/studymate/studymate"])
    parsed = supervisor_config.check(conf, env)  # what supervisord makes of it, %(ENV_...)s expanded
    [bot] = [program for group in parsed.process_group_configs for program in group.process_configs]
    assert bot.command == "/opt/studymate/studymate bot"
    assert env["STUDYMATE_STATE_DIR"] == f"{tmp_path}/st%te"  # the children inherit it as is: no expansion
    assert [server["file"] for server in parsed.configroot.supervisord.server_configs] == [f"{tmp_path}/run/supervisor.sock"]
    with pytest.raises(ValueError, match="unknown program"):
        select_programs(text, ["bot", "mailer"])
    conf.write_text(text + "\n[program:x]\ncommand=%(ENV_NOPE)s\n")
    with pytest.raises(ValueError, match="cannot be expanded"):
        supervisor_config.check(conf, env)
    # Priorities stop one after another: the worst case must fit systemd's stop timeout.
    timeout = 60  # TimeoutStopSec of the unit
    if UNIT_FILE.exists():
        found = re.search(r"^TimeoutStopSec=(\d+)", UNIT_FILE.read_text(), re.M)
        timeout = int(found.group(1)) if found else 90
    assert stop_budget(text) < timeout


def test_summary_sees_fatal_backoff_and_crash_loops():
    now = time.time()

    def info(name: str, state: str, **extra) -> dict:
        return {"name": name, "statename": state, "pid": 10, "start": now - 60, "now": now,
                "spawnerr": "", **extra}

    exits = [Exit(name, now - ago, expected=False, reason="terminated by SIGKILL")
             for name, ago in [("bot", 30), ("bot", 200), ("bot", 400), ("watchdog", 900)]]
    exits.append(Exit("logrotate", now - 10, expected=True, reason="exit status 0"))
    health = summarize(
        "RUNNING",
        [info("bot", "RUNNING"), info("watchdog", "RUNNING"), info("logrotate", "RUNNING"),
         info("backup_schedule", "FATAL", spawnerr="Exited too quickly")],
        exits=crash_times(exits),
        heartbeat=now - 5.0,
        stale_after=STALE,
    )
    by_name = {p.name: p for p in health.programs}
    assert by_name["bot"].crashes == 3 and "crash loop" in (by_name["bot"].problem or "")
    assert by_name["watchdog"].crashes == 0 and by_name["watchdog"].problem is None  # 15 min ago
    assert by_name["logrotate"].problem is None
    assert by_name["backup_schedule"].problem == "FATAL (Exited too quickly)"
    assert not health.healthy
    assert health.summary().startswith("UNHEALTHY: 3/4 programs RUNNING; backup_schedule FATAL")

    old_bot = info("bot", "RUNNING", start=now - 600)
    stale = summarize("RUNNING", [old_bot], heartbeat=now - 300, stale_after=STALE)
    assert stale.programs[0].problem == "not polling Telegram (no heartbeat for 300 s)"
    never = summarize("RUNNING", [old_bot], heartbeat=now - 3600, stale_after=STALE)  # a previous bot's beat
    assert never.programs[0].problem == "not polling Telegram (no heartbeat for 600 s)"
    fresh = summarize("RUNNING", [old_bot], heartbeat=now - 5, stale_after=STALE)
    assert fresh.healthy and fresh.summary() == "healthy: 1/1 programs RUNNING"
    assert fresh.notes == ["bot heartbeat: 5 s ago"]
    starting = summarize("RUNNING", [info("bot", "RUNNING", start=now - 30)], heartbeat=None, stale_after=STALE)
    assert starting.healthy  # the first long poll may take a while to come back
