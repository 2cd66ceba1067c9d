"""install.sh for real: a Debian container booted with systemd (systemd-nspawn).

- ``test_install_in_systemd``: ``install.sh --unattended`` installs and starts the hardened
  service; a student's /start is answered; restart and stop are clean; kill -9 of the bot and a
  frozen bot (SIGSTOP) are repaired by supervisor and the watchdog; ``systemctl show`` and
  /proc confirm the hardening and that nothing runs with a capability; re-running install.sh
  upgrades in place; --uninstall keeps the data, --purge deletes it.
- ``test_install_without_systemd``: the same container started without systemd as PID 1 (as
  in Docker or some VPS images): install.sh starts ``studymate supervise`` in the background;
  a token Telegram rejects stops an unattended install before anything is written.
- ``test_install_with_postgres_and_redis``: ``--with-postgres --with-redis`` creates the
  database and user, wires both URLs, keeps them on a re-run; ``--purge`` drops the database.

The fake Telegram server runs in this test process on the host's 127.0.0.1; the container
shares the host's network, so the bot inside reaches it. The container gets this checkout
read-only at /src and a wheelhouse built here at /wheels, so it needs no network.

Needs root. Set up by the test itself: ``scripts/nspawn_root.sh`` installs systemd-container
and debootstrap with apt-get when missing and caches the Debian root (with PostgreSQL and
Redis on spare ports) in /var/cache/studymate-test (about 3.5 min once); the wheelhouse is
cached there too (built with pip on the first run). The container
boots with ``--volatile=overlay``: the cached root is never changed. Select with
``pytest -m install``; without root it is skipped, unless STUDYMATE_REQUIRE_SERVICES=1.
STUDYMATE_INSTALL_SUITE=trixie tests Debian 13 instead of 12.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import service_missing
from e2e import ADMIN_ID, GROUP_ID, MENTOR_ID, STUDENT_ID, TOKEN, Chat

from studymate.cli.main import build_parser
from studymate.ops.supervisor.config import find_template, template_programs

pytestmark = pytest.mark.install

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("STUDYMATE_NSPAWN_CACHE", "/var/cache/studymate-test"))
SUITE = os.environ.get("STUDYMATE_INSTALL_SUITE", "bookworm")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Programs of supervisord.conf and the command each one runs.
PROGRAM_COMMANDS = {
    "watchdog": ("watchdog",), "logrotate": ("logrotate",),
    "backup_schedule": ("backup", "schedule"), "bot": ("bot",),
}
HARDENING = {
    "User": "studymate", "Type": "notify", "KillMode": "mixed", "Restart": "on-failure",
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
    "PrivateTmp": "yes", "PrivateDevices": "yes", "PrivateUsers": "yes",
    "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes", "ProtectClock": "yes", "ProtectHostname": "yes",
    "ProtectProc": "invisible", "RestrictNamespaces": "yes", "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes", "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
    "RemoveIPC": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "SystemCallArchitectures": "native",
    "UMask": "0077", "StateDirectory": "studymate", "LogsDirectory": "studymate",
    "RuntimeDirectory": "studymate", "ConfigurationDirectory": "studymate",
    "CacheDirectory": "studymate", "StartLimitBurst": "5", "TimeoutStopUSec": "1min",
}


def registered(*words: str) -> bool:
    """Is ``studymate WORDS...`` a command of this checkout (programs land separately)?"""
    parser = build_parser()
    for word in words:
        subparsers = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subparsers or word not in subparsers[0].choices:
            return False
        parser = subparsers[0].choices[word]
    return True


WATCHDOG = registered("watchdog")


def runnable_programs() -> list[str]:
    programs = template_programs(find_template().read_text())
    return [p for p in programs if registered(*PROGRAM_COMMANDS.get(p, (p,)))]


def install_options() -> list[str]:
    """Until every program of supervisord.conf is a command, run only those that are."""
    programs = runnable_programs()
    everything = template_programs(find_template().read_text())
    return [] if programs == everything else ["--programs", ",".join(programs)]


# -- fixtures: the Debian root and the wheelhouse (both cached) -------------------------------


@pytest.fixture(scope="module")
def debian_root() -> Path:
    """With PostgreSQL on port 55432 and Redis on 56379 (the host has 5432 and 6379)."""
    if os.geteuid() != 0:
        service_missing("root (systemd-nspawn needs it)")
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "nspawn_root.sh"), SUITE],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "STUDYMATE_NSPAWN_CACHE": str(CACHE)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    root = Path(result.stdout.strip().splitlines()[-1])
    print(f"\nDebian {SUITE} root ready in {time.monotonic() - started:.1f} s: {root}")
    return root



def _pip(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def wheelhouse(debian_root) -> Path:
    """This checkout and its dependencies as wheels, for an offline install in the container.

    For the host's Python (Debian 12 has 3.11 too) ``pip wheel`` builds them; async-timeout is
    only required by redis on Python < 3.11.3 (Debian 12 has 3.11.2), so the host's resolver
    skips it, and setuptools/wheel let later builds run with --no-index. For another Python
    (Debian 13 has 3.13) ``pip download`` fetches that version's binary wheels. Cached per
    version; the package index is asked only when the cache falls short.
    """
    target = subprocess.run(
        ["chroot", str(debian_root), "/usr/bin/python3", "-c",
         "import sys; print('%d%d' % sys.version_info[:2])"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()
    house = CACHE / f"wheels-cp{target}"
    house.mkdir(parents=True, exist_ok=True)
    for old in house.glob("studymate-*.whl"):
        old.unlink()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "src"
        source.mkdir()
        for name in ("studymate", "setup.cfg", "pyproject.toml", "README.md", "supervisord.conf"):
            copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
            copy(REPO / name, source / name)
        for cache_dir in source.rglob("__pycache__"):
            shutil.rmtree(cache_dir)
        here = f"{sys.version_info[0]}{sys.version_info[1]}"
        if target == here:
            wanted = [str(source), "async-timeout>=4.0.3", "setuptools>=68", "wheel"]
            base = ["wheel", "--quiet", "--wheel-dir", str(house), "--find-links", str(house)]
        else:
            built = _pip("wheel", "--quiet", "--no-deps", "--wheel-dir", tmp, str(source))
            assert built.returncode == 0, built.stderr[-3000:]
            wanted = [str(next(Path(tmp).glob("studymate-*.whl")))]
            shutil.copy2(wanted[0], house)
            base = ["download", "--quiet", "--dest", str(house), "--find-links", str(house),
                    "--only-binary=:all:", f"--python-version={target}",
                    "--implementation=cp", f"--abi=cp{target}", "--abi=abi3", "--abi=none",
                    "--platform=manylinux_2_28_x86_64",
                    "--platform=manylinux_2_17_x86_64", "--platform=manylinux2014_x86_64",
                    "--platform=manylinux_2_5_x86_64", "--platform=manylinux1_x86_64"]
        if _pip(*base, "--no-index", *wanted, timeout=300).returncode != 0:
            online = _pip(*base, *wanted)  # first run, or a new dependency: ask the index
            assert online.returncode == 0, online.stderr[-3000:]
    assert list(house.glob("studymate-*.whl"))
    print(f"wheelhouse for cp{target} ready in {time.monotonic() - started:.1f} s")
    return house


# -- the container ------------------------------------------------------------------------------


@dataclass
class Result:
    returncode: int
    output: str


class Container:
    """A systemd-nspawn container of the cached root; changes go to a throw-away overlay."""

    def __init__(self, root: Path, wheels: Path, workdir: Path, *, boot: bool) -> None:
        self.root, self.wheels, self.boot = root, wheels, boot
        self.log_path = workdir / "nspawn.log"
        self.name = f"smtest-{uuid.uuid4().hex[:8]}"
        self.proc: asyncio.subprocess.Process | None = None
        self.leader = 0

    async def start(self, timeout: float = 90.0) -> float:
        began = time.monotonic()
        command = [
            "systemd-nspawn", "--quiet", "-D", str(self.root), "--volatile=overlay",
            "--register=no", "--keep-unit", f"--machine={self.name}",
            f"--bind-ro={REPO}:/src", f"--bind-ro={self.wheels}:/wheels",
        ]
        # Without --boot, a stub init is PID 1 and this command its only child: no systemd.
        command += ["--boot"] if self.boot else ["--as-pid2", "/bin/sleep", "infinity"]
        log = self.log_path.open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
        )
        log.close()
        deadline = began + timeout
        while not self.leader:
            assert self.proc.returncode is None, self.log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "the container's PID 1 did not appear"
            self.leader = _child_of(self.proc.pid)
            await asyncio.sleep(0.1)
        if self.boot:
            while True:  # PID 1 may not be systemd yet, or not yet listening
                state = await self.run("systemctl is-system-running --wait", check=False,
                                       timeout=max(5.0, deadline - time.monotonic()))
                if state.output.strip() in ("running", "degraded") or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            if state.output.strip() != "running":
                failed = await self.run("systemctl --failed --no-pager", check=False)
                assert state.output.strip() == "degraded", state.output + failed.output
                print(f"container booted degraded:\n{failed.output}")
        else:
            while (await self.run("test -x /bin/sh", check=False)).returncode != 0:
                assert time.monotonic() < deadline, "the container did not start"
                await asyncio.sleep(0.1)
        return time.monotonic() - began

    async def run(self, script: str, *, check: bool = True, timeout: float = 120.0) -> Result:
        """``sh -c script`` inside, as root, in /root, with a clean environment."""
        proc = await asyncio.create_subprocess_exec(
            "nsenter", "-t", str(self.leader), "-a", "/usr/bin/env", "-i", f"PATH={PATH}",
            "LANG=C.UTF-8", "HOME=/root", "/bin/sh", "-c", f"cd /root && {script}",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"timed out after {timeout} s: {script}") from None
        result = Result(proc.returncode or 0, out.decode(errors="replace"))
        if check:
            assert result.returncode == 0, f"{script}\n-> rc {result.returncode}\n{result.output}"
        return result

    async def timed(self, script: str, **kwargs) -> tuple[Result, float]:
        began = time.monotonic()
        result = await self.run(script, **kwargs)
        return result, time.monotonic() - began

    async def write(self, path: str, text: str, mode: str = "600") -> None:
        await self.run(f"umask 077 && printf %s {shlex.quote(text)} > {path} && chmod {mode} {path}")

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # nspawn shuts the container down cleanly
        try:
            await asyncio.wait_for(self.proc.wait(), 60)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


def _child_of(pid: int) -> int:
    """The container's PID 1: nspawn's child that lives in a PID namespace of its own (a
    short-lived helper child comes first)."""
    own = os.readlink("/proc/self/ns/pid")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) != pid:
                continue
            try:
                if os.readlink(entry / "ns" / "pid") != own:
                    return int(entry.name)
            except OSError:
                continue
    return 0


@pytest.fixture
async def container_factory(debian_root, wheelhouse, tmp_path):
    started: list[Container] = []

    async def start(*, boot: bool) -> tuple[Container, float]:
        container = Container(debian_root, wheelhouse, tmp_path, boot=boot)
        started.append(container)
        return container, await container.start()

    yield start
    for container in started:
        await container.stop()


# -- helpers on the appliance inside ------------------------------------------------------------


def status_rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1].isupper() and parts[0] != "PROGRAM":
            rows[parts[0]] = parts
    return rows


async def bot_pid(box: Container, states: tuple[str, ...] = ("RUNNING",)) -> int:
    rows = status_rows((await box.run("studymate status", check=False)).output)
    if "bot" in rows and rows["bot"][1] in states and rows["bot"][2].isdigit():
        return int(rows["bot"][2])
    return 0


async def wait_new_bot(
    box: Container, old: int, timeout: float, states: tuple[str, ...] = ("RUNNING",)
) -> float:
    """Seconds until a bot process other than ``old`` is in one of ``states``."""
    began = time.monotonic()
    while True:
        pid = await bot_pid(box, states)
        if pid and pid != old:
            return time.monotonic() - began
        assert time.monotonic() - began < timeout, (await box.run("studymate status", check=False)).output
        await asyncio.sleep(1)


async def answered(fake, text: str = "/start", timeout: float = 30.0) -> list[dict]:
    replies = await Chat(fake, STUDENT_ID).send(text, timeout=timeout)
    assert replies, f"the bot did not answer {text!r}"
    return replies


def admin_messages(fake) -> list[dict]:
    return [m for m in fake.messages(ADMIN_ID) if m["outgoing"]]


async def wait_admin_messages(fake, before: int, count: int, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        new = admin_messages(fake)[before:]
        if len(new) >= count or time.monotonic() >= deadline:
            return new
        await asyncio.sleep(0.5)


async def show(box: Container, *props: str) -> dict[str, str]:
    out = (await box.run(f"systemctl show studymate -p {','.join(props)}")).output
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


async def proc_status(box: Container, pid: int) -> dict[str, str]:
    out = (await box.run(f"cat /proc/{pid}/status")).output
    return {k: v.strip() for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line)}


async def supervisord_log_since_stop(box: Container) -> str:
    log = (await box.run("cat /var/log/studymate/supervisord.log")).output
    return log.split("received SIGTERM")[-1]


def env_file(fake, **extra: str) -> str:
    values = {  # v1's names for the token and the admins: a v1 .env works as --env-file
        "BOT_TOKEN": TOKEN, "STUDYMATE_TELEGRAM_API_URL": fake.base_url,
        "ADMIN_TELEGRAM_IDS": str(ADMIN_ID), "STUDYMATE_DEFAULT_LANGUAGE": "en", **extra,
    }
    return "# pre-filled for install.sh --unattended\n" + "".join(f"{k}={v}\n" for k, v in values.items())


def school(fake) -> None:
    fake.add_user(ADMIN_ID, "Admin")
    fake.add_user(MENTOR_ID, "Anna")
    fake.add_user(STUDENT_ID, "Student", username="student")
    fake.set_member(GROUP_ID, STUDENT_ID, "member")


INSTALL = "/src/install.sh --unattended --env-file /root/studymate.env --wheelhouse /wheels"
MENTOR_ADD = f"studymate mentor add --telegram-id {MENTOR_ID} --name Anna --group-chat-id {GROUP_ID}"


# -- the tests ---------------------------------------------------------------------------------


# None of these uses the host's database (the appliance keeps its data in the container), so
# they run once, in the SQLite pass of scripts/test.sh (conftest marks them backend_agnostic).


async def test_install_in_systemd(container_factory, fake):
    figures: list[str] = []
    box, boot = await container_factory(boot=True)
    figures.append(f"container boot: {boot:.1f} s")
    school(fake)
    await box.write("/root/studymate.env", env_file(fake))
    options = " ".join(install_options())

    # Install: unattended, the token checked with getMe against the (fake) Telegram.
    since = time.monotonic()
    install, took = await box.timed(f"{INSTALL} {options}", check=False, timeout=400)
    figures.append(f"install.sh (fresh, incl. start): {took:.1f} s")
    assert install.returncode == 0, install.output
    assert "token accepted by Telegram: @" in install.output
    assert fake.calls("getMe", since=since)
    assert re.search(r"^healthy: \d+/\d+ programs RUNNING$", install.output, re.M), install.output
    assert "sudo studymate mentor add --telegram-id ID" in install.output  # what to do next
    assert "systemd is not PID 1" not in install.output
    started = re.search(r"running \(systemctl restart returned after ([\d.]+) s", install.output)
    figures.append(f"systemctl start (first, inside install.sh): {started.group(1)} s")
    assert (await box.run("systemctl is-enabled studymate")).output.strip() == "enabled"
    assert (await box.run("stat -c '%a %U' /etc/studymate/studymate.env")).output.split() == ["600", "studymate"]
    assert TOKEN not in (await box.run("systemctl show studymate; ls -la /etc/studymate")).output

    # The operator adds a mentor (as root; the CLI switches to the service user); a student's
    # /start is answered.
    added = await box.run(MENTOR_ADD)
    assert "added mentor Anna" in added.output
    # The database was created by the service user, not by root.
    assert (await box.run("stat -c %U /var/lib/studymate/studymate.db")).output.strip() == "studymate"
    await answered(fake)

    # The hardening is in force, as systemd sees it and as the processes are.
    props = await show(box, *HARDENING, "SystemCallFilter", "ExecStartPre", "MainPID", "NRestarts")
    assert {k: props[k] for k in HARDENING} == HARDENING
    assert "chown " in props["SystemCallFilter"] and " reboot " not in props["SystemCallFilter"]
    assert "studymate migrate" in props["ExecStartPre"]
    uid, gid = (await box.run("id -u studymate; id -g studymate")).output.split()
    for pid in (int(props["MainPID"]), await bot_pid(box)):
        status = await proc_status(box, pid)
        assert status["Uid"].split() == [uid] * 4 and status["Gid"].split() == [gid] * 4
        assert {status[c] for c in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} == {"0" * 16}
        assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2"
    figures.append(f"service user uid {uid}, no capabilities, seccomp filter, NoNewPrivs")

    # systemctl restart: returns once the new bot is up; everything stopped cleanly first.
    old_main = props["MainPID"]
    _, took = await box.timed("systemctl restart studymate")
    figures.append(f"systemctl restart: {took:.1f} s")
    after = await show(box, "ActiveState", "MainPID", "NRestarts")
    assert after["ActiveState"] == "active" and after["MainPID"] != old_main
    assert after["NRestarts"] == props["NRestarts"]  # a requested restart, not a failure
    stopped = await supervisord_log_since_stop(box)
    assert "stopped: bot (exit status 0)" in stopped and "not expected" not in stopped, stopped
    await answered(fake)

    # kill -9 of the bot: supervisor starts a new one; the admins hear about it once.
    victim = await bot_pid(box)
    before = len(admin_messages(fake))
    await box.run(f"kill -9 {victim}")
    took = await wait_new_bot(box, victim, timeout=60)
    figures.append(f"kill -9 bot -> new bot RUNNING: {took:.1f} s")
    await answered(fake)
    if WATCHDOG:
        new = await wait_admin_messages(fake, before, 2, timeout=120)
        await asyncio.sleep(10)  # nothing more may follow
        new = admin_messages(fake)[before:]
        print("\nadmin messages after kill -9:\n" + "\n---\n".join(m["text"] for m in new))
        assert len(new) == 2, [m["text"] for m in new]  # one alert, one recovery

        # A frozen bot (SIGSTOP) still "runs" for supervisor; the watchdog must notice.
        frozen = await bot_pid(box)
        await box.run(f"kill -STOP {frozen}")
        restarted = await wait_new_bot(box, frozen, timeout=150, states=("STARTING", "RUNNING"))
        running = restarted + await wait_new_bot(box, frozen, timeout=60)
        figures.append(f"SIGSTOP bot -> watchdog restarted it: {restarted:.1f} s "
                       f"(new bot RUNNING after {running:.1f} s)")
        assert restarted <= 120
        await answered(fake)
        frozen_alerts = admin_messages(fake)[before + len(new):]
        print("admin messages after SIGSTOP:\n" + "\n---\n".join(m["text"] for m in frozen_alerts))
    else:
        figures.append("NOT RUN: watchdog checks (`studymate watchdog` not registered yet)")

    # systemctl stop: clean, nothing left behind; then start returns when the bot is up.
    _, took = await box.timed("systemctl stop studymate")
    figures.append(f"systemctl stop: {took:.1f} s")
    stop = await show(box, "ActiveState", "Result", "ExecMainStatus", "MainPID")
    assert stop == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0", "MainPID": "0"}
    stopped = await supervisord_log_since_stop(box)
    assert "not expected" not in stopped and "SIGKILL" not in stopped, stopped
    leftovers = await box.run("grep -l '[s]tudymate' /proc/[0-9]*/cmdline 2>/dev/null", check=False)
    assert leftovers.output.strip() == "", leftovers.output
    _, took = await box.timed("systemctl start studymate")
    figures.append(f"systemctl start: {took:.1f} s")
    assert (await box.run("studymate status", check=False)).returncode == 0
    await answered(fake)

    # Re-running install.sh upgrades in place: settings, data and mentors are kept.
    again, took = await box.timed(f"{INSTALL} {options}", check=False, timeout=400)
    figures.append(f"install.sh again (upgrade/repair): {took:.1f} s")
    assert again.returncode == 0, again.output
    assert "settings unchanged" in again.output and "creating system user" not in again.output
    assert "backing up the database before switching programs" in again.output
    assert "warning" not in again.output, again.output
    assert "Anna" in (await box.run("studymate mentor list")).output
    releases = (await box.run("ls /opt/studymate/releases")).output.split()
    assert len(releases) == 2, releases  # the new one and the previous one, for a rollback
    await answered(fake)

    # --uninstall removes the service and the program, keeps settings and data.
    gone = await box.run("/src/install.sh --uninstall")
    assert "Kept:" in gone.output
    assert (await box.run("systemctl is-active studymate", check=False)).output.strip() != "active"
    kept = await box.run("ls /etc/systemd/system/studymate.service /opt/studymate /usr/local/bin/studymate"
                         " 2>&1; ls /etc/studymate /var/lib/studymate", check=False)
    assert kept.output.count("No such file") == 3 and "studymate.env" in kept.output
    assert "studymate.db" in kept.output
    purge = await box.run("/src/install.sh --uninstall --purge --unattended")
    assert "purged" in purge.output
    left = await box.run("ls -d /etc/studymate /var/lib/studymate /var/log/studymate 2>&1; id studymate 2>&1",
                         check=False)
    assert left.output.count("No such file") == 3 and "no such user" in left.output
    print("\n" + "\n".join(figures))


async def test_install_without_systemd(container_factory, fake):
    """Where systemd is not PID 1 the same command installs and runs the appliance."""
    box, _ = await container_factory(boot=False)
    school(fake)
    await box.write("/root/studymate.env", env_file(fake))
    # A token Telegram rejects stops the unattended install before anything is installed.
    fake.add_fault("getMe", 401, description="Unauthorized", times=1)
    rejected = await box.run(INSTALL, check=False)
    assert rejected.returncode == 2, rejected.output
    assert "Telegram rejected the token: Unauthorized" in rejected.output
    assert (await box.run("ls -A /etc/studymate; test -e /opt/studymate/current && echo program",
                          check=False)).output == ""  # no settings, not even a temporary file
    install, took = await box.timed(f"{INSTALL} {' '.join(install_options())}", check=False, timeout=400)
    assert install.returncode == 0, install.output
    assert "systemd is not PID 1 here: starting 'studymate supervise' in the background" in install.output
    assert re.search(r"^healthy: \d+/\d+ programs RUNNING$", install.output, re.M)
    assert "after a restart of the machine run" in install.output
    print(f"\ninstall.sh without systemd: {took:.1f} s")
    await box.run(MENTOR_ADD)
    await answered(fake)
    # The appliance runs as the service user, unprivileged, without a terminal.
    pid = int((await box.run("cat /run/studymate/supervisord.pid")).output)
    status = await proc_status(box, pid)
    uid = (await box.run("id -u studymate")).output.strip()
    assert status["Uid"].split()[0] == uid and status["CapEff"] == "0" * 16
    # --uninstall stops it and keeps the data.
    gone = await box.run("/src/install.sh --uninstall")
    assert "stopping the running appliance" in gone.output and "Kept:" in gone.output
    leftovers = await box.run("grep -l '[s]tudymate' /proc/[0-9]*/cmdline 2>/dev/null", check=False)
    assert leftovers.output.strip() == ""
    assert (await box.run("test -f /var/lib/studymate/studymate.db", check=False)).returncode == 0


async def test_install_with_postgres_and_redis(container_factory, fake):
    """--with-postgres --with-redis: a database and user of its own, both URLs wired, and
    the hardened service reaching both over TCP; --purge drops the database."""
    box, _ = await container_factory(boot=True)
    school(fake)
    await box.write("/root/studymate.env", env_file(fake))
    install, took = await box.timed(
        f"{INSTALL} --with-postgres --with-redis {' '.join(install_options())}", check=False, timeout=400
    )
    assert install.returncode == 0, install.output
    print(f"\ninstall.sh --with-postgres --with-redis: {took:.1f} s")
    assert "PostgreSQL: database studymate created" in install.output
    assert "DATABASE_URL set (port 55432)" in install.output and "REDIS_URL set (port 56379)" in install.output
    settings = (await box.run("cat /etc/studymate/studymate.env")).output
    assert re.search(r"^STUDYMATE_DATABASE_URL=postgresql://studymate:[0-9a-f]{48}@127\.0\.0\.1:55432/studymate$", settings, re.M)
    assert "REDIS_URL=redis://127.0.0.1:56379/0" in settings
    await box.run(MENTOR_ADD)
    await answered(fake)
    # The schema and the mentor live in PostgreSQL; nothing went to a SQLite file.
    tables = await box.run("cd / && runuser -u postgres -- psql -p 55432 -d studymate -tAc "
                           "\"SELECT count(*) FROM pg_tables WHERE tableowner = 'studymate'\"")
    assert int(tables.output) > 5
    assert (await box.run("test -e /var/lib/studymate/studymate.db", check=False)).returncode != 0
    doctor = (await box.run("studymate doctor", check=False)).output
    assert "OK    database reachable" in doctor and "OK    Redis reachable" in doctor, doctor

    # Re-running keeps the database and its password.
    again = await box.run(f"{INSTALL} --with-postgres --with-redis {' '.join(install_options())}", timeout=400)
    assert "keeping database studymate and its password" in again.output
    assert "settings unchanged" in again.output
    await answered(fake)

    # --purge drops the database and the role with the rest.
    await box.run("/src/install.sh --uninstall --purge --unattended")
    left = await box.run("cd / && runuser -u postgres -- psql -p 55432 -tAc \"SELECT count(*) FROM pg_database "
                         "WHERE datname = 'studymate'\" -c \"SELECT count(*) FROM pg_roles WHERE rolname = 'studymate'\"")
    assert left.output.split() == ["0", "0"]
