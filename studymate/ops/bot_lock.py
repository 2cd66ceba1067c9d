"""Which bot runs on this database: a lock file every bot process holds (shared) while it runs.

A restore takes the same lock exclusively before it swaps the database, so it refuses while a
bot started by hand (not by supervisor, which the restore pauses itself) still uses it, and a
bot started during the swap waits for it to finish. For SQLite the file sits beside the
database, so whoever opens that file finds it whatever their other settings; for PostgreSQL it
is in ``RUNTIME_DIR``, named after the server and database (bots on other machines are not
seen: stop those first).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from studymate.config import Settings
from studymate.ops.backup.engines.sqlite import path_of
from studymate.ops.backup.files import BackupError, adopt_owner

logger = logging.getLogger(__name__)


def lock_path(settings: Settings) -> Path:
    url = settings.effective_database_url
    if url.split("://", 1)[0].lower() == "sqlite" and ":memory:" not in url:
        path = path_of(url).resolve()
        return path.with_name(path.name + ".bot-lock")
    from psycopg2.extensions import parse_dsn

    try:
        dsn = parse_dsn(url.replace("postgres://", "postgresql://", 1))
    except Exception:  # a URL psycopg2 cannot read: key on the text itself
        dsn = {"dbname": url}
    where = f"{dsn.get('host', '')}:{dsn.get('port', '5432')}/{dsn.get('dbname', '')}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:16]
    return settings.runtime_dir / f"bot-{digest}.lock"


def _open(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    adopt_owner(path, path.parent)  # created by a root-run restore: the service user's still
    return os.fdopen(fd, "r+")


def hold(path: Path) -> IO[str] | None:
    """For a bot process: take the shared lock (waiting while a restore swaps the database) and
    keep it until the returned file is closed or the process ends. Blocks: call off the loop."""
    try:
        handle = _open(path)
    except OSError as exc:  # the bot runs all the same; only a restore's check is weaker
        logger.warning("cannot open %s (%s): a restore will not see this bot", path, exc.strerror or exc)
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        logger.warning("a database restore is running: waiting for it to finish")
        fcntl.flock(handle, fcntl.LOCK_SH)
    with contextlib.suppress(OSError):  # the newest bot's pid, for the restore's message
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
    return handle


def _refusal(handle: IO[str]) -> BackupError:
    with contextlib.suppress(OSError, ValueError):
        handle.seek(0)
        pid = int(handle.read().split()[0])
        if _alive(pid):
            return BackupError(
                f"a bot (pid {pid}) is running on this database outside supervisor: stop it "
                f"(kill {pid}) and run the restore again; nothing was changed"
            )
    return BackupError(
        "a bot is running on this database outside supervisor: stop it (find it with "
        "'pgrep -af \"studymate bot\"') and run the restore again; nothing was changed"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def in_use(path: Path) -> BackupError | None:
    """The refusal to give if a bot holds the lock right now, else None (nothing is held)."""
    with _open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _refusal(handle)
    return None


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """No bot runs on the database while the block runs; :class:`BackupError` if one does."""
    with _open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _refusal(handle) from None
        yield
