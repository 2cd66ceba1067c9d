"""Admins manage mentors inside the bot; `studymate doctor` finds what is wrong and says the fix."""

from __future__ import annotations

import pytest
from e2e import GROUP_ID, MENTOR_ID, TOKEN, bot_env, studymate_cli

from studymate.services import mentors

pytestmark = pytest.mark.e2e


async def test_doctor_reports_each_problem_with_its_fix(db, fake, database_url, tmp_path):
    mentors.add_mentor(telegram_id=MENTOR_ID, name="Anna", group_chat_id=GROUP_ID, language="ru")
    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-200, language="ru")
    fake.set_member(GROUP_ID, int(TOKEN.split(":")[0]), "administrator")
    fake.set_member(-200, int(TOKEN.split(":")[0]), "member")
    env = bot_env(fake=fake, database_url=database_url, tmp_path=tmp_path, STUDYMATE_REDIS_URL="redis://127.0.0.1:1/0")
    result = await studymate_cli(env, tmp_path, "doctor")
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "OK    token valid: @studymate_test_bot" in out
    assert "OK    mentor Anna: group -100500: bot is an administrator" in out
    assert "FAIL  mentor Bob: group -200: the bot is 'member', not an administrator" in out
    assert "FAIL  Redis unreachable" in out and "fix:" in out
    assert TOKEN not in out + result.stderr

    fake.set_member(-200, int(TOKEN.split(":")[0]), "administrator")
    env.pop("STUDYMATE_REDIS_URL")
    healthy = await studymate_cli(env, tmp_path, "doctor")
    assert healthy.returncode == 0, healthy.stdout


async def test_doctor_rejected_token(db, fake, database_url, tmp_path):
    env = bot_env(fake=fake, database_url=database_url, tmp_path=tmp_path, STUDYMATE_BOT_TOKEN="123:" + "x" * 35)
    fake.add_fault("getMe", 401, description="Unauthorized", times=5)
    result = await studymate_cli(env, tmp_path, "doctor")
    assert result.returncode == 1 and "Telegram rejected the token" in result.stdout
