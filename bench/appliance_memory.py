"""Resident memory of the running appliance: supervisord + its programs (target < 200 MB).

Starts a fake Telegram server, migrates a fresh SQLite database, runs ``studymate supervise``
with every program this build has (a subcommand not registered yet is skipped, and said so),
waits until all are RUNNING and the bot has polled, then prints VmRSS and PSS per process and
in total, and stops everything with SIGTERM (timing the orderly stop).

    .venv/bin/python bench/appliance_memory.py [--settle SECONDS]

RSS counts shared library pages once per process (what `ps` and the target mean); PSS splits
shared pages between the processes that map them, so its total is what the machine really
spends.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from studymate.cli.main import build_parser
from studymate.ops import supervisor

TOKEN = "123456789:" + "T" * 35
SUBCOMMANDS = {
    "watchdog": ("watchdog",), "logrotate": ("logrotate",),
    "backup_schedule": ("backup", "schedule"), "bot": ("bot",),
}


def registered(words: tuple[str, ...]) -> bool:
    parser = build_parser()
    for word in words:
        subs = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subs or word not in subs[0].choices:
            return False
        parser = subs[0].choices[word]
    return True


def kb(pid: int, field: str, source: str = "status") -> int:
    try:
        for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--settle", type=float, default=10.0, help="seconds to run before measuring")
    args = options.parse_args()
    programs = [name for name, words in SUBCOMMANDS.items() if registered(words)]
    skipped = sorted(set(SUBCOMMANDS) - set(programs))
    work = Path(tempfile.mkdtemp(prefix="studymate-mem-"))
    fake = subprocess.Popen(
        [sys.executable, "-m", "studymate.testing.fake_telegram", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    base_url = fake.stdout.readline().split()[-1]  # "fake-telegram listening on URL"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work),
        "BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": base_url, "STUDYMATE_ENV_FILE": os.devnull,
        "DATABASE_URL": f"sqlite:///{work / 'state' / 'studymate.db'}",
        "STATE_DIR": str(work / "state"), "LOG_DIR": str(work / "log"), "RUNTIME_DIR": str(work / "run"),
    }
    studymate = [sys.executable, "-m", "studymate"]
    subprocess.run([*studymate, "migrate"], env=env, cwd=work, check=True, capture_output=True)
    proc = subprocess.Popen(
        [*studymate, "supervise", "--programs", ",".join(programs)], env=env, cwd=work,
        stdout=subprocess.DEVNULL, stderr=(work / "supervise.out").open("wb"),
    )
    client = supervisor.SupervisorClient(work / "run" / "supervisor.sock", timeout=5.0)
    try:
        def all_running() -> bool:
            try:
                infos = client.processes()
            except supervisor.SupervisorUnavailable:
                return False
            return len(infos) == len(programs) and all(i["statename"] == "RUNNING" for i in infos)

        wait(all_running, 60, "every program RUNNING")
        time.sleep(args.settle)  # let the bot poll and the daemons do a first round
        infos = {i["name"]: i for i in client.processes()}
        pids = supervisor.appliance_pids(client)
        own = {client.pid(): "supervisord"} | {i["pid"]: name for name, i in infos.items()}
        status = subprocess.run([*studymate, "status"], env=env, cwd=work, capture_output=True, text=True)
        print(f"$ studymate status   (exit {status.returncode})\n{status.stdout}{status.stderr}")
        print(f"programs: {', '.join(programs)}" + (f" (skipped, not registered: {', '.join(skipped)})" if skipped else ""))
        print(f"{'PROCESS':<18}{'PID':>8}{'RSS MB':>10}{'PSS MB':>10}")
        total_rss = total_pss = 0
        for pid in sorted(pids):
            rss, pss = kb(pid, "VmRSS"), kb(pid, "Pss", "smaps_rollup")
            total_rss, total_pss = total_rss + rss, total_pss + pss
            print(f"{own.get(pid, 'child'):<18}{pid:>8}{rss / 1024:>10.1f}{pss / 1024:>10.1f}")
        print(f"{'total':<18}{len(pids):>8}{total_rss / 1024:>10.1f}{total_pss / 1024:>10.1f}")
        verdict = "under" if total_rss < 200 * 1024 else "OVER"
        print(f"resident memory: {total_rss / 1024:.1f} MB RSS ({verdict} the 200 MB target), "
              f"{total_pss / 1024:.1f} MB PSS")
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
        print(f"SIGTERM -> supervise exited {code} after {time.monotonic() - started:.1f} s")
    finally:
        if proc.poll() is None:
            proc.kill()
        fake.terminate()
        fake.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
