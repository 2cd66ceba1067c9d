"""Verified backups of StudyMate's database: run, verify, prune, restore.

The actions live here; each engine module (``engines/sqlite.py``, ``engines/postgres.py``) wraps its
tools behind the same functions (``dump``, ``read_back``, ``count_rows``, ``prepare_restore``,
``swap``, ``finish``, ``discard``). A backup counts as good only after a full read-back whose row counts
match what was dumped; then, and only then, its manifest is written with ``verified: true``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import logging
import os
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Final

from studymate import __version__
from studymate.config import Settings
from studymate.db import migrate
from studymate.db.connection import open_database
from studymate.ops import bot_lock
from studymate.ops.backup.bot_pause import bot_supervised, programs_paused
from studymate.ops.backup.files import (
    EXTENSIONS,
    TMP_SUFFIX,
    BackupConfigError,
    BackupError,
    BackupFile,
    Manifest,
    adopt_owner,
    ensure_dir,
    exclusive,
    fsync_dir,
    fsync_file,
    manifest_path,
    read_manifest,
    scan,
    sha256_of,
    stem_for,
    write_atomic,
)
from studymate.ops.backup.retention import Candidate, Plan, Policy
from studymate.ops.backup.retention import plan as plan_retention
from studymate.ops.supervisor.client import SOCKET_NAME

logger = logging.getLogger(__name__)

# Each engine's module (in ops/backup/engines/), imported when used: the PostgreSQL one loads
# psycopg2 (~6 MB resident) that a backup scheduler on SQLite does without.
ENGINES: Final = {"sqlite": "sqlite", "postgresql": "postgres"}

Say = Callable[[str], None]


def retention_policy(settings: Settings) -> Policy:
    """Which backups the settings keep (``STUDYMATE_BACKUP_KEEP_*``, ``…_RETENTION_DAYS``)."""
    return Policy(
        daily=settings.backup.keep_daily,
        weekly=settings.backup.keep_weekly,
        monthly=settings.backup.keep_monthly,
        keep_days=settings.backup.retention_days,
    )


def engine_module(engine: str) -> ModuleType:
    return importlib.import_module(f"studymate.ops.backup.engines.{ENGINES[engine]}")


def engine_of(url: str) -> str:
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgres", "postgresql"):
        return "postgresql"
    raise BackupConfigError(f"STUDYMATE_DATABASE_URL: cannot back up a {scheme!r} database")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def count_mismatch(expected: dict[str, int], actual: dict[str, int]) -> str | None:
    """Given the manifest's counts and what was read, say what differs (None when all match)."""
    differing = [
        f"{table} {count} → {actual.get(table, 'missing')}"
        for table, count in sorted(expected.items())
        if actual.get(table) != count
    ]
    return ", ".join(differing) if differing else None


# -- run ------------------------------------------------------------------------------------


@dataclass
class RunResult:
    path: Path
    manifest: Manifest
    plan: Plan | None = None
    removed_leftovers: list[str] = field(default_factory=list)
    prune_error: str | None = None


def _create(settings: Settings, backup_dir: Path, created: dt.datetime) -> tuple[Path, Manifest]:
    url = settings.effective_database_url
    engine = engine_of(url)
    module = engine_module(engine)
    final = backup_dir / (stem_for(created) + EXTENSIONS[engine])
    if final.exists() or manifest_path(final).exists():
        raise BackupError(f"{final.name} already exists: one backup per second at most")
    temp = final.with_name(final.name + TMP_SUFFIX)
    temp.unlink(missing_ok=True)
    started = time.monotonic()
    try:
        info = module.dump(url, temp)
        fsync_file(temp)
        dumped = time.monotonic()
        read = module.read_back(temp)
        mismatch = count_mismatch(info.row_counts, read)
        if mismatch:
            raise BackupError(f"the fresh backup does not read back what was dumped: {mismatch}")
        checked = time.monotonic()
        manifest = Manifest(
            file=final.name,
            engine=engine,
            sha256=sha256_of(temp),
            size=temp.stat().st_size,
            created_at=_iso(created),
            studymate_version=__version__,
            server_version=info.server_version,
            tool=info.tool,
            schema_version=info.schema_version,
            database=info.database,
            row_counts=info.row_counts,
            verified=True,
            verified_at=_iso(_utcnow()),
            seconds={"dump": round(dumped - started, 3), "verify": round(checked - dumped, 3)},
        )
        os.replace(temp, final)
        adopt_owner(final, backup_dir)
        write_atomic(manifest_path(final), manifest.to_json())  # last: now the backup counts
        adopt_owner(manifest_path(final), backup_dir)
        fsync_dir(backup_dir)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
        raise BackupError(f"writing the backup failed: {exc}") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
        raise
    logger.info(
        "backup %s: %d bytes, %d rows, dump %.2fs, verify %.2fs",
        final.name, manifest.size, manifest.total_rows,
        manifest.seconds["dump"], manifest.seconds["verify"],
    )
    return final, manifest


