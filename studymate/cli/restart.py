"""``studymate restart bot|watchdog|backup|logrotate``: restart one program through supervisor.

Exit 0 when it runs again, 1 when supervisor refused or the program did not come back, 3 when
supervisord is not running (start the service instead: ``systemctl start studymate``).
"""

from __future__ import annotations

import argparse
import sys
import xmlrpc.client
from typing import Final

from studymate.cli import exitcodes
from studymate.config import Settings
from studymate.ops.supervisor.client import SupervisorClient, SupervisorUnavailable, full_name

# What the operator types → supervisor's program name.
PROGRAMS: Final = {"bot": "bot", "watchdog": "watchdog", "backup": "backup_schedule", "logrotate": "logrotate"}
TIMEOUT: Final = 60.0  # stopProcess and startProcess wait: stopwaitsecs, then startsecs


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("restart", help="restart one program through supervisor")
    parser.add_argument("program", choices=sorted(PROGRAMS), help="the program to restart")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    name = PROGRAMS[args.program]
    client = SupervisorClient.of(settings, timeout=TIMEOUT)
    try:
        info = client.info(name)
        process = full_name(info)
        if info["statename"] in ("RUNNING", "STARTING", "BACKOFF"):
            client.stop(process, wait=True)
        client.start(process, wait=True)
        state = client.info(name)["statename"]
    except SupervisorUnavailable as exc:
        what = "supervisor is not running" if exc.not_running else "supervisor does not answer"
        print(f"studymate: {what} ({exc})", file=sys.stderr)
        return exitcodes.NOT_RUNNING if exc.not_running else exitcodes.FAILURE
    except xmlrpc.client.Fault as exc:
        print(f"studymate: supervisor refused to restart {name}: {exc.faultString}", file=sys.stderr)
        return exitcodes.FAILURE
    print(f"{name}: {state}")
    return exitcodes.OK if state == "RUNNING" else exitcodes.FAILURE
