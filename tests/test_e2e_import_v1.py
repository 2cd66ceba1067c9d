"""A student moved from StudyMate v1 carries on in the real bot (issue 7): /start, materials
that still download (the Telegram file ids were kept), past results, their leaderboard place."""

from __future__ import annotations

import pytest
import v1_schema
from e2e import Chat, bot_env, button_data, inline_labels, keyboard_labels, plain, studymate_cli
from v1_schema import ALI, ANNA, ANNA_GROUP, DIAGRAM_FILE_ID, INTRO_FILE_ID

from studymate.db.models import Download, Student, utcnow
from studymate.i18n import t

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.4 intro to HTML"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001"
    "0d0a2db40000000049454e44ae426082"
)
KAA = "kaa"  # Ali's v1 language was "qq"


def current(fake, message_id: int) -> dict:
    return [m for m in fake.messages(ALI) if m["message_id"] == message_id][0]


async def test_imported_student_starts_downloads_and_sees_results_and_rank(
    db, database_url, fake, run_bot, tmp_path
):
    url = v1_schema.sqlite_v1(tmp_path / "v1.sqlite3", v1_schema.school(utcnow()))
    env = bot_env(fake=fake, database_url=database_url, tmp_path=tmp_path)
    done = await studymate_cli(env, tmp_path, "import-v1", "--from", url)
    assert done.returncode == 0, done.stdout + done.stderr
    # Telegram still has the files v1's mentor uploaded.
    fake.world.store_file("document", PDF, file_name="intro.pdf", mime_type="application/pdf",
                          file_id=INTRO_FILE_ID)
    fake.world.store_file("photo", PNG, width=1, height=1, file_id=DIAGRAM_FILE_ID)
    fake.add_user(ANNA, "Anna")
    fake.add_user(ALI, "Ali", last_name="Karimov", username="ali")
    fake.set_member(ANNA_GROUP, ALI, "member")
    await run_bot()
    ali = Chat(fake, ALI)

    [welcome] = await ali.send("/start")
    assert welcome["text"] == plain("welcome_student", KAA, name="Anna")
    assert t("btn_lesson_materials", KAA) in keyboard_labels(welcome)

    [library] = await ali.send(t("btn_lesson_materials", KAA))
    assert inline_labels(library) == ["📂 HTML <basics>  •  2 📄", "📂 Python  •  1 📄"]
    await ali.click(library["message_id"], button_data(library, "HTML"))
    files = current(fake, library["message_id"])
    assert inline_labels(files)[:2] == ["1. Intro", "2. Diagram"]
    downloads = Download.select().join(Student).where(Student.telegram_id == ALI).count()
    for title, kind, file_id, content in (("Intro", "document", INTRO_FILE_ID, PDF),
                                          ("Diagram", "photo", DIAGRAM_FILE_ID, PNG)):
        after = ali.last_bot_message_id()
        answer = await ali.click(files["message_id"], button_data(files, title))
        assert answer["text"] == plain("file_sent", KAA)
        [sent] = await ali.replies(after)
        assert sent["media_type"] == kind and sent[kind]["file_id"] == file_id
        assert fake.file_bytes(sent[kind]["file_id"]) == content
    assert Download.select().join(Student).where(Student.telegram_id == ALI).count() == downloads + 2

    # Past results: the current exam under ranked, the closed ones under practice.
    [menu] = await ali.send(t("btn_quizzes", KAA))
    mid = menu["message_id"]
    await ali.click(mid, button_data(menu, t("btn_ranked_quizzes", KAA)))
    ranked = current(fake, mid)
    assert "✅ Exam now — 2/3" in inline_labels(ranked)
    await ali.click(mid, button_data(ranked, t("btn_practice_short", KAA)))
    practice = current(fake, mid)
    assert {"✅ November test — 3/4", "✅ Month-end test — 2/2", "✅ Warm-up — 3/3"} <= set(
        inline_labels(practice))
    await ali.click(mid, button_data(practice, "November test"))
    taken = current(fake, mid)
    assert taken["text"] == plain("quiz_already_taken", KAA, score=3, total=4)
    await ali.click(mid, button_data(taken, t("quiz_view_answers", KAA)))
    review = current(fake, mid)["text"]
    assert "November test Q1?" in review and "November test Q4?" in review

    # Their place this month: Dana 105.0 first, Ali 70.0 second.
    [board] = await ali.send(t("btn_leaderboard", KAA))
    assert plain("leaderboard_you", KAA, medal="🥈", score="70.0") in board["text"]
    assert "105.0" in board["text"] and "Dana" not in board["text"]
