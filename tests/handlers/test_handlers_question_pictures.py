"""The question editor's pictures, in process: a photo sent while a question is shown adds or
replaces its picture (students then see it), 🗑 Remove picture takes it off, and a photo sent
once the mentor has left the question attaches to nothing."""

from __future__ import annotations

from e2e import MENTOR_ID, STUDENT_ID, button_data, inline_labels, make_school, plain
from inproc import Chat
from test_e2e_quiz_authoring import PNG, press, ru
from test_e2e_quiz_taking import open_quiz

from studymate.db.models import QuizQuestion
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.format import parse_quiz

TWO = "Topic: Shapes\n1. What shape is this?\nA*) Square\nB) Circle\n\n2. 2 + 2?\nA) 3\nB*) 4\n"


async def send_photo(mentor: Chat, fake) -> list[dict]:
    after = mentor.last_bot_message_id()
    await fake.send_photo(MENTOR_ID, PNG)
    return await mentor.replies(after, expect=2)


def picture_of(order: int) -> str | None:
    return QuizQuestion.get(QuizQuestion.order == order).image_file_id


async def test_photo_while_a_question_is_shown_sets_replaces_and_removes_its_picture(db, fake, run_bot):
    make_school(fake)
    quizzes.publish(1, parse_quiz(TWO, file_name="s.txt"), mode=SaveMode.NEW, ranked=False)
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("📝 Квизы")
    listing = await press(mentor, fake, menu, ru("btn_active_quizzes"))
    screen = await press(mentor, fake, listing, "Shapes")
    questions = await press(mentor, fake, screen, ru("btn_manage_questions"))
    detail = await press(mentor, fake, questions, "1. ")
    assert plain("quiz_question_picture_hint") in detail["text"]
    assert ru("btn_remove_picture") not in inline_labels(detail)

    added, shown = await send_photo(mentor, fake)
    assert added["text"] == plain("question_picture_added", number=1)
    assert plain("quiz_question_has_picture") in shown["text"]
    assert ru("btn_remove_picture") in inline_labels(shown)
    first = picture_of(1)
    assert first and picture_of(2) is None

    replaced, shown = await send_photo(mentor, fake)
    assert replaced["text"] == plain("question_picture_replaced", number=1)
    assert picture_of(1) not in (None, first)

    # The student sees the picture with the question as its caption.
    student = Chat(fake, STUDENT_ID)
    await open_quiz(fake, student, "📚", "Shapes")
    photo = [m for m in fake.messages(STUDENT_ID) if m["outgoing"] and not m.get("deleted")][-1]
    assert photo["media_type"] == "photo" and "What shape is this?" in photo["caption"]

    answer = await mentor.click(shown["message_id"], button_data(shown, ru("btn_remove_picture")))
    assert answer["text"] == plain("question_picture_removed")
    assert picture_of(1) is None
    after = next(m for m in fake.messages(MENTOR_ID) if m["message_id"] == shown["message_id"])
    assert plain("quiz_question_picture_hint") in after["text"]
    assert ru("btn_remove_picture") not in inline_labels(after)

    # Back on the list no question is shown: a photo changes nothing.
    await press(mentor, fake, after, ru("btn_back_questions"))
    last = mentor.last_bot_message_id()
    await fake.send_photo(MENTOR_ID, PNG)
    [reply] = await mentor.replies(last)
    assert reply["text"] != plain("question_picture_added", number=1)
    assert picture_of(1) is None and picture_of(2) is None


async def test_a_form_in_progress_keeps_its_own_answer_to_a_photo(db, fake, run_bot):
    make_school(fake)
    quizzes.publish(1, parse_quiz(TWO, file_name="s.txt"), mode=SaveMode.NEW, ranked=False)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("📝 Квизы")
    listing = await press(mentor, fake, menu, ru("btn_active_quizzes"))
    screen = await press(mentor, fake, listing, "Shapes")
    questions = await press(mentor, fake, screen, ru("btn_manage_questions"))
    detail = await press(mentor, fake, questions, "2. ")
    fields = await press(mentor, fake, detail, ru("btn_edit_question"))
    last = mentor.last_bot_message_id()
    await mentor.click(fields["message_id"], button_data(fields, ru("btn_edit_text")))
    await mentor.replies(last)
    last = mentor.last_bot_message_id()
    await fake.send_photo(MENTOR_ID, PNG)
    [reply] = await mentor.replies(last)
    assert reply["text"] == plain("not_text_prompt")  # the text is asked for, as before
    assert picture_of(2) is None


KINDS = """Topic: Kinds
1. Pick b
A) a
B*) b
C) c

2. Select all even
A*) 2
B) 3
C*) 4

3. 7 / 2 = ?
Answer: 3.5
"""


async def test_editor_names_the_kind_and_refuses_fields_that_do_not_apply(db, fake, run_bot):
    from studymate.bot.features.quiz.authoring_callbacks import QuizQuestionAction, QuizQuestionCb
    from studymate.services.quiz.questions import Field

    make_school(fake)
    quiz = quizzes.publish(1, parse_quiz(KINDS, file_name="k.txt"), mode=SaveMode.NEW, ranked=False).quiz
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("📝 Квизы")
    listing = await press(mentor, fake, menu, ru("btn_active_quizzes"))
    screen = await press(mentor, fake, listing, "Kinds")
    questions = await press(mentor, fake, screen, ru("btn_manage_questions"))
    multi = await press(mentor, fake, questions, "2. ")
    assert plain("quiz_question_kind_line", kind=ru("quiz_kind_multi")) in multi["text"]
    assert "✅ A) 2" in multi["text"] and "▫️ B) 3" in multi["text"] and "✅ C) 4" in multi["text"]
    back = await press(mentor, fake, multi, ru("btn_back_questions"))
    typed = await press(mentor, fake, back, "3. ")
    assert plain("quiz_question_kind_line", kind=ru("quiz_kind_typed")) in typed["text"]
    assert plain("quiz_question_accepted", answers="3.5") in typed["text"]
    fields = await press(mentor, fake, typed, ru("btn_edit_question"))
    assert plain("quiz_edit_prompt") in fields["text"]
    assert inline_labels(fields) == [
        ru("btn_edit_text"), ru("btn_edit_correct"), ru("btn_edit_time_bonus"), ru("btn_back")]

    # An option button of an older keyboard (or a crafted one) is refused, nothing stored.
    row = QuizQuestion.get(QuizQuestion.order == 3)
    crafted = QuizQuestionCb(action=QuizQuestionAction.FIELD, quiz=quiz.id, question=row.id, field=Field.A).pack()
    answer = await mentor.click(fields["message_id"], crafted)
    assert answer["text"] == plain("question_field_not_for_kind", kind=ru("quiz_kind_typed"))
    assert QuizQuestion.get_by_id(row.id).option_a == row.option_a

    # The text of a typed question still changes, and its answers stay.
    last = mentor.last_bot_message_id()
    await mentor.click(fields["message_id"], button_data(fields, ru("btn_edit_text")))
    await mentor.replies(last)
    updated, detail = await mentor.send("7 / 2 = ? (decimal)", expect=2)
    assert updated["text"] == plain("question_updated")
    stored = QuizQuestion.get_by_id(row.id)
    assert stored.question_text == "7 / 2 = ? (decimal)" and stored.kind == "typed" and "3.5" in stored.accepted_answers
    assert plain("quiz_question_accepted", answers="3.5") in detail["text"]
