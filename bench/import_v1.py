"""How long ``studymate import-v1`` takes for a big v1 school, and a second run of it.

Builds a v1 SQLite database with v1's DDL (tests/v1_schema.py) holding STUDENTS students of one
mentor, QUIZZES ranked quizzes of QUESTIONS questions spread over six months, and a finished
attempt with all its answers for 90 % of (student, quiz) pairs, plus downloads; imports it into
a fresh migrated database (SQLite, or PostgreSQL with --target), then runs the import again.

    .venv/bin/python bench/import_v1.py [--students 300] [--quizzes 60] [--questions 20]
        [--target postgresql://postgres@127.0.0.1:5432/bench_import]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import v1_schema

from studymate.db import migrate
from studymate.db.connection import open_database
from studymate.db.models import MODELS
from studymate.services.import_v1.run import import_v1
from studymate.services.import_v1.source import V1Source


def build(path: Path, students: int, quizzes: int, questions: int) -> dict[str, int]:
    conn = sqlite3.connect(path)
    v1_schema.write(conn, v1_schema.V1School(), postgres=False)  # the tables only
    rng = random.Random(7)
    t0 = dt.datetime(2026, 3, 1, 6)

    def ts(moment: dt.datetime) -> str:
        return str(moment)

    conn.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('contenttypes',"
                 " '0001_initial', '2025-09-01 08:00:00')")
    conn.execute("INSERT INTO mentors_mentor VALUES (1, 1001, 'Anna', -100500, 'ru', 1, ?)",
                 (ts(t0),))
    conn.executemany(
        "INSERT INTO students_student VALUES (?, ?, ?, ?, '', '', 0, 1, 'qq', ?, ?, 0, 0, NULL)",
        [(i, 10_000 + i, f"u{i}", f"Student {i}", ts(t0), ts(t0)) for i in range(1, students + 1)])
    conn.execute("INSERT INTO materials_topic VALUES (1, 1, 'Topic', 0, ?)", (ts(t0),))
    conn.executemany("INSERT INTO materials_material VALUES (?, 1, ?, ?, 'f.pdf', 0, ?)",
                     [(i, f"File {i}", f"BQAC{i}", ts(t0)) for i in range(1, 31)])
    conn.executemany(
        "INSERT INTO downloads_download (student_id, material_id, downloaded_at) VALUES (?, ?, ?)",
        [(s, m, ts(t0 + dt.timedelta(minutes=s + m))) for s in range(1, students + 1)
         for m in range(1, 31)])
    answers, attempts, qid = [], [], 0
    for q in range(1, quizzes + 1):
        opens = t0 + dt.timedelta(days=3 * q)
        conn.execute(
            "INSERT INTO quizzes_quiz VALUES (?, 1, ?, NULL, 1, 'ranked', ?, ?, 1, ?)",
            (q, f"Quiz {q}", ts(opens), ts(opens + dt.timedelta(hours=48)), ts(opens)))
        ids = []
        for n in range(1, questions + 1):
            qid += 1
            ids.append(qid)
            conn.execute("INSERT INTO quizzes_quizquestion VALUES (?, ?, ?, 'a', 'b', 'c', 'd',"
                         " 'A', ?, 0)", (qid, q, f"Question {n} of quiz {q}?", n))
        for s in range(1, students + 1):
            if rng.random() < 0.1:
                continue
            aid = len(attempts) + 1
            letters = [rng.choice("AABCD") for _ in ids]
            score = letters.count("A")
            start = opens + dt.timedelta(minutes=s)
            attempts.append((aid, s, q, score, len(ids), ts(start),
                             ts(start + dt.timedelta(minutes=5))))
            answers += [(aid, i, letter, int(letter == "A")) for i, letter in zip(ids, letters, strict=True)]
    conn.executemany("INSERT INTO quizzes_quizattempt VALUES (?, ?, ?, ?, ?, ?, ?)", attempts)
    conn.executemany("INSERT INTO quizzes_quizanswer (attempt_id, question_id, selected_answer,"
                     " is_correct) VALUES (?, ?, ?, ?)", answers)
    conn.commit()
    conn.close()
    return {"students": students, "quiz questions": qid, "downloads": students * 30,
            "attempts": len(attempts), "answers": len(answers)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--quizzes", type=int, default=60)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--target", help="a PostgreSQL URL (its tables are emptied)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-v1-"))
    started = time.perf_counter()
    sizes = build(tmp / "v1.sqlite3", args.students, args.quizzes, args.questions)
    print(f"v1 school built in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{n} {k}" for k, n in sizes.items()))
    url = args.target or f"sqlite:///{tmp / 'new.db'}"
    database = open_database(url)
    migrate.apply(database)
    if args.target:
        with database.connection_context():
            tables = ", ".join(f'"{m._meta.table_name}"' for m in MODELS)
            database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    database.connect(reuse_if_open=True)
    tz = ZoneInfo("Asia/Tashkent")
    for label in ("first run", "second run"):
        started = time.perf_counter()
        with V1Source(f"sqlite:///{tmp / 'v1.sqlite3'}") as source:
            summary = import_v1(database, source, tz=tz)
        took = time.perf_counter() - started
        rows = sum(t.imported for t in summary.tallies.values())
        read = sum(t.read for t in summary.tallies.values())
        print(f"{label} into {url.split(':', 1)[0]}: {took:.1f} s, {read} v1 rows read,"
              f" {rows} imported ({rows / took:,.0f} rows/s), ok={summary.ok}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MB")
    database.close()


if __name__ == "__main__":
    main()
