"""Leaderboard benchmark: a generated school on SQLite and PostgreSQL, p50/p95 per query.

School: 3,000 students (10 of them test accounts) of one mentor, 60 ranked quizzes of 20
questions over twelve months (5 a month), one finished attempt per student per quiz (3 % of
them started after the deadline, so not valid) and 20 answers per attempt: 180,000 attempts,
3.6 million answers. Bulk-loaded (executemany in one transaction on SQLite, COPY on
PostgreSQL) into a fresh SQLite file and a fresh PostgreSQL database, then the season ratings
are built with ``recompute_mentor`` (the set-based path the services use).

Each query runs 200 times (random page / student each time), each call in its own
transaction as the bot runs it:
  season board (mentor)  ``mentor_board(mode="season")``: current season lookup + one page
  season board (student) ``student_board``: top 15, animals, the student's rank
  all-time board         ``mentor_board(mode="alltime")``: one page
  student's rank         ``season_rank`` in the current season
  profile                ``load_profile``: statistics and streak
  mentor statistics      ``mentor_stats``
and the write paths the quiz engine calls:
  finish an attempt      ``on_attempt_finished`` (streak, month and all-time rating)
  recompute a quiz       ``recompute_quiz`` on a quiz all 3,000 students took (20 runs)

Run:  .venv/bin/python bench/leaderboard.py [--backend sqlite|postgres|both]
          [--postgres-url postgresql://postgres@127.0.0.1:5432/test] [--repeat 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg2
from peewee import Database

from studymate.db import migrate
from studymate.db.connection import is_postgres, open_database
from studymate.services import profile, ratings, stats

TZ = ZoneInfo("Asia/Tashkent")
NOW = dt.datetime(2026, 6, 24, 12, 0)  # naive UTC: June 2026, the last quiz just closed
FIRST_MONTH = dt.datetime(2025, 7, 1, 4, 0)  # 09:00 local on July 1st 2025
TEST_ACCOUNTS = 10


def _chunks(rows: Iterable[tuple], size: int = 200_000) -> Iterator[list[tuple]]:
    chunk: list[tuple] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class School:
    """The generated rows, produced lazily (the answers alone are 3.6 million tuples)."""

    def __init__(self, students: int, quizzes: int, questions: int, seed: int = 42) -> None:
        self.n_students, self.n_quizzes, self.n_questions = students, quizzes, questions
        self.rng = random.Random(seed)
        self.ability = [self.rng.betavariate(5, 2) for _ in range(students)]
        self.opens = [
            FIRST_MONTH + dt.timedelta(days=30.4 * (q // 5) + 5 * (q % 5) + 1)
            for q in range(quizzes)
        ]
        self.test_ids = frozenset(2_000_000 + i for i in range(TEST_ACCOUNTS))

    def mentors(self) -> list[tuple]:
        return [(1, 1001, "Anna", -100500, "ru", True, NOW)]

    def students(self) -> Iterator[tuple]:
        for i in range(self.n_students):
            telegram_id = 2_000_000 + i  # the first TEST_ACCOUNTS are test accounts
            joined = FIRST_MONTH - dt.timedelta(days=self.rng.randint(1, 60))
            last_day = (NOW - dt.timedelta(days=self.rng.randint(0, 5))).date()
            yield (i + 1, telegram_id, f"user{i}", f"First{i}", f"Last{i}",
                   f"Student {i}" if i % 3 else "", i % 3 != 0, 1, "ru", joined, joined,
                   self.rng.randint(0, 9), self.rng.randint(9, 30), last_day)

    def quizzes(self) -> Iterator[tuple]:
        for q, opens in enumerate(self.opens):
            yield (q + 1, 1, f"Quiz {q + 1}", "Topic", True, "ranked", opens,
                   opens + dt.timedelta(hours=48), 1, opens, opens)

    def questions(self) -> Iterator[tuple]:
        for q in range(self.n_quizzes):
            for k in range(self.n_questions):
                yield (q * self.n_questions + k + 1, q + 1, f"Question {k + 1}?", "a", "b", "c",
                       "d", "ABCD"[k % 4], k + 1, 0)

    def attempts_and_answers(self) -> Iterator[tuple[tuple, list[tuple]]]:
        rng, n = self.rng, self.n_questions
        answer_id = 0
        for q, opens in enumerate(self.opens):
            for s in range(self.n_students):
                attempt_id = q * self.n_students + s + 1
                late = rng.random() < 0.03
                started = opens + dt.timedelta(
                    seconds=rng.randint(48 * 3600, 60 * 3600) if late else rng.randint(0, 47 * 3600)
                )
                started = started.replace(microsecond=0)
                finished = started + dt.timedelta(seconds=rng.randint(120, 500))
                correct = [rng.random() < self.ability[s] for _ in range(n)]
                score = sum(correct)
                attempt = (attempt_id, s + 1, q + 1, score, n, started, finished, "[]", n, False,
                           "completed")
                answers = []
                for k, ok in enumerate(correct):
                    answer_id += 1
                    right = "ABCD"[k % 4]
                    answers.append((answer_id, attempt_id, q * n + k + 1,
                                    right if ok else "ABCD"[(k + 1) % 4], ok, finished))
                yield attempt, answers


TABLES = {
    "mentor": "id, telegram_id, name, group_chat_id, language, is_active, created_at",
    "student": "id, telegram_id, username, first_name, last_name, full_name, profile_completed, "
               "mentor_id, language, joined_at, last_active, current_streak, longest_streak, "
               "last_quiz_date",
    "quiz": "id, mentor_id, title, topic, is_active, quiz_type, available_from, available_until, "
            "max_attempts, created_at, notified_at",
    "quiz_question": "id, quiz_id, question_text, option_a, option_b, option_c, option_d, "
                     "correct_answer, \"order\", time_bonus",
    "quiz_attempt": "id, student_id, quiz_id, score, total, started_at, finished_at, "
                    "question_ids, current_index, is_exam, finish_reason",
    "quiz_answer": "id, attempt_id, question_id, selected_answer, is_correct, answered_at",
}


def _copy_value(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


class Loader:
    """executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.postgres = is_postgres(database)

    def load(self, table: str, rows: Iterable[tuple]) -> int:
        count = 0
        columns = TABLES[table]
        for chunk in _chunks(rows):
            count += len(chunk)
            if self.postgres:
                buffer = io.StringIO()
                for row in chunk:
                    buffer.write("\t".join(_copy_value(v) for v in row))
                    buffer.write("\n")
                buffer.seek(0)
                cursor = self.database.connection().cursor()
                cursor.copy_expert(f'COPY "{table}" ({columns}) FROM STDIN', buffer)
            else:
                marks = ", ".join("?" * len(chunk[0]))
                self.database.connection().executemany(
                    f'INSERT INTO "{table}" ({columns}) VALUES ({marks})',
                    [tuple(_sqlite_value(v) for v in row) for row in chunk],
                )
        return count


