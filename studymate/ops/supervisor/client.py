"""The one XML-RPC client of supervisord, over ``RUNTIME_DIR/supervisor.sock``.

Every connection has a timeout (supervisor's own transport has none: a stopped supervisord
would hang the caller), and every way of not getting an answer is one exception,
:class:`SupervisorUnavailable`, which says whether supervisord is simply not running.
``studymate status``, ``studymate restart``, the watchdog, the backup pause and the sd_notify
thread inside supervisord all use it.
"""

from __future__ import annotations

import errno
import http.client
import socket
import xmlrpc.client
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from studymate.ops import health

if TYPE_CHECKING:
    from studymate.config import Settings

SOCKET_NAME: Final = "supervisor.sock"
TIMEOUT: Final = 10.0
NOT_RUNNING_ERRNOS: Final = (errno.ENOENT, errno.ECONNREFUSED)


class SupervisorUnavailable(Exception):
    """supervisord's socket does not answer (not started, stopped, or no permission)."""

    def __init__(self, message: str, *, not_running: bool = False) -> None:
        super().__init__(message)
        self.not_running = not_running  # no socket, or nobody listens on it


def socket_path(settings: Settings) -> Path:
    return settings.runtime_dir.resolve() / SOCKET_NAME


class SupervisorClient:
    """``supervisor.*`` (and our ``studymate.*``) calls; connection failures become one exception."""

    def __init__(self, path: Path, timeout: float = TIMEOUT) -> None:
        from supervisor.xmlrpc import SupervisorTransport, UnixStreamHTTPConnection

        class Connection(UnixStreamHTTPConnection):
            def connect(self) -> None:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(str(path))

        self.path = path
        self.timeout = timeout
        self._transport = SupervisorTransport(None, None, f"unix://{path}")
        self._transport._get_connection = lambda: Connection("localhost", timeout=timeout)
        self._proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=self._transport)

    @classmethod
    def of(cls, settings: Settings, timeout: float = TIMEOUT) -> SupervisorClient:
        return cls(socket_path(settings), timeout=timeout)

    def _call(self, method: str, *args: Any) -> Any:
        namespace, _, name = method.rpartition(".")
        try:
            return getattr(getattr(self._proxy, namespace or "supervisor"), name)(*args)
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
            self._transport.close()  # reconnect next time (supervisord may have restarted)
            not_running = isinstance(exc, OSError) and exc.errno in NOT_RUNNING_ERRNOS
            raise SupervisorUnavailable(f"no answer on {self.path}: {exc}", not_running=not_running) from None

    # -- reading --

    def pid(self) -> int:
        return int(self._call("getPID"))

    def state(self) -> str:
        return str(self._call("getState")["statename"])

    def processes(self) -> list[dict[str, Any]]:
        return list(self._call("getAllProcessInfo"))

    def info(self, name: str) -> dict[str, Any]:
        return dict(self._call("getProcessInfo", name))

    def exits(self, since: int = 0) -> list[health.Exit]:
        """Program exits supervisord saw (our plugin in supervisord.conf); [] without it."""
        try:
            return [health.Exit.of(item) for item in self._call("studymate.getExits", since)]
        except xmlrpc.client.Fault:  # an operator's own supervisord.conf without the plugin
            return []

    # -- acting --

    def start(self, name: str, wait: bool = False) -> None:
        self._call("startProcess", name, wait)

    def stop(self, name: str, wait: bool = False) -> None:
        self._call("stopProcess", name, wait)

    def signal(self, name: str, signame: str) -> None:
        self._call("signalProcess", name, signame)


def full_name(info: dict[str, Any]) -> str:
    """supervisor's ``group:name`` of a process info."""
    return f"{info.get('group') or info['name']}:{info['name']}"
