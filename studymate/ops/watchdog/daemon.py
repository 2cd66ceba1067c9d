"""``studymate watchdog``: the appliance's health daemon, a loop of small steps.

Each round (every ``WATCHDOG_INTERVAL`` seconds, sooner when the bot's heartbeat file changes
while the bot is in doubt):

1. Ask supervisord (XML-RPC) for every program's state and read its activity log. A program
   that crashed after ``startsecs`` is restarted by supervisor forever and never goes FATAL
   (FATAL happens only while starting), so new "exited: NAME (...; not expected)" lines are what tell us about a
   crash; three of them in ten minutes are a crash loop.
2. Judge the bot by its heartbeat, not by its pid: aiogram retries a failing getUpdates forever
   without exiting, so a bot RUNNING for longer than ``HEARTBEAT_STALE_SECONDS`` without a
   heartbeat is frozen or cut off. It is restarted through supervisor, with a growing pause
   between restarts that do not help.
3. Run the other checks when due (:mod:`studymate.ops.watchdog.checks`): database, Redis, disk space,
   age of the last good backup, errors in the bot's log.
4. Compare every finding with what the admins were last told. A new problem (or a worse one
   for the same program) is one alert; the end of a problem they were told about is one
   recovery message; a problem that persists is repeated only after ``REMIND_AFTER``. Alerts go
   through :class:`AdminAlerter` (plain Bot API, so they work while the bot is down) with its
   per-key cooldown in the database, or in memory while the database is down.
5. When nothing is wrong, ping ``HEALTHCHECK_PING_URL`` (at most once a minute): a server that
   dies entirely is noticed by whoever watches that URL.
6. Act: restart a stale bot, start a program supervisor gave up on (after a pause), start
   again a program we stopped.

The heartbeat file is followed with the ``watchdog`` package (inotify), so a recovered bot is
reported at once; its mtime is read every round too, so a lost event changes nothing.
stdout is not a protocol here (this is a program, not an event listener): logs go to stderr.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import json
import logging
import os
import select
import time
import urllib.request
import xmlrpc.client
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlsplit

from supervisor.xmlrpc import Faults

from studymate.ops import supervisor
from studymate.ops.watchdog import checks as health
from studymate.ops.watchdog.checks import Finding, ok, problem, short_error, unknown

if TYPE_CHECKING:
    from studymate.config import Settings

logger = logging.getLogger(__name__)

BOT: Final = "bot"
REMIND_AFTER: Final = 6 * 3600.0  # a problem that persists is repeated this rarely
ALERT_COOLDOWN: Final = 600.0  # the same alert (or recovery) at most once per ... seconds
ALERTS_PER_MINUTE: Final = 5
FATAL_RETRY: Final = 300.0  # first pause before starting a program supervisor gave up on
MAX_PAUSE: Final = 3600.0  # longest pause between restarts/starts that do not help
RESTART_WAIT: Final = 40.0  # stopwaitsecs (15 s for the bot) and a margin
PING_EVERY: Final = 60.0
MIN_GAP: Final = 0.5  # rounds never run closer together than this
STARTUP_GRACE: Final = 60.0  # a bot that has not polled yet: loading aiogram, the first getMe
# Problems that must last this long before anyone is told (a blip is not news).
GRACE: Final = {"down": 60.0, "supervisor_down": 45.0, "database_down": 30.0, "redis_down": 30.0}
# For one program, an alert about a worse problem still goes out; a milder one does not.
SEVERITY: Final = {"crashed": 1, "not_polling": 2, "down": 3, "crash_loop": 4, "fatal": 5}
# Keys shared with the bot's own Redis alerts, so one outage is one message.
SHARED_KEYS: Final = {("redis", "redis_down"): "redis_down", ("redis", "redis_down", "ok"): "redis_back"}

Render = Callable[[str, int], str]
Clock = Callable[[], float]


# -- telling the admins -----------------------------------------------------------------------


class Notifier(Protocol):
    def send(self, key: str, render: Render, *, recovery: bool = False) -> bool:
        """Send one message to every admin unless deduplicated; return whether it went out."""


class MemoryClaims:
    """:func:`studymate.ops.alerts.claim_alert` in memory: per-key cooldown, a cap per minute."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.sent: dict[str, float] = {}
        self.held: collections.Counter[str] = collections.Counter()

    def claim(self, key: str, *, cooldown: float, per_minute: int) -> int | None:
        now = self.clock()
        recent = sum(1 for at in self.sent.values() if now - at < 60)
        if (key in self.sent and now - self.sent[key] < cooldown) or recent >= per_minute:
            self.held[key] += 1
            return None
        self.sent[key] = now
        return self.held.pop(key, 0)

    def record(self, key: str) -> None:
        self.sent[key] = self.clock()
        self.held.pop(key, None)


