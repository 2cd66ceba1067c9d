"""New material notices in process: a mentor uploads three files, and once the burst is over
each student gets one notice, in their language, whose button opens the topic in the library;
the button of another mentor's topic is refused."""

from __future__ import annotations

from e2e import MENTOR_ID, STUDENT_ID, button_data, inline_labels, make_school, plain
from inproc import Chat

from studymate.db.models import MaterialNotice, Student, utcnow
from studymate.services import materials, mentors


async def upload(mentor: Chat, fake, topic: str, name: str, title: str) -> None:
    [choose] = await mentor.send("📤 Загрузить")
    await mentor.click(choose["message_id"], button_data(choose, topic))
    await fake.send_document(MENTOR_ID, b"%PDF-1.4 " + name.encode(), name, mime_type="application/pdf")
    added = (await mentor.send(title))[-1]  # after the reply to the file
    assert added["text"] == plain("material_added", "ru", topic=topic, title=title)


def notices_to(fake, user_id: int) -> list[dict]:
    return [m for m in fake.messages(user_id) if m["outgoing"] and (m["text"] or "").startswith("📚")]


async def test_three_uploads_make_one_notice_per_student_that_opens_the_topic(db, fake, run_bot):
    make_school(fake, students=2)
    english = STUDENT_ID + 1
    Student.update(language="en").where(Student.telegram_id == english).execute()
    materials.create_topic(1, "Algebra <1>")
    bot = await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    for n in range(3):
        await upload(mentor, fake, "Algebra <1>", f"part{n}.pdf", f"Part {n}")
    # Within the ten minutes nothing goes out: more files may follow.
    assert await bot.runtime.sweeper.notices.step(force=True) == 0
    await bot.drain_outbox()
    assert notices_to(fake, STUDENT_ID) == [] and notices_to(fake, english) == []
    # Ten minutes later (the pending notice's due time reached).
    MaterialNotice.update(due_at=utcnow()).execute()
    assert await bot.runtime.sweeper.notices.step(force=True) == 2
    await bot.drain_outbox()
    assert await bot.runtime.sweeper.notices.step(force=True) == 0  # once
    await bot.drain_outbox()
    [ru] = notices_to(fake, STUDENT_ID)
    [en] = notices_to(fake, english)
    assert ru["text"] == plain("material_notice", "ru", topic="Algebra <1>", count=3)
    assert en["text"] == plain("material_notice", "en", topic="Algebra <1>", count=3)
    assert inline_labels(ru) == [plain("btn_open_topic", "ru")]
    assert inline_labels(en) == [plain("btn_open_topic", "en")]
    # The button opens the topic in the library, with its three files.
    for user_id, notice, lang in ((STUDENT_ID, ru, "ru"), (english, en, "en")):
        await Chat(fake, user_id).click(notice["message_id"], button_data(notice, "📂"))
        [opened] = [m for m in fake.messages(user_id) if m["message_id"] == notice["message_id"]]
        assert opened["text"].startswith(plain("topic_files", lang, name="Algebra <1>", count=3).split("\n")[0])
        assert [label for label in inline_labels(opened) if label[0].isdigit()] == [
            "1. Part 0", "2. Part 1", "3. Part 2"]


async def test_the_notice_button_of_another_mentors_topic_is_refused(db, fake, run_bot):
    make_school(fake)
    mentors.add_mentor(telegram_id=1002, name="Boris", group_chat_id=-100600, language="ru")
    foreign = materials.create_topic(2, "Secret")
    materials.add_material(2, foreign.id, title="Key", file_id="f", file_name="k.pdf", kind="document")
    MaterialNotice.update(due_at=utcnow()).execute()
    bot = await run_bot()
    # Boris has no students here: his topic's notice reaches nobody.
    assert await bot.runtime.sweeper.notices.step(force=True) == 0
    # A crafted button naming Boris's topic, from a notice about Anna's.
    mine = materials.create_topic(1, "Mine")
    materials.add_material(1, mine.id, title="Open", file_id="g", file_name="o.pdf", kind="document")
    MaterialNotice.update(due_at=utcnow()).execute()
    assert await bot.runtime.sweeper.notices.step(force=True) == 1
    await bot.drain_outbox()
    [notice] = notices_to(fake, STUDENT_ID)
    assert notice["text"] == plain("material_notice_one", "ru", topic="Mine")
    crafted = button_data(notice, "📂").replace(f":{mine.id}:", f":{foreign.id}:")
    answer = await Chat(fake, STUDENT_ID).click(notice["message_id"], crafted)
    assert answer["text"] == plain("file_not_found", "ru")
