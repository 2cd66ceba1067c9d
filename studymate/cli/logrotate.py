"""``studymate logrotate [--once] [--dry-run]``: compress and prune rotated logs in LOG_DIR.

Runs a pass every ``STUDYMATE_LOG_ROTATE_INTERVAL`` seconds until SIGTERM/SIGINT (then exits 0 after
the pass in progress), or one pass with ``--once``.
"""

from __future__ import annotations

import argparse
import logging

from studymate.cli import exitcodes
from studymate.config import Settings
from studymate.ops.logrotate import MB, RotationPolicy, rotate_once
from studymate.ops.loop import Loop

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("logrotate", help="compress and prune rotated logs in STUDYMATE_LOG_DIR")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--dry-run", action="store_true", help="only say what would be done")
    parser.set_defaults(handler=run)


def _one_pass(settings: Settings, policy: RotationPolicy, dry_run: bool) -> None:
    try:
        report = rotate_once(settings.log_dir, policy, dry_run=dry_run)
    except OSError as exc:  # a full or read-only disk must not kill the loop
        logger.error("log rotation pass failed: %s", exc)
        return
    if report.did_work or dry_run:
        logger.info(
            "%scompressed %d, deleted %d; %s now holds %.1f MB (cap %.0f MB)",
            "dry run: " if dry_run else "", len(report.compressed), len(report.deleted),
            settings.log_dir, report.total_bytes / MB, policy.max_total_bytes / MB,
        )


def run(args: argparse.Namespace, settings: Settings) -> int:
    policy = RotationPolicy.from_settings(settings.logs)
    if args.once:
        _one_pass(settings, policy, args.dry_run)
        return exitcodes.OK
    # A signal lets the pass in progress finish and ends the wait between passes.
    loop = Loop().handle_signals()
    logger.info(
        "rotating %s every %g s (max age %g days, cap %g MB)",
        settings.log_dir, policy.interval, policy.max_age_days, policy.max_total_bytes / MB,
    )
    try:
        while not loop.is_set():
            _one_pass(settings, policy, args.dry_run)
            loop.wait(policy.interval)
    finally:
        loop.close()
    return exitcodes.OK