def _sqlite_value(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return str(value)  # peewee's storage format ("YYYY-MM-DD HH:MM:SS[.ffffff]")
    return value


def generate(database: Database, students: int, quizzes: int, questions: int) -> School:
    school = School(students, quizzes, questions)
    loader = Loader(database)
    started = time.perf_counter()
    with database.atomic():
        loader.load("mentor", school.mentors())
        loader.load("student", school.students())
        loader.load("quiz", school.quizzes())
        loader.load("quiz_question", school.questions())
        n_attempts = n_answers = 0
        attempts: list[tuple] = []
        answers: list[tuple] = []
        for attempt, rows in school.attempts_and_answers():
            attempts.append(attempt)
            answers.extend(rows)
            if len(answers) >= 200_000:
                n_attempts += loader.load("quiz_attempt", attempts)
                n_answers += loader.load("quiz_answer", answers)
                attempts.clear()
                answers.clear()
        n_attempts += loader.load("quiz_attempt", attempts)
        n_answers += loader.load("quiz_answer", answers)
        if loader.postgres:
            for table in TABLES:
                database.execute_sql(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f"(SELECT MAX(id) FROM \"{table}\"))"
                )
    print(f"  loaded {students} students, {quizzes} quizzes, {n_attempts} attempts, "
          f"{n_answers} answers in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with database.atomic():
        seasons = ratings.recompute_mentor(1, tz=TZ, now=NOW)
    print(f"  built the ratings of {seasons} seasons in {time.perf_counter() - started:.1f} s")
    if loader.postgres:
        database.execute_sql("VACUUM ANALYZE")  # what autovacuum does after a bulk load
    return school


def measure(database: Database, name: str, call: Callable[[random.Random], object],
            repeat: int) -> tuple[float, float]:
    rng = random.Random(7)
    for _ in range(5):  # warm-up
        with database.atomic():
            call(rng)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        with database.atomic():
            call(rng)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"  {name:<24} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms")
    return p50, p95


def run_queries(database: Database, school: School, repeat: int) -> None:
    test_ids = school.test_ids
    n = school.n_students
    pages = -(-n // ratings.MENTOR_PAGE_SIZE)
    season = ratings.current_season(1, tz=TZ, now=NOW)
    measure(database, "season board (mentor)", lambda r: ratings.mentor_board(
        1, mode="season", page=r.randrange(pages), tz=TZ, test_ids=test_ids, now=NOW), repeat)
    measure(database, "season board (student)", lambda r: ratings.student_board(
        r.randint(1, n), tz=TZ, test_ids=test_ids, now=NOW), repeat)
    measure(database, "all-time board", lambda r: ratings.mentor_board(
        1, mode="alltime", page=r.randrange(pages), tz=TZ, test_ids=test_ids, now=NOW), repeat)
    measure(database, "student's rank", lambda r: ratings.season_rank(
        season.id, r.randint(1, n), test_ids=test_ids), repeat)
    measure(database, "profile", lambda r: profile.load_profile(
        r.randint(1, n), tz=TZ, now=NOW), repeat)
    measure(database, "mentor statistics", lambda r: stats.mentor_stats(
        1, tz=TZ, test_ids=test_ids, now=NOW), repeat)
    last_quiz = school.n_quizzes
    first_attempt = (last_quiz - 1) * n + 1
    measure(database, "finish an attempt", lambda r: ratings.on_attempt_finished(
        first_attempt + r.randrange(n), tz=TZ, now=NOW), repeat)
    measure(database, "recompute a quiz", lambda r: ratings.recompute_quiz(
        last_quiz, tz=TZ, now=NOW), min(repeat, 20))


def bench_sqlite(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="studymate-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        print(f"SQLite ({path})")
        database = open_database(f"sqlite:///{path}")
        migrate.apply(database)
        database.connect(reuse_if_open=True)
        school = generate(database, args.students, args.quizzes, args.questions)
        print(f"  file size {path.stat().st_size / 1e6:.0f} MB")
        run_queries(database, school, args.repeat)
        database.close()


def bench_postgres(args: argparse.Namespace) -> None:
    admin = psycopg2.connect(args.postgres_url, connect_timeout=5)
    admin.autocommit = True
    name = f"studymate_bench_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = f"{args.postgres_url.rsplit('/', 1)[0]}/{name}"
    print(f"PostgreSQL ({url})")
    try:
        database = open_database(url)
        migrate.apply(database)
        database.connect(reuse_if_open=True)
        school = generate(database, args.students, args.quizzes, args.questions)
        run_queries(database, school, args.repeat)
        database.close_all()
    finally:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="an existing database used to create and drop the bench database")
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--quizzes", type=int, default=60)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        bench_sqlite(args)
    if args.backend in ("postgres", "both"):
        bench_postgres(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
