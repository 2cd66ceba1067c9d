"""Keep ``STUDYMATE_LOG_DIR`` in bounds: compress rotated logs, prune by age and by total size.

supervisord owns the live files: it writes each program's ``NAME.log`` and rotates it by size
to ``NAME.log.1``, ``NAME.log.2`` .... This module only handles what supervisor
cannot do, and never opens, renames or truncates a live ``*.log`` file:

1. Compress each rotated ``NAME.log.N`` to ``NAME.log-YYYYmmdd-HHMMSS-ffffff.gz`` (UTC time of its
   last write; the file keeps that mtime). The rotated file is first *claimed* by renaming it to
   a unique ``*.compressing`` name, so supervisor shifting ``.1`` to ``.2`` at the same moment
   can never make us delete a file we have not compressed; a claim left by a crash is
   finished on the next pass.
2. Delete archives older than ``STUDYMATE_LOG_MAX_AGE_DAYS``.
3. While the directory holds more than ``STUDYMATE_LOG_MAX_TOTAL_MB``, delete the oldest archives.
4. Remove our own temporary files left by a crash.
"""

from __future__ import annotations

import datetime as dt
import gzip
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from studymate.config import LogSettings

logger = logging.getLogger(__name__)

ROTATED_RE: Final = re.compile(r"^(?P<base>.+\.log)\.\d+$")  # supervisor's NAME.log.N
CLAIMED_RE: Final = re.compile(r"^(?P<base>.+\.log)\.\d+\.\d+\.compressing$")
ARCHIVE_RE: Final = re.compile(r"^(?P<base>.+\.log)-\d{8}-\d{6}-\d{6}(?:-\d+)?\.gz$")
TMP_RE: Final = re.compile(r"^\..+\.gz\.\d+\.tmp$")
STALE_TMP_SECONDS: Final = 3600.0
MB: Final = 1024 * 1024


@dataclass(frozen=True)
class RotationPolicy:
    max_age_days: float = 30.0
    max_total_bytes: int = 200 * MB
    interval: float = 600.0

    @classmethod
    def from_settings(cls, logs: LogSettings) -> RotationPolicy:
        """``STUDYMATE_LOG_MAX_AGE_DAYS``, ``…_MAX_TOTAL_MB``, ``…_ROTATE_INTERVAL``."""
        return cls(
            max_age_days=logs.max_age_days,
            max_total_bytes=logs.max_total_bytes,
            interval=logs.rotate_interval,
        )


@dataclass
class PassReport:
    compressed: list[Path] = field(default_factory=list)
    deleted: list[Path] = field(default_factory=list)
    total_bytes: int = 0  # the directory after the pass

    @property
    def did_work(self) -> bool:
        return bool(self.compressed or self.deleted)


@dataclass(frozen=True)
class _File:
    path: Path
    stat: os.stat_result

    @property
    def name(self) -> str:
        return self.path.name


def _files(log_dir: Path) -> list[_File]:
    """Regular files directly in ``log_dir``, oldest first; ones that vanish meanwhile skipped."""
    found = []
    try:
        entries = list(os.scandir(log_dir))
    except FileNotFoundError:
        return []
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False):
                found.append(_File(Path(entry.path), entry.stat(follow_symlinks=False)))
        except FileNotFoundError:
            continue  # supervisor rotated it away between listing and stat
    return sorted(found, key=lambda f: (f.stat.st_mtime_ns, f.name))


def directory_size(log_dir: Path) -> int:
    """Bytes of every file under ``log_dir`` (live ones included: the cap is for the disk)."""
    total = 0
    for root, _dirs, names in os.walk(log_dir):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass  # rotated away meanwhile
    return total


def _archive_name(log_dir: Path, base: str, mtime: float) -> Path:
    stamp = dt.datetime.fromtimestamp(mtime, dt.UTC).strftime("%Y%m%d-%H%M%S-%f")
    target = log_dir / f"{base}-{stamp}.gz"
    n = 1
    while target.exists():
        target = log_dir / f"{base}-{stamp}-{n}.gz"
        n += 1
    return target


