"""Resident memory of the running appliance: supervisord + its programs (target < 200 MB).

Starts a fake Telegram server, migrates and seeds a fresh SQLite database (a mentor, students,
a quiz), runs ``studymate supervise`` with every program this build has (a subcommand not
registered yet is skipped, and said so), waits until all are RUNNING and measures the idle
appliance. Then it lets a mentor and two students use the bot (each presses through up to
--steps menus, buttons and answers, so the bot has built what serving people needs) and, with
``--quiz-load STUDENTS``, has that many more students answer a quiz of --questions questions
all at once, as fast as they can (the students of ``bench/quiz_load.py``). After each phase it
prints per process and in total:

- RSS: resident pages, a shared page (interpreter, libraries) counted in every process that
  maps it: what ``ps``/``top`` show;
- PSS: each shared page split between the processes that map it, so the total is what the
  machine really spends (the figure the 200 MB target is judged on);
- USS: pages private to the process, what stopping it would give back;
- peak: the process's highest RSS (VmHWM).

It also prints ``studymate status`` (which reports RSS and PSS itself), then stops everything
with SIGTERM, timing the orderly stop.

    .venv/bin/python bench/appliance_memory.py [--settle SECONDS] [--steps N]
                                               [--quiz-load STUDENTS] [--questions N]
                                               [--env NAME=VALUE]

``--steps 0`` skips the light use; ``--env`` adds a variable to every program's environment
(e.g. ``--env MALLOC_ARENA_MAX=4`` to try an allocator setting). The last lines sum up each
phase: "idle", "after light use", "after the quiz load".
"""

from __future__ import annotations

import argparse
import array
import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any

import quiz_load

from studymate.cli.main import build_parser
from studymate.ops.supervisor.client import SupervisorClient, SupervisorUnavailable
from studymate.ops.supervisor.memory import appliance_pids
from studymate.testing.fake_telegram.server import FakeTelegram

TOKEN = "123456789:" + "T" * 35
SUBCOMMANDS = {
    "watchdog": ("watchdog",), "logrotate": ("logrotate",),
    "backup_schedule": ("backup", "schedule"), "bot": ("bot",),
}
MENTOR, GROUP, STUDENTS = 1001, -100500, (2001, 2002)
TARGET_MB = 200


def registered(words: tuple[str, ...]) -> bool:
    parser = build_parser()
    for word in words:
        subs = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subs or word not in subs[0].choices:
            return False
        parser = subs[0].choices[word]
    return True


