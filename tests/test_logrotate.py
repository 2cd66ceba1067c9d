"""The log rotator keeps LOG_DIR in bounds without losing or truncating what programs write.

The writer stands in for a bot logging at full speed: a real supervisord (through
``studymate supervise --config``) captures its stdout and rotates the file by size, as in the
appliance, while the real ``studymate logrotate`` program compresses and prunes.
"""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from studymate.config import ConfigError, load_settings
from studymate.ops import logrotate
from studymate.ops.logrotate import MB, RotationPolicy, rotate_once
from studymate.ops.supervisor.config import find_template

WRITER = r"""
import random, sys
count, payload, marker = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rand = random.Random(7)
out = sys.stdout
for i in range(count):
    tail = "%032x%032x" % (rand.getrandbits(128), rand.getrandbits(128)) if payload == "random" else "x" * 64
    out.write("%08d %s\n" % (i, tail))
out.write("DONE\n")
out.flush()
open(marker, "w").close()
import time
time.sleep(3600)
"""
LINE_RE = re.compile(rb"^(\d{8}) ", re.MULTILINE)
WRITER_MAXBYTES = 1 * MB


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "STUDYMATE_ENV_FILE": os.devnull,
        "STUDYMATE_STATE_DIR": str(tmp_path / "state"),
        "STUDYMATE_LOG_DIR": str(tmp_path / "log"),
        "STUDYMATE_RUNTIME_DIR": str(tmp_path / "run"),
        **extra,
    }


