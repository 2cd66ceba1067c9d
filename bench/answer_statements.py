"""Benchmark: the database work of one quiz answer, without Telegram.

    .venv/bin/python bench/answer_statements.py [--database-url URL] [--students 100] [--questions 20]

Seeds a quiz (as bench/quiz_load.py does), then answers it question by question for every
student with ``engine.answer``, one transaction each, in this thread: prints the CPU time per
answer. On PostgreSQL (an empty database: ``--database-url``) it also prints the write-ahead
log written per answer (the whole server's: run it on a quiet one), the server's CPU time per
answer, the share of the attempt's updates made in place (HOT), and the server's CPU time
for the answer's read, sent as text each time and as a statement prepared on the
connection (``/proc`` of the server process: run it on the database's machine).
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quiz_load import FIRST, cpu_seconds, seed  # the same quiz as bench/quiz_load.py

from studymate.db.connection import is_postgres, open_database, transaction
from studymate.db.prepared import fill
from studymate.services.quiz import engine

TZ = ZoneInfo("UTC")
READS = 3000


def server_read_cost(database, attempt_id: int, question_id: int) -> None:
    sql, params, _ = engine._TAP_READ._compiled()
    values = {"attempt": attempt_id, "student": FIRST, "question": question_id}
    args = [fill(param, values) for param in params]
    cursor = database.connection().cursor()
    cursor.execute("SELECT pg_backend_pid()")
    pid = cursor.fetchone()[0]
    numbers = itertools.count(1)
    cursor.execute("PREPARE bench_read AS " + re.sub(r"%s", lambda _: f"${next(numbers)}", sql))
    runs = {"as text": (sql, args), "prepared": (f"EXECUTE bench_read ({', '.join(['%s'] * len(args))})", args)}
    for label, (text, values_) in runs.items():
        before = cpu_seconds(pid)
        for _ in range(READS):
            cursor.execute(text, values_)
            cursor.fetchall()
        print(f"server CPU for the answer's read, {label}: {(cpu_seconds(pid) - before) / READS * 1e6:.0f} µs")
    cursor.execute("DEALLOCATE bench_read")


def wal_position(database) -> str | None:
    """PostgreSQL's current write-ahead log position (None on SQLite)."""
    if not is_postgres(database):
        return None
    return database.execute_sql("SELECT pg_current_wal_lsn()").fetchone()[0]


def backend_pid(database) -> int | None:
    """The server process of this connection (None on SQLite)."""
    if not is_postgres(database):
        return None
    return database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def hot_share(database) -> float:
    """The share of quiz_attempt's row updates PostgreSQL made in place (HOT)."""
    database.execute_sql("SELECT pg_stat_force_next_flush()")
    database.execute_sql("SELECT 1")  # the statistics go out when a statement ends
    updated, hot = database.execute_sql(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'quiz_attempt'"
    ).fetchone()
    return hot / updated if updated else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="an empty database (default: temp SQLite)")
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='studymate-answers-')}/bench.db"
    seed(url, args.students, args.questions, "abcd")
    database = open_database(url)
    database.connect()
    views = []
    for n in range(args.students):
        with transaction(database):
            views.append(engine.start(FIRST + n, 1, tz=TZ))
    first = views[0]
    wal_before = wal_position(database)
    server = backend_pid(database)
    server_before = cpu_seconds(server) if server else 0.0
    started = time.process_time()
    for _ in range(args.questions):
        for n, view in enumerate(views):
            with transaction(database):
                step = engine.answer(FIRST + n, view.attempt_id, view.question_id, "B", tz=TZ,
                                     base_seconds=600)
            views[n] = step.next or view
    answers = args.students * args.questions
    print(f"{url.split(':')[0]}: {answers} answers, CPU {(time.process_time() - started) / answers * 1000:.3f} ms per answer")
    if is_postgres(database):
        server_cpu = (cpu_seconds(server) - server_before) / answers * 1000
        print(f"server CPU: {server_cpu:.3f} ms per answer")
        wal = database.execute_sql("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (wal_before,))
        print(f"write-ahead log: {float(wal.fetchone()[0]) / answers:.0f} bytes per answer")
        print(f"attempt moves updated in place (HOT): {hot_share(database):.0%}")
        server_read_cost(database, first.attempt_id, first.question_id)
    database.close()


if __name__ == "__main__":
    main()
