"""The lean supervisord process, and what it tells systemd.

:func:`run_supervisord` replaces ``studymate supervise`` (same PID, systemd's MainPID) with a
process that imports only this package, the health model and supervisor: about 26 MB resident
for the life of the appliance instead of about 47 MB with the CLI, its settings and the
database driver loaded. From a Python install that is ``python -m studymate.ops.supervisor``;
a frozen binary starts itself again with ``LEAN_SUPERVISORD`` as its first argument
(packaging/entry.py). Both end in :func:`serve`.

While supervisord runs, a thread reports to systemd (``NOTIFY_SOCKET``): ``READY=1`` once no
program is still starting, then ``STATUS=`` with :func:`status_text`, the same verdict as
``studymate status``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import syslog
import threading
import time
import xmlrpc.client
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from studymate.ops import health
from studymate.ops.supervisor.client import SupervisorClient, SupervisorUnavailable

logger = logging.getLogger(__name__)

LEAN_SUPERVISORD: Final = "__supervisord__"  # a frozen binary's first argument: run only supervisord
SYSLOG_IDENT: Final = "studymate"  # programs' output reaches the journal as "studymate: bot ..."


@dataclass(frozen=True)
class BotWatch:
    """What the appliance's verdict needs to judge the bot (from Settings, passed along)."""

    heartbeat_file: Path | None
    stale_after: float
    mode: str = "polling"

    def args(self) -> list[str]:
        return [str(self.heartbeat_file or ""), repr(self.stale_after), self.mode]

    @classmethod
    def from_args(cls, args: Sequence[str]) -> BotWatch:
        beat, stale, mode = (list(args) + ["", "90", "polling"][len(args):])[:3]
        return cls(Path(beat) if beat else None, float(stale), mode)


def heartbeat_mtime(path: Path | None) -> float | None:
    if path is None:
        return None
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def appliance_health(client: SupervisorClient, watch: BotWatch) -> health.Health:
    """One look at the running appliance (raises :class:`SupervisorUnavailable`)."""
    state = client.state()
    infos = client.processes()
    crashes = health.crash_times(client.exits())
    return health.summarize(
        state, infos, exits=crashes, heartbeat=heartbeat_mtime(watch.heartbeat_file),
        stale_after=watch.stale_after, mode=watch.mode,
    )


def status_text(client: SupervisorClient, watch: BotWatch) -> tuple[str, bool]:
    """systemd's ``STATUS=`` line, and whether every program has left STARTING/BACKOFF."""
    verdict = appliance_health(client, watch)
    settled = all(p.state not in ("STARTING", "BACKOFF") for p in verdict.programs)
    return verdict.summary(), settled


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


def _report_readiness(sock: Path, address: str, watch: BotWatch) -> None:
    """READY=1 once no program is still starting; then keep STATUS= up to date.

    A program left FATAL still counts as settled: the service is up, `studymate status` and
    the watchdog report the problem, and systemd does not kill the watchdog with it.
    """
    client = SupervisorClient(sock, timeout=5.0)
    ready, last = False, ""
    while True:
        time.sleep(15.0 if ready else 0.5)
        try:
            status, settled = status_text(client, watch)
        except (SupervisorUnavailable, xmlrpc.client.Fault):
            continue
        if not ready:
            if settled:
                notify_systemd(f"READY=1\nSTATUS={status}", address)
                ready, last = True, status
        elif status != last:
            notify_systemd(f"STATUS={status}", address)
            last = status


def lean_command() -> list[str]:
    """How this program starts again as nothing but supervisord (arguments follow)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, LEAN_SUPERVISORD]  # packaging/entry.py, before the CLI loads
    return [sys.executable, "-m", "studymate.ops.supervisor"]


def run_supervisord(conf: Path, *, sock: Path, watch: BotWatch, env: dict[str, str]) -> int:
    """Become supervisord, in the foreground, keeping this PID (systemd's MainPID).

    ``env`` joins this process's environment: supervisord expands ``%(ENV_...)s`` from it and
    the programs inherit it.
    """
    os.environ.update(env)
    if sys.executable:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        command = lean_command()
        os.execv(command[0], [*command, str(conf), str(sock), *watch.args()])
    return serve(conf, sock=sock, watch=watch)


def serve(conf: Path, *, sock: Path, watch: BotWatch) -> int:
    """Run supervisord until it is told to stop; report readiness to systemd meanwhile.

    SIGTERM/SIGINT make supervisord stop the programs by priority and return; SIGHUP reloads
    the configuration. The children get our environment without ``NOTIFY_SOCKET``.
    """
    from supervisor import supervisord

    address = os.environ.pop("NOTIFY_SOCKET", None)
    if address:
        threading.Thread(
            target=_report_readiness, args=(sock, address, watch), name="sd-notify", daemon=True,
        ).start()
    # Programs with stdout_syslog=true reach syslog (the journal under systemd) tagged with
    # this name and their own program name first.
    syslog.openlog(SYSLOG_IDENT, syslog.LOG_PID, syslog.LOG_DAEMON)
    os.umask(0o077)  # logs may quote users: supervisord's files and children get 0600
    supervisord.main(["-c", str(conf), "-n"])
    return 0


def main(argv: Sequence[str]) -> int:
    """The lean supervisord process that :func:`run_supervisord` execs:
    CONF SOCK HEARTBEAT STALE_SECONDS MODE."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    conf_arg, sock_arg, *rest = argv
    return serve(Path(conf_arg), sock=Path(sock_arg), watch=BotWatch.from_args(rest))