class LogNotifier:
    """No token or no admins (or ``--dry-run``): the messages go to the log, deduplicated alike."""

    def __init__(self, *, language: str = "en", clock: Clock = time.monotonic) -> None:
        self.language = language
        self.claims = MemoryClaims(clock)

    def send(self, key: str, render: Render, *, recovery: bool = False) -> bool:
        per_minute = 10_000 if recovery else ALERTS_PER_MINUTE
        held = self.claims.claim(key, cooldown=ALERT_COOLDOWN, per_minute=per_minute)
        if held is None:
            logger.info("alert %s suppressed (cooldown or rate cap)", key)
            return False
        logger.warning("alert %s (not sent to Telegram): %s", key, render(self.language, held))
        return True


class TelegramNotifier:
    """:class:`AdminAlerter` with its bookkeeping in the database when the database answers.

    While it does not (which may be the very problem being reported), the claims fall back to
    :class:`MemoryClaims` and every admin gets ``DEFAULT_LANGUAGE``. Recoveries skip the cap per
    minute, so an admin who got an alert is never left without its all-clear.
    """

    def __init__(self, settings: Settings, db: health.GuardedDb | None) -> None:
        from studymate.ops.alerts import AdminAlerter

        self.db = db
        self.default_language = settings.default_language
        self.memory = MemoryClaims()

        def alerter(per_minute: int) -> AdminAlerter:
            return AdminAlerter(
                api_url=settings.telegram_api_url, token=settings.require_token(),
                admin_ids=settings.admin_telegram_ids, run=self._run,
                default_language=settings.default_language,
                cooldown=ALERT_COOLDOWN, per_minute=per_minute,
            )

        self.alerts, self.recoveries = alerter(ALERTS_PER_MINUTE), alerter(10_000)

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from studymate.ops.alerts import claim_alert

        try:
            if self.db is None:
                raise health.DatabaseUnavailable("no database")
            result = self.db.call(fn, *args, **kwargs)  # this event loop only sends alerts
        except Exception as exc:
            if fn is claim_alert:
                logger.warning("alert bookkeeping unavailable (%s); deduplicating in memory", short_error(exc))
                return self.memory.claim(*args, **kwargs)
            return self.default_language  # language_of: the only other call
        if fn is claim_alert and result is not None:
            self.memory.record(args[0])  # so a database outage later still knows the cooldown
        return result

    def send(self, key: str, render: Render, *, recovery: bool = False) -> bool:
        alerter = self.recoveries if recovery else self.alerts
        try:
            return asyncio.run(alerter.alert(key, render))
        except Exception:  # an alert must never stop the watchdog
            logger.exception("could not alert the admins (%s)", key)
            return False


def render_text(text_key: str, params: dict[str, Any]) -> Render:
    def render(lang: str, held: int) -> str:
        from studymate.i18n import t

        text = t(text_key, lang, **params)
        if held:
            text += "\n" + t("admin_watchdog_suppressed", lang, count=held)
        return text

    return render


@dataclass
class Told:
    """What the admins were last told about one subject."""

    kind: str | None = None  # the problem, None = all fine
    sent: bool = False  # the alert really went out (it may have been held back by a cooldown)
    at: float = 0.0  # when we last tried


