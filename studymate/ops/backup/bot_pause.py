"""Pause the programs that use the database while a restore swaps it, through supervisor.

XML-RPC over supervisord's unix socket (``RUNTIME_DIR/supervisor.sock``). The watchdog is
paused along with the bot, or it would see a stale heartbeat and start the bot mid-restore.
Programs are started again afterwards, also when the restore failed. Without a socket there
is no supervisor here; a bot started some other way is found by its lock (``bot_lock``).
"""

from __future__ import annotations

import contextlib
import logging
import xmlrpc.client
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from supervisor.xmlrpc import SupervisorTransport

from studymate.ops.backup.files import BackupError

logger = logging.getLogger(__name__)

SOCKET_NAME: Final = "supervisor.sock"
STOP_ORDER: Final = ("watchdog", "bot")  # started again in reverse order
ACTIVE_STATES: Final = ("RUNNING", "STARTING", "BACKOFF")

Say = Callable[[str], None]


def rpc(socket: Path) -> Any:
    transport = SupervisorTransport(None, None, f"unix://{socket}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def bot_supervised(socket: Path) -> bool:
    """supervisord answers on ``socket`` and runs (or starts) its bot."""
    if not socket.exists():
        return False
    try:
        infos = rpc(socket).supervisor.getAllProcessInfo()
    except (OSError, xmlrpc.client.Error):
        return False
    return any(i["name"] == "bot" and i["statename"] in ACTIVE_STATES for i in infos)


@contextlib.contextmanager
def programs_paused(socket: Path, *, say: Say, names: tuple[str, ...] = STOP_ORDER) -> Iterator[None]:
    """Given supervisord's socket, stop ``names`` that run, yield, and start them again."""
    if not socket.exists():
        say(f"no supervisor found ({socket} does not exist): no bot to pause")
        yield
        return
    proxy = rpc(socket)
    try:
        infos = proxy.supervisor.getAllProcessInfo()
    except ConnectionRefusedError:
        say(f"supervisor is not running ({socket} refuses connections): no bot to pause")
        yield
        return
    except (OSError, xmlrpc.client.Error) as exc:
        raise BackupError(f"cannot talk to supervisor at {socket}: {exc}") from None
    running = {
        info["name"]: f"{info['group']}:{info['name']}"
        for info in infos
        if info["name"] in names and info["statename"] in ACTIVE_STATES
    }
    stopped: list[str] = []
    try:
        try:
            for name in names:
                if name in running:
                    proxy.supervisor.stopProcess(running[name])
                    stopped.append(running[name])
                    say(f"stopped {name} (supervisor)")
        except (OSError, xmlrpc.client.Error) as exc:
            raise BackupError(f"supervisor could not stop the programs: {exc}") from None
        yield
    finally:
        for full_name in reversed(stopped):
            try:
                proxy.supervisor.startProcess(full_name)
                say(f"started {full_name.split(':')[-1]} again (supervisor)")
            except (OSError, xmlrpc.client.Error) as exc:
                say(f"could not start {full_name} again: {exc}; run 'supervisorctl start {full_name}'")
