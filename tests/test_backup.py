"""Backups: verified round trips on the backend under test, damaged files refused, retention over
a simulated year, admins alerted on failure, the nightly schedule across DST, supervisor paused."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from e2e import ADMIN_ID, TOKEN, plain

from studymate.config import Settings
from studymate.db.connection import open_database
from studymate.db.migrate import MIGRATIONS_DIR
from studymate.db.models import (
    MODELS,
    AlertLog,
    Download,
    FsmRecord,
    Material,
    Mentor,
    OutboxBatch,
    OutboxMessage,
    Question,
    Quiz,
    QuizAnswer,
    QuizAttempt,
    QuizQuestion,
    Season,
    SeasonRating,
    Student,
    Topic,
)
from studymate.ops.backup import retention
from studymate.ops.backup.core import (
    restore_backup,
    run_backup,
    verify_backup,
)
from studymate.ops.backup.files import BackupError, Manifest, manifest_path, scan, stem_for
from studymate.ops.backup.schedule import due_at_start, next_run, scheduled_run, serve
from studymate.ops.supervisor.client import SupervisorClient, SupervisorUnavailable

UTC = dt.UTC
TASHKENT = zoneinfo.ZoneInfo("Asia/Tashkent")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
IS_POSTGRES = os.environ.get("STUDYMATE_TEST_BACKEND", "sqlite") == "postgres"


# -- helpers ----------------------------------------------------------------------------------


@contextlib.contextmanager
def bound(url: str) -> Iterator[None]:
    """The models bound to ``url`` for a moment; every connection closed afterwards (a
    PostgreSQL restore terminates connections to the database it replaces)."""
    database = open_database(url)
    database.connect(reuse_if_open=True)
    try:
        yield
    finally:
        if hasattr(database, "close_all"):
            database.close_all()
        else:
            database.close()


def make_settings(database_url: str, tmp_path: Path, **extra: object) -> Settings:
    backup = {"dir": tmp_path / "backups", **extra.pop("backup", {})}  # type: ignore[dict-item]
    values: dict[str, object] = {
        "database_url": database_url,
        "backup": backup,
        "state_dir": tmp_path / "state",
        "runtime_dir": tmp_path / "run",
        "log_dir": tmp_path / "log",
        "timezone": "Asia/Tashkent",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def seed(url: str, students: int = 40) -> None:
    """A little of everything, with the values that break naive dumps: quotes, backslashes,
    newlines, tabs, NULLs, Cyrillic and Karakalpak letters, emoji."""
    tricky = "O'Neil \\N \"quoted\"\ttab\nnew line — Ámir ǵ ń 🎓 <b>"
    with bound(url):
        mentors = [
            Mentor.create(telegram_id=1000 + i, name=f"Ментор {i} {tricky}", group_chat_id=-100 - i)
            for i in range(2)
        ]
        people = [
            Student.create(
                telegram_id=2000 + i,
                username=None if i % 3 == 0 else f"user{i}",
                first_name=tricky,
                full_name=f"Student {i}",
                mentor=mentors[i % 2],
                last_quiz_date=dt.date(2026, 1, 1) if i % 2 else None,
            )
            for i in range(students)
        ]
        topic = Topic.create(mentor=mentors[0], name="Алгебра")
        material = Material.create(topic=topic, title=tricky, file_id="F" * 80, kind="photo")
        Download.insert_many([{"student": s, "material": material} for s in people]).execute()
        Question.create(mentor=mentors[0], student=people[1], student_telegram_id=2001, text=tricky)
        quiz = Quiz.create(mentor=mentors[1], title="Контрольная", quiz_type="ranked")
        questions = [
            QuizQuestion.create(
                quiz=quiz, question_text=f"{i}+{i}=?", option_a="1", option_b="2",
                option_c="3", option_d=tricky, correct_answer="b", order=i,
            )
            for i in range(6)
        ]
        for student in people:
            attempt = QuizAttempt.create(
                student=student, quiz=quiz, question_ids=json.dumps([q.id for q in questions])
            )
            QuizAnswer.insert_many(
                [{"attempt": attempt, "question": q, "selected_answer": "b", "is_correct": True}
                 for q in questions]
            ).execute()
        season = Season.create(
            mentor=mentors[0], name="Ноябрь", start_date=dt.date(2026, 11, 1),
            end_date=dt.date(2026, 11, 30),
        )
        SeasonRating.create(season=season, student=people[0], rating_score=87.5)
        batch = OutboxBatch.create(mentor=mentors[0], kind="broadcast", total=1)
        OutboxMessage.create(batch=batch, chat_id=2000, payload=json.dumps({"text": tricky}),
                             dedupe_key="b1:2000")
        FsmRecord.create(key="bot:2000:2000", state="Quiz:answer", data=json.dumps({"t": tricky}))
        AlertLog.create(key="error:X", suppressed=3)


def fingerprint(url: str) -> tuple[dict[str, int], str]:
    """Row counts and a hash of every row of every table, ordered by primary key."""
    digest = hashlib.sha256()
    counts = {}
    with bound(url):
        for model in MODELS:
            rows = list(model.select().order_by(model._meta.primary_key).tuples())
            counts[model._meta.table_name] = len(rows)
            digest.update(model._meta.table_name.encode())
            for row in rows:
                digest.update(repr(row).encode())
    return counts, digest.hexdigest()


def change_everything(url: str) -> None:
    """What happens after a backup and should be undone by restoring it."""
    with bound(url):
        QuizAnswer.delete().where(QuizAnswer.id > 100).execute()
        Mentor.create(telegram_id=5555, name="After the backup", group_chat_id=-5)
        Student.update(full_name="changed").execute()


def truncate(path: Path, by: int = 1000) -> None:
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size - by)


def flip_bit(path: Path) -> None:
    with path.open("r+b") as fh:
        fh.seek(path.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, os.SEEK_CUR)
        fh.write(bytes([byte[0] ^ 0x10]))


DAMAGE = {"truncated": truncate, "bit-flipped": flip_bit}


@pytest.fixture
def drop_restore_leftovers(database_url: str) -> Iterator[None]:
    """A PostgreSQL restore keeps the previous database beside the live one: drop it after."""
    yield
    if not database_url.startswith("postgres"):
        return
    name = database_url.rsplit("/", 1)[1]
    admin = psycopg2.connect(database_url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s",
            (f"{name}_before_restore_%", f"{name}_restore_%"),
        )
        for (stale,) in cur.fetchall():
            cur.execute(f'DROP DATABASE IF EXISTS "{stale}"')
    admin.close()


def yes(_manifest: Manifest) -> bool:
    return True


# -- round trip ---------------------------------------------------------------------------------


def test_backup_verify_restore_preserves_every_row(database_url, tmp_path, drop_restore_leftovers):
    seed(database_url)
    before = fingerprint(database_url)
    settings = make_settings(database_url, tmp_path)

    result = run_backup(settings)
    manifest = result.manifest
    assert manifest.verified and manifest.row_counts == before[0]
    newest = sorted(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py"))[-1]
    assert manifest.schema_version == newest
    assert manifest.engine == ("postgresql" if IS_POSTGRES else "sqlite")
    assert result.path.stat().st_mode & 0o777 == 0o600
    assert settings.backup.dir.stat().st_mode & 0o777 == 0o700
    assert verify_backup(result.path).sha256 == manifest.sha256

    change_everything(database_url)
    assert fingerprint(database_url) != before
    said: list[str] = []
    kept = restore_backup(settings, result.path, confirm=yes, say=said.append)

    assert fingerprint(database_url) == before
    assert any("no supervisor found" in line for line in said)
    assert kept is not None and any(kept in line for line in said)
    with bound(database_url):  # sequences and constraints came back too
        assert Mentor.create(telegram_id=7777, name="new", group_chat_id=-7).id > 2
        assert Mentor.select().count() == before[0]["mentor"] + 1
    if not IS_POSTGRES:
        live = Path(database_url.removeprefix("sqlite:///"))
        previous = Path(kept)
        assert previous.exists() and previous.parent == live.parent
        assert not list(live.parent.glob("*.tmp"))


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_backup_is_refused_and_nothing_is_touched(
    database_url, tmp_path, damage, drop_restore_leftovers
):
    seed(database_url)
    settings = make_settings(database_url, tmp_path)
    path = run_backup(settings).path
    change_everything(database_url)
    current = fingerprint(database_url)
    DAMAGE[damage](path)

    with pytest.raises(BackupError, match="is not a good backup"):
        verify_backup(path)
    asked: list[Manifest] = []
    with pytest.raises(BackupError, match="is not a good backup"):
        restore_backup(settings, path, confirm=asked.append, say=lambda _: None)  # type: ignore[arg-type]

    assert not asked, "a bad file must be refused before the operator is even asked"
    assert fingerprint(database_url) == current
    [entry], _ = scan(settings.backup.dir)
    assert not entry.good, "a backup that failed verification no longer counts as good"


def test_full_read_rejects_truncation_even_when_checksum_and_size_are_forged(database_url, tmp_path):
    """``pg_restore --list`` accepts a truncated dump; the full read must not."""
    seed(database_url)
    path = run_backup(make_settings(database_url, tmp_path)).path
    truncate(path, by=max(1000, path.stat().st_size // 3))
    manifest = Manifest.from_json(manifest_path(path).read_text())
    manifest.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest.size = path.stat().st_size
    manifest_path(path).write_text(manifest.to_json())

    with pytest.raises(BackupError) as failure:
        verify_backup(path)
    message = str(failure.value)
    assert "sha256" not in message and "size" not in message
    assert "cannot read" in message or "integrity" in message or "row counts differ" in message


# -- command line -------------------------------------------------------------------------------


def cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studymate", *args], env=env, input=stdin, capture_output=True,
        text=True, timeout=120, check=False,
    )


def cli_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "STUDYMATE_DATABASE_URL": database_url,
        "STUDYMATE_BACKUP_DIR": str(tmp_path / "backups"),
        "STUDYMATE_STATE_DIR": str(tmp_path / "state"),
        "STUDYMATE_RUNTIME_DIR": str(tmp_path / "run"),
        "STUDYMATE_LOG_DIR": str(tmp_path / "log"),
        "STUDYMATE_ENV_FILE": os.devnull,
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def test_cli_round_trip(database_url, tmp_path, drop_restore_leftovers):
    seed(database_url)
    before = fingerprint(database_url)
    env = cli_env(database_url, tmp_path)

    run = cli(env, "backup", "run")
    assert run.returncode == 0, run.stderr
    [path] = [p for p in (tmp_path / "backups").iterdir() if not p.name.endswith(".json")
              and not p.name.startswith(".")]
    assert "backup written" in run.stdout

    listing = cli(env, "backup", "list")
    assert listing.returncode == 0
    [row] = [line for line in listing.stdout.splitlines() if line.startswith(path.name)]
    assert row.split()[-2:] == ["yes", str(sum(before[0].values()))]

    verify = cli(env, "backup", "verify", path.name)  # a bare name is looked up in BACKUP_DIR
    assert verify.returncode == 0 and verify.stdout.startswith(f"OK {path.name}"), verify.stderr

    change_everything(database_url)
    changed = fingerprint(database_url)
    declined = cli(env, "backup", "restore", str(path), stdin="no\n")
    assert declined.returncode == 1 and "cancelled" in declined.stderr
    assert fingerprint(database_url) == changed

    restore = cli(env, "backup", "restore", str(path), "--yes")
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert "restore complete" in restore.stdout
    assert fingerprint(database_url) == before

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    shutil.copy(path, damaged / path.name)
    shutil.copy(manifest_path(path), damaged / manifest_path(path).name)
    truncate(damaged / path.name)
    for args in (("verify",), ("restore", "--yes")):
        refused = cli(env, "backup", *args, str(damaged / path.name))
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "is not a good backup" in refused.stderr
    assert fingerprint(database_url) == before

    bad_time = cli({**env, "STUDYMATE_BACKUP_TIME": "25:00"}, "backup", "schedule")
    assert bad_time.returncode == 2 and "BACKUP_TIME" in bad_time.stderr


# -- retention ----------------------------------------------------------------------------------


def nightly(first: dt.date, days: int, *, at: dt.time = dt.time(3, 0), tz=TASHKENT):
    for offset in range(days):
        yield dt.datetime.combine(first + dt.timedelta(days=offset), at, tzinfo=tz).astimezone(UTC)


def test_a_year_of_nightly_backups_keeps_exactly_the_gfs_set():
    """365 runs at 03:00 Tashkent (22:00 UTC the day before: names are UTC, buckets are local),
    pruning after each run like the scheduler does."""
    policy = retention.Policy(daily=7, weekly=4, monthly=12, keep_days=1)
    existing: dict[str, retention.Candidate] = {}
    for created in nightly(dt.date(2026, 1, 1), 365):
        name = stem_for(created) + ".sqlite3"
        existing[name] = retention.Candidate(name, created, good=True)
        plan = retention.plan(existing.values(), policy=policy, now=created, tz=TASHKENT)
        for gone in plan.delete:
            del existing[gone]

    assert sorted(existing) == [
        # monthly: the newest of each month (31 Jan ... 30 Nov; December's is a daily too)
        "studymate-20260130-220000.sqlite3",
        "studymate-20260227-220000.sqlite3",
        "studymate-20260330-220000.sqlite3",
        "studymate-20260429-220000.sqlite3",
        "studymate-20260530-220000.sqlite3",
        "studymate-20260629-220000.sqlite3",
        "studymate-20260730-220000.sqlite3",
        "studymate-20260830-220000.sqlite3",
        "studymate-20260929-220000.sqlite3",
        "studymate-20261030-220000.sqlite3",
        "studymate-20261129-220000.sqlite3",
        # weekly: Sundays 13 and 20 December (weeks 52 and 53 are covered by dailies)
        "studymate-20261212-220000.sqlite3",
        "studymate-20261219-220000.sqlite3",
        # daily: 25-31 December
        "studymate-20261224-220000.sqlite3",
        "studymate-20261225-220000.sqlite3",
        "studymate-20261226-220000.sqlite3",
        "studymate-20261227-220000.sqlite3",
        "studymate-20261228-220000.sqlite3",
        "studymate-20261229-220000.sqlite3",
        "studymate-20261230-220000.sqlite3",
    ]


def test_backups_younger_than_retention_days_are_kept():
    """v1's BACKUP_RETENTION_DAYS still holds: nothing younger is deleted, whatever GFS says."""
    now = dt.datetime(2026, 6, 29, 23, 0, tzinfo=UTC)  # an hour after the last run
    candidates = [
        retention.Candidate(stem_for(created), created, good=True)
        for created in nightly(dt.date(2026, 6, 1), 30)
    ]
    plan = retention.plan(candidates, policy=retention.Policy(1, 0, 0, keep_days=10),
                          now=now, tz=TASHKENT)
    kept_dates = sorted(c.created_at for c in candidates if c.name in plan.keep)
    assert len(kept_dates) == 10 and kept_dates[0] > now - dt.timedelta(days=10)


