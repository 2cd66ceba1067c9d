"""Benchmark: N students answering one quiz as fast as they can, through the real bot process.

    .venv/bin/python bench/quiz_load.py [--students 300] [--questions 20] [--database-url URL]
                                        [--redis-url URL] [--backend sqlite|postgres|both]
                                        [--profile DIR]

``--backend postgres`` creates an empty database on TEST_DATABASE_URL's server (dropped
afterwards) and keeps FSM state in Redis (``--redis-url``, default redis://127.0.0.1:6379/9,
flushed first); ``both`` runs SQLite and then PostgreSQL+Redis. ``--profile DIR`` records the
bot with py-spy (if installed) into DIR/<backend>.txt (raw collapsed stacks).

Each simulated student presses an answer as soon as the bot shows the next question. Prints
handled answers per second, p50/p99 time from the press to the bot's edit showing the next
question (or the result), the bot's CPU time per answer (steadier than the rates on a busy
machine: the students and the fake server share it) and its peak resident memory (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from studymate.db import migrate
from studymate.db.connection import open_database
from studymate.db.models import Quiz, QuizQuestion, utcnow
from studymate.services import enrollment, mentors
from studymate.services.enrollment import TelegramProfile
from studymate.testing.fake_telegram.server import FakeTelegram

TOKEN = "123456789:" + "Q" * 35
MENTOR, GROUP, FIRST = 1001, -100500, 200_000
SPY_PATH = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))


def seed(url: str, students: int, questions: int) -> None:
    database = open_database(url)
    migrate.apply(database)
    with database.connection_context(), database.atomic():
        mentors.add_mentor(telegram_id=MENTOR, name="Anna", group_chat_id=GROUP, language="en")
        for n in range(students):
            enrollment.enroll(TelegramProfile(FIRST + n, None, f"S{n}", ""), mentor_id=1, language="en")
        now = utcnow()
        quiz = Quiz.create(mentor=1, title="Load", quiz_type="ranked", max_attempts=1,
                           available_from=now - dt.timedelta(minutes=1),
                           available_until=now + dt.timedelta(hours=48), notified_at=now)
        for i in range(questions):
            QuizQuestion.create(quiz=quiz, question_text=f"Q{i + 1}", option_a="a", option_b="b",
                                option_c="c", option_d="d", correct_answer="B", order=i + 1)
    database.close()


def button(message: dict, needle: str) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for b in row:
            if needle in b["text"]:
                return b["callback_data"]
    raise RuntimeError(f"no {needle!r}")


def message(fake: FakeTelegram, chat: int, message_id: int) -> dict:
    return next(m for m in fake.messages(chat) if m["message_id"] == message_id)


async def changed(fake: FakeTelegram, chat: int, message_id: int, seq: int) -> dict:
    while True:
        current = message(fake, chat, message_id)
        if current["seq"] > seq:
            return current
        await fake.wait(chat, message_id, timeout=5, since_seq=seq)


async def student(fake: FakeTelegram, n: int, questions: int, latencies: list[float]) -> None:
    chat = FIRST + n
    sent = await fake.send_text(chat, "📝 Quizzes")
    while not [m for m in fake.messages(chat) if m["outgoing"]]:
        await fake.wait(chat, sent["message_id"], timeout=5)
    menu = [m for m in fake.messages(chat) if m["outgoing"]][-1]
    mid = menu["message_id"]
    await fake.click(chat, mid, button(menu, "Ranked"))
    listing = await changed(fake, chat, mid, menu["seq"])
    await fake.click(chat, mid, button(listing, "Load"))
    current = await changed(fake, chat, mid, listing["seq"])
    for _ in range(questions):
        pressed = time.monotonic()
        seq = current["seq"]
        await fake.click(chat, mid, button(current, "B"))
        current = await changed(fake, chat, mid, seq)
        latencies.append(time.monotonic() - pressed)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process used so far (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def postgres_database():
    """An empty database on TEST_DATABASE_URL's server, dropped afterwards."""
    import psycopg2

    server = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    admin = psycopg2.connect(server, connect_timeout=3)
    admin.autocommit = True
    name = f"studymate_bench_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


async def run(students: int, questions: int, database_url: str | None, redis_url: str | None,
              profile: Path | None = None) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="studymate-quizbench-"))
    url = database_url or f"sqlite:///{workdir / 'bench.db'}"
    seed(url, students, questions)
    async with FakeTelegram() as fake:
        for n in range(students):
            fake.add_user(FIRST + n, f"S{n}")
        env = {**os.environ, "STUDYMATE_BOT_TOKEN": TOKEN, "STUDYMATE_DATABASE_URL": url, "STUDYMATE_TELEGRAM_API_URL": fake.base_url,
               "STUDYMATE_STATE_DIR": str(workdir), "STUDYMATE_RUNTIME_DIR": str(workdir), "STUDYMATE_LOG_DIR": str(workdir),
               "STUDYMATE_ENV_FILE": os.devnull, "STUDYMATE_THROTTLE_MESSAGE_SECONDS": "0",
               "STUDYMATE_THROTTLE_CALLBACK_SECONDS": "0", "STUDYMATE_QUIZ_QUESTION_SECONDS": "600",
               "STUDYMATE_REDIS_URL": redis_url or ""}
        bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "studymate", "bot", env=env,
                                                   stderr=asyncio.subprocess.DEVNULL)
        try:
            while not fake.calls("getUpdates"):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            latencies: list[float] = []
            spy = None
            if profile is not None and (py_spy := shutil.which("py-spy", path=SPY_PATH)):
                out = profile / f"{url.split(':')[0]}.txt"
                spy = await asyncio.create_subprocess_exec(
                    py_spy, "record", "--format", "raw", "-r", "50", "-o", str(out), "-p", str(bot.pid),
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            started, cpu_before = time.monotonic(), cpu_seconds(bot.pid)
            await asyncio.gather(*(student(fake, n, questions, latencies) for n in range(students)))
            elapsed = time.monotonic() - started
            cpu = cpu_seconds(bot.pid) - cpu_before
            peak = peak_rss_mb(bot.pid)
            if spy is not None:
                spy.send_signal(2)  # SIGINT: py-spy writes what it has
                await spy.wait()
        finally:
            bot.terminate()
            await bot.wait()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    storage = "redis" if redis_url else "database"
    print(f"backend={url.split(':')[0]} fsm={storage} students={students} questions={questions} answers={len(latencies)}")
    print(f"answers/s: {len(latencies) / elapsed:.1f} (whole run {elapsed:.1f} s, including opening the quiz)")
    print(f"answer → next question: p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print(f"bot CPU: {cpu:.1f} s, {cpu / len(latencies) * 1000:.1f} ms per answer (quiz opening included)")
    print(f"bot peak memory: {peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="an empty database (default: temp SQLite)")
    parser.add_argument("--redis-url", default=None, help="FSM storage in Redis (default: in the database)")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default=None,
                        help="a fresh database of that kind (postgres: with Redis); both: one after the other")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy raw profiles into this folder")
    args = parser.parse_args()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.backend is None:
        asyncio.run(run(args.students, args.questions, args.database_url, args.redis_url, args.profile))
        return
    if args.backend in ("sqlite", "both"):
        asyncio.run(run(args.students, args.questions, None, None, args.profile))
    if args.backend in ("postgres", "both"):
        redis_url = args.redis_url or "redis://127.0.0.1:6379/9"
        flush_redis(redis_url)
        with postgres_database() as url:
            asyncio.run(run(args.students, args.questions, url, redis_url, args.profile))


if __name__ == "__main__":
    main()
