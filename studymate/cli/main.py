"""``studymate``: one executable, many roles. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from studymate import __version__
from studymate.cli import (
    backup,
    bot,
    doctor,
    exitcodes,
    logrotate,
    mentor,
    migrate,
    status,
    supervise,
    watchdog,
)
from studymate.config import ConfigError, load_settings
from studymate.logging_setup import setup_logging

COMMANDS = (migrate, bot, mentor, doctor, backup, supervise, status, logrotate, watchdog)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studymate", description="StudyMate: a Telegram bot for small schools."
    )
    parser.add_argument("--version", action="version", version=f"studymate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return exitcodes.CONFIG
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"studymate: configuration error: {exc}", file=sys.stderr)
        return exitcodes.CONFIG
    setup_logging(settings.log_level)
    try:
        return args.handler(args, settings)
    except ConfigError as exc:
        print(f"studymate: configuration error: {exc}", file=sys.stderr)
        return exitcodes.CONFIG
    except KeyboardInterrupt:
        return exitcodes.FAILURE