def kb(pid: int, fields: tuple[str, ...], source: str = "status") -> int:
    """Sum of ``fields`` (KiB) in /proc/PID/<source>; 0 when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/{source}").read_text()
    except OSError:
        return 0
    return sum(int(line.split()[1]) for line in text.splitlines() if line.split(":")[0] in fields)


def physical_kb(pids: set[int]) -> int | None:
    """Every physical page mapped by any of ``pids``, each counted once (pagemap; needs root).

    Exact where PSS is an estimate: PSS also gives a share of a shared page to processes
    outside the set (this benchmark, which serves the fake Telegram too, maps the same interpreter
    and libraries).
    """
    frames: set[int] = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
            with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
                for line in maps:
                    start, end = (int(x, 16) for x in line.split()[0].split("-"))
                    if start >= 1 << 47:  # [vsyscall]
                        continue
                    pagemap.seek(start // 4096 * 8)
                    entries = array.array("Q", pagemap.read((end - start) // 4096 * 8))
                    frames.update(e & ((1 << 55) - 1) for e in entries if e >> 63)  # present
        except OSError:
            return None
    frames.discard(0)  # frame numbers read as 0 without CAP_SYS_ADMIN
    return len(frames) * 4 if frames else None


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


# -- the fake Telegram server's control API -----------------------------------------------------


class Control:
    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/") + "/_control"

    def call(self, path: str, body: dict[str, Any] | None = None, **query: Any) -> Any:
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())


def seed(database_url: str, control: Control, load: tuple[int, int]) -> None:
    """A mentor with a group, two enrolled students, a quiz open now (like the test fixtures);
    ``load``: (students, questions) of the quiz load, its students and quiz "Load" added."""
    from studymate.db.connection import open_database
    from studymate.db.models import Quiz, QuizQuestion, utcnow
    from studymate.services import enrollment, mentors
    from studymate.services.enrollment import TelegramProfile

    database = open_database(database_url)
    with database.connection_context(), database.atomic():
        mentors.add_mentor(telegram_id=MENTOR, name="Anna", group_chat_id=GROUP, language="en")
        mentor_id = enrollment.identify(MENTOR, ttl=0).mentor_id
        for n, student in enumerate(STUDENTS):
            enrollment.enroll(TelegramProfile(student, f"s{n}", f"Student{n}", ""),
                              mentor_id=mentor_id, language="en")
        now = utcnow()
        quiz = Quiz.create(mentor=mentor_id, title="Memory", quiz_type="ranked", max_attempts=1,
                           available_from=now - dt.timedelta(minutes=1),
                           available_until=now + dt.timedelta(hours=48), notified_at=now)
        for i in range(3):
            QuizQuestion.create(quiz=quiz, question_text=f"Q{i + 1}", option_a="a", option_b="b",
                                option_c="c", option_d="d", correct_answer="B", order=i + 1)
        if load[0]:
            quiz_load.add_load(mentor_id, *load, kinds="abcd")
    database.close()
    control.call("/users", {"id": MENTOR, "first_name": "Anna", "language_code": "en"})
    for n, student in enumerate(STUDENTS):
        control.call("/users", {"id": student, "first_name": f"Student{n}", "language_code": "en"})
        control.call(f"/chats/{GROUP}/members", {"user_id": student, "status": "member"})


def use_the_bot(control: Control, user: int, steps: int) -> int:
    """Press through what the bot offers, breadth first: reply-keyboard buttons, inline buttons."""
    todo: deque[tuple[str, Any]] = deque([("send", "/start")])
    done: set[tuple[str, str]] = set()
    last_seq = max((m["seq"] for m in control.call(f"/chats/{user}/messages")), default=0)
    actions = 0
    while todo and actions < steps:
        kind, what = todo.popleft()
        if kind == "send":
            control.call("/send", {"from_id": user, "text": what})
        else:
            message_id, data = what
            control.call("/click", {"from_id": user, "message_id": message_id, "data": data})
        actions += 1
        changed = control.call("/wait", chat_id=user, since_seq=last_seq, timeout=2)
        time.sleep(0.2)  # an edit and a new message may both follow one action
        changed = [m for m in control.call(f"/chats/{user}/messages") if m["seq"] > last_seq] or changed
        for message in changed:
            last_seq = max(last_seq, message["seq"])
            markup = message.get("reply_markup") or {}
            for row in markup.get("keyboard", []):
                for button in row:
                    text = button["text"] if isinstance(button, dict) else button
                    if ("send", text) not in done:
                        done.add(("send", text))
                        todo.append(("send", text))
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data")
                    if data and ("click", data) not in done:
                        done.add(("click", data))
                        todo.append(("click", (message["message_id"], data)))
    return actions


class FakeServer:
    """The fake Telegram server in this process, on an event loop of its own in a thread: the
    quiz load's students drive it directly, the rest of this script through its control API."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-telegram", daemon=True)
        self.thread.start()
        self.fake = FakeTelegram()
        self.run(self.fake.start())

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.run(self.fake.stop())
        self.run(_cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


async def _cancel_the_rest() -> None:
    """End what the stopped server left waiting (the bot's long polls)."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def quiz_burst(fake: FakeTelegram, students: int) -> tuple[list[float], quiz_load.Tally, float]:
    quiz_load.add_students(fake, students)
    started = time.monotonic()
    latencies, tally = await quiz_load.students_answer(fake, students)
    return latencies, tally, time.monotonic() - started


# -- the run --------------------------------------------------------------------------------------


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--settle", type=float, default=10.0, help="seconds to run before measuring idle")
    options.add_argument("--steps", type=int, default=25, help="bot interactions per user (0: no light use)")
    options.add_argument("--quiz-load", type=int, default=0, metavar="STUDENTS",
                         help="then STUDENTS answer a quiz at once, as in bench/quiz_load.py (0: none)")
    options.add_argument("--questions", type=int, default=20, help="questions of the quiz load")
    options.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                         help="extra environment for supervisord and every program")
    args = options.parse_args()
    programs = [name for name, words in SUBCOMMANDS.items() if registered(words)]
    skipped = sorted(set(SUBCOMMANDS) - set(programs))
    work = Path(tempfile.mkdtemp(prefix="studymate-mem-"))
    server = FakeServer()
    control = Control(server.fake.base_url)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work),
        "STUDYMATE_BOT_TOKEN": TOKEN, "STUDYMATE_TELEGRAM_API_URL": server.fake.base_url,
        "STUDYMATE_ENV_FILE": os.devnull,
        "STUDYMATE_DATABASE_URL": f"sqlite:///{work / 'state' / 'studymate.db'}",
        "STUDYMATE_STATE_DIR": str(work / "state"), "STUDYMATE_LOG_DIR": str(work / "log"), "STUDYMATE_RUNTIME_DIR": str(work / "run"),
        "STUDYMATE_THROTTLE_MESSAGE_SECONDS": "0", "STUDYMATE_THROTTLE_CALLBACK_SECONDS": "0",
        "STUDYMATE_ADMIN_TELEGRAM_IDS": str(MENTOR),
        # The quiz load's students answer as fast as they can: no question times out meanwhile.
        "STUDYMATE_QUIZ_QUESTION_SECONDS": "600",
    }
    env.update(item.split("=", 1) for item in args.env)
    studymate = [sys.executable, "-m", "studymate"]
    subprocess.run([*studymate, "migrate"], env=env, cwd=work, check=True, capture_output=True)
    seed(env["STUDYMATE_DATABASE_URL"], control, (args.quiz_load, args.questions))
    proc = subprocess.Popen(
        [*studymate, "supervise", "--programs", ",".join(programs)], env=env, cwd=work,
        stdout=subprocess.DEVNULL, stderr=(work / "supervise.out").open("wb"),
    )
    client = SupervisorClient(work / "run" / "supervisor.sock", timeout=5.0)
    totals: list[tuple[str, float]] = []
    try:
        def all_running() -> bool:
            try:
                infos = client.processes()
            except SupervisorUnavailable:
                return False
            return len(infos) == len(programs) and all(i["statename"] == "RUNNING" for i in infos)

        wait(all_running, 60, "every program RUNNING")
        print(f"programs: {', '.join(programs)}"
              + (f" (skipped, not registered: {', '.join(skipped)})" if skipped else "")
              + (f"; extra environment: {' '.join(args.env)}" if args.env else ""))
        time.sleep(args.settle)  # let the bot poll and the daemons do a first round
        totals.append(("idle", report(client, "idle")))
        if args.steps and "bot" in programs:
            used = {user: use_the_bot(control, user, args.steps) for user in (MENTOR, *STUDENTS)}
            time.sleep(2.0)
            calls = len(control.call("/calls"))
            print("\nbot use: " + ", ".join(f"user {user} {n} actions" for user, n in used.items())
                  + f"; {calls} Bot API calls")
            totals.append(("after light use", report(client, "after light use")))
        if args.quiz_load and "bot" in programs:
            latencies, tally, elapsed = server.run(quiz_burst(server.fake, args.quiz_load))
            time.sleep(2.0)  # as bench/quiz_load.py measures: the last edits answered
            stored, timeouts = quiz_load.stored_answers(env["STUDYMATE_DATABASE_URL"])
            print(f"\nquiz load: {args.quiz_load} students x {args.questions} questions, "
                  f"{len(latencies)} answers in {elapsed:.1f} s ({len(latencies) / elapsed:.0f}/s); "
                  f"stored {stored - timeouts}, timed out {timeouts}; "
                  f"students stuck {tally.stuck}")
            label = f"after the quiz load ({args.quiz_load} students x {args.questions} questions)"
            totals.append((label, report(client, label)))
        status = subprocess.run([*studymate, "status"], env=env, cwd=work, capture_output=True, text=True)
        print(f"\n$ studymate status   (exit {status.returncode})\n{status.stdout}{status.stderr}")
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
        print(f"SIGTERM -> supervise exited {code} after {time.monotonic() - started:.1f} s")
    finally:
        if proc.poll() is None:
            proc.kill()
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    for label, pss in totals:
        print(f"{label}: {pss:.1f} MB PSS ({'under' if pss < TARGET_MB else 'OVER'} the {TARGET_MB} MB target)")
    return 0


def report(client: SupervisorClient, phase: str) -> float:
    """Print the memory table of ``phase``; returns the total PSS in MB."""
    infos = {i["name"]: i for i in client.processes()}
    pids = appliance_pids(client)
    own = {client.pid(): "supervisord"} | {i["pid"]: name for name, i in infos.items()}
    print(f"\n-- {phase}")
    print(f"{'PROCESS':<18}{'PID':>8}{'RSS MB':>9}{'PSS MB':>9}{'USS MB':>9}{'peak MB':>9}")
    totals = [0, 0, 0]
    for pid in sorted(pids):
        row = (kb(pid, ("VmRSS",)), kb(pid, ("Pss",), "smaps_rollup"),
               kb(pid, ("Private_Clean", "Private_Dirty"), "smaps_rollup"))
        totals = [t + v for t, v in zip(totals, row, strict=True)]
        print(f"{own.get(pid, 'child'):<18}{pid:>8}" + "".join(f"{v / 1024:>9.1f}" for v in row)
              + f"{kb(pid, ('VmHWM',)) / 1024:>9.1f}")
    print(f"{'total':<18}{len(pids):>8}" + "".join(f"{v / 1024:>9.1f}" for v in totals))
    rss, pss = totals[0] / 1024, totals[1] / 1024
    exact = physical_kb(pids)
    if exact is not None:
        print(f"physical pages the appliance maps, each counted once: {exact / 1024:.1f} MB")
    print(f"resident memory {phase}: {pss:.1f} MB PSS ({'under' if pss < TARGET_MB else 'OVER'} the "
          f"{TARGET_MB} MB target), {rss:.1f} MB RSS ({'under' if rss < TARGET_MB else 'over'} "
          f"{TARGET_MB} MB when shared pages are counted in every process)")
    return pss


if __name__ == "__main__":
    sys.exit(main())
