"""``studymate status``: each program's state, the appliance's memory and a health verdict.

Exit 0 when every program is RUNNING (and none is crash-looping), 1 otherwise, 2 when
supervisord does not answer on its socket.
"""

from __future__ import annotations

import argparse
import sys

from studymate.cli import exitcodes
from studymate.config import Settings
from studymate.ops import supervisor


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("status", help="show program states and health; exit 0 when healthy")
    parser.set_defaults(handler=run)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def run(args: argparse.Namespace, settings: Settings) -> int:
    client = supervisor.SupervisorClient(supervisor.socket_path(settings), timeout=5.0)
    try:
        health = supervisor.check(client, settings.heartbeat_file)
        pids = supervisor.appliance_pids(client)
    except supervisor.SupervisorUnavailable as exc:
        print(f"studymate: supervisor is not running ({exc})", file=sys.stderr)
        return exitcodes.CONFIG
    rows = [("PROGRAM", "STATE", "PID", "UPTIME", f"CRASHES/{supervisor.CRASH_LOOP_WINDOW / 60:.0f}m",
             "PSS MB", "RSS MB")]
    for p in health.programs:
        used = supervisor.Memory.of(supervisor.process_tree([p.pid])) if p.pid else None
        rows.append((
            p.name, p.state, str(p.pid or "-"), format_duration(p.uptime), str(p.crashes),
            supervisor.Memory.mb(used.pss_kb) if used else "-",
            supervisor.Memory.mb(used.rss_kb) if used else "-",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for note in health.notes:
        print(note)
    total = supervisor.Memory.of(pids)
    print(
        f"memory: {total.mb(total.rss_kb)} MB resident (supervisord + {len(health.programs)} "
        f"programs, {total.processes} processes), {total.mb(total.pss_kb)} MB PSS "
        "(shared pages counted once)"
    )
    print(health.summary())
    return exitcodes.OK if health.healthy else exitcodes.FAILURE
