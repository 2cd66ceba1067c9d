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
    # A menu label typed now must not become a topic name: it cancels the form instead.
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