class Reporter:
    """Turns findings into one message per change of state (step 4 of the module docstring)."""

    def __init__(self, notifier: Notifier, *, state_path: Path | None = None) -> None:
        self.notifier = notifier
        self.state_path = state_path
        self.told: dict[str, Told] = self._load()
        self.since: dict[str, float] = {}  # when each current problem was first seen
        self.seen: set[str] = set()  # subjects judged by this process

    def report(self, finding: Finding, now: float) -> None:
        if not finding.known:
            return
        subject, kind = finding.subject, finding.kind
        self.seen.add(subject)
        told = self.told.get(subject, Told())
        if kind is None:
            self.since.pop(subject, None)
            if told.kind is not None:
                if told.sent:
                    family = subject.split(":", 1)[0]
                    key = self._key(subject, told.kind, "ok")
                    self.notifier.send(key, render_text(f"admin_watchdog_{family}_ok", dict(finding.params)), recovery=True)
                self._set(subject, Told())
            return
        since = self.since.setdefault(subject, now)
        if now - since < GRACE.get(kind, 0.0):
            return
        worse = told.kind is None or SEVERITY.get(kind, 0) > SEVERITY.get(told.kind, 0)
        held_back = not told.sent and now - told.at >= ALERT_COOLDOWN  # try again: nobody knows
        if worse or held_back or now - told.at >= REMIND_AFTER:
            sent = self.notifier.send(self._key(subject, kind), render_text(f"admin_watchdog_{kind}", dict(finding.params)))
            self._set(subject, Told(kind, sent or told.sent, now))

    @property
    def all_clear(self) -> bool:
        """Nothing the admins were told about is still wrong (a subject no longer checked, e.g.
        a program removed from the configuration, does not count)."""
        return not any(subject in self.seen for subject in self.told)

    @staticmethod
    def _key(subject: str, kind: str, *suffix: str) -> str:
        shared = SHARED_KEYS.get((subject, kind, *suffix))
        return shared or ":".join(("watchdog", subject, kind, *suffix))

    def _set(self, subject: str, told: Told) -> None:
        if told.kind is None:
            self.told.pop(subject, None)
        else:
            self.told[subject] = told
        self._save()

    def _load(self) -> dict[str, Told]:
        if self.state_path is None:
            return {}
        try:
            raw = json.loads(self.state_path.read_text(encoding="utf-8"))
            return {subject: Told(**value) for subject, value in raw.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError) as exc:
            logger.warning("ignoring unreadable %s: %s", self.state_path, exc)
            return {}

    def _save(self) -> None:
        """Remember what the admins were told, so a restarted watchdog sends the all-clear."""
        if self.state_path is None:
            return
        data = {subject: dataclasses.asdict(told) for subject, told in self.told.items()}
        try:
            supervisor.write_private(self.state_path, json.dumps(data, indent=1))
        except OSError as exc:
            logger.warning("cannot save %s: %s", self.state_path, exc)


# -- supervisor: reading and acting -------------------------------------------------------------


class SupervisorControl(supervisor.SupervisorClient):
    """The shared client plus the calls that change something."""

    def start(self, name: str) -> None:
        self._call("startProcess", name, False)

    def stop(self, name: str) -> None:
        self._call("stopProcess", name, False)

    def signal(self, name: str, signame: str) -> None:
        self._call("signalProcess", name, signame)

    def info(self, name: str) -> dict[str, Any]:
        return dict(self._call("getProcessInfo", name))


@dataclass
class ProgramMemory:
    last_exit: float  # newest unexpected exit already accounted for
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
    stale: float = 90.0
    ping_url: str = ""
    dry_run: bool = False
    checks: list[PeriodicCheck] = field(default_factory=list)


