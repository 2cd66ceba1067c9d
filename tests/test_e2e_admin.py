"""Admins manage mentors inside the bot; `studymate doctor` finds what is wrong and says the fix."""

from __future__ import annotations

import pytest
from e2e import ADMIN_ID, GROUP_ID, MENTOR_ID, TOKEN, Chat, bot_env, plain, studymate_cli

from studymate.db.models import Mentor
from studymate.services import mentors

pytestmark = pytest.mark.e2e


async def test_admin_adds_lists_and_deactivates_mentors(db, fake, run_bot):
    await run_bot()
    fake.add_user(ADMIN_ID, "Admin")
    admin = Chat(fake, ADMIN_ID)
    [usage] = await admin.send("/addmentor 1001")
    assert usage["text"] == plain("admin_usage_addmentor", "ru")
    [bad] = await admin.send("/addmentor 1001 100500 Anna")
    assert bad["text"] == plain("admin_bad_group_id", "ru")
    [added] = await admin.send("/addmentor 1001 -100500 Anna <b>Smith</b>")
    assert added["text"] == plain(
        "admin_mentor_added", "ru", name="Anna <b>Smith</b>", telegram_id=1001, group_chat_id=-100500
    )
    [listed] = await admin.send("/mentors")
    assert "Anna <b>Smith</b>" in listed["text"] and "-100500" in listed["text"]
    [off] = await admin.send("/deactivate 1001")
    assert off["text"] == plain("admin_mentor_deactivated", "ru", name="Anna <b>Smith</b>")
    assert not Mentor.get(Mentor.telegram_id == 1001).is_active
    [unknown] = await admin.send("/deactivate 4242")
    assert unknown["text"] == plain("admin_mentor_not_found", "ru", telegram_id=4242)


async def test_non_admin_cannot_use_admin_commands(db, fake, run_bot):
    mentors.add_mentor(telegram_id=MENTOR_ID, name="Anna", group_chat_id=GROUP_ID, language="ru")
    await run_bot()
    fake.add_user(MENTOR_ID, "Anna")
    [reply] = await Chat(fake, MENTOR_ID).send("/addmentor 1002 -5 Eve")
    assert reply["text"] == plain("unknown_input_hint", "ru")
    assert Mentor.select().count() == 1


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
