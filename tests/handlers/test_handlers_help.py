"""/help answers each role with its own guide, in the user's language."""

from __future__ import annotations

from e2e import ADMIN_ID, MENTOR_ID, STUDENT_ID, make_school, plain
from inproc import Chat


async def test_help_for_each_role(db, fake, run_bot):
    make_school(fake, lang="en")
    await run_bot()
    [student] = await Chat(fake, STUDENT_ID).send("/help")
    assert student["text"] == plain("help_student", "en")

    mentor = await Chat(fake, MENTOR_ID).send("/help")
    assert [m["text"] for m in mentor] == [plain("help_mentor", "ru"), plain("help_quiz_format", "ru")]
    assert "B*)" in mentor[1]["text"] and "2#." in mentor[1]["text"]

    [admin] = await Chat(fake, ADMIN_ID).send("/help")  # neither mentor nor student
    assert admin["text"] == plain("admin_help", "ru")

    fake.add_user(5555, "Nobody")
    await Chat(fake, 5555).send("/start")
    [stranger] = await Chat(fake, 5555).send("/help")
    assert stranger["text"] == plain("help_stranger", "ru")


async def test_a_mentor_who_is_an_admin_is_told_about_admin(db, fake, run_bot):
    make_school(fake)
    await run_bot(STUDYMATE_ADMIN_TELEGRAM_IDS=str(MENTOR_ID))
    mentor = await Chat(fake, MENTOR_ID).send("/help")
    assert mentor[-1]["text"] == plain("help_admin_extra", "ru")
