"""What a backup is on disk: a data file plus a JSON manifest next to it, in ``BACKUP_DIR``.

One backup = ``studymate-20261125-220000.sqlite3`` (or ``.pgdump``) and
``studymate-20261125-220000.manifest.json``. Names carry the UTC time, so they sort by age and
never collide or repeat when the clocks change. A pair of files rather than a directory per
backup because ``verify FILE`` / ``restore FILE`` then take the file an operator copies around,
and the manifest is small enough to read with ``cat``. The manifest is written last (atomically),
so a data file without one is an unfinished run and gets cleaned up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

logger = logging.getLogger(__name__)

PREFIX: Final = "studymate-"
EXTENSIONS: Final = {"sqlite": ".sqlite3", "postgresql": ".pgdump"}
MANIFEST_SUFFIX: Final = ".manifest.json"
TMP_SUFFIX: Final = ".tmp"
LOCK_NAME: Final = ".backup.lock"
NAME_RE: Final = re.compile(r"^studymate-(\d{8}-\d{6})(\.sqlite3|\.pgdump)$")
MANIFEST_FORMAT: Final = 1
CHUNK: Final = 1 << 20


class BackupError(Exception):
    """A backup, verification or restore failed; ``str()`` is the one line for operator/admins."""


class BackupConfigError(BackupError):
    """The environment is wrong (missing tool, unusable URL): exit code 2, not 1."""


@dataclass
class Manifest:
    """The sidecar of one backup: what it holds and how to check it."""

    file: str
    engine: str  # sqlite | postgresql
    sha256: str
    size: int
    created_at: str  # UTC ISO 8601
    studymate_version: str
    server_version: str
    tool: str
    schema_version: str | None
    database: str  # file name or database name; never credentials
    row_counts: dict[str, int]
    verified: bool = False
    verified_at: str | None = None
    verify_error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    format: int = MANIFEST_FORMAT

    @property
    def created(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.created_at)

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data: dict[str, Any] = json.loads(text)
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class DumpInfo:
    """What an engine learnt while dumping: the manifest's facts about the database."""

    row_counts: dict[str, int]
    server_version: str
    tool: str
    schema_version: str | None
    database: str


@dataclass(frozen=True)
class BackupFile:
    """A data file found in the backup directory, with its manifest (None when unreadable)."""

    path: Path
    manifest: Manifest | None
    problem: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def created(self) -> dt.datetime:
        """When it was taken: from the name, so even a backup with a broken manifest has one."""
        match = NAME_RE.match(self.path.name)
        assert match is not None
        return dt.datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=dt.UTC)

    @property
    def good(self) -> bool:
        return self.manifest is not None and self.manifest.verified


def stem_for(created_at: dt.datetime) -> str:
    """Given an aware time, return the backup name without extension (UTC, second precision)."""
    return PREFIX + created_at.astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")


def manifest_path(data_path: Path) -> Path:
    return data_path.with_name(data_path.name.rsplit(".", 1)[0] + MANIFEST_SUFFIX)


def read_manifest(data_path: Path) -> Manifest:
    """Given a backup data file, return its manifest or raise BackupError saying what is wrong."""
    path = manifest_path(data_path)
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{path.name} is missing: without it the backup cannot be checked") from None
    except (ValueError, TypeError) as exc:
        raise BackupError(f"{path.name} is unreadable ({exc.__class__.__name__})") from None


def resolve(file: str, backup_dir: Path) -> Path:
    """Given what the operator typed (path, bare name or manifest), return the data file."""
    path = Path(file)
    if not path.exists() and not path.is_absolute() and (backup_dir / path).exists():
        path = backup_dir / path
    if path.name.endswith(MANIFEST_SUFFIX):
        stem = path.name.removesuffix(MANIFEST_SUFFIX)
        for ext in EXTENSIONS.values():
            if (path.with_name(stem + ext)).exists():
                return path.with_name(stem + ext)
    if not path.is_file():
        raise BackupError(f"{file}: no such backup file")
    return path


def scan(backup_dir: Path) -> tuple[list[BackupFile], list[Path]]:
    """Given the backup directory, return its backups (oldest first) and leftover files.

    Leftovers are temp files of interrupted runs, data files whose manifest was never written
    (the manifest comes last) and manifests without data. A data file whose manifest exists
    but is unreadable is a backup that is not good, not a leftover: it ages out by retention.
    """
    backups: list[BackupFile] = []
    leftovers: list[Path] = []
    if not backup_dir.is_dir():
        return backups, leftovers
    names = {p.name for p in backup_dir.iterdir()}
    for name in sorted(names):
        path = backup_dir / name
        if not name.startswith(PREFIX):
            continue
        if name.endswith(TMP_SUFFIX):
            leftovers.append(path)
        elif NAME_RE.match(name):
            if manifest_path(path).name not in names:
                leftovers.append(path)
                continue
            try:
                backups.append(BackupFile(path, read_manifest(path)))
            except BackupError as exc:
                backups.append(BackupFile(path, None, str(exc)))
        elif name.endswith(MANIFEST_SUFFIX):
            stem = name.removesuffix(MANIFEST_SUFFIX)
            if not any(stem + ext in names for ext in EXTENSIONS.values()):
                leftovers.append(path)
    return backups, leftovers


def last_good(backup_dir: Path) -> BackupFile | None:
    """The newest verified backup, or None (the watchdog uses its age)."""
    good = [b for b in scan(backup_dir)[0] if b.good]
    return max(good, key=lambda b: b.created) if good else None


# -- files that survive a crash ------------------------------------------------------------


def ensure_dir(path: Path) -> None:
    """Create ``path`` (mode 0700: backups hold every student's data) or raise BackupError."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"STUDYMATE_BACKUP_DIR {path} is not usable: {exc.strerror or exc}") from None
    if path.stat().st_mode & 0o077:
        try:
            path.chmod(0o700)
        except OSError:
            logger.warning("STUDYMATE_BACKUP_DIR %s is readable by others; make it mode 0700", path)
    if not os.access(path, os.W_OK | os.X_OK):
        raise BackupError(f"STUDYMATE_BACKUP_DIR {path} is not writable by this user")


def create_private(path: Path) -> None:
    """Create an empty file readable by the owner only (refuses to reuse an existing one)."""
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make renames and unlinks in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Write a small file so readers see the old or the new content, never half of it."""
    tmp = path.with_name(path.name + TMP_SUFFIX)
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:  # writes all of it (os.write may write part)
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not leave half a manifest behind
        raise
    fsync_dir(path.parent)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def adopt_owner(path: Path, like: Path) -> None:
    """When run as root (``sudo studymate backup run``), hand files to the directory's owner so
    the service user can still read and prune them."""
    if os.geteuid() != 0:
        return
    st = like.stat()
    with contextlib.suppress(OSError):
        os.chown(path, st.st_uid, st.st_gid)


@contextlib.contextmanager
def exclusive(backup_dir: Path) -> Iterator[None]:
    """One backup, prune or restore at a time (the scheduler and an operator may race)."""
    lock_path = backup_dir / LOCK_NAME
    try:
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as exc:
        raise BackupError(f"cannot open {lock_path}: {exc.strerror or exc}") from None
    adopt_owner(lock_path, backup_dir)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                "another backup, prune or restore is running right now; try again in a minute"
            ) from None
        yield
    finally:
        os.close(fd)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
