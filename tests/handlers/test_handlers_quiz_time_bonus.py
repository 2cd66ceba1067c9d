"""A question's extra seconds ('#' +5 s, '##' +10 s in a file) are shown before a quiz is saved
and can be changed in the question editor."""

from __future__ import annotations

from e2e import MENTOR_ID, button_data, inline_labels, make_school, plain
from inproc import Chat

from studymate.bot.features.quiz.authoring_callbacks import QuestionBonusCb
from studymate.db.models import QuizQuestion
from studymate.i18n import t
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.format import parse_quiz


def ru(key: str, **params) -> str:
    return t(key, "ru", **params)


def current(fake, message_id: int) -> dict:
    return next(m for m in fake.messages(MENTOR_ID) if m["message_id"] == message_id)


async def press(mentor: Chat, fake, message: dict, label: str) -> dict:
    await mentor.click(message["message_id"], button_data(message, label))
    return current(fake, message["message_id"])


async def upload(mentor: Chat, fake, content: str, name: str) -> dict:
    [menu] = await mentor.send("📝 Квизы")
    await mentor.click(menu["message_id"], button_data(menu, ru("btn_upload_quiz")))
    after = mentor.last_bot_message_id()
    await fake.send_document(MENTOR_ID, content.encode(), name, mime_type="text/plain")
    [preview] = await mentor.replies(after)
    return preview


FILE = (
    "Тема: Timing\n\n"
    "1. First question?\nA*) a\nB) b\nC) c\nD) d\n\n"
    "2#. Second question?\nA) a\nB*) b\nC) c\nD) d\n"
)


async def test_preview_and_all_questions_show_the_extra_seconds(db, fake, run_bot):
    make_school(fake)
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="30")
    mentor = Chat(fake, MENTOR_ID)
    preview = await upload(mentor, fake, FILE, "timing.txt")
    item = plain("quiz_bonus_item", number=2, bonus=5)
    assert plain("quiz_preview_time_bonus", questions=item) in preview["text"]
    assert "+5 s" in t("quiz_bonus_item", "en", number=2, bonus=5)
    every = await press(mentor, fake, preview, ru("btn_view_all_questions"))
    kind = ru("quiz_kind_single")
    assert plain("quiz_kind_line_bonus", kind=kind, seconds=25, bonus=5) in every["text"]  # 20 s + 5 s
    assert plain("quiz_kind_line", kind=kind, seconds=20) in every["text"]  # question 1 has none


async def test_the_editor_changes_the_extra_seconds(db, fake, run_bot):
    make_school(fake)
    quiz = quizzes.publish(1, parse_quiz(FILE, file_name="timing.txt"), mode=SaveMode.NEW, ranked=False).quiz
    second = QuizQuestion.get((QuizQuestion.quiz == quiz.id) & (QuizQuestion.order == 2))
    assert second.time_bonus == 5
    bot = await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("📝 Квизы")
    listing = await press(mentor, fake, menu, ru("btn_active_quizzes"))
    screen = await press(mentor, fake, listing, "Timing")
    questions = await press(mentor, fake, screen, ru("btn_manage_questions"))
    assert inline_labels(questions)[:2] == ["1. First question?", "2. Second question? ⏱+5"]
    detail = await press(mentor, fake, questions, "2. ")
    assert plain("question_detail_bonus", bonus=5) in detail["text"]
    fields = await press(mentor, fake, detail, ru("btn_edit_question"))

    after = mentor.last_bot_message_id()
    choices = await press(mentor, fake, fields, ru("btn_edit_time_bonus"))
    assert await mentor.replies(after) == []  # chosen on the same message, nothing to type
    assert choices["text"] == plain("choose_time_bonus")
    assert inline_labels(choices) == [
        ru("btn_time_bonus_none"), "✅ " + ru("btn_time_bonus", bonus=5), ru("btn_time_bonus", bonus=10),
        ru("btn_back"),
    ]
    answer = await mentor.click(choices["message_id"], button_data(choices, ru("btn_time_bonus", bonus=10)))
    assert answer["text"] == plain("question_updated")
    assert QuizQuestion.get_by_id(second.id).time_bonus == 10
    shown = current(fake, choices["message_id"])
    assert plain("question_detail_bonus", bonus=10) in shown["text"]
    questions = await press(mentor, fake, shown, ru("btn_back_questions"))
    assert inline_labels(questions)[1] == "2. Second question? ⏱+10"

    # None at all: the list and the detail look as for any question.
    fields = await press(mentor, fake, await press(mentor, fake, questions, "2. "), ru("btn_edit_question"))
    choices = await press(mentor, fake, fields, ru("btn_edit_time_bonus"))
    await mentor.click(choices["message_id"], button_data(choices, ru("btn_time_bonus_none")))
    assert QuizQuestion.get_by_id(second.id).time_bonus == 0
    assert plain("question_detail_bonus", bonus=10) not in current(fake, choices["message_id"])["text"]

    # A crafted value other than 0, 5, 10 is refused and stores nothing.
    crafted = QuestionBonusCb(quiz=quiz.id, question=second.id, seconds=7).pack()
    await bot.tap(MENTOR_ID, choices["message_id"], crafted)
    assert QuizQuestion.get_by_id(second.id).time_bonus == 0
