"""supervisord for the appliance: the configuration we render, and its XML-RPC socket.

- :func:`render_config` fills the top-level ``supervisord.conf`` template for this install's
  paths and the executable that starts ``studymate`` (the frozen binary itself, or this Python
  with ``-m studymate``), keeping only the programs asked for.
- :class:`SupervisorClient` talks XML-RPC over ``RUNTIME_DIR/supervisor.sock``.
- :func:`summarize` turns process info plus the activity log into a health verdict. A program
  that crashes *after* ``startsecs`` is restarted forever and never goes FATAL (FATAL
  happens only while starting), so unexpected exits are counted from supervisord's log to see crash loops.
- :func:`run_supervisord` runs supervisord in this process and tells systemd when the programs
  have settled (``READY=1``), if systemd asked (``NOTIFY_SOCKET``).

Only the standard library and supervisor are imported here: this module runs inside the
long-lived supervisord process, and the watchdog reuses the client.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import logging
import os
import re
import shlex
import socket
import sys
import threading
import time
import xmlrpc.client
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from studymate.config import Settings

logger = logging.getLogger(__name__)

TEMPLATE_NAME: Final = "supervisord.conf"
LEAN_SUPERVISORD: Final = "__supervisord__"  # a frozen binary's first argument: run only supervisord
SOCKET_NAME: Final = "supervisor.sock"
CRASH_LOOP_EXITS: Final = 3  # unexpected exits of one program ...
CRASH_LOOP_WINDOW: Final = 600.0  # ... within this many seconds = a crash loop
HEARTBEAT_STALE: Final = 120.0  # the bot beats on every getUpdates (<= 25 s) and every 30 s
LOG_TAIL_BYTES: Final = 256 * 1024
PLACEHOLDER_RE: Final = re.compile(r"\{([a-z_]+)\}")
SECTION_RE: Final = re.compile(r"^\[([^\]]+)\]", re.MULTILINE)
EXIT_LINE_RE: Final = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ \w+ exited: (\S+) \(.*; not expected\)$", re.MULTILINE
)


class SupervisorUnavailable(Exception):
    """supervisord's socket does not answer (not started, stopped, or no permission)."""


# -- configuration ----------------------------------------------------------------------------


def socket_path(settings: Settings) -> Path:
    return settings.runtime_dir.resolve() / SOCKET_NAME


def config_path(settings: Settings) -> Path:
    return settings.runtime_dir.resolve() / TEMPLATE_NAME


