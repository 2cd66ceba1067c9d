"""``studymate``: one executable, many roles. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Final

from studymate import __version__
from studymate.cli import exitcodes
from studymate.config import ConfigError, load_settings
from studymate.logging_setup import setup_logging

# Each subcommand and the module (studymate.cli.<module>) that registers and runs it. A run
# imports only its own command's module: the long-running programs (watchdog, logrotate,
# backup schedule) then load what they use and no more, once each for the appliance's life.
COMMANDS: Final = {
    "migrate": "migrate",
    "bot": "bot",
    "mentor": "mentor",
    "doctor": "doctor",
    "backup": "backup",
    "supervise": "supervise",
    "status": "status",
    "restart": "restart",
    "logrotate": "logrotate",
    "watchdog": "watchdog",
    "import-v1": "import_v1",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every subcommand, or only ``command`` when it names one (what a run needs)."""
    parser = argparse.ArgumentParser(
        prog="studymate", description="StudyMate: a Telegram bot for small schools."
    )
    parser.add_argument("--version", action="version", version=f"studymate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in [command] if command in COMMANDS else COMMANDS:
        importlib.import_module(f"studymate.cli.{COMMANDS[name]}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv else None)
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
        return exitcodes.INTERRUPTED
