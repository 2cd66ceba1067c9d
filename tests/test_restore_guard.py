"""A restore never swaps the database under a running bot, whoever started it (issue 16).

A bot started by hand (here by the test, not by supervisor) holds its lock: ``studymate backup
restore`` refuses with exit code 1 and one line saying how to stop it, and changes nothing.
Once the bot is stopped, the same restore goes through.
"""

from __future__ import annotations

import pytest
from e2e import MENTOR_ID, Chat, make_school, plain, studymate_cli
from test_backup import bound, drop_restore_leftovers  # noqa: F401  (a fixture)

from studymate.db.models import Mentor
from studymate.services import mentors

pytestmark = pytest.mark.e2e


def mentor_ids(url: str) -> list[int]:
    with bound(url):
        return sorted(m.telegram_id for m in Mentor.select())


async def test_restore_refuses_while_a_bot_runs_then_works_once_it_stopped(
    db, fake, run_bot, database_url, tmp_path, drop_restore_leftovers  # noqa: F811
):
    make_school(fake)
    bot = await run_bot()
    backup = await studymate_cli(bot.env, tmp_path, "backup", "run")
    assert backup.returncode == 0, backup.stderr
    [path] = [p for p in (tmp_path / "state" / "backups").iterdir() if p.suffix in (".sqlite3", ".pgdump")]
    mentors.add_mentor(telegram_id=7777, name="After the backup", group_chat_id=-7)
    before = mentor_ids(database_url)
    assert before == [MENTOR_ID, 7777]

    refused = await studymate_cli(bot.env, tmp_path, "backup", "restore", str(path), "--yes")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    [line] = refused.stderr.splitlines()
    assert f"pid {bot.proc.pid}" in line and f"kill {bot.proc.pid}" in line, line
    assert mentor_ids(database_url) == before
    [welcome] = await Chat(fake, MENTOR_ID).send("/start")  # the bot never noticed
    assert welcome["text"] == plain("welcome_mentor", "ru", name="Anna")

    assert await bot.stop() == 0
    restored = await studymate_cli(bot.env, tmp_path, "backup", "restore", str(path), "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "restore complete" in restored.stdout
    assert mentor_ids(database_url) == [MENTOR_ID]