def _compress(claimed: Path, base: str) -> Path:
    """gzip ``claimed`` into a new archive (same mtime), then remove it."""
    st = claimed.stat()
    target = _archive_name(claimed.parent, base, st.st_mtime)
    tmp = claimed.parent / f".{target.name}.{os.getpid()}.tmp"
    try:
        with claimed.open("rb") as src, tmp.open("wb") as raw:
            with gzip.GzipFile(filename=base, mode="wb", fileobj=raw, mtime=int(st.st_mtime)) as gz:
                shutil.copyfileobj(src, gz, 1024 * 1024)
            raw.flush()
            os.fsync(raw.fileno())
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.rename(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    claimed.unlink()
    return target


def compress_rotated(log_dir: Path, *, dry_run: bool = False) -> list[Path]:
    """Step 1: every rotated (or previously claimed) file becomes a .gz archive."""
    done = []
    for entry in _files(log_dir):
        rotated, claimed = ROTATED_RE.match(entry.name), CLAIMED_RE.match(entry.name)
        match = rotated or claimed
        if match is None:
            continue
        path = entry.path
        if dry_run:
            done.append(path)
            continue
        if rotated:
            try:
                path = _claim(path)  # atomic: from now on supervisor cannot touch it
            except FileNotFoundError:
                continue  # supervisor shifted it; the next pass gets it under its new name
        try:
            archive = _compress(path, match.group("base"))
        except OSError as exc:
            logger.error("cannot compress %s: %s", path, exc)
            continue
        logger.info("compressed %s -> %s", entry.name, archive.name)
        done.append(archive)
    return done


def _archives(log_dir: Path) -> list[_File]:
    """Files we may delete: archives, and rotated files not compressed yet; oldest first."""
    names = (ARCHIVE_RE, ROTATED_RE, CLAIMED_RE)
    return [f for f in _files(log_dir) if any(r.match(f.name) for r in names)]


def _delete(entry: _File, why: str, dry_run: bool) -> bool:
    if not dry_run:
        try:
            if ROTATED_RE.match(entry.name):
                if not _delete_rotated(entry):
                    return False
            else:
                os.unlink(entry.path)
        except FileNotFoundError:
            return False
    logger.info("deleted %s (%s)", entry.name, why)
    return True


def _claim(rotated: Path) -> Path:
    """Rename supervisor's ``NAME.log.N`` to a name of ours; the new path."""
    claim = rotated.with_name(f"{rotated.name}.{time.time_ns()}.compressing")
    os.rename(rotated, claim)
    return claim


def _delete_rotated(entry: _File) -> bool:
    """Delete the rotated file ``entry`` listed, and only that one. supervisor may have shifted
    ``NAME.log.N`` to ``.N+1`` since the listing, putting a newer file under this name: the file
    is claimed first and deleted only when it is the one listed. Another file claimed by
    mistake stays claimed, and the next pass compresses it."""
    claim = _claim(entry.path)
    if os.stat(claim).st_ino != entry.stat.st_ino:
        logger.info("%s changed under the listing: kept, as %s", entry.name, claim.name)
        return False
    os.unlink(claim)
    return True


def prune_by_age(log_dir: Path, max_age_days: float, *, now: float, dry_run: bool = False) -> list[Path]:
    """Step 2: archives older than the age limit go."""
    limit = now - max_age_days * 86400
    return [
        f.path for f in _archives(log_dir)
        if f.stat.st_mtime < limit and _delete(f, f"older than {max_age_days:g} days", dry_run)
    ]


def prune_by_size(log_dir: Path, max_bytes: int, *, dry_run: bool = False) -> list[Path]:
    """Step 3: oldest archives go until the whole directory fits under ``max_bytes``."""
    total = directory_size(log_dir)
    deleted = []
    for entry in _archives(log_dir):
        if total <= max_bytes:
            break
        if _delete(entry, f"log directory over {max_bytes / MB:g} MB", dry_run):
            deleted.append(entry.path)
            total -= entry.stat.st_size
    if total > max_bytes:
        logger.warning(
            "live logs alone take %.1f MB, over the %.1f MB cap: lower "
            "stdout_logfile_maxbytes/_backups or raise STUDYMATE_LOG_MAX_TOTAL_MB",
            total / MB, max_bytes / MB,
        )
    return deleted


def remove_stale_temporaries(log_dir: Path, *, now: float, dry_run: bool = False) -> list[Path]:
    """Step 4: half-written archives from a pass that crashed."""
    return [
        f.path for f in _files(log_dir)
        if TMP_RE.match(f.name) and now - f.stat.st_mtime > STALE_TMP_SECONDS
        and _delete(f, "stale temporary file", dry_run)
    ]


def rotate_once(
    log_dir: Path, policy: RotationPolicy, *, now: float | None = None, dry_run: bool = False
) -> PassReport:
    """One pass over ``log_dir`` (steps 1–4 of the module docstring)."""
    now = time.time() if now is None else now
    report = PassReport()
    report.compressed = compress_rotated(log_dir, dry_run=dry_run)
    report.deleted += prune_by_age(log_dir, policy.max_age_days, now=now, dry_run=dry_run)
    report.deleted += prune_by_size(log_dir, policy.max_total_bytes, dry_run=dry_run)
    report.deleted += remove_stale_temporaries(log_dir, now=now, dry_run=dry_run)
    report.total_bytes = directory_size(log_dir)
    return report
