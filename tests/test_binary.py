"""The single binary (``packaging/build.sh``, PyInstaller onedir) does what the appliance needs.

The bundle is built once per source state into a cache shared by the suite's SQLite and
PostgreSQL passes (``STUDYMATE_BINARY_CACHE``, default ``/var/cache/studymate-test``), keyed by
a hash of everything that goes into it. Then the built ``studymate`` runs with nothing of this
checkout: it migrates a fresh database, adds a mentor, and ``supervise`` runs supervisord in
the binary's own process with the bot and log rotator as children of the same executable,
until a mentor's /start is answered through the fake Bot API server and SIGTERM stops it all.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from conftest import BACKEND, TEST_DATABASE_URL, service_missing
from e2e import MENTOR_ID, Chat, CliResult, bot_env, plain

from studymate import __version__
from studymate.ops.supervisor.client import SupervisorClient
from studymate.ops.supervisor.memory import process_tree, resident_kb

pytestmark = pytest.mark.binary

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = sorted(p.stem for p in (ROOT / "studymate" / "db" / "migrations").glob("[0-9]*.py"))
BUILD_TIMEOUT = 600.0
# Start a program with W^X memory (PR_SET_MDWE, kernel 6.3+), as systemd's
# MemoryDenyWriteExecute=yes does for the appliance: no UPX (its binaries segfault), no W+X pages.
# It is kept across execve and fork, so supervisord's children run under it too.
UNDER_MDWE = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    print("PR_SET_MDWE unavailable:", os.strerror(ctypes.get_errno()), file=sys.stderr)
os.execv(sys.argv[1], sys.argv[1:])
"""


# -- building (once per source state) ---------------------------------------------------------


def _build_inputs() -> list[Path]:
    """Files whose content the bundle depends on (the fake Bot API server is not bundled)."""
    files = [ROOT / "setup.cfg", ROOT / "supervisord.conf", *sorted((ROOT / "packaging").iterdir())]
    for path in sorted((ROOT / "studymate").rglob("*")):
        parts = path.relative_to(ROOT).parts
        if path.is_file() and "__pycache__" not in parts and parts[1] != "testing":
            files.append(path)
    return [p for p in files if p.is_file()]


def _build_key() -> str:
    """Hash of the sources, this Python and every installed distribution's version."""
    digest = hashlib.sha256(sys.version.encode())
    for dist in sorted(
        f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions()
    ):
        digest.update(dist.encode() + b"\0")
    for path in _build_inputs():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _cache_root() -> Path:
    wanted = os.environ.get("STUDYMATE_BINARY_CACHE", "/var/cache/studymate-test")
    for candidate in (Path(wanted), Path(tempfile.gettempdir()) / "studymate-test"):
        with contextlib.suppress(OSError):
            candidate.mkdir(parents=True, exist_ok=True)
            if os.access(candidate, os.W_OK):
                return candidate
    pytest.fail(f"no writable cache directory for the binary ({wanted})")


def _ensure_pyinstaller() -> None:
    """Install the ``build`` extra's PyInstaller (at its pinned version) if it is missing."""
    if importlib.util.find_spec("PyInstaller") is not None:
        return
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    requirement = setup["options.extras_require"]["build"].strip()
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet",
         "-c", str(ROOT / "packaging" / "constraints.txt"), requirement],
        capture_output=True, text=True, timeout=300,
    )
    importlib.invalidate_caches()
    if result.returncode != 0 or importlib.util.find_spec("PyInstaller") is None:
        service_missing(f"PyInstaller ({requirement}: {result.stderr.strip()[-300:]})")


