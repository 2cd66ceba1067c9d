"""Admins manage mentors inside the bot, in process (moved from the e2e tier)."""

from __future__ import annotations

from e2e import ADMIN_ID, GROUP_ID, MENTOR_ID, TOKEN, button_data, edited_to, plain
from inproc import Chat

from studymate.db.models import Mentor
from studymate.services import mentors


async def test_admin_adds_lists_and_deactivates_mentors(db, fake, run_bot):
    await run_bot()
    fake.add_user(ADMIN_ID, "Admin")
    admin = Chat(fake, ADMIN_ID)
    [usage] = await admin.send("/addmentor 1001")
    assert usage["text"] == plain("admin_usage_addmentor", "ru")
    [bad] = await admin.send("/addmentor 1001 100500 Anna")
    assert bad["text"] == plain("admin_bad_group_id", "ru")
    fake.set_member(GROUP_ID, int(TOKEN.split(":")[0]), "administrator")  # checked first
    [added] = await admin.send("/addmentor 1001 -100500 Anna <b>Smith</b>")
    assert added["text"] == plain(
        "admin_mentor_added", "ru", name="Anna <b>Smith</b>", telegram_id=1001, group_chat_id=-100500
    )
    [listed] = await admin.send("/mentors")
    assert "Anna <b>Smith</b>" in listed["text"] and "-100500" in listed["text"]
    [ask] = await admin.send("/deactivate 1001")  # asks to confirm first
    await admin.click(ask["message_id"], button_data(ask, plain("btn_yes_deactivate", "ru")))
    off = await edited_to(fake, ADMIN_ID, ask["message_id"],
                          plain("admin_mentor_deactivated", "ru", name="Anna <b>Smith</b>"))
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
