"""A quiz with a picture, in process: the .zip upload, the preview's 🖼, publishing, and a
student who sees the photo with the question as its caption and answers it."""

from __future__ import annotations

from e2e import MENTOR_ID, STUDENT_ID, button_data, make_school, plain
from inproc import Chat
from quiz_pictures import PICTURE_QUIZ, make_zip, tiny_png
from test_e2e_quiz_authoring import finish, press, ru
from test_e2e_quiz_taking import open_quiz, tap

from studymate.db.models import QuizAttempt, QuizQuestion

LONG = "x " * 700  # a caption over 1,024 characters


def shown(fake, user_id: int) -> list[dict]:
    return [m for m in fake.messages(user_id) if m["outgoing"] and not m.get("deleted")]


async def upload(mentor: Chat, fake, content: str | bytes, name: str) -> dict:
    """📝 → 📤 Upload → send the file; returns the bot's answer to the file."""
    [menu] = await mentor.send("📝 Квизы")
    await mentor.click(menu["message_id"], button_data(menu, ru("btn_upload_quiz")))
    data = content.encode() if isinstance(content, str) else content
    await fake.send_document(MENTOR_ID, data, name, mime_type="application/zip")
    await fake.deliver()
    return shown(fake, MENTOR_ID)[-1]


async def test_zip_with_a_picture_is_published_and_taken(db, fake, run_bot):
    make_school(fake)
    bot = await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    mentor = Chat(fake, MENTOR_ID)
    preview = await upload(mentor, fake, make_zip({"q.txt": PICTURE_QUIZ, "square.png": tiny_png()}), "shapes.zip")
    assert ru("quiz_preview_pictures", count=1) in preview["text"]
    uploads = [c for c in bot.calls if c.method == "sendPhoto"]
    assert len(uploads) == 1  # the picture went to Telegram once, then left the mentor's chat
    assert not [m for m in shown(fake, MENTOR_ID) if m.get("media_type") == "photo"]
    everything = await press(mentor, fake, preview, ru("btn_view_all_questions"))
    assert "🖼 square.png" in everything["text"]
    back = await press(mentor, fake, everything, "⬅️")
    modes = await press(mentor, fake, back, ru("btn_save_quiz"))
    await finish(mentor, fake, modes, ru("btn_publish_practice"))
    stored = list(QuizQuestion.select().order_by(QuizQuestion.order))
    assert stored[0].image_file_id and stored[1].image_file_id is None

    student = Chat(fake, STUDENT_ID)
    listing = await open_quiz(fake, student, "📚", "Shapes")
    photo = shown(fake, STUDENT_ID)[-1]
    assert photo["media_type"] == "photo" and photo["photo"]
    assert "What shape is this?" in photo["caption"] and photo["pinned"]
    assert photo["message_id"] != listing["message_id"]  # a text message cannot become a photo
    assert QuizAttempt.get().message_id == photo["message_id"]
    await tap(fake, student, photo, "Square")
    question = shown(fake, STUDENT_ID)[-1]  # a text question again: a text message
    assert question["media_type"] is None and "2 + 2?" in question["text"]
    await tap(fake, student, question, "4")
    done = shown(fake, STUDENT_ID)[-1]
    assert "2/2" in done["text"]
    assert len([m for m in shown(fake, STUDENT_ID) if m.get("media_type") == "photo"]) == 0


async def test_long_question_gets_its_photo_above_it(db, fake, run_bot):
    make_school(fake)
    bot = await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    mentor = Chat(fake, MENTOR_ID)
    quiz = PICTURE_QUIZ.replace("What shape is this?", f"What shape is this? {LONG}")
    preview = await upload(mentor, fake, make_zip({"q.txt": quiz, "square.png": tiny_png()}), "shapes.zip")
    modes = await press(mentor, fake, preview, ru("btn_save_quiz"))
    await finish(mentor, fake, modes, ru("btn_publish_practice"))
    student = Chat(fake, STUDENT_ID)
    await open_quiz(fake, student, "📚", "Shapes")
    *_, photo, question = shown(fake, STUDENT_ID)
    assert photo["media_type"] == "photo" and not photo["caption"]
    assert "What shape is this?" in question["text"] and question["reply_markup"]
    await bot.sweep()  # a countdown redraw edits the text, no second photo
    await tap(fake, student, question, "Square")
    assert "2 + 2?" in shown(fake, STUDENT_ID)[-1]["text"]


async def test_txt_with_an_image_line_asks_for_the_zip(db, fake, run_bot):
    make_school(fake)
    await run_bot()
    reply = await upload(Chat(fake, MENTOR_ID), fake, PICTURE_QUIZ, "shapes.txt")
    assert plain("quiz_error_image_needs_zip", question=1, line=4, name="square.png") in reply["text"]


async def test_zip_refusal_is_told_precisely(db, fake, run_bot):
    make_school(fake)
    await run_bot()
    reply = await upload(Chat(fake, MENTOR_ID), fake, make_zip({"q.txt": PICTURE_QUIZ}), "shapes.zip")
    assert plain("quiz_error_image_missing", question=1, line=4, name="square.png") in reply["text"]
