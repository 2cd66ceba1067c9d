"""One health model for the appliance: is the bot working, is every program up.

Everyone who judges the bot asks :func:`judge_bot` with the same threshold
(``HEARTBEAT_STALE_SECONDS``): ``studymate status``, the ``STATUS=`` line systemd shows,
the bot's own ``/healthz`` and the watchdog, which restarts a bot judged stale. So they
cannot disagree about a bot whose last heartbeat is, say, 100 s old.

The bot beats (writes its heartbeat, or notes ``last_poll`` in memory) after each getUpdates
(polling: every long poll, <= 25 s when idle) or each webhook check and update (webhook: at
least every 30 s). A process that has not beaten yet is given ``STARTUP_GRACE`` to load and
make its first call.

Pure functions of plain values (times, supervisor's process infos, exit records): no I/O and
only the standard library, because the lean supervisord process imports this module too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

STARTUP_GRACE: Final = 60.0  # a bot that has not polled yet: loading aiogram, the first getMe
CRASH_LOOP_EXITS: Final = 3  # unexpected exits of one program ...
CRASH_LOOP_WINDOW: Final = 600.0  # ... within this many seconds = a crash loop
BOT: Final = "bot"


@dataclass(frozen=True)
class BotVerdict:
    """What the bot's heartbeat says about it."""

    stale: bool  # the one thing that makes the bot unhealthy (and the watchdog restart it)
    polled: bool  # it has beaten since this process started
    age: float  # seconds since the last beat, or since the start when it has not beaten yet
    limit: float  # the threshold that applied
    mode: str = "polling"

    @property
    def healthy(self) -> bool:
        return not self.stale

    @property
    def reason(self) -> str:
        """One line for people (``studymate status``, systemd's STATUS=)."""
        doing = "not polling Telegram" if self.mode == "polling" else "no contact with Telegram"
        return f"{doing} (no heartbeat for {self.age:.0f} s)"


def judge_bot(
    *,
    now: float,
    started: float,
    heartbeat: float | None,
    stale_after: float,
    mode: str = "polling",
) -> BotVerdict:
    """Given the time, the bot's start and its last heartbeat, is it stale?

    A heartbeat older than the start belongs to an earlier process and does not count.
    """
    polled = heartbeat is not None and heartbeat >= started
    if polled:
        assert heartbeat is not None
        age, limit = now - heartbeat, stale_after
    else:
        age, limit = now - started, max(stale_after, STARTUP_GRACE)
    return BotVerdict(stale=age > limit, polled=polled, age=max(0.0, age), limit=limit, mode=mode)


# -- the appliance: every program ------------------------------------------------------------


@dataclass(frozen=True)
class Exit:
    """One exit of a program that supervisord did not ask for (see ops/supervisor/events.py)."""

    name: str
    at: float  # time.time() of the exit
    expected: bool  # its exit code is in the program's ``exitcodes``
    reason: str = ""  # "exit status 1", "terminated by SIGKILL"
    seq: int = 0  # increasing number, so a reader can ask for what is new

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Exit:
        return cls(
            name=str(record["name"]), at=float(record["at"]), expected=bool(record["expected"]),
            reason=str(record.get("reason") or ""), seq=int(record.get("seq") or 0),
        )


def crash_times(exits: Iterable[Exit]) -> dict[str, list[float]]:
    """Times of the unexpected exits, by program."""
    found: dict[str, list[float]] = {}
    for item in exits:
        if not item.expected:
            found.setdefault(item.name, []).append(item.at)
    return found


@dataclass(frozen=True)
class ProgramHealth:
    name: str
    state: str
    pid: int
    uptime: float | None
    crashes: int  # unexpected exits within CRASH_LOOP_WINDOW
    problem: str | None
    bot: BotVerdict | None = None  # the heartbeat verdict, for the bot while it runs


@dataclass(frozen=True)
class Health:
    supervisor_state: str
    programs: list[ProgramHealth]
    notes: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.supervisor_state == "RUNNING" and not any(p.problem for p in self.programs)

    def summary(self) -> str:
        """The verdict in one line: ``studymate status``'s last line and systemd's STATUS=."""
        running = sum(p.state == "RUNNING" for p in self.programs)
        counts = f"{running}/{len(self.programs)} programs RUNNING"
        if self.healthy:
            return f"healthy: {counts}"
        problems = [f"{p.name} {p.problem}" for p in self.programs if p.problem]
        if self.supervisor_state != "RUNNING":
            problems.insert(0, f"supervisord {self.supervisor_state}")
        return f"UNHEALTHY: {counts}; " + "; ".join(problems)


def summarize(
    supervisor_state: str,
    infos: Iterable[Mapping[str, Any]],
    *,
    stale_after: float,
    exits: Mapping[str, Sequence[float]] | None = None,
    heartbeat: float | None = None,
    mode: str = "polling",
    now: float | None = None,
) -> Health:
    """Every program must be RUNNING and not crash-looping; the bot must not be stale.

    ``infos`` are supervisor's ``getAllProcessInfo`` entries, ``exits`` the times of each
    program's unexpected exits, ``heartbeat`` the time of the bot's last beat.
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
        problem, verdict = None, None
        if name == BOT and state == "RUNNING" and start:
            verdict = judge_bot(now=clock, started=start, heartbeat=heartbeat,
                                stale_after=stale_after, mode=mode)
            if verdict.polled:
                notes.append(f"bot heartbeat: {verdict.age:.0f} s ago")
        if state == "FATAL":
            problem = f"FATAL ({info.get('spawnerr') or 'gave up restarting'})"
        elif state == "BACKOFF":
            problem = "BACKOFF (exits during start-up; retrying)"
        elif state != "RUNNING":
            problem = state
        elif crashes >= CRASH_LOOP_EXITS:
            problem = f"crash loop ({crashes} unexpected exits in {CRASH_LOOP_WINDOW / 60:.0f} min)"
        elif verdict is not None and verdict.stale:
            problem = verdict.reason
        programs.append(ProgramHealth(name, state, int(info.get("pid") or 0), uptime, crashes,
                                      problem, verdict))
    return Health(supervisor_state, programs, notes)
