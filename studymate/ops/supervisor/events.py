"""A supervisord plugin that remembers program exits, from supervisor's process-state events.

A program that crashes after ``startsecs`` is restarted by supervisor forever and never goes
FATAL, so its state alone does not show a crash loop. supervisord knows about every exit: it
emits ``PROCESS_STATE_EXITED`` with ``expected`` (the exit code is in the program's
``exitcodes``) whenever a running program ends without being asked to stop. This plugin
subscribes to that event inside supervisord and keeps the last exits in memory; the watchdog and
``studymate status`` read them over the same XML-RPC socket::

    [rpcinterface:studymate]
    supervisor.rpcinterface_factory = studymate.ops.supervisor.events:make_rpcinterface

    studymate.getExits(since_seq) -> [{seq, name, group, at, expected, pid, status, reason}]

Why a plugin, not an ``[eventlistener]`` program: no fifth process (memory), nothing more to
start, stop or count in ``status``, and the wait status is at hand to tell *which* signal
killed a program (supervisor itself keeps only an exit status of -1 for any signal).
Nothing here may raise into supervisord's main loop.
"""

from __future__ import annotations

import collections
import itertools
import logging
import time
from typing import Any, Final

from supervisor import events
from supervisor.options import decode_wait_status

logger = logging.getLogger(__name__)

KEEP: Final = 500  # exits remembered; a crash loop needs 3 within 10 minutes
WAIT_STATUSES: Final = 200  # reaped children whose wait status we keep until their event


class ExitRecorder:
    def __init__(self, supervisord: Any) -> None:
        self.exits: collections.deque[dict[str, Any]] = collections.deque(maxlen=KEEP)
        self._seq = itertools.count(1)
        self._wait_status: dict[int, str] = {}
        self._follow_waitpid(supervisord.options)
        events.subscribe(events.ProcessStateExitedEvent, self.on_exit)

    def _follow_waitpid(self, options: Any) -> None:
        """Note each reaped child's wait status ("terminated by SIGKILL") by its pid."""
        original = getattr(options, "_studymate_waitpid", None) or options.waitpid
        options._studymate_waitpid = original  # a reload (SIGHUP) wraps the original again

        def waitpid() -> tuple[int | None, int | None]:
            pid, sts = original()
            if pid:
                try:
                    if len(self._wait_status) >= WAIT_STATUSES:
                        self._wait_status.pop(next(iter(self._wait_status)))
                    self._wait_status[pid] = decode_wait_status(sts)[1]
                except Exception:  # never break reaping
                    pass
            return pid, sts

        options.waitpid = waitpid

    def on_exit(self, event: Any) -> None:
        try:
            process = event.process
            pid = int(dict(event.extra_values).get("pid") or 0)
            status = process.exitstatus
            reason = self._wait_status.pop(pid, "") or (
                f"exit status {status}" if status is not None and status >= 0 else "terminated by a signal"
            )
            group = process.group.config.name if process.group is not None else ""
            self.exits.append({
                "seq": next(self._seq), "name": process.config.name, "group": group,
                "at": time.time(), "expected": bool(event.expected), "pid": pid,
                "status": -1 if status is None else int(status), "reason": reason,
            })
        except Exception:  # a bug here must not stop supervisord
            logger.exception("cannot record a program exit")


class StudyMateRPC:
    """The ``studymate.*`` XML-RPC namespace."""

    def __init__(self, recorder: ExitRecorder) -> None:
        self.recorder = recorder

    def getExits(self, since: int = 0) -> list[dict[str, Any]]:  # supervisor's camelCase API
        """Program exits with a sequence number above ``since``, oldest first."""
        return [dict(item) for item in self.recorder.exits if item["seq"] > since]


def make_rpcinterface(supervisord: Any, **config: Any) -> StudyMateRPC:
    return StudyMateRPC(ExitRecorder(supervisord))