def studymate_command() -> list[str]:
    """How a child starts ``studymate``: one executable, many roles."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "studymate"]


def find_template(explicit: Path | None = None) -> Path:
    """The template: ``--config``, else the copy shipped with this build or checkout."""
    if explicit is not None:
        return explicit
    candidates = [
        Path(getattr(sys, "_MEIPASS", "/nonexistent")) / TEMPLATE_NAME,  # PyInstaller bundle
        Path(__file__).resolve().parents[2] / TEMPLATE_NAME,  # checkout / editable install
        Path(sys.prefix) / "share" / "studymate" / TEMPLATE_NAME,  # wheel data_files
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{TEMPLATE_NAME} not found next to the program; pass it with --config FILE"
    )


def template_programs(text: str) -> list[str]:
    """Names of the ``[program:x]`` sections, in template order."""
    return [s.split(":", 1)[1] for s in SECTION_RE.findall(text) if s.startswith("program:")]


def _escape(value: str) -> str:
    """supervisord expands ``%(name)s`` in values; a literal ``%`` must be doubled."""
    if '"' in value or "\n" in value:
        raise ValueError(f"unsupported character in {value!r}")
    return value.replace("%", "%%")


def render_config(
    text: str,
    *,
    settings: Settings,
    programs: Sequence[str] | None = None,
    command: Sequence[str] | None = None,
) -> str:
    """Fill ``text`` for this install; keep only ``programs`` (default: all in the template).

    The directories are pinned as absolute paths in the children's environment, so every
    program agrees on them whatever its working directory or env file says.
    """
    available = template_programs(text)
    wanted = list(available if programs is None else programs)
    unknown = [name for name in wanted if name not in available]
    if unknown:
        raise ValueError(f"unknown program(s) {', '.join(unknown)}; known: {', '.join(available)}")
    dirs = {
        "STUDYMATE_STATE_DIR": settings.state_dir.resolve(),
        "STUDYMATE_LOG_DIR": settings.log_dir.resolve(),
        "STUDYMATE_RUNTIME_DIR": settings.runtime_dir.resolve(),
    }
    env = {**{k: str(v) for k, v in dirs.items()}, "PYTHONUNBUFFERED": "1"}
    values = {
        "log_dir": _escape(str(dirs["STUDYMATE_LOG_DIR"])),
        "runtime_dir": _escape(str(dirs["STUDYMATE_RUNTIME_DIR"])),
        "environment": ",".join(f'{k}="{_escape(v)}"' for k, v in env.items()),
        "studymate": _escape(shlex.join(command or studymate_command())),
    }
    kept: list[str] = []
    # Split into sections (each starts at its header) and drop unwanted programs.
    starts = [m.start() for m in SECTION_RE.finditer(text)] + [len(text)]
    kept.append(text[: starts[0]])
    for begin, end in zip(starts, starts[1:], strict=False):
        chunk = text[begin:end]
        header = SECTION_RE.match(chunk)
        assert header is not None
        name = header.group(1)
        if name.startswith("program:") and name.split(":", 1)[1] not in wanted:
            continue
        kept.append(chunk)
    rendered = PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), "".join(kept))
    for line in rendered.splitlines():
        left = PLACEHOLDER_RE.search(line)
        if left and not line.lstrip().startswith((";", "#")):
            raise ValueError(f"unknown placeholder {left.group(0)} in the template")
    return rendered


def write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def stop_budget(text: str) -> int:
    """Worst-case seconds to stop every program: priorities stop one after another."""
    total = 0
    for section in re.split(r"^\[", text, flags=re.MULTILINE):
        if section.startswith("program:"):
            found = re.search(r"^stopwaitsecs\s*=\s*(\d+)", section, re.MULTILINE)
            total += int(found.group(1)) if found else 10  # supervisor's default
    return total


# -- XML-RPC client ---------------------------------------------------------------------------


class SupervisorClient:
    """``supervisor.*`` calls over the unix socket; connection failures become one exception."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        from supervisor.xmlrpc import SupervisorTransport, UnixStreamHTTPConnection

        class Connection(UnixStreamHTTPConnection):
            def connect(self) -> None:  # supervisor's own has no timeout: a stopped one hangs
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(str(path))

        self.path = path
        self._transport = SupervisorTransport(None, None, f"unix://{path}")
        self._transport._get_connection = lambda: Connection("localhost", timeout=timeout)
        self._proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=self._transport)

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._proxy.supervisor, method)(*args)
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
            self._transport.close()  # reconnect next time (supervisord may have restarted)
            raise SupervisorUnavailable(f"no answer on {self.path}: {exc}") from None

    def pid(self) -> int:
        return int(self._call("getPID"))

    def state(self) -> str:
        return str(self._call("getState")["statename"])

    def processes(self) -> list[dict[str, Any]]:
        return list(self._call("getAllProcessInfo"))

    def log_tail(self, nbytes: int = LOG_TAIL_BYTES) -> str:
        """The end of supervisord's activity log ('' when it has none)."""
        try:
            return str(self._call("readLog", -nbytes, 0))
        except xmlrpc.client.Fault:
            return ""


# -- health -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramHealth:
    name: str
    state: str
    pid: int
    uptime: float | None
    crashes: int  # unexpected exits within CRASH_LOOP_WINDOW
    problem: str | None


@dataclass(frozen=True)
class Health:
    supervisor_state: str
    programs: list[ProgramHealth]
    notes: list[str]

    @property
    def healthy(self) -> bool:
        return self.supervisor_state == "RUNNING" and not any(p.problem for p in self.programs)

    def summary(self) -> str:
        running = sum(p.state == "RUNNING" for p in self.programs)
        counts = f"{running}/{len(self.programs)} programs RUNNING"
        if self.healthy:
            return f"healthy: {counts}"
        problems = [f"{p.name} {p.problem}" for p in self.programs if p.problem]
        if self.supervisor_state != "RUNNING":
            problems.insert(0, f"supervisord {self.supervisor_state}")
        return f"UNHEALTHY: {counts}; " + "; ".join(problems)


