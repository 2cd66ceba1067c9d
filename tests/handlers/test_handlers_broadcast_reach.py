"""A broadcast reaches test accounts too, its count agrees on the 📢 button, in the prompt and
in the confirmation, and its result names the students who did not get it."""

from __future__ import annotations

from e2e import MENTOR_ID, STUDENT_ID, button_data, make_school, plain
from inproc import Chat

from studymate.db.models import Student, utcnow


def got(fake, user_id: int, text: str) -> bool:
    return any(m["outgoing"] and text in (m["text"] or "") for m in fake.messages(user_id))


async def test_broadcast_counts_agree_and_result_names_who_missed_it(db, fake, run_bot):
    make_school(fake, students=4)
    # Student1 is a test account, Student2 is known to have blocked the bot, Student3 blocks
    # it without the bot knowing yet.
    Student.update(blocked_at=utcnow()).where(Student.telegram_id == STUDENT_ID + 2).execute()
    fake.set_blocked(STUDENT_ID + 3, True)
    bot = await run_bot(STUDYMATE_TEST_STUDENT_IDS=str(STUDENT_ID + 1))
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send("✉️ Написать ученику")
    assert button_data(picker, "📢 Написать всем (3)")
    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "📢"))
    [prompt] = await mentor.replies(after)
    blocked = plain("broadcast_blocked", names="Student2 (@s2)")
    assert prompt["text"] == plain("write_broadcast_message", count=3) + "\n\n" + blocked
    [confirm] = await mentor.send("Hello all")
    assert confirm["text"] == plain("broadcast_confirm", count=3) + "\n\n" + blocked
    after = mentor.last_bot_message_id()
    await mentor.click(confirm["message_id"], button_data(confirm, "✅"))
    status, _ = await mentor.replies(after)
    await bot.drain_outbox()

    assert got(fake, STUDENT_ID, "Hello all") and got(fake, STUDENT_ID + 1, "Hello all")  # the test account
    result = [m for m in fake.messages(MENTOR_ID) if m["message_id"] == status["message_id"]][0]
    assert result["text"] == (
        plain("broadcast_complete_partial", sent=2, failed=1) + "\n\n"
        + plain("broadcast_missed", names="Student2 (@s2), Student3 (@s3)")
    )
