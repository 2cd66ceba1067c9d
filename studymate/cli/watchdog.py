"""``studymate watchdog [--once] [--dry-run]``: the health daemon that supervisor runs.

Without options it runs until SIGTERM/SIGINT (exit 0): it restarts a bot that stopped polling,
starts programs supervisor gave up on, and tells the admins on Telegram about every problem and
every recovery. ``--once`` checks once, prints what it found and exits 0 when nothing is wrong,
1 otherwise (for cron or an external monitor); it never alerts or acts. ``--dry-run`` runs the
loop but only logs the messages and actions it would send and take.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Final

from studymate.cli import exitcodes
from studymate.config import ConfigError, Settings
from studymate.db.connection import open_database
from studymate.ops import alerts
from studymate.ops.supervisor.client import SupervisorClient
from studymate.ops.watchdog import checks as health
from studymate.ops.watchdog import daemon as wd
from studymate.ops.watchdog import reporter as rp

logger = logging.getLogger(__name__)
IDLE_BEAT: Final = 40.0  # an idle bot's long poll returns every 25 s; it also beats every 30 s


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("watchdog", help="health daemon: checks, restarts the bot, alerts admins")
    parser.add_argument("--once", action="store_true", help="check once, print, exit 0 when healthy")
    parser.add_argument("--dry-run", action="store_true", help="only log the alerts and restarts")
    parser.set_defaults(handler=run)


def _notifier(settings: Settings, db: health.GuardedDb, quiet: bool) -> rp.Notifier:
    options = {"cooldown": rp.ALERT_COOLDOWN}
    if quiet:
        return rp.AlertsNotifier(lambda: alerts.log_alerts(**options))
    if settings.bot_token is None or not settings.admin_telegram_ids:
        logger.warning("no STUDYMATE_BOT_TOKEN or STUDYMATE_ADMIN_TELEGRAM_IDS: alerts go to this log only")
        return rp.AlertsNotifier(lambda: alerts.log_alerts(**options))
    return rp.AlertsNotifier(lambda: alerts.telegram_alerts(settings, rp.guarded_store(db), **options))


def _print(findings: list[health.Finding]) -> None:
    for finding in sorted(findings, key=lambda f: f.subject):
        status = "?" if not finding.known else ("PROBLEM" if finding.problem else "ok")
        details = " ".join(f"{k}={v}" for k, v in finding.params.items())
        print(f"{status:8} {finding.subject:28} {finding.kind or ''} {details}".rstrip())


def run(args: argparse.Namespace, settings: Settings) -> int:
    ping = wd.ping_url(settings)
    if ping and not ping.startswith(("http://", "https://")):
        raise ConfigError("STUDYMATE_HEALTHCHECK_PING_URL: must be an http(s) URL, or empty")
    db = health.GuardedDb(open_database(settings.effective_database_url, pool_size=1))
    config = wd.WatchdogConfig(
        heartbeat_file=settings.heartbeat_file,
        interval=settings.watchdog_interval,
        stale=settings.heartbeat_stale_seconds,
        mode=settings.telegram_mode,
        ping_url=ping,
        dry_run=args.dry_run or args.once,
        checks=wd.standard_checks(settings, db, time.time()),
    )
    metrics = None
    notifier = _notifier(settings, db, quiet=args.dry_run or args.once)
    if settings.watchdog_http_port and not args.once:
        from studymate.ops.watchdog.metrics import WatchdogMetrics

        metrics = WatchdogMetrics()
        notifier = metrics.counting(notifier)
    reporter = rp.Reporter(
        notifier,
        state_path=None if args.dry_run or args.once else settings.state_dir / "watchdog-state.json",
    )
    control = SupervisorClient.of(settings)
    dog = wd.Watchdog(config, control=control, reporter=reporter, metrics=metrics)
    try:
        if args.once:
            findings, _ = dog.collect(time.time())
            _print(findings)
            return exitcodes.FAILURE if any(f.problem for f in findings) else exitcodes.OK
        if config.stale < IDLE_BEAT:
            logger.warning(
                "STUDYMATE_HEARTBEAT_STALE_SECONDS=%g is below %g s: an idle bot beats only every 25-30 s "
                "and will be restarted for nothing", config.stale, IDLE_BEAT,
            )
        dog.loop.handle_signals()
        if metrics is not None:
            metrics.serve(settings.http_host, settings.watchdog_http_port)
        logger.info(
            "watching every %g s (heartbeat stale after %g s)%s",
            config.interval, config.stale, "; dry run" if args.dry_run else "",
        )
        dog.run()
        logger.info("watchdog stopped")
        return exitcodes.OK
    finally:
        if metrics is not None:
            metrics.close()
        db.close()
