"""Pause the programs that use the database while a restore swaps it, through supervisor.

XML-RPC over supervisord's unix socket (``RUNTIME_DIR/supervisor.sock``), with the shared
client and its timeout. The watchdog is paused along with the bot, or it would see a stale
heartbeat and start the bot mid-restore. Programs are started again afterwards, also when the
restore failed. Without a socket there is no supervisor here; a bot started some other way is
found by its lock (``bot_lock``).
"""

from __future__ import annotations

import contextlib
import logging
import xmlrpc.client
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from studymate.ops.backup.files import BackupError
from studymate.ops.supervisor.client import SupervisorClient, SupervisorUnavailable, full_name

logger = logging.getLogger(__name__)

STOP_ORDER: Final = ("watchdog", "bot")  # started again in reverse order
ACTIVE_STATES: Final = ("RUNNING", "STARTING", "BACKOFF")
STOP_TIMEOUT: Final = 60.0  # stopProcess waits for the program (the bot's stopwaitsecs is 15 s)

Say = Callable[[str], None]


def bot_supervised(socket: Path) -> bool:
    """supervisord answers on ``socket`` and runs (or starts) its bot."""
    if not socket.exists():
        return False
    try:
        infos = SupervisorClient(socket).processes()
    except (SupervisorUnavailable, xmlrpc.client.Error):
        return False
    return any(i["name"] == "bot" and i["statename"] in ACTIVE_STATES for i in infos)


@contextlib.contextmanager
def programs_paused(socket: Path, *, say: Say, names: tuple[str, ...] = STOP_ORDER) -> Iterator[None]:
    """Given supervisord's socket, stop ``names`` that run, yield, and start them again."""
    if not socket.exists():
        say(f"no supervisor found ({socket} does not exist): no bot to pause")
        yield
        return
    client = SupervisorClient(socket, timeout=STOP_TIMEOUT)
    try:
        infos = client.processes()
    except SupervisorUnavailable as exc:
        if exc.not_running:
            say(f"supervisor is not running ({socket} refuses connections): no bot to pause")
            yield
            return
        raise BackupError(f"cannot talk to supervisor at {socket}: {exc}") from None
    except xmlrpc.client.Error as exc:
        raise BackupError(f"cannot talk to supervisor at {socket}: {exc}") from None
    running = {
        info["name"]: full_name(info)
        for info in infos
        if info["name"] in names and info["statename"] in ACTIVE_STATES
    }
    stopped: list[str] = []
    try:
        try:
            for name in names:
                if name in running:
                    client.stop(running[name], wait=True)
                    stopped.append(running[name])
                    say(f"stopped {name} (supervisor)")
        except (SupervisorUnavailable, xmlrpc.client.Error) as exc:
            raise BackupError(f"supervisor could not stop the programs: {exc}") from None
        yield
    finally:
        for process in reversed(stopped):
            try:
                client.start(process, wait=True)
                say(f"started {process.split(':')[-1]} again (supervisor)")
            except (SupervisorUnavailable, xmlrpc.client.Error) as exc:
                say(f"could not start {process} again: {exc}; run 'supervisorctl start {process}'")