def _prune(cache: Path, keep: str) -> None:
    """Remove bundles of older source states that no running session holds."""
    for lock_path in cache.glob("binary-*.lock"):
        key = lock_path.stem.removeprefix("binary-")
        if key == keep:
            continue
        with lock_path.open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another session uses (or builds) it
            shutil.rmtree(cache / f"binary-{key}", ignore_errors=True)
            lock_path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def binary() -> Iterator[Path]:
    """``dist/studymate/studymate`` built by ``packaging/build.sh`` (cached, see module doc)."""
    _ensure_pyinstaller()
    cache = _cache_root()
    key = _build_key()
    folder = cache / f"binary-{key}"
    executable = folder / "dist" / "studymate" / "studymate"
    done = folder / "built"
    with (cache / f"binary-{key}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build even if both passes run at once
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            env = {
                **os.environ,
                "VENV": sys.prefix,
                "SKIP_INSTALL": "1",  # the environment under test has what the build needs
                "DIST_DIR": str(folder / "dist"),
                "WORK_DIR": str(folder / "work"),
            }
            started = time.monotonic()
            result = subprocess.run(
                [str(ROOT / "packaging" / "build.sh")],
                env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
            )
            took = time.monotonic() - started
            assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
            shutil.rmtree(folder / "work", ignore_errors=True)
            summary = result.stdout.strip().splitlines()[-1]
            done.write_text(f"{summary} (test build: {took:.0f} s)\n")
        print(f"\n{done.read_text().strip()}")
        fcntl.flock(lock, fcntl.LOCK_SH)  # ours until the session ends: not pruned meanwhile
        _prune(cache, keep=key)
        yield executable.resolve()  # what /proc/PID/exe shows


# -- running it -------------------------------------------------------------------------------


async def run_binary(binary: Path, env: dict[str, str], cwd: Path, *args: str) -> CliResult:
    """``studymate ARGS`` from the bundle, without blocking the fake server's event loop."""
    proc = await asyncio.create_subprocess_exec(
        str(binary), *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return CliResult(proc.returncode or 0, out.decode(), err.decode())


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables) on the backend under test."""
    if BACKEND != "postgres":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    try:
        admin = psycopg2.connect(TEST_DATABASE_URL, connect_timeout=3)
    except psycopg2.OperationalError:
        service_missing("PostgreSQL at TEST_DATABASE_URL")
    admin.autocommit = True
    name = f"studymate_bin_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield f"{TEST_DATABASE_URL.rsplit('/', 1)[0]}/{name}"
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


def _exe(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/exe")


async def _migrate_fresh(binary: Path, env: dict[str, str], cwd: Path) -> None:
    """The migrations ship inside the bundle: found, applied, then reported up to date."""
    before = await run_binary(binary, env, cwd, "migrate", "--check")
    assert before.returncode == 1, before.stderr
    assert before.stdout.split() == [w for name in MIGRATIONS for w in ("pending:", name)]
    applied = await run_binary(binary, env, cwd, "migrate")
    assert applied.returncode == 0, applied.stderr
    assert [f"applied: {name}" for name in MIGRATIONS] == applied.stdout.splitlines()[:-1]
    after = await run_binary(binary, env, cwd, "migrate", "--check")
    assert (after.returncode, after.stdout.strip()) == (0, f"up to date: {MIGRATIONS[-1]}")


async def test_binary_reports_its_version_and_migrates_sqlite(binary, fake, tmp_path):
    env = bot_env(fake=fake, database_url=f"sqlite:///{tmp_path / 'db' / 'studymate.db'}", tmp_path=tmp_path)
    version = await run_binary(binary, env, tmp_path, "--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"studymate {__version__}")
    await _migrate_fresh(binary, env, tmp_path)


async def test_binary_supervises_the_bot_and_stops_on_sigterm(binary, fake, fresh_database_url, tmp_path):
    env = bot_env(fake=fake, database_url=fresh_database_url, tmp_path=tmp_path)
    await _migrate_fresh(binary, env, tmp_path)
    added = await run_binary(
        binary, env, tmp_path, "mentor", "add", "--telegram-id", str(MENTOR_ID),
        "--name", "Anna", "--group-chat-id", "-100500", "--language", "en",
    )
    assert added.returncode == 0, added.stderr

    since = time.monotonic()
    output = tmp_path / "supervise.out"
    with output.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", UNDER_MDWE, str(binary), "supervise", "--programs", "bot,logrotate",
            env=env, cwd=tmp_path, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 40
        while not fake.calls("getUpdates", since=since):
            assert proc.returncode is None, output.read_text()
            assert time.monotonic() < deadline, f"the bot never polled:\n{output.read_text()}"
            await asyncio.sleep(0.1)
        fake.add_user(MENTOR_ID, "Anna")
        [welcome] = await Chat(fake, MENTOR_ID).send("/start", timeout=15)
        assert welcome["text"] == plain("welcome_mentor", "en", name="Anna")  # catalogs bundled

        # supervisord runs in the binary's own process (systemd's MainPID), and every program
        # is the same executable with a subcommand.
        client = SupervisorClient(tmp_path / "run" / "supervisor.sock")
        assert client.pid() == proc.pid
        programs = {info["name"]: info["pid"] for info in client.processes()}
        assert set(programs) == {"bot", "logrotate"}
        assert {_exe(pid) for pid in (proc.pid, *programs.values())} == {str(binary)}

        deadline = time.monotonic() + 30  # the bot counts as RUNNING after startsecs (10 s)
        while (status := await run_binary(binary, env, tmp_path, "status")).returncode != 0:
            assert time.monotonic() < deadline, status.stdout
            await asyncio.sleep(0.5)
        assert "healthy: 2/2 programs RUNNING" in status.stdout, status.stdout
        rss = resident_kb([proc.pid, *programs.values()])
        print(
            f"\nRSS: supervisord {rss[proc.pid] / 1024:.0f} MB, "
            + ", ".join(f"{name} {rss[pid] / 1024:.0f} MB" for name, pid in programs.items())
            + f"; total {sum(rss.values()) / 1024:.0f} MB; "
            + ("W^X off (no PR_SET_MDWE)" if "PR_SET_MDWE" in output.read_text() else "under W^X")
        )

        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0, output.read_text()
        log = (tmp_path / "log" / "supervisord.log").read_text()
        assert "stopped: bot (exit status 0)" in log and "stopped: logrotate (exit status 0)" in log
        assert not process_tree(programs.values())  # nothing left behind
    finally:
        if proc.returncode is None:
            for pid in process_tree([proc.pid]):
                os.kill(pid, signal.SIGKILL)
            await proc.wait()
