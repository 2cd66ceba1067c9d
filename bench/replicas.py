"""Benchmark: quiz answers handled per second by 1, 2 and 4 bot replicas behind nginx.

    .venv/bin/python bench/replicas.py [--replicas 1,2,4] [--students 200] [--questions 10]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]

Each run gets a fresh PostgreSQL database (created next to the one given, dropped after) and
the same Redis (only StudyMate's keys are cleared). nginx (Debian package) runs unprivileged
on loopback in front of N ``studymate bot`` replicas in webhook mode; the fake Bot API server
POSTs every update to nginx. The simulated students are those of bench/quiz_load.py: each
presses an answer as soon as the bot shows the next question. Prints answers/s, the p50/p99
time from a press to the next question, and the scaling factor against one replica.

Everything runs on this machine: the fake server and the students (this process), nginx,
PostgreSQL, Redis and the replicas share its cores, so the factor says how far replicas help
*here*, not on a cluster of separate hosts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2
import redis

from studymate.testing.cluster import Cluster, find_nginx
from studymate.testing.fake_telegram.server import FakeTelegram

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quiz_load import FIRST, TOKEN, Tally, seed, student  # the same students as bench/quiz_load.py


def fresh_database(server_url: str) -> str:
    admin = psycopg2.connect(server_url, connect_timeout=5)
    admin.autocommit = True
    name = f"studymate_bench_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


def drop_database(server_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = psycopg2.connect(server_url, connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


def clear_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    for pattern in ("fsm:*", "studymate:*"):
        keys = list(client.scan_iter(pattern))
        if keys:
            client.delete(*keys)
    client.close()


async def run_once(replicas: int, args: argparse.Namespace, nginx: str) -> tuple[float, list[float]]:
    url = fresh_database(args.postgres)
    clear_redis(args.redis)
    workdir = Path(tempfile.mkdtemp(prefix=f"studymate-replicas{replicas}-"))
    try:
        seed(url, args.students, args.questions, "abcd")
        async with FakeTelegram() as fake:
            for n in range(args.students):
                fake.add_user(FIRST + n, f"S{n}")
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
                "STUDYMATE_BOT_TOKEN": TOKEN, "STUDYMATE_DATABASE_URL": url, "STUDYMATE_REDIS_URL": args.redis,
                "STUDYMATE_TELEGRAM_API_URL": fake.base_url, "STUDYMATE_STATE_DIR": str(workdir),
                "STUDYMATE_LOG_DIR": str(workdir), "STUDYMATE_ENV_FILE": os.devnull,
                "STUDYMATE_THROTTLE_MESSAGE_SECONDS": "0", "STUDYMATE_THROTTLE_CALLBACK_SECONDS": "0",
                # No countdown redraws during the run: quiz_load's students take any change
                # of the message for the next question.
                "STUDYMATE_QUIZ_QUESTION_SECONDS": "600", "STUDYMATE_QUIZ_COUNTDOWN_SECONDS": "3600",
                "STUDYMATE_LOG_LEVEL": "WARNING",
            }
            cluster = Cluster(nginx, workdir, replicas, env)
            await cluster.start()
            try:
                latencies: list[float] = []
                started = time.monotonic()
                await asyncio.gather(
                    *(student(fake, n, latencies, Tally(), 0.0, "abcd") for n in range(args.students))
                )
                elapsed = time.monotonic() - started
            finally:
                await cluster.stop()
    finally:
        drop_database(args.postgres, url)
        shutil.rmtree(workdir, ignore_errors=True)
    return len(latencies) / elapsed, latencies


async def main(args: argparse.Namespace) -> None:
    nginx = find_nginx(install=True)
    if nginx is None:
        sys.exit("nginx is needed: apt-get install nginx")
    counts = [int(n) for n in args.replicas.split(",")]
    print(f"{args.students} students x {args.questions} questions, PostgreSQL + Redis, "
          f"nginx in front, {os.cpu_count()} CPU cores")
    rates = {}
    for count in counts:
        rate, latencies = await run_once(count, args, nginx)
        latencies.sort()
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
        rates[count] = rate
        print(f"replicas={count}: {rate:.1f} answers/s, answer → next question "
              f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    base = rates[counts[0]]
    print("scaling factor vs " + f"{counts[0]} replica(s): "
          + ", ".join(f"{c}: x{rates[c] / base:.2f}" for c in counts))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", default="1,2,4")
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--postgres", default=os.environ.get(
        "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    asyncio.run(main(parser.parse_args()))