def test_the_last_good_backup_is_never_deleted():
    now = dt.datetime(2028, 1, 1, tzinfo=UTC)
    old = [
        retention.Candidate(stem_for(created), created, good=True)
        for created in nightly(dt.date(2025, 1, 1), 20)
    ]
    newest_good = old[-1].name
    plan = retention.plan(old, policy=retention.Policy(0, 0, 0, keep_days=1), now=now, tz=TASHKENT)
    assert list(plan.keep) == [newest_good] and len(plan.delete) == 19

    broken = retention.Candidate("studymate-20271231-000000.sqlite3",
                                 dt.datetime(2027, 12, 31, tzinfo=UTC), good=False)
    plan = retention.plan([*old, broken], policy=retention.Policy(0, 0, 0, keep_days=1), now=now,
                          tz=TASHKENT)
    assert plan.delete == [broken.name], "the newest backup is bad: no good backup may go"
    assert set(plan.keep) == {c.name for c in old}


def test_pruning_on_disk_removes_old_backups_and_leftovers(database_url, tmp_path):
    settings = make_settings(database_url, tmp_path, backup={"retention_days": 1})
    backup_dir = settings.backup.dir
    backup_dir.mkdir(mode=0o700)
    now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    names = []
    for days_ago in (40, 3, 2, 1):
        created = now - dt.timedelta(days=days_ago)
        data = backup_dir / (stem_for(created) + ".sqlite3")
        data.write_bytes(b"x")
        manifest = Manifest(
            file=data.name, engine="sqlite", sha256="0", size=1, created_at=created.isoformat(),
            studymate_version="t", server_version="t", tool="t", schema_version=None,
            database="t", row_counts={}, verified=True,
        )
        manifest_path(data).write_text(manifest.to_json())
        names.append(data.name)
    leftovers = [backup_dir / "studymate-20261126-115900.sqlite3.tmp",  # interrupted run
                 backup_dir / "studymate-20261120-000000.pgdump"]  # never got a manifest
    for path in leftovers:
        path.write_bytes(b"partial")

    from studymate.ops.backup.core import prune

    plan = prune(settings, policy=retention.Policy(daily=2, weekly=0, monthly=0, keep_days=1),
                 now=now)
    assert plan.delete == names[:2]
    remaining = sorted(p.name for p in backup_dir.iterdir() if not p.name.startswith("."))
    assert remaining == sorted([*names[2:], *(manifest_path(backup_dir / n).name for n in names[2:])])


