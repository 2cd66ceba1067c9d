"""Messages to one student, the broadcast form, in process. Moved from the
e2e tier; the paced, resumable broadcasts themselves stay there."""

from __future__ import annotations

import collections

from e2e import MENTOR_ID, STUDENT_ID, button_data, inline_labels, make_school, plain
from inproc import Chat


def copies(fake, students: int, text: str) -> collections.Counter:
    counter = collections.Counter()
    for n in range(students):
        counter[n] = sum(1 for m in fake.messages(STUDENT_ID + n) if m["outgoing"] and text in (m["text"] or ""))
    return counter


async def test_direct_message_text_and_photo(db, fake, run_bot):
    make_school(fake, students=2, lang="en")
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send("✉️ Написать ученику")
    assert inline_labels(picker) == ["📢 Написать всем (2)", "👤 Student0 (@s0)", "📄 Отчёт", "👤 Student1 (@s1)",
                                     "📄 Отчёт", "❌ Отмена"]
    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "Student0"))
    [prompt] = await mentor.replies(after)
    assert prompt["text"] == plain("write_message_to_student", "ru", name="Student0 (@s0)")
    student = Chat(fake, STUDENT_ID)
    before = student.last_bot_message_id()
    [done] = await mentor.send("Hi <there> & welcome")
    assert done["text"] == plain("message_sent_to_student", "ru", name="Student0 (@s0)")
    [got] = await student.replies(before)
    assert got["text"] == plain("mentor_message", "en", text="Hi <there> & welcome")  # student's language

    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "Student0"))
    await mentor.replies(after)
    before = student.last_bot_message_id()
    await fake.send(MENTOR_ID, photo={"content_base64": "iVBORw0KGgo="}, caption="Homework")
    [photo] = await student.replies(before)
    assert photo["media_type"] == "photo" and "Homework" in photo["text"] and "None" not in photo["text"]


async def test_picker_cancel_deletes_it(db, fake, run_bot):
    make_school(fake, students=1)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send("✉️ Написать ученику")
    answer = await mentor.click(picker["message_id"], button_data(picker, "Отмена"))
    assert answer["text"] == plain("cancelled", "ru")
    assert [m for m in fake.messages(MENTOR_ID) if m["message_id"] == picker["message_id"]][0]["deleted"]


async def test_broadcast_cancel_at_confirmation_sends_nothing(db, fake, run_bot):
    make_school(fake, students=3)
    bot = await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send("✉️ Написать ученику")
    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "📢"))
    await mentor.replies(after)
    [confirm] = await mentor.send("Nope")
    await mentor.click(confirm["message_id"], button_data(confirm, "Отмена"))
    again = await mentor.click(confirm["message_id"], button_data(confirm, "✅"))
    assert again["show_alert"]
    await bot.drain_outbox()  # whatever was queued is sent now
    assert sum(copies(fake, 3, "Nope").values()) == 0
