"""Moodle files in process: a .gift upload shows the preview and publishes, an Aiken .txt is
recognised, an unsupported construct is refused naming the question, and the quiz screen's
GIFT button sends a document that reads back as the same questions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from e2e import MENTOR_ID, button_data, make_school, plain
from inproc import Chat
from test_e2e_quiz_authoring import finish, press, send_file, upload

from studymate.bot.features.quiz.authoring_callbacks import QuizAction, QuizCb
from studymate.db.models import Quiz, QuizQuestion
from studymate.i18n import t
from studymate.services.quiz.format import MULTI, TRUE_FALSE, TYPED
from studymate.services.quiz.gift import parse_gift
from studymate.services.quiz.transfer import stored_quiz

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def ru(key: str, **params) -> str:
    return t(key, "ru", **params)


async def test_gift_upload_previews_publishes_and_downloads_back(db, fake, run_bot):
    make_school(fake)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    source = (EXAMPLES / "quiz_moodle.gift").read_bytes()
    preview = await upload(mentor, fake, source, "quiz_moodle.gift")
    intro = plain("quiz_preview", title="Python from Moodle", topic="Python from Moodle", count=8,
                  preview="").rstrip()
    assert intro in preview["text"]
    assert "Which keyword defines a function in Python?" in preview["text"]
    modes = await press(mentor, fake, preview, ru("btn_save_quiz"))
    done, _ = await finish(mentor, fake, modes, ru("btn_publish_practice"))
    assert done["text"] == plain("quiz_published_practice", title="Python from Moodle")

    quiz = Quiz.get(Quiz.title == "Python from Moodle")
    assert quiz.question_seconds == 30
    rows = list(QuizQuestion.select().where(QuizQuestion.quiz == quiz).order_by(QuizQuestion.order))
    assert [r.kind for r in rows][:4] == ["single", TRUE_FALSE, MULTI, TYPED]
    assert [r.options_json for r in rows][1] is not None and "Верно" in rows[1].options_json  # mentor's language
    assert rows[2].correct_set == "ACE" and rows[2].time_bonus == 5

    # The quiz screen's GIFT button sends a document that reads back as the same questions.
    screen = await mentor.send("📝 Квизы")
    data = QuizCb(action=QuizAction.SHOW, quiz=quiz.id).pack()
    shown = await mentor.click(screen[0]["message_id"], data)
    assert shown is not None
    message = next(m for m in reversed(fake.messages(MENTOR_ID)) if m.get("reply_markup")
                   and ru("btn_export_gift") in str(m["reply_markup"]))
    after = mentor.last_bot_message_id()
    await mentor.click(message["message_id"], button_data(message, ru("btn_export_gift")))
    [document] = await mentor.replies(after)
    assert document["document"]["file_name"] == "Python_from_Moodle.gift"
    assert document["text"] == plain("quiz_gift_ready", title="Python from Moodle")
    content = fake.file_bytes(document["document"]["file_id"]).decode("utf-8")
    back = parse_gift(content, file_name="x.gift", true_false=("Верно", "Неверно"))
    stored = stored_quiz(1, quiz.id)

    def same(q):
        return dataclasses.replace(q, questions=tuple(dataclasses.replace(x, line=0) for x in q.questions))

    assert same(back) == same(stored)
    assert len(back.questions) == 8

    # ... and uploading that download again gives the same preview.
    again = await upload(mentor, fake, content.encode(), "Python_from_Moodle.gift")
    assert intro in again["text"]


async def test_aiken_txt_and_an_unsupported_gift_construct(db, fake, run_bot):
    make_school(fake)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    preview = await upload(mentor, fake, (EXAMPLES / "quiz_aiken.txt").read_bytes(), "bank.txt")
    intro = plain("quiz_preview", title="bank", topic="-", count=3, preview="").rstrip()
    assert intro in preview["text"]
    assert "Which keyword defines a function in Python?" in preview["text"]

    refused = await send_file(mentor, fake, "::Ok::Fine{=a ~b}\n\n::Pairs::Match them{=a -> 1 =b -> 2}",
                              "pairs.gift")
    error = plain("quiz_error_gift_matching", question=2, name="Pairs", line=3)
    assert refused["text"] == plain("quiz_parse_error") + "\n\n" + error
    other = await send_file(mentor, fake, "a picture", "photo.png")
    assert other["text"] == plain("quiz_file_not_txt", name="photo.png")