# -- reports to the admins --------------------------------------------------------------------


def admin_texts(fake) -> list[str]:
    return [m["text"] for m in fake.messages(ADMIN_ID) if m["outgoing"]]


def alerting(database_url: str, tmp_path: Path, fake, **extra: object) -> Settings:
    return make_settings(
        database_url, tmp_path, bot_token=TOKEN, admin_telegram_ids=[ADMIN_ID],
        telegram_api_url=fake.base_url, **extra,
    )


async def test_failed_backup_alerts_the_admins_once_then_again_after_a_success(
    fake, database_url, tmp_path
):
    fake.add_user(ADMIN_ID, "Admin")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    broken = alerting(database_url, tmp_path, fake, backup={"dir": blocker / "backups"})
    with pytest.raises(BackupError) as failure:
        run_backup(broken)
    alert = plain("admin_backup_failed", "ru", reason=str(failure.value),
                  last=plain("admin_backup_last_none", "ru"))

    assert await asyncio.to_thread(scheduled_run, broken) is False
    assert await asyncio.to_thread(scheduled_run, broken) is False
    assert admin_texts(fake) == [alert], "the same failure is not repeated within the cooldown"

    working = alerting(database_url, tmp_path, fake)
    assert await asyncio.to_thread(scheduled_run, working) is True
    [good], _ = scan(working.backup.dir)
    manifest = good.manifest
    assert admin_texts(fake)[-1] == plain(
        "admin_backup_done", "ru", name=good.name, size=_size(manifest.size),
        rows=manifest.total_rows, seconds=round(sum(manifest.seconds.values()), 1),
        kept=1, removed=0,
    )

    assert await asyncio.to_thread(scheduled_run, broken) is False
    assert admin_texts(fake)[-1] == alert, "after a success the next failure alerts at once"
    assert len(admin_texts(fake)) == 3


