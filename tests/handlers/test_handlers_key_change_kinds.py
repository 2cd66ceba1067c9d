"""The mentor corrects a select-all key and a typed question's accepted answers in the bot,
in process: the editor asks in the kind's form, refuses what does not fit, previews whose score
changes, saves only on confirmation, and each student whose score changed is told."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from e2e import MENTOR_ID, STUDENT_ID, button_data, inline_labels, make_school, plain
from inproc import Chat
from test_e2e_quiz_authoring import current, press, ru

from studymate.db.models import QuizAttempt, QuizKeyChange, QuizQuestion
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz import engine as quiz_engine
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.engine import SUBMIT
from studymate.services.quiz.format import parse_quiz

TZ = ZoneInfo("Asia/Tashkent")
FILE = """Topic: Fixes
Shuffle: no

1. Select all even
A*) 2
B) 3
C*) 4
D) 5
E*) 6

2. Capital of Karakalpakstan?
Answer: Nukus | Нукус
"""
# Each student's select-all set and typed answer; both keys then change.
ANSWERS = {STUDENT_ID: ("AC", "Nökis"), STUDENT_ID + 1: ("ACE", "нукус")}


def take_exam(quiz_id: int) -> None:
    for n, (student, (chosen, typed)) in enumerate(ANSWERS.items()):
        now = dt.datetime(2026, 3, 10, 9, n)
        view = quiz_engine.start(student, quiz_id, tz=TZ, now=now)
        for letter in [*chosen, SUBMIT]:
            quiz_engine.answer(student, view.attempt_id, view.question_id, letter, tz=TZ, now=now)
        assert quiz_engine.answer_text(student, typed, tz=TZ, now=now).finished is not None


def scores() -> list[int]:
    return [a.score for a in QuizAttempt.select().order_by(QuizAttempt.id)]


async def open_question(mentor: Chat, fake, number: int) -> dict:
    [menu] = await mentor.send("📝 Квизы")
    listing = await press(mentor, fake, menu, ru("btn_active_quizzes"))
    screen = await press(mentor, fake, listing, "Fixes")
    questions = await press(mentor, fake, screen, ru("btn_manage_questions"))
    return await press(mentor, fake, questions, f"{number}. ")


async def ask_key(mentor: Chat, fake, detail: dict) -> str:
    """(Edit →) ✅ Correct answer; the prompt's text."""
    fields = detail
    if ru("btn_edit_correct") not in inline_labels(detail):
        fields = await press(mentor, fake, detail, ru("btn_edit_question"))
    assert ru("btn_edit_correct") in inline_labels(fields)
    last = mentor.last_bot_message_id()
    await mentor.click(fields["message_id"], button_data(fields, ru("btn_edit_correct")))
    [prompt] = await mentor.replies(last)
    return prompt["text"]


async def test_a_select_all_key_is_corrected_after_confirmation(db, fake, run_bot):
    make_school(fake, students=2)
    quiz = quizzes.publish(1, parse_quiz(FILE, file_name="f.txt"), mode=SaveMode.NEW, ranked=False).quiz
    take_exam(quiz.id)
    assert scores() == [0, 2]
    bot = await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    detail = await open_question(mentor, fake, 1)
    fields = await press(mentor, fake, detail, ru("btn_edit_question"))
    assert plain("quiz_edit_prompt") in fields["text"]
    assert ru("btn_edit_option_letter", letter="E") in inline_labels(fields)
    assert await ask_key(mentor, fake, fields) == plain(
        "enter_correct_set", letters="A, B, C, D, E", current="ACE")

    [refused] = await mentor.send("A F")
    assert refused["text"] == plain("invalid_correct_set", letters="A, B, C, D, E")
    asked, preview = await mentor.send("c a", expect=2)
    assert asked["text"] == plain("key_change_asked")
    assert plain("key_change_preview", number=1, old="ACE", new="AC", count=2).split("\n")[0] in preview["text"]
    assert "0/2 → 1/2" in preview["text"] and "2/2 → 1/2" in preview["text"]
    assert QuizQuestion.get(QuizQuestion.order == 1).correct_set == "ACE" and scores() == [0, 2]

    await press(mentor, fake, preview, ru("btn_key_change_confirm", new="AC"))
    assert current(fake, preview["message_id"])["text"] == plain(
        "key_change_saved", old="ACE", new="AC", count=2, notified=2)
    assert QuizQuestion.get(QuizQuestion.order == 1).correct_set == "AC" and scores() == [1, 1]
    [record] = QuizKeyChange.select()
    assert (record.old_answer, record.new_answer, record.rescored) == ("ACE", "AC", 2)
    await bot.drain_outbox()
    for student in ANSWERS:
        last = [m for m in fake.messages(student) if m["outgoing"]][-1]
        assert plain("key_change_student", title="Fixes", number=1, scores="").split("\n")[0] in last["text"]


