"""``studymate backup run | list | verify FILE | restore FILE [--yes] | schedule``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path

from studymate.cli import exitcodes
from studymate.config import Settings, load_settings
from studymate.ops.backup import core as backups
from studymate.ops.backup.files import (
    EXTENSIONS,
    BackupConfigError,
    BackupError,
    BackupFile,
    Manifest,
    human_size,
    resolve,
    stem_for,
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("backup", help="verified database backups, retention and restore")
    actions = parser.add_subparsers(dest="backup_action", metavar="ACTION", required=True)

    run = actions.add_parser("run", help="back up now, verify, apply retention")
    run.add_argument("--dry-run", action="store_true", help="only say what would be written and removed")
    run.add_argument("--no-prune", action="store_true", help="keep every old backup this time")
    run.add_argument("--notify", action="store_true", help="report to the admins on Telegram")
    run.set_defaults(handler=run_now)

    listing = actions.add_parser("list", help="show the backups in STUDYMATE_BACKUP_DIR")
    listing.add_argument("--json", action="store_true", help="print them as JSON")
    listing.set_defaults(handler=list_all)

    verify = actions.add_parser("verify", help="re-check a backup's checksum and read all of it")
    verify.add_argument("file", metavar="FILE", help="backup file (path or name in STUDYMATE_BACKUP_DIR)")
    verify.set_defaults(handler=verify_one)

    restore = actions.add_parser("restore", help="make a backup the live database (stops the bot)")
    restore.add_argument("file", metavar="FILE", help="backup file (path or name in STUDYMATE_BACKUP_DIR)")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore.set_defaults(handler=restore_one)

    schedule = actions.add_parser("schedule", help="run nightly backups (supervisor program)")
    schedule.add_argument("--at", metavar="HH:MM", help="local time of the nightly run (STUDYMATE_BACKUP_TIME)")
    schedule.set_defaults(handler=schedule_loop)


def _say(text: str) -> None:
    print(text, flush=True)


def _fail(exc: BackupError | OSError) -> int:
    print(f"studymate backup: {exc}", file=sys.stderr)
    return exitcodes.CONFIG if isinstance(exc, BackupConfigError) else exitcodes.FAILURE


def run_now(args: argparse.Namespace, settings: Settings) -> int:
    policy = None if args.no_prune else backups.retention_policy(settings)
    if args.dry_run:
        return _dry_run(settings)
    if args.notify:
        from studymate.ops.backup.schedule import scheduled_run

        return exitcodes.OK if scheduled_run(settings) else exitcodes.FAILURE
    try:
        result = backups.run_backup(settings, policy=policy)
    except (BackupError, OSError) as exc:
        return _fail(exc)
    manifest = result.manifest
    _say(
        f"backup written: {result.path} ({human_size(manifest.size)}, {manifest.total_rows} rows, "
        f"dump {manifest.seconds['dump']:.1f} s, verified in {manifest.seconds['verify']:.1f} s)"
    )
    if result.plan is not None:
        _say(f"retention: {len(result.plan.keep)} kept, {len(result.plan.delete)} removed"
             + (f" ({', '.join(result.plan.delete)})" if result.plan.delete else ""))
    for name in result.removed_leftovers:
        _say(f"removed leftover of an interrupted run: {name}")
    if result.prune_error:
        print(f"studymate backup: {result.prune_error}", file=sys.stderr)
        return exitcodes.FAILURE
    return exitcodes.OK


def _dry_run(settings: Settings) -> int:
    engine = backups.engine_of(settings.effective_database_url)
    now = dt.datetime.now(dt.UTC)
    target = settings.backup.dir / (stem_for(now) + EXTENSIONS[engine])
    _say(f"would write {target} ({engine})")
    plan, leftovers = backups.plan_for(
        settings.backup.dir, policy=backups.retention_policy(settings), now=now, tz=settings.tz
    )
    for name in plan.delete:
        _say(f"would remove old backup {name}")
    for path in leftovers:
        _say(f"would remove leftover {path.name}")
    return exitcodes.OK


def list_all(args: argparse.Namespace, settings: Settings) -> int:
    try:
        found, leftovers = backups.list_backups(settings)
    except OSError as exc:
        return _fail(exc)
    if getattr(args, "json", False):
        print(json.dumps(_listing(settings, found, leftovers), indent=2, ensure_ascii=False))
        return exitcodes.OK
    if not found and not leftovers:
        _say(f"no backups in {settings.backup.dir}")
        return exitcodes.OK
    rows = [("NAME", f"TAKEN ({settings.timezone})", "SIZE", "ENGINE", "VERIFIED", "ROWS")]
    for item in found:
        manifest = item.manifest
        taken = item.created.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S")
        if manifest is None:
            rows.append((item.name, taken, human_size(item.path.stat().st_size), "?", "BROKEN", "?"))
            continue
        verified = "yes" if manifest.verified else "FAILED"
        rows.append((item.name, taken, human_size(manifest.size), manifest.engine, verified,
                     str(manifest.total_rows)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        _say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for item in found:
        problem = item.problem or (item.manifest.verify_error if item.manifest else None)
        if problem:
            _say(f"{item.name}: {problem}")
    for path in leftovers:
        _say(f"leftover of an interrupted run (removed by the next backup): {path.name}")
    return exitcodes.OK


def _listing(settings: Settings, found: list[BackupFile], leftovers: list[Path]) -> dict:
    """``backup list --json``: one object per backup, newest last, times in ISO 8601 (UTC)."""
    items = []
    for item in found:
        manifest = item.manifest
        items.append({
            "name": item.name,
            "path": str(item.path),
            "taken": item.created.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "size": manifest.size if manifest else item.path.stat().st_size,
            "engine": manifest.engine if manifest else None,
            "verified": bool(manifest and manifest.verified),
            "rows": manifest.total_rows if manifest else None,
            "problem": item.problem or (manifest.verify_error if manifest else None) or None,
        })
    return {
        "backup_dir": str(settings.backup.dir),
        "backups": items,
        "leftovers": [path.name for path in leftovers],
    }


def verify_one(args: argparse.Namespace, settings: Settings) -> int:
    try:
        path = resolve(args.file, settings.backup.dir)
        manifest = backups.verify_backup(path)
    except (BackupError, OSError) as exc:
        return _fail(exc)
    _say(
        f"OK {path.name}: sha256 matches, full read succeeded, {manifest.total_rows} rows in "
        f"{len(manifest.row_counts)} tables match the manifest"
    )
    return exitcodes.OK


def _confirm(settings: Settings, yes: bool) -> Callable[[Manifest], bool]:
    def confirm(manifest: Manifest) -> bool:
        if yes:
            return True
        taken = manifest.created.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        _say(
            f"This replaces the live database ({manifest.engine}) with the backup taken {taken} "
            f"({manifest.total_rows} rows). Everything written since then is set aside.\n"
            "The bot is stopped while this runs."
        )
        try:
            answer = input('Type "yes" to continue: ')
        except EOFError:
            answer = ""
        return answer.strip().lower() == "yes"

    return confirm


def restore_one(args: argparse.Namespace, settings: Settings) -> int:
    try:
        path = resolve(args.file, settings.backup.dir)
        backups.restore_backup(settings, path, confirm=_confirm(settings, args.yes), say=_say)
    except (BackupError, OSError) as exc:
        return _fail(exc)
    _say("restore complete")
    return exitcodes.OK


def schedule_loop(args: argparse.Namespace, settings: Settings) -> int:
    if args.at:  # a bad time exits 2 at once, as a bad STUDYMATE_BACKUP_TIME does
        settings = load_settings(backup={"time": args.at})
    from studymate.ops.backup.schedule import (  # pulls in the Telegram reporting stack
        MAX_SLEEP,
        serve,
    )
    from studymate.ops.loop import Loop

    loop = Loop(max_sleep=MAX_SLEEP).handle_signals()
    try:
        serve(settings, stop=loop)
    finally:
        loop.close()
    return exitcodes.OK
