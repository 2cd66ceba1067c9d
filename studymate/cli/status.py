"""``studymate status [--json]``: each program's state, the appliance's memory and a health verdict.

The verdict is :func:`verdict`: the one health model (:mod:`studymate.ops.health`) the watchdog,
systemd's STATUS= line and the bot's ``/healthz`` use too. Exit codes as ``systemctl status``:
0 when every program is RUNNING (none crash-looping, the bot not stale), 1 otherwise, 3 when
supervisord does not answer on its socket because it is not running.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from studymate.cli import exitcodes
from studymate.config import Settings
from studymate.ops import health
from studymate.ops.supervisor.client import SupervisorClient, SupervisorUnavailable
from studymate.ops.supervisor.memory import Memory, appliance_pids, process_tree
from studymate.ops.supervisor.run import BotWatch, appliance_health


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("status", help="show program states and health; exit 0 when healthy")
    parser.add_argument("--json", action="store_true", help="print the same as one JSON object")
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


def bot_watch(settings: Settings) -> BotWatch:
    return BotWatch(settings.heartbeat_file, settings.heartbeat_stale_seconds, settings.telegram_mode)


def verdict(client: SupervisorClient, settings: Settings) -> health.Health:
    """The appliance's health as everyone judges it (raises :class:`SupervisorUnavailable`)."""
    return appliance_health(client, bot_watch(settings))


def _mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def as_json(found: health.Health, memory: dict[str, Memory | None], total: Memory) -> dict[str, Any]:
    programs = []
    for p in found.programs:
        used = memory.get(p.name)
        programs.append({
            "name": p.name, "state": p.state, "pid": p.pid or None,
            "uptime_seconds": None if p.uptime is None else round(p.uptime, 1),
            "crashes": p.crashes, "problem": p.problem,
            "pss_mb": _mb(used.pss_kb) if used else None, "rss_mb": _mb(used.rss_kb) if used else None,
            "bot": dataclasses.asdict(p.bot) | {"healthy": p.bot.healthy} if p.bot else None,
        })
    return {
        "running": True,
        "healthy": found.healthy,
        "summary": found.summary(),
        "supervisor_state": found.supervisor_state,
        "crash_window_seconds": health.CRASH_LOOP_WINDOW,
        "programs": programs,
        "memory": {"rss_mb": _mb(total.rss_kb), "pss_mb": _mb(total.pss_kb), "processes": total.processes},
    }


def run(args: argparse.Namespace, settings: Settings) -> int:
    client = SupervisorClient.of(settings, timeout=5.0)
    try:
        found = verdict(client, settings)
        pids = appliance_pids(client)
    except SupervisorUnavailable as exc:
        code = exitcodes.NOT_RUNNING if exc.not_running else exitcodes.FAILURE
        if args.json:
            print(json.dumps({"running": False, "healthy": False, "error": str(exc)}))
        what = "supervisor is not running" if exc.not_running else "supervisor does not answer"
        print(f"studymate: {what} ({exc})", file=sys.stderr)
        return code
    memory = {p.name: Memory.of(process_tree([p.pid])) if p.pid else None for p in found.programs}
    total = Memory.of(pids)
    if args.json:
        print(json.dumps(as_json(found, memory, total), indent=2))
        return exitcodes.OK if found.healthy else exitcodes.FAILURE
    rows = [("PROGRAM", "STATE", "PID", "UPTIME", f"CRASHES/{health.CRASH_LOOP_WINDOW / 60:.0f}m",
             "PSS MB", "RSS MB")]
    for p in found.programs:
        used = memory[p.name]
        rows.append((
            p.name, p.state, str(p.pid or "-"), format_duration(p.uptime), str(p.crashes),
            Memory.mb(used.pss_kb) if used else "-",
            Memory.mb(used.rss_kb) if used else "-",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for note in found.notes:
        print(note)
    print(
        f"memory: {total.mb(total.rss_kb)} MB resident (supervisord + {len(found.programs)} "
        f"programs, {total.processes} processes), {total.mb(total.pss_kb)} MB PSS "
        "(shared pages counted once)"
    )
    print(found.summary())
    return exitcodes.OK if found.healthy else exitcodes.FAILURE
