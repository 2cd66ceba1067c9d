"""Enrollment and access through the real bot process and the fake Bot API (issue 2)."""

from __future__ import annotations

import pytest
from e2e import (
    MENTOR_ID,
    Chat,
    bot_env,
    keyboard_labels,
    plain,
    studymate_cli,
)

pytestmark = pytest.mark.e2e


async def test_mentor_added_from_cli_gets_mentor_menu(database_url, fake, run_bot, tmp_path):
    env = bot_env(fake=fake, database_url=database_url, tmp_path=tmp_path)
    cli = await studymate_cli(
        env, tmp_path, "mentor", "add", "--telegram-id", "1001",
        "--name", "Anna <Teacher>", "--group-chat-id", "-100500", "--language", "en",
    )
    assert cli.returncode == 0, cli.stderr
    listed = await studymate_cli(env, tmp_path, "mentor", "list")
    assert "1001" in listed.stdout and "Anna <Teacher>" in listed.stdout
    await run_bot()
    fake.add_user(MENTOR_ID, "Anna")
    [welcome] = await Chat(fake, MENTOR_ID).send("/start")
    assert welcome["text"] == plain("welcome_mentor", "en", name="Anna <Teacher>")
    assert keyboard_labels(welcome) == [
        "📚 Materials", "📝 Quizzes", "❓ Questions", "🏆 Leaderboard", "✉️ Message Student", "🌐 Language",
    ]
    bad = await studymate_cli(
        env, tmp_path, "mentor", "add", "--telegram-id", "1002", "--name", "X", "--group-chat-id", "100"
    )
    assert bad.returncode == 2 and "negative" in bad.stderr