class Watchdog:
    def __init__(
        self,
        config: WatchdogConfig,
        *,
        control: Any,  # SupervisorControl or a test double with the same methods
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
        self.stopping = False
        self.waker: Waker | None = None
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
        if finding.problem:
            logger.warning("%s: %s %s", finding.subject, finding.kind, dict(finding.params))
        elif finding.subject in self.logged:
            logger.info("%s: ok", finding.subject)
        self.logged[finding.subject] = finding.kind

    def look_at_programs(self, now: float) -> tuple[list[Finding], list[Action]]:
        try:
            state = self.control.state()
            infos = self.control.processes()
            log = self.control.log_tail()
        except supervisor.SupervisorUnavailable as exc:
            return [problem("supervisor", "supervisor_down", error=short_error(exc))], []
        except xmlrpc.client.Fault as exc:  # e.g. SHUTDOWN_STATE while it stops
            logger.debug("supervisord busy: %s", exc.faultString)
            return [], []
        findings = [ok("supervisor")]
        if state != "RUNNING":  # shutting down or reloading: programs come and go on purpose
            return findings, []
        exits = supervisor.unexpected_exits(log)
        reasons = health.last_exit_reasons(log)
        beat = supervisor.heartbeat_mtime(self.config.heartbeat_file)
        report = supervisor.summarize(state, infos, exits=exits, heartbeat=beat, now=now)
        by_name = {str(info["name"]): info for info in infos}
        actions: list[Action] = []
        for program in report.programs:
            info = by_name[program.name]
            finding, action = self.judge(
                program, info, exits.get(program.name, []), reasons.get(program.name, ""), beat, now
            )
            findings.append(finding)
            if action is not None:
                actions.append(action)
        return findings, actions

    def judge(
        self,
        program: supervisor.ProgramHealth,
        info: dict[str, Any],
        exit_times: Iterable[float],
        reason: str,
        beat: float | None,
        now: float,
    ) -> tuple[Finding, Action | None]:
        """Given one program's state and history, say what is wrong with it and what to do."""
        name, state = program.name, program.state
        subject, full_name = f"program:{name}", f"{info.get('group') or name}:{name}"
        memory = self.programs.setdefault(name, ProgramMemory(last_exit=self.started_at))
        new_exits = [at for at in exit_times if at > memory.last_exit]
        if new_exits:
            memory.last_exit, memory.crashed, memory.reason = max(new_exits), True, reason or "?"
        start = float(info.get("start") or 0)
        fresh = beat is not None and beat >= start

        if state == "FATAL":
            action = None
            if memory.fatal_retry_at is None:
                memory.fatal_retry_at = now + min(FATAL_RETRY * 2**memory.fatal_retries, MAX_PAUSE)
            elif now >= memory.fatal_retry_at:
                memory.fatal_retry_at, memory.fatal_retries = None, memory.fatal_retries + 1
                action = Action("start", full_name)
            minutes = round(min(FATAL_RETRY * 2**memory.fatal_retries, MAX_PAUSE) / 60)
            reason = str(info.get("spawnerr") or memory.reason or "?")
            return problem(subject, "fatal", program=name, reason=short_error(reason), minutes=minutes), action
        memory.fatal_retry_at = None
        if program.crashes >= supervisor.CRASH_LOOP_EXITS:
            minutes = round(supervisor.CRASH_LOOP_WINDOW / 60)
            return problem(subject, "crash_loop", program=name, crashes=program.crashes, minutes=minutes), None
        if state in ("STOPPED", "EXITED", "UNKNOWN"):
            action = Action("start", full_name) if memory.stopped_by_us else None
            return problem(subject, "down", program=name, state=state), action
        if state == "STOPPING":
            return unknown(subject), None
        if name == BOT and state == "RUNNING":
            uptime = now - start
            age = now - beat if fresh and beat is not None else uptime
            limit = self.config.stale if fresh else max(self.config.stale, STARTUP_GRACE)
            if uptime > limit and age > limit:
                action = None
                if now >= memory.restart_after:
                    pause = min(self.config.stale * 2**memory.restarts, MAX_PAUSE)
                    memory.restart_after, memory.restarts = now + pause, memory.restarts + 1
                    action = Action("restart", full_name)
                return problem(subject, "not_polling", seconds=round(age)), action
        if memory.crashed:
            back = not new_exits and state == "RUNNING" and start >= memory.last_exit
            if not (back and (name != BOT or fresh)):
                return problem(subject, "crashed", program=name, reason=short_error(memory.reason)), None
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
        except supervisor.SupervisorUnavailable as exc:
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

    def next_wait(self, beat: float | None) -> float:
        """Seconds until the next round: the interval, or the moment the heartbeat goes stale."""
        wait = self.config.interval
        if beat is not None and not self.bot_in_doubt:
            wait = min(wait, beat + self.config.stale + 1.0 - self.clock())
        return max(MIN_GAP, wait)

    def run(self) -> None:
        """Rounds until :meth:`request_stop` (from a signal handler) is called."""
        self.waker = waker = Waker()
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
                waker.wait(self.next_wait(supervisor.heartbeat_mtime(self.config.heartbeat_file)))
        finally:
            watcher.stop()
            self.waker = None
            waker.close()

    def _heartbeat_changed(self) -> None:
        if self.bot_in_doubt and self.waker is not None:
            self.waker.poke()  # a bot we worry about just polled: judge it now

    def request_stop(self) -> None:
        self.stopping = True
        if self.waker is not None:
            self.waker.poke()


def http_ping(url: str, timeout: float = 10.0) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read(1024)


# -- waking up: signals and inotify -------------------------------------------------------------


class Waker:
    """A pipe the loop sleeps on; signal handlers and the inotify thread write a byte to it.

    No lock is involved, so a signal handler interrupting the loop can never deadlock it.
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def poke(self) -> None:
        try:
            os.write(self._write, b"!")
        except (BlockingIOError, OSError):
            pass  # the pipe is full (already awake) or closed

    def wait(self, timeout: float) -> None:
        select.select([self._read], [], [], max(0.0, timeout))
        try:
            while os.read(self._read, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        os.close(self._read)
        os.close(self._write)


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
    if settings.watchdog_max_errors:
        log = settings.log_dir / f"{BOT}.log"
        checks.append(PeriodicCheck("errors", 60.0, lambda now: [
            health.check_errors(log, max_errors=settings.watchdog_max_errors, now=now)
        ]))
    return checks


def ping_url(settings: Settings) -> str:
    secret = settings.healthcheck_ping_url
    return secret.get_secret_value().strip() if secret is not None else ""