async def test_alert_goes_out_even_when_the_database_is_unreachable(fake, tmp_path):
    fake.add_user(ADMIN_ID, "Admin")
    settings = alerting("postgresql://nobody@127.0.0.1:1/gone", tmp_path, fake)
    with pytest.raises(BackupError) as failure:
        run_backup(settings)
    assert await asyncio.to_thread(scheduled_run, settings) is False
    assert admin_texts(fake) == [plain("admin_backup_failed", "ru", reason=str(failure.value),
                                       last=plain("admin_backup_last_none", "ru"))]


def _size(size: int) -> str:
    from studymate.ops.backup.files import human_size

    return human_size(size)


# -- schedule -----------------------------------------------------------------------------------


def local(tz, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


def test_next_run_is_the_next_local_time_strictly_after_now():
    at = dt.time(3, 0)
    assert next_run(local(TASHKENT, 2026, 11, 26, 2, 0), at=at, tz=TASHKENT) == local(
        TASHKENT, 2026, 11, 26, 3, 0)
    assert next_run(local(TASHKENT, 2026, 11, 26, 3, 0), at=at, tz=TASHKENT) == local(
        TASHKENT, 2026, 11, 27, 3, 0)
    assert next_run(local(TASHKENT, 2026, 12, 31, 23, 59), at=at, tz=TASHKENT) == local(
        TASHKENT, 2027, 1, 1, 3, 0)


def test_next_run_across_dst_transitions():
    # Spring forward (8 March 2026, 02:00 → 03:00): 02:30 does not exist; it runs at 03:30 EDT.
    assert next_run(local(NEW_YORK, 2026, 3, 7, 12, 0), at=dt.time(2, 30), tz=NEW_YORK) == dt.datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC)
    # 03:00 to 03:00 across that night is 23 hours.
    first = next_run(local(NEW_YORK, 2026, 3, 7, 0, 0), at=dt.time(3, 0), tz=NEW_YORK)
    second = next_run(first, at=dt.time(3, 0), tz=NEW_YORK)
    assert second - first == dt.timedelta(hours=23)
    # Fall back (1 November 2026, 02:00 → 01:00): 01:30 happens twice; it runs once, the first time.
    ambiguous = next_run(local(NEW_YORK, 2026, 10, 31, 12, 0), at=dt.time(1, 30), tz=NEW_YORK)
    assert ambiguous == dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert next_run(ambiguous, at=dt.time(1, 30), tz=NEW_YORK) == dt.datetime(
        2026, 11, 2, 6, 30, tzinfo=UTC)


