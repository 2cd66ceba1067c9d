"""SQLite as a backup engine: the online backup API, an integrity check, a file swap.

Never ``cp`` a live database: in WAL mode everything since the last checkpoint lives in the
``-wal`` file, and a copy of the main file alone can lack whole tables.
The backup API copies a consistent snapshot while the bot keeps writing.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from peewee import SqliteDatabase

from studymate.db import migrate
from studymate.db.models import MODELS
from studymate.ops.backup.files import (
    CHUNK,
    BackupConfigError,
    BackupError,
    DumpInfo,
    create_private,
    fsync_dir,
)

logger = logging.getLogger(__name__)

SIDECARS: Final = ("-wal", "-shm", "-journal")
TABLES: Final = tuple(m._meta.table_name for m in MODELS)


@dataclass(frozen=True)
class Prepared:
    """A restored copy waiting next to the live file; nothing live is touched yet."""

    temp: Path
    live: Path
    aside: Path
    row_counts: dict[str, int]

    @property
    def target(self) -> str:
        return str(self.live)


def path_of(url: str) -> Path:
    """The file of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL (as connection.py)."""
    path = url.split("://", 1)[1]
    path = path[1:] if path.startswith("/") else path
    if path in ("", ":memory:"):
        raise BackupConfigError("STUDYMATE_DATABASE_URL: an in-memory SQLite database cannot be backed up")
    return Path(path)


def _count(conn: sqlite3.Connection) -> dict[str, int]:
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return {
        table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        for table in TABLES
        if table in present
    }


def _read_only(path: Path) -> sqlite3.Connection:
    # immutable=1: no locks, no -wal/-shm created next to a backup (it may sit on read-only media)
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


def _copy(source: Path, target: Path) -> dict[str, int]:
    try:
        src = sqlite3.connect(source, timeout=30)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {source}: {exc}") from None
    try:
        dst = sqlite3.connect(target)
        try:
            # Counting inside the read transaction the backup then uses: counts and copy are
            # the same snapshot, so verification can compare them exactly.
            src.execute("BEGIN")
            counts = _count(src)
            src.backup(dst)
            src.rollback()
            # A self-contained file: no -wal needed to read it, wherever it is copied.
            dst.execute("PRAGMA journal_mode=delete")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup of {source} failed: {exc}") from None
    finally:
        src.close()
    return counts


def dump(url: str, target: Path) -> DumpInfo:
    """Given the live database URL, copy a consistent snapshot into ``target`` (a new file)."""
    source = path_of(url)
    if not source.is_file():
        raise BackupError(f"the database file {source} does not exist")
    create_private(target)
    try:
        counts = _copy(source, target)
    except BaseException:
        # The copy is in WAL mode until it is switched to a self-contained file: a full disk
        # there leaves its -wal and -shm beside it (the caller removes the file itself).
        for suffix in SIDECARS:
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        raise
    schema = SqliteDatabase(f"{target.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        version = migrate.schema_version(schema)
    finally:
        schema.close()
    return DumpInfo(
        row_counts=counts,
        server_version=f"SQLite {sqlite3.sqlite_version}",
        tool="sqlite3 online backup API",
        schema_version=version,
        database=source.name,
    )


def _summary(report: list[str]) -> str:
    """integrity_check can list thousands of problems over many lines: name the first one."""
    lines = [ln for ln in "\n".join(report).splitlines() if ln.strip() and not ln.startswith("***")]
    more = f" (and {len(lines) - 1} more problems)" if len(lines) > 1 else ""
    return (lines[0] if lines else "unknown problem") + more


def read_back(path: Path) -> dict[str, int]:
    """Given a backup file, read all of it (``integrity_check``) and return its row counts."""
    try:
        conn = _read_only(path)
        try:
            result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                raise BackupError(f"SQLite integrity check of {path.name} failed: {_summary(result)}")
            return _count(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite cannot read {path.name}: {exc}") from None


def count_rows(url: str) -> dict[str, int]:
    conn = sqlite3.connect(path_of(url), timeout=30)
    try:
        return _count(conn)
    finally:
        conn.close()


def prepare_restore(backup: Path, url: str, *, stamp: str) -> Prepared:
    """Given a verified backup, put a checked copy next to the live file (same filesystem, so
    the swap is one atomic rename)."""
    live = path_of(url).resolve()
    live.parent.mkdir(parents=True, exist_ok=True)
    temp = live.with_name(f"{live.name}.restore-{stamp}.tmp")
    temp.unlink(missing_ok=True)
    create_private(temp)
    try:
        with backup.open("rb") as src, temp.open("r+b") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
            dst.flush()
            os.fsync(dst.fileno())
        if live.exists():  # keep owner and mode: a root-run restore must stay usable by the service
            st = live.stat()
            os.chmod(temp, st.st_mode & 0o777)
            if os.geteuid() == 0:
                os.chown(temp, st.st_uid, st.st_gid)
        counts = read_back(temp)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return Prepared(temp, live, live.with_name(f"{live.name}.before-restore-{stamp}"), counts)


def swap(prepared: Prepared) -> str | None:
    """Put the prepared copy in place atomically; keep the old file (with its WAL) aside.

    Stale ``-wal``/``-shm`` files must not survive: SQLite would replay them onto the restored
    file and corrupt it. They move aside with the old file, which then stays a complete copy.
    Returns the path of the kept previous database, if there was one.
    """
    live, aside = prepared.live, prepared.aside
    kept = live.exists()
    moved: list[tuple[Path, Path]] = []
    try:
        if kept:
            try:
                os.link(live, aside)
            except OSError:
                shutil.copy2(live, aside)
        for suffix in SIDECARS:
            side = live.with_name(live.name + suffix)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + suffix))
                moved.append((aside.with_name(aside.name + suffix), side))
        os.replace(prepared.temp, live)
    except OSError:
        for source, back in moved:  # put the live database back as it was
            os.replace(source, back)
        if kept:
            aside.unlink(missing_ok=True)
        raise
    for suffix in SIDECARS:  # anything that opened the old file in between left these behind
        live.with_name(live.name + suffix).unlink(missing_ok=True)
    fsync_dir(live.parent)
    return str(aside) if kept else None


def finish(prepared: Prepared) -> None:
    """After migrations: a root-run restore must not leave root-owned ``-wal``/``-shm`` files
    that the service user cannot open."""
    if os.geteuid() != 0:
        return
    st = prepared.live.stat()
    for suffix in SIDECARS:
        side = prepared.live.with_name(prepared.live.name + suffix)
        if side.exists():
            os.chown(side, st.st_uid, st.st_gid)


def discard(prepared: Prepared) -> None:
    prepared.temp.unlink(missing_ok=True)