def run_backup(
    settings: Settings, *, policy: Policy | None = None, now: dt.datetime | None = None
) -> RunResult:
    """Given the settings, write and verify one backup, then apply ``policy`` (when given).

    A failure to prune does not fail the backup; it is reported in ``prune_error``.
    """
    backup_dir = settings.backup.dir
    ensure_dir(backup_dir)
    with exclusive(backup_dir):
        path, manifest = _create(settings, backup_dir, now or _utcnow())
        result = RunResult(path, manifest)
        if policy is not None:
            try:
                result.plan, result.removed_leftovers = _prune(
                    backup_dir, policy=policy, now=now or _utcnow(), tz=settings.tz
                )
            except OSError as exc:
                result.prune_error = f"removing old backups failed: {exc}"
                logger.error("%s", result.prune_error)
    return result


# -- retention ------------------------------------------------------------------------------


def plan_for(
    backup_dir: Path, *, policy: Policy, now: dt.datetime, tz: zoneinfo.ZoneInfo
) -> tuple[Plan, list[Path]]:
    """What pruning would do now: the retention plan and the leftovers it would clean."""
    backups, leftovers = scan(backup_dir)
    candidates = [Candidate(b.name, b.created, b.good) for b in backups]
    return plan_retention(candidates, policy=policy, now=now, tz=tz), leftovers


def _prune(
    backup_dir: Path, *, policy: Policy, now: dt.datetime, tz: zoneinfo.ZoneInfo
) -> tuple[Plan, list[str]]:
    plan, leftovers = plan_for(backup_dir, policy=policy, now=now, tz=tz)
    for path in leftovers:
        path.unlink(missing_ok=True)
        logger.info("removed leftover %s", path.name)
    for name in plan.delete:
        data = backup_dir / name
        manifest_path(data).unlink(missing_ok=True)  # manifest first: a half-deleted pair is a leftover
        data.unlink(missing_ok=True)
        logger.info("removed old backup %s", name)
    fsync_dir(backup_dir)
    return plan, [p.name for p in leftovers]


def prune(settings: Settings, *, policy: Policy, now: dt.datetime | None = None) -> Plan:
    backup_dir = settings.backup.dir
    ensure_dir(backup_dir)
    with exclusive(backup_dir):
        plan, _ = _prune(backup_dir, policy=policy, now=now or _utcnow(), tz=settings.tz)
    return plan


# -- verify ---------------------------------------------------------------------------------


def _engine_for_file(path: Path) -> str:
    for engine, ext in EXTENSIONS.items():
        if path.name.endswith(ext):
            return engine
    raise BackupError(f"{path.name}: not a StudyMate backup (expected .sqlite3 or .pgdump)")


def verify_backup(path: Path, *, record: bool = True) -> Manifest:
    """Given a backup file, check size, checksum and a full read against its manifest.

    Every check runs even after one failed, so the message tells the whole story (a truncated
    dump fails the size, the checksum and the read). With ``record``, the outcome is written
    back into the manifest, so ``list`` and retention stop counting a damaged backup as good.
    """
    manifest = read_manifest(path)
    engine = _engine_for_file(path)
    problems = []
    if manifest.engine != engine:
        problems.append(f"manifest is for {manifest.engine}, file is {engine}")
    size = path.stat().st_size
    if size != manifest.size:
        problems.append(f"size {size} bytes, manifest says {manifest.size} (truncated or padded)")
    if sha256_of(path) != manifest.sha256:
        problems.append("sha256 differs from the manifest (the file is damaged)")
    try:
        mismatch = count_mismatch(manifest.row_counts, engine_module(engine).read_back(path))
        if mismatch:
            problems.append(f"row counts differ from the manifest: {mismatch}")
    except BackupConfigError:
        raise
    except BackupError as exc:
        problems.append(str(exc))
    error = "; ".join(problems) if problems else None
    if record:
        _record(path, manifest, error)
    if error:
        raise BackupError(f"{path.name} is not a good backup: {error}")
    return manifest


