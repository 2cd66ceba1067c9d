"""``studymate supervise``: supervisord in the foreground with every program (what systemd runs).

Copies ``supervisord.conf`` (only the programs asked for) to ``RUNTIME_DIR/supervisord.conf``
(0600), puts the install's paths into the environment supervisord expands, and runs
supervisord in this process, so systemd's SIGTERM reaches it and it stops the programs in
priority order. It does not migrate: systemd runs ``studymate migrate`` as ExecStartPre, and a
schema behind this version is refused here with one line instead of leaving the bot FATAL.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from peewee import OperationalError

from studymate.cli import exitcodes
from studymate.cli.common import open_migrated
from studymate.config import ConfigError, Settings
from studymate.ops.supervisor import config as supervisor_config
from studymate.ops.supervisor.client import SupervisorClient, SupervisorUnavailable, socket_path
from studymate.ops.supervisor.run import BotWatch, run_supervisord

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "supervise", help="run supervisord and every program (what systemd runs)"
    )
    parser.add_argument(
        "--config", type=Path, metavar="TEMPLATE",
        help="supervisord.conf to run (default: the one shipped with StudyMate)",
    )
    parser.add_argument(
        "--programs", metavar="NAMES",
        help="comma-separated programs to run (default: all in the template)",
    )
    parser.set_defaults(handler=run)


def _check_bot_can_start(settings: Settings) -> None:
    """Refuse a missing token or an old schema now, rather than after five failed starts."""
    settings.require_token()
    try:
        database = open_migrated(settings)  # ConfigError when migrations are pending
    except OperationalError as exc:
        # The database may come up after us; the watchdog tells the admins if it does not.
        logger.warning("database not reachable yet (%s); starting anyway", exc)
        return
    close_all = getattr(database, "close_all", None)
    close_all() if close_all else database.close()  # no idle connection kept in supervisord


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        text = supervisor_config.find_template(args.config).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--config: cannot read the supervisord configuration: {exc}") from None
    programs = None
    if args.programs:
        programs = [name.strip() for name in args.programs.split(",") if name.strip()]
    try:
        selected = supervisor_config.select_programs(text, programs)
    except ValueError as exc:
        raise ConfigError(f"supervisord config: {exc}") from None
    sock = socket_path(settings)
    try:
        pid = SupervisorClient(sock, timeout=3.0).pid()
    except SupervisorUnavailable:
        pass
    else:
        logger.error("supervisord is already running (pid %s, socket %s)", pid, sock)
        return exitcodes.FAILURE
    if "bot" in (programs or supervisor_config.template_programs(text)):
        _check_bot_can_start(settings)
    for directory in (settings.state_dir, settings.log_dir, settings.runtime_dir):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    conf = supervisor_config.config_path(settings)
    supervisor_config.write_private(conf, selected)
    env = supervisor_config.environment(settings)
    try:
        supervisor_config.check(conf, env)
    except ValueError as exc:
        reason = str(exc).split(" Available names:")[0]  # not every variable of the environment
        raise ConfigError(f"supervisord config {conf}: {reason}") from None
    logger.info("starting supervisord (config %s, socket %s)", conf, sock)
    watch = BotWatch(settings.heartbeat_file, settings.heartbeat_stale_seconds, settings.telegram_mode)
    return run_supervisord(conf, sock=sock, watch=watch, env=env)