def unexpected_exits(log_text: str) -> dict[str, list[float]]:
    """Times of ``exited: NAME (...; not expected)`` lines in supervisord's activity log."""
    exits: dict[str, list[float]] = {}
    for stamp, name in EXIT_LINE_RE.findall(log_text):
        when = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").timestamp()  # local time
        exits.setdefault(name, []).append(when)
    return exits


def summarize(
    supervisor_state: str,
    infos: Iterable[Mapping[str, Any]],
    *,
    exits: Mapping[str, Sequence[float]] | None = None,
    heartbeat: float | None = None,
    now: float | None = None,
) -> Health:
    """Every program must be RUNNING and not crash-looping; the bot must be polling.

    ``heartbeat`` is the mtime of the bot's heartbeat file. The bot beats after each
    getUpdates, which may take a long-poll timeout to come back, so a bot younger than
    ``HEARTBEAT_STALE`` is given the benefit of the doubt.
    """
    exits = exits or {}
    notes: list[str] = []
    programs = []
    for info in sorted(infos, key=lambda i: str(i["name"])):
        name, state = str(info["name"]), str(info["statename"])
        clock = float(info.get("now") or now or time.time())
        start = float(info.get("start") or 0)
        uptime = clock - start if state == "RUNNING" and start else None
        crashes = sum(1 for t in exits.get(name, ()) if clock - t <= CRASH_LOOP_WINDOW)
        problem = None
        if state == "FATAL":
            problem = f"FATAL ({info.get('spawnerr') or 'gave up restarting'})"
        elif state == "BACKOFF":
            problem = "BACKOFF (exits during start-up; retrying)"
        elif state != "RUNNING":
            problem = state
        elif crashes >= CRASH_LOOP_EXITS:
            problem = f"crash loop ({crashes} unexpected exits in {CRASH_LOOP_WINDOW / 60:.0f} min)"
        elif name == "bot":
            fresh = heartbeat is not None and heartbeat >= start
            if fresh:
                notes.append(f"bot heartbeat: {max(0.0, clock - heartbeat):.0f} s ago")
            age = clock - heartbeat if fresh else uptime
            if (uptime or 0) > HEARTBEAT_STALE and (age or 0) > HEARTBEAT_STALE:
                problem = f"not polling Telegram (no heartbeat for {age:.0f} s)"
        programs.append(ProgramHealth(name, state, int(info.get("pid") or 0), uptime, crashes, problem))
    return Health(supervisor_state, programs, notes)


def heartbeat_mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def check(client: SupervisorClient, heartbeat_file: Path | None = None) -> Health:
    """One look at the running appliance (raises :class:`SupervisorUnavailable`)."""
    state = client.state()
    infos = client.processes()
    beat = heartbeat_mtime(heartbeat_file) if heartbeat_file else None
    return summarize(state, infos, exits=unexpected_exits(client.log_tail()), heartbeat=beat)


# -- memory -----------------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # comm may hold spaces and parens
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree(roots: Iterable[int]) -> set[int]:
    """``roots`` and all their descendants that still exist."""
    children = _children_map()
    seen: set[int] = set()
    todo = [pid for pid in roots if pid > 0]
    while todo:
        pid = todo.pop()
        if pid not in seen and Path(f"/proc/{pid}").exists():
            seen.add(pid)
            todo.extend(children.get(pid, []))
    return seen


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def resident_kb(pids: Iterable[int]) -> dict[int, int]:
    """VmRSS (KiB) of each pid, from /proc (psutil is not a dependency)."""
    return {pid: _status_kb(pid, "VmRSS") for pid in pids}