def _record(path: Path, manifest: Manifest, error: str | None) -> None:
    manifest.verified, manifest.verify_error = error is None, error
    manifest.verified_at = _iso(_utcnow())
    try:
        write_atomic(manifest_path(path), manifest.to_json())
        adopt_owner(manifest_path(path), path.parent)
    except OSError as exc:
        logger.warning("could not record the verification in %s: %s", manifest_path(path).name, exc)


# -- restore --------------------------------------------------------------------------------


def restore_backup(
    settings: Settings,
    path: Path,
    *,
    confirm: Callable[[Manifest], bool],
    say: Say,
) -> str | None:
    """Given a backup file, verify it, ask, and make it the live database.

    Order: verify (a bad file is refused before anything is touched) → confirm → restore into
    a scratch copy beside the live database and compare its row counts → pause bot and
    watchdog → swap → migrate → compare again → start them again. Returns where the previous
    database is kept (file path or database name), if there was one.
    """
    url = settings.effective_database_url
    engine = engine_of(url)
    manifest = verify_backup(path)
    say(f"verified {path.name}: {manifest.total_rows} rows, sha256 ok, full read ok")
    if manifest.engine != engine:
        raise BackupConfigError(
            f"{path.name} is a {manifest.engine} backup but STUDYMATE_DATABASE_URL is {engine}: "
            "restore it into the same kind of database"
        )
    guard, socket = bot_lock.lock_path(settings), settings.runtime_dir / SOCKET_NAME
    if not bot_supervised(socket):  # a bot supervisor runs is paused below; any other refuses
        refusal = bot_lock.in_use(guard)
        if refusal is not None:
            raise refusal
    if not confirm(manifest):
        raise BackupError("restore cancelled: nothing was changed")
    module = engine_module(engine)
    backup_dir = settings.backup.dir
    ensure_dir(backup_dir)
    with exclusive(backup_dir):
        stamp = _utcnow().strftime("%Y%m%d%H%M%S")
        prepared = module.prepare_restore(path, url, stamp=stamp)
        mismatch = count_mismatch(manifest.row_counts, prepared.row_counts)
        if mismatch:
            module.discard(prepared)
            raise BackupError(f"the restored copy does not match the manifest: {mismatch}")
        say(f"restored into a scratch copy beside {prepared.target}; row counts match")
        with programs_paused(socket, say=say), contextlib.ExitStack() as stack:
            try:  # held to the end: a bot started meanwhile waits for the restore
                stack.enter_context(bot_lock.exclusive(guard))
            except BackupError:
                module.discard(prepared)
                raise
            try:
                kept: str | None = module.swap(prepared)
            except BaseException:
                module.discard(prepared)
                raise
            say(f"the database now holds {path.name}")
            if kept:
                say(f"the previous database is kept as {kept}")
            applied = _migrate(url)
            if applied:
                say(f"applied migrations: {', '.join(applied)}")
            module.finish(prepared)
            mismatch = count_mismatch(manifest.row_counts, module.count_rows(url))
            if mismatch:
                raise BackupError(f"after migrations the row counts differ: {mismatch}")
            say(f"row counts match the manifest ({manifest.total_rows} rows)")
    return kept


def _migrate(url: str) -> list[str]:
    database = open_database(url, pool_size=1)
    try:
        return migrate.apply(database)
    finally:
        close_all = getattr(database, "close_all", None)
        if close_all is not None:
            close_all()
        else:
            database.close()


# -- list -----------------------------------------------------------------------------------


def list_backups(settings: Settings) -> tuple[list[BackupFile], list[Path]]:
    return scan(settings.backup.dir)
