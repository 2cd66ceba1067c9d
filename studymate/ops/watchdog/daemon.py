"""``studymate watchdog``: the appliance's health daemon, a loop of small steps.

Each round (every ``WATCHDOG_INTERVAL`` seconds, sooner when the bot's heartbeat file changes
while the bot is in doubt):

1. Ask supervisord (XML-RPC) for every program's state and for the exits it saw (our plugin
   in supervisord, :mod:`studymate.ops.supervisor.events`). A program that crashed after
   ``startsecs`` is restarted by supervisor forever and never goes FATAL, so an unexpected exit
   is what tells us about a crash; three of them in ten minutes are a crash loop. No log is read.
2. Judge the bot by its heartbeat, not by its pid: aiogram retries a failing getUpdates
   forever, so a bot judged stale by :func:`studymate.ops.health.judge_bot` (the verdict
   ``studymate status``, systemd and ``/healthz`` give too) is frozen or cut off. It is
   restarted through supervisor, with a growing pause between restarts that do not help.
3. Run the other checks when due (:mod:`studymate.ops.watchdog.checks`): database, Redis, disk
   space, age of the last good backup, the bot's error counter (read from its ``/metrics``).
4. Compare every finding with what the admins were last told. A new problem (or a worse one
   for the same program) is one alert; the end of a problem they were told about is one
   recovery message; a problem that persists is repeated only after ``REMIND_AFTER``
   (:mod:`studymate.ops.watchdog.reporter`). Messages go through
   :class:`studymate.ops.alerts.Alerts` (plain Bot API, so they work while the bot is down) with
   the deduplication in the database, or in memory while the database is down.
5. When nothing is wrong, ping ``HEALTHCHECK_PING_URL`` (at most once a minute): a server that
   dies entirely is noticed by whoever watches that URL.
6. Act: restart a stale bot, start a program supervisor gave up on (after a pause), start
   again a program we stopped.

The heartbeat file is followed with the ``watchdog`` package (inotify), so a recovered bot is
reported at once; its mtime is read every round too, so a lost event changes nothing.
Logs go to stderr.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import time
import urllib.request
import xmlrpc.client
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from supervisor.xmlrpc import Faults

from studymate.ops import health as verdicts
from studymate.ops.alerts import Problem
from studymate.ops.loop import Loop
from studymate.ops.supervisor.client import SupervisorUnavailable, full_name
from studymate.ops.supervisor.run import heartbeat_mtime
from studymate.ops.watchdog import checks as health
from studymate.ops.watchdog.checks import Finding, ok, problem, short_error, unknown
from studymate.ops.watchdog.reporter import Reporter

if TYPE_CHECKING:
    from studymate.config import Settings

logger = logging.getLogger(__name__)

BOT: Final = "bot"
FATAL_RETRY: Final = 300.0  # first pause before starting a program supervisor gave up on
MAX_PAUSE: Final = 3600.0  # longest pause between restarts/starts that do not help
RESTART_WAIT: Final = 40.0  # stopwaitsecs (15 s for the bot) and a margin
PING_EVERY: Final = 60.0
MIN_GAP: Final = 0.5  # rounds never run closer together than this

Clock = Callable[[], float]


# -- supervisor: reading and acting -------------------------------------------------------------


@dataclass
class ProgramMemory:
    last_exit: float  # time of the newest unexpected exit already accounted for
    crashed: bool = False  # a crash whose recovery we have not seen yet
    reason: str = ""
    fatal_retry_at: float | None = None
    fatal_retries: int = 0
    restarts: int = 0  # restarts for a stale heartbeat since the bot last worked
    restart_after: float = 0.0
    stopped_by_us: bool = False


@dataclass(frozen=True)
class Action:
    verb: str  # "restart" | "start"
    program: str  # supervisor's group:name


@dataclass
class PeriodicCheck:
    name: str
    every: float
    run: Callable[[float], list[Finding]]  # given time.time(), return findings
    due: float = 0.0


@dataclass
class WatchdogConfig:
    heartbeat_file: Path
    interval: float = 15.0
    stale: float = 90.0  # HEARTBEAT_STALE_SECONDS: the one threshold of ops/health.py
    mode: str = "polling"
    ping_url: str = ""
    dry_run: bool = False
    checks: list[PeriodicCheck] = field(default_factory=list)


class Watchdog:
    def __init__(
        self,
        config: WatchdogConfig,
        *,
        control: Any,  # a SupervisorClient, or a test double with the same methods
        reporter: Reporter,
        clock: Clock = time.time,
        ping: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        metrics: Any = None,  # WatchdogMetrics, when its port is on
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.control = control
        self.reporter = reporter
        self.clock = clock
        self.ping = ping or http_ping
        self.sleep = sleep
        self.started_at = clock()
        self.programs: dict[str, ProgramMemory] = {}
        self.last_ping = 0.0
        self.bot_in_doubt = True  # wake up on a heartbeat until the bot is seen working
        self.loop = Loop()  # SIGTERM (handle_signals), a heartbeat or request_stop ends a wait
        self.logged: dict[str, str | None] = {}

    # -- one round ----------------------------------------------------------------------------

    def collect(self, now: float) -> tuple[list[Finding], list[Action]]:
        """Given the time, run every check that is due; return findings and actions to take."""
        findings, actions = self.look_at_programs(now)
        for check in self.config.checks:
            if now >= check.due:
                check.due = now + check.every
                try:
                    findings.extend(check.run(now))
                except Exception:  # one broken check must not blind the others
                    logger.exception("check %s failed", check.name)
        return findings, actions

    def step(self) -> list[Finding]:
        """One round: look, report, act. Returns this round's findings."""
        now = self.clock()
        findings, actions = self.collect(now)
        for finding in findings:
            self._log(finding)
            self.reporter.report(finding, now)
        if self.metrics is not None:
            self.metrics.round(findings, now)
        bot = next((f for f in findings if f.subject == f"program:{BOT}"), None)
        self.bot_in_doubt = bot is None or not bot.known or bot.problem
        if not any(f.problem for f in findings) and self.reporter.all_clear:
            self._ping(now)
        for action in actions:
            self.act(action)
        return findings

    def _log(self, finding: Finding) -> None:
        """Log a finding when it changes, not every round."""
        if not finding.known or self.logged.get(finding.subject) == finding.kind:
            return
        if finding.problem and finding.kind is not None:
            logger.warning("%s: %s %s", finding.subject, finding.kind.kind, dict(finding.params))
        elif finding.subject in self.logged:
            logger.info("%s: ok", finding.subject)
        self.logged[finding.subject] = finding.kind

    def look_at_programs(self, now: float) -> tuple[list[Finding], list[Action]]:
        try:
            state = self.control.state()
            infos = self.control.processes()
            exits = self.control.exits()
        except SupervisorUnavailable as exc:
            return [problem("supervisor", Problem.SUPERVISOR_DOWN, error=short_error(exc))], []
        except xmlrpc.client.Fault as exc:  # e.g. SHUTDOWN_STATE while it stops
            logger.debug("supervisord busy: %s", exc.faultString)
            return [], []
        findings = [ok("supervisor")]
        if state != "RUNNING":  # shutting down or reloading: programs come and go on purpose
            return findings, []
        crashes = [item for item in exits if not item.expected]
        beat = heartbeat_mtime(self.config.heartbeat_file)
        report = verdicts.summarize(state, infos, exits=verdicts.crash_times(crashes), heartbeat=beat,
                                    stale_after=self.config.stale, mode=self.config.mode, now=now)
        by_name = {str(info["name"]): info for info in infos}
        actions: list[Action] = []
        for program in report.programs:
            mine = [item for item in crashes if item.name == program.name]
            finding, action = self.judge(program, by_name[program.name], mine, beat, now)
            findings.append(finding)
            if action is not None:
                actions.append(action)
        return findings, actions

    def judge(
        self,
        program: verdicts.ProgramHealth,
        info: dict[str, Any],
        crashes: Iterable[verdicts.Exit],
        beat: float | None,
        now: float,
    ) -> tuple[Finding, Action | None]:
        """Given one program's state and history, say what is wrong with it and what to do."""
        name, state = program.name, program.state
        subject, process = f"program:{name}", full_name(info)
        memory = self.programs.setdefault(name, ProgramMemory(last_exit=self.started_at))
        new_exits = sorted((item for item in crashes if item.at > memory.last_exit), key=lambda e: e.at)
        if new_exits:
            memory.last_exit, memory.crashed = new_exits[-1].at, True
            memory.reason = new_exits[-1].reason or "?"
        start = float(info.get("start") or 0)
        fresh = beat is not None and beat >= start

        if state == "FATAL":
            action = None
            if memory.fatal_retry_at is None:
                memory.fatal_retry_at = now + min(FATAL_RETRY * 2**memory.fatal_retries, MAX_PAUSE)
            elif now >= memory.fatal_retry_at:
                memory.fatal_retry_at, memory.fatal_retries = None, memory.fatal_retries + 1
                action = Action("start", process)
            minutes = round(min(FATAL_RETRY * 2**memory.fatal_retries, MAX_PAUSE) / 60)
            reason = str(info.get("spawnerr") or memory.reason or "?")
            return problem(subject, Problem.FATAL, program=name, reason=short_error(reason), minutes=minutes), action
        memory.fatal_retry_at = None
        if program.crashes >= verdicts.CRASH_LOOP_EXITS:
            minutes = round(verdicts.CRASH_LOOP_WINDOW / 60)
            return problem(subject, Problem.CRASH_LOOP, program=name, crashes=program.crashes, minutes=minutes), None
        if state in ("STOPPED", "EXITED", "UNKNOWN"):
            action = Action("start", process) if memory.stopped_by_us else None
            return problem(subject, Problem.DOWN, program=name, state=state), action
        if state == "STOPPING":
            return unknown(subject), None
        if program.bot is not None and program.bot.stale:  # the one verdict status and systemd give
            action = None
            if now >= memory.restart_after:
                pause = min(self.config.stale * 2**memory.restarts, MAX_PAUSE)
                memory.restart_after, memory.restarts = now + pause, memory.restarts + 1
                action = Action("restart", process)
            return problem(subject, Problem.NOT_POLLING, seconds=round(program.bot.age)), action
        if memory.crashed:
            # supervisor gives start times in whole seconds
            back = not new_exits and state == "RUNNING" and start >= math.floor(memory.last_exit)
            if not (back and (name != BOT or fresh)):
                return problem(subject, Problem.CRASHED, program=name, reason=short_error(memory.reason)), None
            memory.crashed = False
        if state != "RUNNING" or (name == BOT and not fresh):
            return unknown(subject), None  # starting, or a young bot before its first long poll
        memory.restarts, memory.restart_after = 0, 0.0
        memory.fatal_retries, memory.stopped_by_us = 0, False
        return ok(subject, program=name), None

    # -- acting -------------------------------------------------------------------------------

    def act(self, action: Action) -> None:
        if self.config.dry_run:
            logger.warning("dry run: would %s %s", action.verb, action.program)
            return
        name = action.program.split(":")[-1]
        try:
            if action.verb == "restart":
                self.restart(action.program)
            else:
                logger.warning("starting %s", action.program)
                self.control.start(action.program)
        except xmlrpc.client.Fault as exc:
            logger.error("could not %s %s: %s", action.verb, action.program, exc.faultString)
        except SupervisorUnavailable as exc:
            logger.error("could not %s %s: %s", action.verb, action.program, exc)
        else:
            if name in self.programs:
                self.programs[name].stopped_by_us = False
            if self.metrics is not None:
                self.metrics.acted(action)

    def restart(self, full_name: str) -> None:
        """Stop (SIGTERM, SIGKILL after stopwaitsecs) and start again, through supervisor.

        A frozen process (SIGSTOP, a debugger) keeps the SIGTERM pending, so it is sent SIGCONT
        right after: it then stops cleanly within seconds instead of being killed after
        stopwaitsecs. A process that is hung some other way is SIGKILLed by supervisor.
        """
        name = full_name.split(":")[-1]
        memory = self.programs.setdefault(name, ProgramMemory(last_exit=self.started_at))
        logger.warning("restarting %s: no heartbeat", full_name)
        try:
            self.control.stop(full_name)
        except xmlrpc.client.Fault as exc:
            if exc.faultCode != Faults.NOT_RUNNING:
                raise
        else:
            memory.stopped_by_us = True
            try:
                self.control.signal(full_name, "CONT")
            except xmlrpc.client.Fault:
                pass  # already gone
        deadline = time.monotonic() + RESTART_WAIT
        while self.control.info(full_name)["statename"] == "STOPPING":
            if time.monotonic() > deadline or self.stopping:
                logger.error("%s did not stop within %.0f s", full_name, RESTART_WAIT)
                return  # the next rounds see it and start it again (stopped_by_us)
            self.sleep(0.2)
        if self.stopping:
            return  # the appliance is stopping: do not start the bot behind its back
        try:
            self.control.start(full_name)
        except xmlrpc.client.Fault as exc:
            if exc.faultCode != Faults.ALREADY_STARTED:
                raise
        memory.stopped_by_us = False
        logger.warning("%s started again", full_name)

    def _ping(self, now: float) -> None:
        if not self.config.ping_url or now - self.last_ping < PING_EVERY:
            return
        self.last_ping = now
        if self.config.dry_run:
            logger.info("dry run: would ping the health-check URL")
            return
        try:
            self.ping(self.config.ping_url)
        except Exception as exc:  # the dead-man's switch is a courtesy, never a reason to stop
            host = urlsplit(self.config.ping_url).hostname
            logger.warning("health-check ping to %s failed: %s", host, short_error(exc))

    # -- the loop -----------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self.loop.is_set()

    def next_wait(self, beat: float | None) -> float:
        """Seconds until the next round: the interval, or the moment the heartbeat goes stale."""
        wait = self.config.interval
        if beat is not None and not self.bot_in_doubt:
            wait = min(wait, beat + self.config.stale + 1.0 - self.clock())
        return max(MIN_GAP, wait)

    def run(self) -> None:
        """Rounds until SIGTERM/SIGINT (see :meth:`Loop.handle_signals`) or :meth:`request_stop`."""
        watcher = HeartbeatWatcher(self.config.heartbeat_file, self._heartbeat_changed)
        watcher.start()
        try:
            while not self.stopping:
                try:
                    self.step()
                except Exception:  # a bug in one round must not leave the appliance unwatched
                    logger.exception("watchdog round failed")
                if self.stopping:
                    break
                self.loop.wait(self.next_wait(heartbeat_mtime(self.config.heartbeat_file)))
        finally:
            watcher.stop()
            self.loop.close()

    def _heartbeat_changed(self) -> None:
        if self.bot_in_doubt:
            self.loop.wake()  # a bot we worry about just polled: judge it now

    def request_stop(self) -> None:
        self.loop.set()