def proportional_kb(pid: int) -> int | None:
    """Pss (KiB) from /proc/PID/smaps_rollup; None when unreadable (another user's process)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return None


@dataclass(frozen=True)
class Memory:
    """Resident memory of a set of processes, in KiB.

    RSS counts a shared page (the interpreter, shared libraries) once in every process that
    maps it, as ``ps`` and ``top`` show it; PSS splits it between them, so summed over
    processes PSS is what the machine really spends. ``pss_kb`` is None when some process's
    smaps_rollup could not be read.
    """

    rss_kb: int
    pss_kb: int | None
    processes: int

    @staticmethod
    def of(pids: Iterable[int]) -> Memory:
        pids = list(pids)
        pss = [proportional_kb(pid) for pid in pids]
        return Memory(
            rss_kb=sum(resident_kb(pids).values()),
            pss_kb=None if None in pss else sum(p or 0 for p in pss),
            processes=len(pids),
        )

    @staticmethod
    def mb(kb: int | None) -> str:
        return "?" if kb is None else f"{kb / 1024:.1f}"


def appliance_pids(client: SupervisorClient) -> set[int]:
    """supervisord, its programs and their children."""
    roots = [client.pid()] + [int(i.get("pid") or 0) for i in client.processes()]
    return process_tree(roots)


# -- running supervisord ----------------------------------------------------------------------


def notify_systemd(message: str, address: str | None) -> bool:
    """Send an sd_notify datagram (``READY=1``, ``STATUS=...``) if systemd gave us a socket."""
    if not address:
        return False
    target = "\0" + address[1:] if address.startswith("@") else address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(target)
            sock.sendall(message.encode())
    except OSError as exc:
        logger.warning("sd_notify failed: %s", exc)
        return False
    return True


def _report_readiness(sock: Path, address: str, heartbeat_file: Path | None) -> None:
    """READY=1 once no program is still starting; then keep STATUS= up to date.

    A program left FATAL still counts as settled: the service is up, `studymate status` and
    the watchdog report the problem, and systemd does not kill the watchdog with it.
    """
    client = SupervisorClient(sock, timeout=5.0)
    ready, last = False, ""
    while True:
        time.sleep(15.0 if ready else 0.5)
        try:
            health = check(client, heartbeat_file)
        except (SupervisorUnavailable, xmlrpc.client.Fault):
            continue
        status = health.summary()
        if not ready:
            if all(p.state not in ("STARTING", "BACKOFF") for p in health.programs):
                notify_systemd(f"READY=1\nSTATUS={status}", address)
                ready, last = True, status
        elif status != last:
            notify_systemd(f"STATUS={status}", address)
            last = status


def lean_command() -> list[str]:
    """How this program starts again as nothing but supervisord (arguments follow)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, LEAN_SUPERVISORD]  # packaging/entry.py, before the CLI loads
    return [sys.executable, "-m", __name__]


def run_supervisord(conf: Path, *, sock: Path, heartbeat_file: Path | None = None) -> int:
    """Become supervisord, in the foreground, keeping this PID (systemd's MainPID).

    This process image is replaced (``exec``) by a lean one that imports only this module and
    supervisor: about 26 MB resident for the life of the appliance instead of about 47 MB
    with the CLI, its settings and the database driver loaded. From a Python install that is
    ``python -m`` this module; a frozen binary starts itself again with ``LEAN_SUPERVISORD``
    as its first argument. Both paths end in :func:`serve`.
    """
    if sys.executable:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        command = lean_command()
        beat = str(heartbeat_file) if heartbeat_file else ""
        os.execv(command[0], [*command, str(conf), str(sock), beat])
    return serve(conf, sock=sock, heartbeat_file=heartbeat_file)


def serve(conf: Path, *, sock: Path, heartbeat_file: Path | None = None) -> int:
    """Run supervisord until it is told to stop; report readiness to systemd meanwhile.

    SIGTERM/SIGINT make supervisord stop the programs by priority and return; SIGHUP reloads
    the rendered file. The children get our environment without ``NOTIFY_SOCKET``.
    """
    from supervisor import supervisord

    address = os.environ.pop("NOTIFY_SOCKET", None)
    if address:
        threading.Thread(
            target=_report_readiness,
            args=(sock, address, heartbeat_file),
            name="sd-notify",
            daemon=True,
        ).start()
    os.umask(0o077)  # logs may quote users: supervisord's files and children get 0600
    supervisord.main(["-c", str(conf), "-n"])
    return 0


def main(argv: Sequence[str]) -> int:
    """The lean supervisord process that :func:`run_supervisord` execs: CONF SOCK HEARTBEAT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    conf_arg, sock_arg, beat_arg = argv[:3]
    return serve(Path(conf_arg), sock=Path(sock_arg), heartbeat_file=Path(beat_arg) if beat_arg else None)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