def test_backup_at_start_only_when_the_last_good_one_is_older_than_a_day():
    now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert due_at_start(None, now)
    assert due_at_start(now - dt.timedelta(hours=25), now)
    assert not due_at_start(now - dt.timedelta(hours=23), now)


class FakeTime(threading.Event):
    """A stop flag whose waiting moves a fake clock instead of sleeping."""

    def __init__(self, start: dt.datetime) -> None:
        super().__init__()
        self.now = start.astimezone(UTC)  # UTC like the real clock: aware + timedelta is wall time

    def clock(self) -> dt.datetime:
        return self.now

    def wait(self, timeout: float | None = None) -> bool:
        self.now += dt.timedelta(seconds=timeout or 0)
        return self.is_set()


def test_schedule_loop_runs_at_start_then_nightly_in_local_time(tmp_path):
    settings = make_settings("sqlite:///unused.db", tmp_path, timezone="America/New_York",
                             backup={"time": "02:30"})
    fake_time = FakeTime(local(NEW_YORK, 2026, 3, 7, 12, 0))
    runs: list[dt.datetime] = []

    def step() -> None:
        runs.append(fake_time.now)
        fake_time.now += dt.timedelta(minutes=4)  # a backup takes a while
        if len(runs) == 4:
            fake_time.set()

    serve(settings, stop=fake_time, clock=fake_time.clock, step=step)
    assert [r.astimezone(NEW_YORK).strftime("%m-%d %H:%M %Z") for r in runs] == [
        "03-07 12:00 EST",  # no good backup yet: one right away
        "03-08 03:30 EDT",  # 02:30 does not exist that night
        "03-09 02:30 EDT",
        "03-10 02:30 EDT",
    ]