def http_ping(url: str, timeout: float = 10.0) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read(1024)


# -- waking up on the heartbeat ------------------------------------------------------------------


class HeartbeatWatcher:
    """Calls ``changed`` whenever the heartbeat file is written (inotify on its directory)."""

    def __init__(self, path: Path, changed: Callable[[], None]) -> None:
        self.path = path
        self.changed = changed
        self._observer: Any = None

    def start(self) -> None:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        name = self.path.name
        changed = self.changed

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type not in ("modified", "closed", "created", "moved"):
                    return
                paths = (event.src_path, getattr(event, "dest_path", "") or "")
                if any(os.path.basename(os.fsdecode(p)) == name for p in paths):
                    changed()

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            observer = Observer()
            observer.schedule(Handler(), str(self.path.parent), recursive=False)
            observer.start()
        except OSError as exc:  # e.g. the inotify watch limit: polling the mtime still works
            logger.warning("cannot follow %s with inotify (%s); checking its time only", self.path, exc)
            return
        self._observer = observer

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None


# -- wiring ---------------------------------------------------------------------------------------


def standard_checks(settings: Settings, db: health.GuardedDb | None, started: float) -> list[PeriodicCheck]:
    """Database, Redis, disks, backup age and bot errors, each as often as it is worth."""
    from studymate.ops.backup.files import last_good

    checks: list[PeriodicCheck] = []
    if db is not None:
        checks.append(PeriodicCheck("database", 0.0, lambda now: [health.check_database(db)]))
    if settings.redis_url:
        url = settings.redis_url
        checks.append(PeriodicCheck("redis", 0.0, lambda now: [health.check_redis(url)]))
    if settings.disk_min_free_mb or settings.disk_min_free_percent:
        paths = [settings.state_dir, settings.backup.dir, settings.log_dir]
        checks.append(PeriodicCheck("disk", 60.0, lambda now: health.check_disks(
            paths, min_free_mb=settings.disk_min_free_mb, min_free_percent=settings.disk_min_free_percent,
        )))
    if settings.backup.max_age_hours:
        since = dt.datetime.fromtimestamp(started, dt.UTC)

        def backup(now: float) -> list[Finding]:
            try:
                last = last_good(settings.backup.dir)
            except OSError as exc:
                logger.warning("cannot read %s: %s", settings.backup.dir, exc)
                last = None
            return [health.check_backup(
                last.created if last else None, max_age_hours=settings.backup.max_age_hours,
                now=dt.datetime.fromtimestamp(now, dt.UTC), watching_since=since, tz=settings.tz,
            )]

        checks.append(PeriodicCheck("backup", 300.0, backup))
    if settings.watchdog_max_errors and settings.http_port:
        url = bot_metrics_url(settings)
        rate = health.ErrorRate()
        checks.append(PeriodicCheck("errors", 60.0, lambda now: [health.check_errors(
            rate, health.scrape_bot_errors(url), max_errors=settings.watchdog_max_errors, now=now,
        )]))
    elif settings.watchdog_max_errors:
        logger.warning("HTTP_PORT is 0: the bot serves no error counter, so its errors are not watched")
    return checks


def bot_metrics_url(settings: Settings) -> str:
    """The bot's ``/metrics`` on this machine (a wildcard address is reached on loopback)."""
    host = settings.http_host
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.http_port}/metrics"


def ping_url(settings: Settings) -> str:
    secret = settings.healthcheck_ping_url
    return secret.get_secret_value().strip() if secret is not None else ""
