"""Resident memory of the appliance, from /proc (psutil is not a dependency)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from studymate.ops.supervisor.client import SupervisorClient


def process_stats() -> Iterator[tuple[int, str]]:
    """(pid, the text of /proc/PID/stat) of every process that exists now."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            yield int(entry.name), (entry / "stat").read_text()
        except OSError:  # it ended meanwhile
            continue


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid, stat in process_stats():
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # comm may hold spaces and parens
        children.setdefault(ppid, []).append(pid)
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
