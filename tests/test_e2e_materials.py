"""Materials: topics, uploads of every kind, deletion with confirmation, the student library."""

from __future__ import annotations

import pytest
from e2e import (
    MENTOR_ID,
    STUDENT_ID,
    Chat,
    button_data,
    inline_labels,
    keyboard_labels,
    make_school,
    plain,
)

from studymate.db.models import Download, Material, Topic
from studymate.services import materials

pytestmark = pytest.mark.e2e
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001"
    "0d0a2db40000000049454e44ae426082"
)


@pytest.fixture
def school(db, fake):
    make_school(fake)


async def upload(chat: Chat, fake, topic_label: str, send_file, title: str) -> list[dict]:
    [choose] = await chat.send("📤 Загрузить")
    after = chat.last_bot_message_id()
    await chat.click(choose["message_id"], button_data(choose, topic_label))
    await chat.replies(after)
    after = chat.last_bot_message_id()
    await send_file()
    await chat.replies(after)
    return await chat.send(title)


async def test_create_topic_upload_and_download(school, fake, run_bot):
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [submenu] = await mentor.send("📚 Материалы")
    assert submenu["text"] == plain("materials_submenu_header", "ru")
    assert keyboard_labels(submenu) == ["📤 Загрузить", "📂 Управление", "📊 Статистика", "⬅️ Назад"]
    [choose] = await mentor.send("📤 Загрузить")
    assert inline_labels(choose) == ["➕ Создать тему"]
    after = mentor.last_bot_message_id()
    await mentor.click(choose["message_id"], button_data(choose, "Создать тему"))
    await mentor.replies(after)
    # A menu label typed now must not become a topic name (B13): it cancels the form instead.
    [menu] = await mentor.send("📚 Материалы")
    assert menu["text"] == plain("materials_submenu_header", "ru") and Topic.select().count() == 0
    [choose] = await mentor.send("📤 Загрузить")
    after = mentor.last_bot_message_id()
    await mentor.click(choose["message_id"], button_data(choose, "Создать тему"))
    await mentor.replies(after)
    [created] = await mentor.send("HTML <&> basics")
    assert created["text"] == plain("topic_created", "ru", name="HTML <&> basics")

    async def send_pdf():
        await fake.send_document(MENTOR_ID, b"%PDF-1.4 intro", "intro.pdf", mime_type="application/pdf")

    [added] = await upload(mentor, fake, "HTML", send_pdf, "Intro")
    assert added["text"] == plain("material_added", "ru", topic="HTML <&> basics", title="Intro")

    async def send_photo():
        await fake.send_photo(MENTOR_ID, PNG)

    await upload(mentor, fake, "HTML", send_photo, "Diagram")

    async def send_voice():
        await fake.send(MENTOR_ID, voice={"content_base64": "T2dnUw==", "mime_type": "audio/ogg", "duration": 2})

    await upload(mentor, fake, "HTML", send_voice, "Pronunciation")
    kinds = [m.kind for m in Material.select().order_by(Material.id)]
    assert kinds == ["document", "photo", "voice"]

    student = Chat(fake, STUDENT_ID)
    [library] = await student.send("📚 Материалы")
    assert inline_labels(library) == ["📂 HTML <&> basics  •  3 📄"]
    await student.click(library["message_id"], button_data(library, "HTML"))
    files = [m for m in fake.messages(STUDENT_ID) if m["message_id"] == library["message_id"]][0]
    assert inline_labels(files) == ["1. Intro", "2. Diagram", "3. Pronunciation", "⬅️ Назад"]
    for title, kind in (("Intro", "document"), ("Diagram", "photo"), ("Pronunciation", "voice")):
        after = student.last_bot_message_id()
        answer = await student.click(files["message_id"], button_data(files, title))
        assert answer["text"] == plain("file_sent", "ru")
        [sent] = await student.replies(after)
        assert sent["media_type"] == kind and title in sent["text"]
    assert [c["method"] for c in fake.calls() if c["method"].startswith("send") and c["chat_id"] == STUDENT_ID][-3:] == [
        "sendDocument", "sendPhoto", "sendVoice",
    ]
    assert Download.select().count() == 3
    # The mentor's own taps are not downloads.
    materials.record_download(MENTOR_ID, Material.select().first().id)
    assert Download.select().count() == 3


async def test_non_file_in_upload_gets_a_prompt_and_non_text_title_too(school, fake, run_bot):
    topic = materials.create_topic(1, "Python")
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [choose] = await mentor.send("📤 Загрузить")
    after = mentor.last_bot_message_id()
    await mentor.click(choose["message_id"], button_data(choose, "Python"))
    await mentor.replies(after, expect=2)
    [prompt] = await mentor.send("just text")
    assert prompt["text"] == plain("send_file_kinds", "ru")
    after = mentor.last_bot_message_id()
    await fake.send_document(MENTOR_ID, b"x", "a.txt")
    await mentor.replies(after)
    after = mentor.last_bot_message_id()
    await fake.send_photo(MENTOR_ID, PNG)
    [again] = await mentor.replies(after)
    assert again["text"] == plain("not_text_prompt", "ru")
    assert Material.select().count() == 0
    [done] = await mentor.send("Notes")
    assert done["text"] == plain("material_added", "ru", topic=topic.name, title="Notes")