async def test_a_typed_question_accepts_one_more_answer_after_confirmation(db, fake, run_bot):
    make_school(fake, students=2)
    quiz = quizzes.publish(1, parse_quiz(FILE, file_name="f.txt"), mode=SaveMode.NEW, ranked=False).quiz
    take_exam(quiz.id)
    bot = await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    detail = await open_question(mentor, fake, 2)
    assert await ask_key(mentor, fake, detail) == plain("enter_accepted_answers", current="Nukus | Нукус")
    [refused] = await mentor.send("Nukus | ")
    assert refused["text"] == plain("invalid_accepted_answers")

    # Keeping the old key changes nothing.
    asked, preview = await mentor.send("Nukus|Нукус|Nökis", expect=2)
    assert "0/2 → 1/2" in preview["text"] and "2/2" not in preview["text"]
    await press(mentor, fake, preview, ru("btn_key_change_keep", old="Nukus | Нукус"))
    assert current(fake, preview["message_id"])["text"] == plain("key_change_kept", old="Nukus | Нукус")
    assert scores() == [0, 2] and not QuizKeyChange.select().exists()

    # Asked again and confirmed: the answers are stored and the typed text regraded.
    detail = await open_question(mentor, fake, 2)
    await ask_key(mentor, fake, detail)
    asked, preview = await mentor.send("Nukus|Нукус|Nökis", expect=2)
    await press(mentor, fake, preview, ru("btn_key_change_confirm", new="Nukus | Нукус | Nökis"))
    new = "Nukus | Нукус | Nökis"
    assert current(fake, preview["message_id"])["text"] == plain(
        "key_change_saved", old="Nukus | Нукус", new=new, count=1, notified=1)
    question = QuizQuestion.get(QuizQuestion.order == 2)
    assert '"Nökis"' in question.accepted_answers and scores() == [1, 2]
    [record] = QuizKeyChange.select()
    assert (record.old_answer, record.new_answer) == ("Nukus | Нукус", new)
    await bot.drain_outbox()
    told = [m for m in fake.messages(STUDENT_ID) if m["outgoing"]][-1]
    assert "0/2 → 1/2" in told["text"]
    # The quiz screen lists the change.
    [menu] = await mentor.send("📝 Квизы")
    listing = await press(mentor, fake, menu, ru("btn_active_quizzes"))
    screen = await press(mentor, fake, listing, "Fixes")
    assert f"Nukus | Нукус → {new}" in screen["text"]


async def test_a_confirmation_whose_answers_were_forgotten_saves_nothing(db, fake, run_bot):
    """The typed answers wait in the form data; a crafted or outdated button finds none."""
    from studymate.bot.features.quiz.key_change import KeyCb
    from studymate.services.quiz.key_change import token

    make_school(fake, students=2)
    quiz = quizzes.publish(1, parse_quiz(FILE, file_name="f.txt"), mode=SaveMode.NEW, ranked=False).quiz
    take_exam(quiz.id)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    detail = await open_question(mentor, fake, 2)
    row = QuizQuestion.get(QuizQuestion.order == 2)
    crafted = KeyCb(quiz=quiz.id, question=row.id, old=token("Nukus | Нукус"), new=token("Moscow city"),
                    ok=True).pack()
    await mentor.click(detail["message_id"], crafted)
    assert current(fake, detail["message_id"])["text"] == plain("key_change_stale")
    assert scores() == [0, 2] and "Moscow city" not in QuizQuestion.get_by_id(row.id).accepted_answers