class Appliance:
    """``studymate supervise`` with the writer (and optionally the rotator) as programs."""

    def __init__(self, tmp_path: Path, *, lines: int, payload: str, programs: str, **env: str):
        self.tmp_path, self.log_dir = tmp_path, tmp_path / "log"
        self.marker = tmp_path / "writer.done"
        (tmp_path / "writer.py").write_text(WRITER)
        template = find_template().read_text() + (
            "\n[program:writer]\n"
            f"command={sys.executable} {tmp_path / 'writer.py'} {lines} {payload} {self.marker}\n"
            "priority=200\nstartsecs=0\nstopsignal=TERM\nstopwaitsecs=5\nredirect_stderr=true\n"
            "stdout_logfile=%(ENV_STUDYMATE_LOG_DIR)s/writer.log\n"
            f"stdout_logfile_maxbytes={WRITER_MAXBYTES}\nstdout_logfile_backups=1000\n"
        )
        (tmp_path / "template.conf").write_text(template)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "studymate", "supervise", "--config",
             str(tmp_path / "template.conf"), "--programs", programs],
            env=_env(tmp_path, **env), cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=(tmp_path / "supervise.out").open("wb"),
        )

    def wait_written(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.marker.exists():
            assert self.proc.poll() is None, (self.tmp_path / "supervise.out").read_text()
            assert time.monotonic() < deadline, "the writer did not finish"
            time.sleep(0.05)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def written_lines(log_dir: Path) -> tuple[list[int], bool]:
    """Line numbers in the live file, rotated files and archives; and whether DONE is there."""
    numbers: list[int] = []
    done = False
    for path in sorted(log_dir.iterdir()):
        if not path.name.startswith("writer.log"):
            continue
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        numbers += [int(n) for n in LINE_RE.findall(data)]
        done = done or b"\nDONE\n" in data or data.startswith(b"DONE\n")
    return sorted(numbers), done


class LiveFileWatch(threading.Thread):
    """Follows every incarnation of the live file: its size may only ever grow.

    Each one stays open here, so its inode cannot be recycled for the next live file and be
    mistaken for a truncation.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.files: dict[int, tuple[int, int]] = {}  # inode -> (fd, last size seen)
        self.shrunk: list[tuple[int, int, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            inode = os.fstat(fd).st_ino
            if inode in self.files:
                os.close(fd)
            else:
                self.files[inode] = (fd, 0)
            for ino, (held, last) in list(self.files.items()):
                size = os.fstat(held).st_size
                if size < last:
                    self.shrunk.append((ino, last, size))
                self.files[ino] = (held, size)
            time.sleep(0.0005)

    def close(self) -> None:
        self.stopping.set()
        self.join()
        for fd, _size in self.files.values():
            os.close(fd)


def test_full_speed_logging_loses_nothing_and_live_file_is_never_truncated(tmp_path):
    lines = 250_000  # ~18 MB through supervisord's pipe, about 18 size rotations
    app = Appliance(
        tmp_path, lines=lines, payload="xs", programs="writer,logrotate",
        STUDYMATE_LOG_ROTATE_INTERVAL="0.2", STUDYMATE_LOG_MAX_TOTAL_MB="100",  # the cap is not what this test is about
    )
    watch = LiveFileWatch(app.log_dir / "writer.log")
    watch.start()
    started = time.monotonic()
    app.wait_written()
    elapsed = time.monotonic() - started
    time.sleep(0.7)  # supervisord drains the pipe; the rotator gets another pass
    assert app.stop() == 0
    watch.close()

    assert watch.shrunk == []  # the live file only ever grew
    assert len(watch.files) > 5  # supervisor really rotated it, many times, under our feet
    archives = sorted(app.log_dir.glob("writer.log-*.gz"))
    assert archives, "the rotator compressed nothing"
    for archive in archives:  # each archive keeps the time of its last line
        assert gzip.decompress(archive.read_bytes())
    numbers, done = written_lines(app.log_dir)
    assert done
    assert numbers == list(range(lines)), "lines lost or duplicated"
    rotator_log = (app.log_dir / "logrotate.log").read_text()
    assert "received SIGTERM: stopping" in rotator_log
    assert "stopped: logrotate (exit status 0)" in (app.log_dir / "supervisord.log").read_text()
    print(f"\n{lines} lines ({lines * 74 / MB:.0f} MB) in {elapsed:.1f} s, {len(archives)} archives")


def test_cap_holds_while_writing_and_prunes_oldest_first(tmp_path):
    cap = 6 * MB
    lines = 300_000  # ~29 MB of hex: compresses only about 2:1, so the cap must prune
    app = Appliance(tmp_path, lines=lines, payload="random", programs="writer")
    policy = RotationPolicy(max_total_bytes=cap)
    totals = []
    deleted = 0
    try:
        while not app.marker.exists():
            report = rotate_once(app.log_dir, policy)
            totals.append(report.total_bytes)
            deleted += len(report.deleted)
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        assert app.stop() == 0
    final = rotate_once(app.log_dir, policy)

    assert deleted > 0
    # A pass measures the directory right after pruning; supervisor may rotate once meanwhile.
    assert max(totals) <= cap + WRITER_MAXBYTES, [round(t / MB, 1) for t in totals]
    assert final.total_bytes <= cap
    numbers, done = written_lines(app.log_dir)
    assert done
    # Only the oldest lines are gone: what is left is exactly the newest part, without holes.
    assert numbers == list(range(numbers[0], lines)) and numbers[0] > 0
    print(f"\npasses {len(totals)}, max after pass {max(totals) / MB:.2f} MB, cap {cap / MB:.0f} MB")


def _touch(path: Path, data: bytes, age_days: float, now: float) -> Path:
    path.write_bytes(data)
    when = now - age_days * 86400
    os.utime(path, (when, when))
    return path


def test_pass_compresses_rotated_files_and_prunes_by_age_then_size(tmp_path):
    now = time.time()
    live = _touch(tmp_path / "bot.log", b"live line\n" * 1000, 0, now)
    rotated_data = os.urandom(300_000)
    rotated = _touch(tmp_path / "bot.log.1", rotated_data, 0.5, now)
    old = [
        _touch(tmp_path / f"bot.log-2020010{i}-000000-000000.gz", os.urandom(400_000), 10 - i, now)
        for i in range(1, 6)
    ]
    ancient = _touch(tmp_path / "watchdog.log-20190101-000000-000000.gz", b"x", 40, now)
    unrelated = _touch(tmp_path / "notes.txt.gz", b"operator's file", 40, now)
    cap = 1.5 * MB

    report = rotate_once(tmp_path, RotationPolicy(max_total_bytes=int(cap), max_age_days=30), now=now)

    assert not rotated.exists()
    [archive] = report.compressed
    assert gzip.decompress(archive.read_bytes()) == rotated_data
    assert abs(archive.stat().st_mtime - (now - 0.5 * 86400)) < 1  # keeps the time of its data
    assert re.fullmatch(r"bot\.log-\d{8}-\d{6}-\d{6}\.gz", archive.name)
    assert not ancient.exists()  # older than LOG_MAX_AGE_DAYS
    survivors = [p.exists() for p in old]
    assert survivors == sorted(survivors)  # oldest deleted first, newest kept
    assert survivors.count(False) >= 1 and survivors[-1]
    assert live.read_bytes() == b"live line\n" * 1000  # never touched
    assert unrelated.exists()  # not a log archive of ours
    assert report.total_bytes <= cap


def test_claim_left_by_a_crash_is_finished_and_stale_temporaries_removed(tmp_path):
    now = time.time()
    claimed = tmp_path / "bot.log.3.1700000000000000000.compressing"
    claimed.write_bytes(b"half way\n")
    stale = _touch(tmp_path / ".bot.log-20200101-000000-000000.gz.123.tmp", b"junk", 1, now)
    fresh = _touch(tmp_path / ".bot.log-20200101-000001-000000.gz.124.tmp", b"junk", 0, now)

    report = rotate_once(tmp_path, RotationPolicy(), now=now)

    [archive] = report.compressed
    assert gzip.decompress(archive.read_bytes()) == b"half way\n"
    assert not claimed.exists() and not stale.exists()
    assert fresh.exists()  # may belong to a pass running right now


def test_dry_run_changes_nothing(tmp_path):
    now = time.time()
    rotated = _touch(tmp_path / "bot.log.1", b"a\n", 0, now)
    old = _touch(tmp_path / "bot.log-20200101-000000-000000.gz", b"x", 90, now)
    report = rotate_once(tmp_path, RotationPolicy(), now=now, dry_run=True)
    assert report.compressed == [rotated] and report.deleted == [old]
    assert rotated.exists() and old.exists()


def _policy(monkeypatch, **environ: str) -> RotationPolicy:
    monkeypatch.setenv("STUDYMATE_ENV_FILE", os.devnull)
    for name in ("MAX_AGE_DAYS", "MAX_TOTAL_MB", "ROTATE_INTERVAL"):
        monkeypatch.delenv(f"STUDYMATE_LOG_{name}", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return RotationPolicy.from_settings(load_settings().logs)


def test_policy_comes_from_the_environment_with_clear_errors(monkeypatch):
    policy = _policy(monkeypatch, STUDYMATE_LOG_MAX_TOTAL_MB="0.5", STUDYMATE_LOG_ROTATE_INTERVAL="60")
    assert policy.max_total_bytes == MB // 2 and policy.interval == 60
    assert policy.max_age_days == 30
    monkeypatch.undo()
    assert _policy(monkeypatch) == RotationPolicy()
    with pytest.raises(ConfigError, match="LOG_MAX_AGE_DAYS"):
        _policy(monkeypatch, STUDYMATE_LOG_MAX_AGE_DAYS="a month")
    monkeypatch.undo()
    with pytest.raises(ConfigError, match="LOG_MAX_TOTAL_MB: must be greater than 0"):
        _policy(monkeypatch, STUDYMATE_LOG_MAX_TOTAL_MB="0")


def test_logrotate_once_cli(tmp_path):
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    (log_dir / "bot.log.1").write_bytes(b"line\n")
    result = subprocess.run(
        [sys.executable, "-m", "studymate", "logrotate", "--once"],
        env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    [archive] = log_dir.glob("bot.log-*.gz")
    assert gzip.decompress(archive.read_bytes()) == b"line\n"
    assert "compressed 1, deleted 0" in result.stderr


def test_a_rotated_file_shifted_under_the_listing_is_not_deleted(tmp_path, monkeypatch):
    """supervisor renames writer.log.1 to .2 and starts a new .1 between the rotator's listing
    and its pruning: the newer file under the old name is kept (and compressed later), the
    listed one is not lost either."""
    older = tmp_path / "writer.log.1"
    older.write_text("older lines\n")
    os.utime(older, (1, 1))
    real_files = logrotate._files

    def listed_then_shifted(log_dir):
        listing = real_files(log_dir)
        older.rename(tmp_path / "writer.log.2")  # supervisor's shift, after the listing
        (tmp_path / "writer.log.1").write_text("newer lines\n")
        monkeypatch.setattr(logrotate, "_files", real_files)
        return listing

    monkeypatch.setattr(logrotate, "_files", listed_then_shifted)
    logrotate.prune_by_size(tmp_path, max_bytes=0)
    kept = sorted(p.read_text() for p in tmp_path.iterdir())
    assert kept == ["newer lines\n", "older lines\n"]