async def test_pagination_of_student_topics(school, fake, run_bot):
    for n in range(6):
        topic = materials.create_topic(1, f"T{n}")
        materials.add_material(1, topic.id, title=f"F{n}", file_id=f"file{n}", file_name="f", kind="document")
    materials.create_topic(1, "Empty")
    await run_bot()
    student = Chat(fake, STUDENT_ID)
    [library] = await student.send("📚 Материалы")
    assert inline_labels(library) == [f"📂 T{n}  •  1 📄" for n in range(5)] + ["1/2", "▶️"]
    await student.click(library["message_id"], button_data(library, "▶️"))
    page2 = [m for m in fake.messages(STUDENT_ID) if m["message_id"] == library["message_id"]][0]
    assert inline_labels(page2) == ["📂 T5  •  1 📄", "◀️", "2/2"]


async def test_delete_material_and_topic_with_confirmation(school, fake, run_bot):
    topic = materials.create_topic(1, "HTML")
    materials.add_material(1, topic.id, title="Intro", file_id="f1", file_name="intro.pdf", kind="document")
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [listing] = await mentor.send("📂 Управление")
    assert inline_labels(listing) == ["📁 HTML  •  1 📄"]
    mid = listing["message_id"]

    def current():
        return [m for m in fake.messages(MENTOR_ID) if m["message_id"] == mid][0]

    await mentor.click(mid, button_data(listing, "HTML"))
    assert inline_labels(current())[0] == "🗑️ Intro"
    await mentor.click(mid, button_data(current(), "Intro"))
    assert current()["text"] == plain("confirm_delete_file", "ru", title="Intro")
    await mentor.click(mid, button_data(current(), "❌"))
    assert inline_labels(current())[0] == "🗑️ Intro" and Material.select().count() == 1
    await mentor.click(mid, button_data(current(), "Intro"))
    answer = await mentor.click(mid, button_data(current(), "✅"))
    assert answer["text"] == plain("file_deleted", "ru") and Material.select().count() == 0
    await mentor.click(mid, button_data(current(), "Удалить тему"))
    assert current()["text"] == plain("confirm_delete_topic", "ru", name="HTML", count=0)
    answer = await mentor.click(mid, button_data(current(), "✅"))
    assert answer["text"] == plain("topic_deleted", "ru", name="HTML")
    assert current()["text"] == plain("no_topics_left", "ru") and Topic.select().count() == 0


async def test_crafted_callback_cannot_delete_another_mentors_material(school, fake, run_bot):
    from studymate.bot.features.materials.callbacks import Materials, MaterialsCb
    from studymate.services import mentors

    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-2, language="ru")
    foreign = materials.create_topic(2, "Bob's")
    item = materials.add_material(2, foreign.id, title="Secret", file_id="f", file_name="s", kind="document")
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("/start")
    for action in (Materials.DELETE, Materials.ASK_DELETE, Materials.DELETE_TOPIC, Materials.TOPIC):
        data = MaterialsCb(action=action, topic=foreign.id, material=item.id).pack()
        answer = await mentor.click(menu["message_id"], data)
        assert answer["show_alert"]
    assert Material.select().where(Material.id == item.id).exists()
    assert Topic.select().where(Topic.id == foreign.id).exists()


async def test_student_without_materials(school, fake, run_bot):
    materials.create_topic(1, "Empty")
    await run_bot()
    [reply] = await Chat(fake, STUDENT_ID).send("📚 Материалы")
    assert reply["text"] == plain("no_materials_yet", "ru")


async def test_mentor_statistics_scenario_16(school, fake, run_bot):
    from studymate.db.models import Download, Student
    from studymate.services import enrollment, questions
    from studymate.services.enrollment import TelegramProfile

    for uid in (2002, 2003):
        enrollment.enroll(TelegramProfile(uid, None, f"S{uid}", ""), mentor_id=1, language="ru")
    topic = materials.create_topic(1, "HTML")
    intro = materials.add_material(1, topic.id, title="Intro", file_id="f1", file_name="a", kind="document")
    extra = materials.add_material(1, topic.id, title="Extra", file_id="f2", file_name="b", kind="document")
    for n in range(5):
        delivery = questions.ask(STUDENT_ID, f"q{n}", n)
        if n < 3:
            questions.reply(1, delivery.question_id, "ok")
    # Test accounts are left out of every statistic, downloads included (one rule everywhere).
    for uid, material in ((2001, extra), (2001, extra), (2002, intro), (2003, intro), (2003, extra)):
        Download.create(student=Student.get(Student.telegram_id == uid), material=material.id)
    await run_bot(STUDYMATE_TEST_STUDENT_IDS="2001")
    [report] = await Chat(fake, MENTOR_ID).send("📊 Статистика")
    text = report["text"]
    assert f"{plain('stats_students', 'ru')} 2" in text  # the test account is not counted
    assert plain("stats_questions", "ru", total=5) + " " + plain("stats_unanswered", "ru", count=2) in text
    assert f"{plain('stats_active_today', 'ru')} 2" in text
    assert plain("stats_popular_item", "ru", num=1, title="Intro", count=2) in text
    assert plain("stats_popular_item", "ru", num=2, title="Extra", count=1) in text