def test_schedule_process_backs_up_at_start_and_stops_cleanly_on_sigterm(database_url, tmp_path):
    seed(database_url, students=5)
    env = cli_env(database_url, tmp_path, STUDYMATE_BACKUP_TIME="03:00")
    proc = subprocess.Popen([sys.executable, "-m", "studymate", "backup", "schedule"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list((tmp_path / "backups").glob("*.json")):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.1)
        [good], _ = scan(tmp_path / "backups")
        assert good.good
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        output = proc.stdout.read() if proc.stdout else ""
        assert "next backup at" in output and "backup scheduler stopped" in output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- restore under supervisor -------------------------------------------------------------------

FAKE_PROGRAM = """
import pathlib, signal, sys, time
name, log = sys.argv[1], pathlib.Path(sys.argv[2])
def note(what):
    with log.open("a") as fh:
        fh.write(f"{name} {what}\\n")
def stop(*_):
    note("stop")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
note("start")
while True:
    time.sleep(1)
"""


@pytest.fixture
def supervisord(tmp_path) -> Iterator[tuple[Path, Path]]:
    """A real supervisord running stand-ins for ``bot`` and ``watchdog`` on our socket."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    program, events = tmp_path / "program.py", tmp_path / "events.log"
    program.write_text(FAKE_PROGRAM)
    programs = "".join(
        f"[program:{name}]\ncommand={sys.executable} {program} {name} {events}\n"
        "startsecs=0\nstopwaitsecs=5\nautorestart=true\n\n"
        for name in ("watchdog", "bot")
    )
    conf = tmp_path / "supervisord.conf"
    conf.write_text(
        f"[supervisord]\nnodaemon=true\nlogfile={tmp_path}/supervisord.log\n"
        f"pidfile={run_dir}/supervisord.pid\n\n"
        f"[unix_http_server]\nfile={run_dir}/supervisor.sock\nchmod=0700\n\n"
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
        + programs
    )
    proc = subprocess.Popen([sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socket = run_dir / "supervisor.sock"
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(SupervisorUnavailable):
                states = {i["name"]: i["statename"] for i in SupervisorClient(socket).processes()}
                if states == {"bot": "RUNNING", "watchdog": "RUNNING"}:
                    break
            assert time.monotonic() < deadline, "supervisord did not start the programs"
            time.sleep(0.1)
        yield socket, events
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_restore_pauses_bot_and_watchdog_through_supervisor(
    database_url, tmp_path, supervisord, drop_restore_leftovers
):
    socket, events = supervisord
    seed(database_url, students=5)
    before = fingerprint(database_url)
    settings = make_settings(database_url, tmp_path)
    path = run_backup(settings).path
    change_everything(database_url)
    started = len(events.read_text().splitlines())

    said: list[str] = []
    restore_backup(settings, path, confirm=yes, say=said.append)

    assert fingerprint(database_url) == before
    deadline = time.monotonic() + 10
    while len(events.read_text().splitlines()) < started + 4 and time.monotonic() < deadline:
        time.sleep(0.05)  # RUNNING comes before the program has written its first line
    lines = events.read_text().splitlines()[started:]
    assert lines[:2] == ["watchdog stop", "bot stop"]  # the watchdog must not revive the bot
    assert sorted(lines[2:]) == ["bot start", "watchdog start"]
    states = {i["name"]: i["statename"] for i in SupervisorClient(socket).processes()}
    assert states == {"bot": "RUNNING", "watchdog": "RUNNING"}
    assert said.index("stopped bot (supervisor)") < said.index(f"the database now holds {path.name}")


@pytest.mark.skipif(IS_POSTGRES, reason="SQLite files only")
def test_restore_over_a_crashed_sqlite_database_drops_its_stale_wal(database_url, tmp_path):
    """A bot killed with -9 leaves a -wal full of changes; replayed onto the restored file it
    would corrupt it. The old file keeps it instead, and stays a complete database."""
    seed(database_url, students=5)
    before = fingerprint(database_url)
    settings = make_settings(database_url, tmp_path)
    path = run_backup(settings).path
    live = Path(database_url.removeprefix("sqlite:///"))
    crash = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1])\n"
        "conn.execute('PRAGMA journal_mode=wal'); conn.execute('PRAGMA wal_autocheckpoint=0')\n"
        "conn.execute(\"INSERT INTO mentor (telegram_id, name, group_chat_id, language, is_active,"
        " created_at) VALUES (9999, 'crashed', -9, 'ru', 1, '2026-01-01')\")\n"
        "conn.commit()\n"
        "os._exit(0)  # no close: the change stays in the -wal only\n"
    )
    subprocess.run([sys.executable, "-c", crash, str(live)], check=True)
    assert Path(f"{live}-wal").stat().st_size > 0

    kept = restore_backup(settings, path, confirm=yes, say=lambda _: None)

    assert fingerprint(database_url) == before
    previous = sqlite3.connect(kept)
    assert previous.execute("SELECT name FROM mentor WHERE telegram_id = 9999").fetchone() == (
        "crashed",)
    previous.close()
